#!/usr/bin/env bash
# The main job on its embedded default: install what is missing, build, train SDNet-18 (the quick
# CPU preset: quarter width, 4 epochs) on Fashion-MNIST from the Debian package, evaluate it, and
# write a report into the run folder: report.md, curves.png (loss and accuracy per epoch),
# atoms.png (the CSC layer's learned dictionary), metrics.jsonl/.tsv, checkpoints.
# Re-running continues (or just re-reports) the run in the folder instead of starting over.
# Extra arguments go to `deepsc train` (e.g. --set train.epochs=8, --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Unity translation units: the tool builds ~3.6x faster (the torch PCH is loaded once per target).
scripts/build.sh --target deepsc -DDEEPSC_UNITY_BUILD=ON
deepsc=build/apps/deepsc/deepsc
run="${DEEPSC_RUN:-runs/fashion-mnist-sdnet18}"
mkdir -p "$(dirname "$run")"
"$deepsc" train --config configs/fashion-mnist-sdnet18-quick.yaml --out "$run" --resume "$@" | tee "$run.train.log"
trained="$(tail -n 1 "$run.train.log")"
rm -f "$run.train.log"
evaluation="$("$deepsc" eval --checkpoint "$run/checkpoint-best.pt")"
"$deepsc" eval --checkpoint "$run/checkpoint-best.pt" --json > "$run/eval.json"
"$deepsc" filters --checkpoint "$run/checkpoint-best.pt" --png "$run/atoms.png" > /dev/null
if command -v gnuplot > /dev/null; then
  gnuplot -e "run='$run'" scripts/plot-curves.gp
fi
{
  echo "# Main job: SDNet-18 (quick preset) on Fashion-MNIST"
  echo
  echo "- Training: $trained"
  echo "- Best checkpoint on the 10,000 test images: $evaluation"
  echo "- Preset: configs/fashion-mnist-sdnet18-quick.yaml (as run: config.yaml); per epoch: metrics.tsv"
  echo
  echo "![training curves](curves.png)"
  echo
  echo "![CSC layer atoms](atoms.png)"
} > "$run/report.md.tmp"
mv "$run/report.md.tmp" "$run/report.md"
echo "main job: report in $run/report.md"
