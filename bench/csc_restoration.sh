#!/usr/bin/env bash
# Measures CSC denoising (σ = 25 on 0–255) and inpainting (50 % of the pixels missing) on natural
# grey pictures, as reported in docs/ (section "Denoising and inpainting"). Every setting is the
# library's default (none was tuned on these pictures); noise and masks come from --seed.
# Side by side with a patch-based baseline built from scikit-learn (bench/peers/
# sklearn_patch_denoise.py: K-SVD-style, 8×8 patches, 256 learned atoms, OMP to the noise level),
# both denoising the same 8-bit noisy PNG.
#
# Usage: bench/csc_restoration.sh [OUT_DIR] [IMAGE...]
#   OUT_DIR   where pictures and JSON reports go (default runs/csc-restoration)
#   IMAGE     names under data/images (default: camera coffee)
#   DEEPSC    the deepsc binary (default build/apps/deepsc/deepsc); THREADS (default 2); SEED (default 1)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/runs/csc-restoration}"
shift || true
images=("$@")
[[ ${#images[@]} -gt 0 ]] || images=(camera coffee)
deepsc="${DEEPSC:-$root/build/apps/deepsc/deepsc}"
threads="${THREADS:-2}"
seed="${SEED:-1}"
[[ -x "$deepsc" ]] || { echo "csc_restoration: no deepsc binary at $deepsc (build first, or set DEEPSC)" >&2; exit 1; }

"$root/scripts/fetch-images.sh" "$root/data/images"
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE

# Reads a value from a one-line JSON report (no jq needed).
field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval("d" + sys.argv[2]))' "$1" "$2"; }

echo "| picture | task | input PSNR / SSIM | result PSNR / SSIM | time (s) |"
echo "|---|---|---|---|---|"
for name in "${images[@]}"; do
  picture="$root/data/images/$name.png"
  "$deepsc" csc-denoise --image "$picture" --sigma 25 --add-noise --seed "$seed" --threads "$threads" \
    --out "$out/$name-denoised.png" --noisy-out "$out/$name-noisy.png" --json > "$out/$name-denoise.json"
  j="$out/$name-denoise.json"
  printf '| %s | denoise σ=25 | %.2f / %.3f | %.2f / %.3f | %.0f |\n' "$name" \
    "$(field "$j" '["noisy"]["psnr"]')" "$(field "$j" '["noisy"]["ssim"]')" \
    "$(field "$j" '["denoised"]["psnr"]')" "$(field "$j" '["denoised"]["ssim"]')" "$(field "$j" '["seconds"]')"
  # The same 8-bit noisy picture through deepsc and through the patch-based baseline.
  "$deepsc" csc-denoise --image "$out/$name-noisy.png" --clean "$picture" --sigma 25 --seed "$seed" \
    --threads "$threads" --out "$out/$name-denoised-png.png" --json > "$out/$name-denoise-png.json"
  j="$out/$name-denoise-png.json"
  printf '| %s | denoise σ=25, 8-bit noisy PNG | %.2f / %.3f | %.2f / %.3f | %.0f |\n' "$name" \
    "$(field "$j" '["noisy"]["psnr"]')" "$(field "$j" '["noisy"]["ssim"]')" \
    "$(field "$j" '["denoised"]["psnr"]')" "$(field "$j" '["denoised"]["ssim"]')" "$(field "$j" '["seconds"]')"
  if /usr/bin/python3 -c 'import sklearn, imageio' 2> /dev/null; then
    /usr/bin/python3 "$root/bench/peers/sklearn_patch_denoise.py" --noisy "$out/$name-noisy.png" --clean "$picture" \
      --sigma 25 --threads "$threads" --out "$out/$name-patch-baseline.png" > "$out/$name-patch-baseline.json"
    j="$out/$name-patch-baseline.json"
    printf '| %s | patch baseline (scikit-learn), same PNG | %.2f / – | %.2f / – | %.0f |\n' "$name" \
      "$(field "$j" '["noisy_psnr"]')" "$(field "$j" '["psnr"]')" "$(field "$j" '["seconds"]')"
  fi

  "$deepsc" csc-inpaint --image "$picture" --missing 0.5 --seed "$seed" --threads "$threads" \
    --out "$out/$name-inpainted.png" --corrupted-out "$out/$name-holes.png" --json > "$out/$name-inpaint.json"
  j="$out/$name-inpaint.json"
  printf '| %s | inpaint 50 %% | %.2f / %.3f (baseline) | %.2f / %.3f | %.0f |\n' "$name" \
    "$(field "$j" '["baseline"]["psnr"]')" "$(field "$j" '["baseline"]["ssim"]')" \
    "$(field "$j" '["inpainted"]["psnr"]')" "$(field "$j" '["inpainted"]["ssim"]')" "$(field "$j" '["seconds"]')"
done
