#!/usr/bin/env python3
"""Data-parallel training throughput on this machine: one process with 2 threads against 2 ranks
with 1 thread each (`deepsc launch --nproc 2 -- benchmark train --distributed`), same global batch,
random data, for a few models.

  /usr/bin/python3 bench/distributed_throughput.py [--deepsc build/apps/deepsc/deepsc] [--repeats 3]
      [--bucket-mb 25] [--no-overlap] [--json rows.json]

Scaling efficiency = (2 x 1 images/s) / (1 x 2 images/s): the same cores either share one process's
intra-op work or split the batch and all-reduce the gradient. The all-reduce column is the whole
gradient averaged alone (no compute) per step; "exposed" is the communication backward did not hide
(time in GradientReducer::finish(), which also holds waiting for the slower rank's backward and
copying the averaged gradient back). With the default 25 MiB buckets these models' gradients
(2-3 MiB) are one bucket, which can only start after backward: --no-overlap then changes little,
--bucket-mb 0.5 shows the overlap. Each figure is the best of --repeats runs (by images/s).
"""
import argparse, json, os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, deepsc benchmark train arguments, timed steps)
MODELS = [
    ("ResNet-18 w1/4", ["--model", "resnet18", "--width", "0.25"], 20),
    ("SDNet-18 w1/4", ["--model", "sdnet18", "--width", "0.25"], 20),
    ("ML-ISTA CNN (T=0)", ["--model", "mlcsc-cnn", "--set", "model.unfoldings=0"], 100),
]

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--deepsc", default=os.path.join(ROOT, "build/apps/deepsc/deepsc"), help="the deepsc binary")
p.add_argument("--repeats", type=int, default=3, help="runs per measurement, best kept")
p.add_argument("--input", default="1x28x28", help="image size CxHxW")
p.add_argument("--batch", type=int, default=128, help="global batch")
p.add_argument("--warmup", type=int, default=3, help="untimed steps")
p.add_argument("--bucket-mb", type=float, default=None, help="gradient bucket size of the 2 x 1 runs (default 25)")
p.add_argument("--no-overlap", action="store_true", help="also run 2 x 1 with --no-overlap (an extra column)")
p.add_argument("--json", default=None, metavar="PATH", help="write the rows as JSON")
a = p.parse_args()
if a.repeats < 1:
    sys.exit("--repeats must be >= 1")
if not os.access(a.deepsc, os.X_OK):
    sys.exit(f"--deepsc {a.deepsc}: no such executable (build it: cmake --build build --target deepsc)")


def run(cmd, threads):
    """The JSON line a deepsc command prints (rank 0's for a launch)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr.strip()}")
    return [json.loads(l) for l in done.stdout.splitlines() if l.startswith("{")][0]


def best(cmd, threads):
    return max((run(cmd, threads) for _ in range(a.repeats)), key=lambda r: r["images_per_second"])


def measure(model_args, steps):
    bench = ["benchmark", "train", *model_args, "--input", a.input, "--batch", str(a.batch), "--warmup",
             str(a.warmup), "--steps", str(steps), "--json"]
    one = best([a.deepsc, *bench, "--threads", "2"], 2)
    ranks = [a.deepsc, "launch", "--nproc", "2", "--", *bench, "--distributed", "--threads", "1"]
    if a.bucket_mb is not None:
        ranks += ["--bucket-mb", str(a.bucket_mb)]
    two = best(ranks, 1)
    row = {"one_process_2_threads": one, "two_ranks_1_thread": two,
           "scaling_efficiency": two["images_per_second"] / one["images_per_second"]}
    if a.no_overlap:
        row["two_ranks_1_thread_no_overlap"] = best(ranks + ["--no-overlap"], 1)
    return row


rows = []
for label, model_args, steps in MODELS:
    row = {"model": label, "arguments": model_args, "input": a.input, "batch": a.batch, "steps": steps}
    row.update(measure(model_args, steps))
    rows.append(row)
    print(f"measured {label}", file=sys.stderr, flush=True)

buckets = f"{a.bucket_mb:g}" if a.bucket_mb is not None else "25"
print(f"Training throughput, {a.input}, global batch {a.batch}, random data, {buckets} MiB buckets, "
      f"best of {a.repeats} (images/s)")
head = "| model | 1x2 images/s | 2x1 images/s | scaling efficiency | all-reduce ms/step | exposed ms/step | gradient MiB |"
rule = "|---|---|---|---|---|---|---|"
if a.no_overlap:
    head += " 2x1 no-overlap images/s | exposed ms/step, no overlap |"
    rule += "---|---|"
print(head)
print(rule)
for row in rows:
    one, two = row["one_process_2_threads"], row["two_ranks_1_thread"]
    line = (f"| {row['model']} | {one['images_per_second']:.0f} | {two['images_per_second']:.0f} | "
            f"{row['scaling_efficiency']:.2f} | {1e3 * two['allreduce_seconds_per_step']:.1f} | "
            f"{1e3 * two['exposed_communication_seconds_per_step']:.1f} | {two['gradient_bytes'] / 2**20:.2f} |")
    if a.no_overlap:
        plain = row["two_ranks_1_thread_no_overlap"]
        line += f" {plain['images_per_second']:.0f} | {1e3 * plain['exposed_communication_seconds_per_step']:.1f} |"
    print(line)
if a.json:
    with open(a.json, "w") as f:
        json.dump(rows, f, indent=1)
