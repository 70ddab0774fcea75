#!/usr/bin/env bash
# Fetches the natural test images (camera, astronaut, coffee, brick, grass, ...) that Debian ships in
# python3-skimage, without installing anything: `apt-get download` puts the .deb in a cache folder,
# `dpkg -x` unpacks it into a scratch folder, and the pictures under skimage/data/ are copied out.
# The docs and benchmarks use them; the tests never do (they make their own synthetic images).
# Idempotent: a cached .deb is not downloaded again, and pictures already present are kept.
#
# Usage: scripts/fetch-images.sh [DEST]   (DEST defaults to <repository>/data/images, git-ignored)
#   DEEPSC_CACHE   where the .deb is kept (default: ${XDG_CACHE_HOME:-~/.cache}/deepsc/debs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/data/images}"
cache="${DEEPSC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deepsc/debs}"
package=python3-skimage
wanted=(astronaut brick camera chelsea coffee coins grass gravel moon page text)

have_all=1
for name in "${wanted[@]}"; do
  [[ -s "$dest/$name.png" ]] || have_all=0
done
if [[ $have_all -eq 1 ]]; then
  echo "fetch-images: all ${#wanted[@]} images present in $dest"
  exit 0
fi

for tool in apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "fetch-images: needs $tool (Debian/Ubuntu)" >&2; exit 1; }
done

mkdir -p "$cache" "$dest"
deb=$(find "$cache" -maxdepth 1 -name "${package}_*.deb" -size +0 | sort | tail -n 1)
if [[ -z "$deb" ]]; then
  echo "fetch-images: downloading $package into $cache"
  # apt-get download writes into the current folder; apt may warn that its sandbox user cannot
  # write there and then downloads as the calling user, which is fine.
  (cd "$cache" && apt-get download "$package") || {
    echo "fetch-images: apt-get download $package failed (run apt-get update? is a Debian mirror reachable?)" >&2
    exit 1
  }
  deb=$(find "$cache" -maxdepth 1 -name "${package}_*.deb" -size +0 | sort | tail -n 1)
  [[ -n "$deb" ]] || { echo "fetch-images: no ${package}_*.deb in $cache after the download" >&2; exit 1; }
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dpkg -x "$deb" "$scratch"
src=$(find "$scratch" -type d -path '*/skimage/data' | head -n 1)
[[ -n "$src" ]] || { echo "fetch-images: $deb has no skimage/data folder" >&2; exit 1; }

copied=0
for name in "${wanted[@]}"; do
  if [[ ! -s "$dest/$name.png" ]]; then
    [[ -f "$src/$name.png" ]] || { echo "fetch-images: $deb has no $name.png" >&2; exit 1; }
    # Copy then rename, so an interrupted run never leaves a truncated picture behind.
    cp "$src/$name.png" "$dest/.$name.png.part"
    mv "$dest/.$name.png.part" "$dest/$name.png"
    copied=$((copied + 1))
  fi
done
echo "fetch-images: $copied new image(s) in $dest (from $(basename "$deb"))"
