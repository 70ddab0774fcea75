#!/usr/bin/env bash
# The ML-CSC network experiments of docs/results.md, one command each (Zhang & Zhang 2021;
# Sulam et al. 2020), on the quick Fashion-MNIST presets unless --config names another:
#
#   scripts/ml-csc-experiments.sh degradation   plain CNN (layered thresholding) vs Res-CSC, depths 8/14/20/32
#   scripts/ml-csc-experiments.sh msd-unfolding MSDNet vs MSD-CSC at T = 0, 1, 2, 3
#   scripts/ml-csc-experiments.sh ml-unfolding  CNN vs ML-ISTA, ML-FISTA, LBP, ML-LISTA
#
# Options: --seeds "0 1 2" (default "0 1"), --out DIR (default runs/experiments/NAME), --config
# PRESET (another data set: the CIFAR/SVHN presets of configs/), --depths "8 20 32", --unfoldings
# "0 1 2 3"; anything after -- goes to every `deepsc train` (e.g. -- --set train.epochs=1 --threads 2).
# Every run is a normal run folder (resumable: re-running skips finished runs); the table, with
# mean ± sample standard deviation over the seeds of the final test top-1, the training time and the
# time ratio to the row's reference network, is written to OUT/results.md and printed.
set -euo pipefail
cd "$(dirname "$0")/.."
deepsc="${DEEPSC:-build/apps/deepsc/deepsc}"
[ -x "$deepsc" ] || { echo "error: $deepsc not found (build first: scripts/build.sh --target deepsc)" >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 degradation|msd-unfolding|ml-unfolding [--seeds \"0 1\"] [--out DIR] [--config PRESET] [-- train args]" >&2; exit 2; }
experiment="$1"; shift
seeds="0 1" out="" config="" depths="8 14 20 32" unfoldings="0 1 2 3"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --config) config="$2"; shift 2 ;;
    --depths) depths="$2"; shift 2 ;;
    --unfoldings) unfoldings="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "error: unknown option $1" >&2; exit 2 ;;
  esac
done
extra=("$@")
out="${out:-runs/experiments/$experiment}"

# Rows: "label|reference label|--set overrides" (the reference gives the time ratio).
rows=()
case "$experiment" in
  degradation)
    config="${config:-configs/fashion-mnist-res-csc-quick.yaml}"
    for d in $depths; do
      rows+=("plain-csc-$d|plain-csc-$d|model.name=plain-csc model.depth=$d")
      rows+=("res-csc-$d|plain-csc-$d|model.name=res-csc model.depth=$d")
    done ;;
  msd-unfolding)
    config="${config:-configs/fashion-mnist-msd-csc-quick.yaml}"
    rows+=("msdnet|msdnet|model.name=msdnet model.unfoldings=-1")
    for t in $unfoldings; do rows+=("msd-csc-T$t|msd-csc-T0|model.name=msd-csc model.unfoldings=$t"); done ;;
  ml-unfolding)
    config="${config:-configs/fashion-mnist-ml-ista-quick.yaml}"
    rows+=("mlcsc-cnn|mlcsc-cnn|model.name=mlcsc-cnn model.unfoldings=0")
    for net in ml-ista ml-fista lbp ml-lista; do rows+=("$net|mlcsc-cnn|model.name=$net"); done ;;
  *) echo "error: unknown experiment '$experiment' (degradation, msd-unfolding, ml-unfolding)" >&2; exit 2 ;;
esac
[ -f "$config" ] || { echo "error: preset $config not found" >&2; exit 2; }

mkdir -p "$out"
for row in "${rows[@]}"; do
  IFS='|' read -r label reference sets <<< "$row"
  set_args=()
  for s in $sets; do set_args+=(--set "$s"); done
  for seed in $seeds; do
    run="$out/$label/seed$seed"
    if [ -f "$run/summary.json" ]; then echo "$label seed $seed: done ($run)"; continue; fi
    echo "$label seed $seed: training -> $run"
    "$deepsc" train --config "$config" "${set_args[@]}" --seed "$seed" --out "$run" --resume "${extra[@]}" > "$out/.log"
    tail -n 1 "$out/.log"
  done
done
rm -f "$out/.log"

table="$(printf '%s\n' "${rows[@]}" | /usr/bin/python3 -c '
import json, os, statistics, sys
out, seeds, config = sys.argv[1], sys.argv[2].split(), sys.argv[3]
rows = [line.split("|") for line in sys.stdin.read().splitlines() if line]
def runs(label):
    return [json.load(open(os.path.join(out, label, "seed" + s, "summary.json"))) for s in seeds]
def mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else float("nan"))
seconds = {label: statistics.mean(r["seconds"] for r in runs(label)) for label, _, _ in rows}
seed_list = ", ".join(seeds)
print(f"Preset {config}; seeds {seed_list}; final-epoch test top-1 (mean ± sample std over seeds).\n")
print("| network | settings | parameters | final top-1 % | best top-1 % | training s | time ratio |")
print("|---|---|---|---|---|---|---|")
for label, reference, sets in rows:
    r = runs(label)
    final, final_sd = mean_std([100 * x["last"]["top1"] for x in r])
    best, best_sd = mean_std([100 * x["best_top1"] for x in r])
    parameters = r[0]["parameters"]
    print(f"| {label} | {sets} | {parameters:,} | {final:.2f} ± {final_sd:.2f} | {best:.2f} ± {best_sd:.2f} | "
          f"{seconds[label]:.0f} | {seconds[label] / seconds[reference]:.2f} (vs {reference}) |")
' "$out" "$seeds" "$config")"
printf '%s\n' "$table" > "$out/results.md"
printf '%s\n' "$table"
