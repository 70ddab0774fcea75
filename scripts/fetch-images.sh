#!/usr/bin/env bash
# Fetches natural test images that Debian ships inside two documentation/data packages, without
# installing anything: `apt-get download` puts each .deb in a cache folder, `dpkg -x` unpacks it into
# a scratch folder, and the wanted pictures are copied out:
#   python3-skimage  skimage/data/*.png       camera, astronaut, coffee, chelsea, brick, grass, ...
#   opencv-doc       examples/data/*.jpg      baboon, fruits, building, butterfly, home, ...
# The docs and benchmarks use them; the tests never do (they make their own synthetic images).
# Idempotent: a cached .deb is not downloaded again, and pictures already present are kept.
#
# Usage: scripts/fetch-images.sh [DEST]   (DEST defaults to <repository>/data/images, git-ignored)
#   DEEPSC_CACHE   where the .deb files are kept (default: ${XDG_CACHE_HOME:-~/.cache}/deepsc/debs)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/data/images}"
cache="${DEEPSC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/deepsc/debs}"

# package | folder inside the package | file names
skimage_names=(astronaut.png brick.png camera.png chelsea.png coffee.png coins.png grass.png gravel.png moon.png page.png text.png)
opencv_names=(baboon.jpg fruits.jpg building.jpg butterfly.jpg home.jpg leuvenA.jpg aero1.jpg)

missing() {  # prints the names not yet in $dest
  for name in "$@"; do [[ -s "$dest/$name" ]] || echo "$name"; done
}

# fetch PACKAGE FOLDER_GLOB NAME...
fetch() {
  local package=$1 folder=$2
  shift 2
  local wanted
  wanted=$(missing "$@")
  [[ -n "$wanted" ]] || { echo "fetch-images: all $# pictures of $package present in $dest"; return 0; }
  for tool in apt-get dpkg; do
    command -v "$tool" >/dev/null || { echo "fetch-images: needs $tool (Debian/Ubuntu)" >&2; exit 1; }
  done
  mkdir -p "$cache" "$dest"
  local deb
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
  local scratch
  scratch=$(mktemp -d)
  dpkg -x "$deb" "$scratch"
  local src
  src=$(find "$scratch" -type d -path "$folder" | head -n 1)
  [[ -n "$src" ]] || { rm -rf "$scratch"; echo "fetch-images: $deb has no $folder folder" >&2; exit 1; }
  local copied=0 name
  for name in $wanted; do
    [[ -f "$src/$name" ]] || { rm -rf "$scratch"; echo "fetch-images: $deb has no $name" >&2; exit 1; }
    # Copy then rename, so an interrupted run never leaves a truncated picture behind.
    cp "$src/$name" "$dest/.$name.part"
    mv "$dest/.$name.part" "$dest/$name"
    copied=$((copied + 1))
  done
  rm -rf "$scratch"
  echo "fetch-images: $copied new picture(s) in $dest (from $(basename "$deb"))"
}

fetch python3-skimage '*/skimage/data' "${skimage_names[@]}"
fetch opencv-doc '*/opencv-doc/examples/data' "${opencv_names[@]}"
