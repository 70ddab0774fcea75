#!/usr/bin/env bash
# Clones SPORCO (https://github.com/bwohlberg/sporco) for bench/compare_csc.py into DIR (default
# .cache/peers/sporco, which git ignores). Read and run only by the benchmark, never by deepsc.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${1:-$root/.cache/peers/sporco}"
if [[ -f "$dir/sporco/admm/cbpdn.py" ]]; then
  echo "fetch-sporco: present in $dir"
  exit 0
fi
mkdir -p "$(dirname "$dir")"
git clone --quiet --depth 1 https://github.com/bwohlberg/sporco "$dir.partial"
mv "$dir.partial" "$dir"
echo "fetch-sporco: cloned into $dir"
