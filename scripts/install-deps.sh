#!/usr/bin/env bash
# Installs the Debian packages deepsc needs to build, test and benchmark.
# libopenblas0-openmp matters: without it LibTorch and NumPy fall back to the reference BLAS,
# which is an order of magnitude slower.
# Idempotent: does nothing (and needs no root) when every package is present.
# Usage: scripts/install-deps.sh [--with-peers]
# The Python package (python/, setup.py) builds against python3-torch with pybind11 and is tested
# with pytest and scikit-learn's estimator checks, so those are part of the base set.
#   --with-peers  also installs what the SPORCO peer used by bench/ needs: SciPy, pyFFTW, imageio,
#                 filetype (scikit-learn and PyTorch are in the base set).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libgloo-dev libopenblas0-openmp
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libfmt-dev libspdlog-dev libstb-dev zlib1g-dev libmatio-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang-14 libclang-rt-14-dev
  dataset-fashion-mnist gnuplot-nox
  python3-dev python3-venv python3-pip python3-torch python3-numpy pybind11-dev python3-pytest python3-sklearn
)
if [[ "${1:-}" == "--with-peers" ]]; then
  packages+=(python3-scipy python3-pyfftw python3-imageio python3-filetype python3-pil)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
