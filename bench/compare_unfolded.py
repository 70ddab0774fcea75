#!/usr/bin/env python3
"""Training throughput of the networks read as ML-CSC solvers (ML-ISTA family, Res-CSC, MSD-CSC):
deepsc's C++ models (`deepsc benchmark train --model NAME --set model.unfoldings=T`) against the same
models in Python PyTorch (bench/peers/torch_ml_csc_nets.py, torch_res_csc.py, torch_msd_nets.py),
one after another in one run, with one thread count, on Fashion-MNIST-sized input (1x28x28) unless
--input says otherwise.

  bench/compare_unfolded.py --deepsc build/apps/deepsc/deepsc [--threads T] [--steps S] [--batch B]

Targets (issue): C++ >= 1.1x Python for each unfolded net; T unfoldings cost no more than (T + 1)x the
T = 0 forward-backward (the time per step at T over the time at T = 0, C++). Each figure is the best
of --repeats runs.
"""
import argparse, json, os, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"

p = argparse.ArgumentParser()
p.add_argument("--deepsc", required=True)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--steps", type=int, default=10)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--input", default="1x28x28")
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--warmup", type=int, default=2)
p.add_argument("--unfoldings", default="0,1,3,6", help="T values for the ML-ISTA family and MSD-CSC")
p.add_argument("--json-out", default=None)
a = p.parse_args()
env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
ts = [int(t) for t in a.unfoldings.split(",")]

# (label, registry name, peer script, {option: value}) for every measured configuration: ML-ISTA at
# every T of --unfoldings, the other ML-CSC nets at the largest; Res-CSC / plain at depth 20; MSDNet
# and MSD-CSC on the skeleton of the quick preset (2 blocks of 6 layers) at the first three T.
cases = [("mlcsc-cnn", "mlcsc-cnn", "torch_ml_csc_nets.py", {"layout": "mnist"})]
for t in ts:
    cases.append((f"ml-ista T={t}", "ml-ista", "torch_ml_csc_nets.py", {"unfoldings": t, "layout": "mnist"}))
for net in ("ml-fista", "lbp", "ml-lista"):
    cases.append((f"{net} T={ts[-1]}", net, "torch_ml_csc_nets.py", {"unfoldings": ts[-1], "layout": "mnist"}))
for net in ("plain-csc", "res-csc"):
    cases.append((f"{net} depth 20", net, "torch_res_csc.py", {"depth": 20}))
cases.append(("res-csc depth 20 T=1", "res-csc", "torch_res_csc.py", {"depth": 20, "unfoldings": 1}))
msd = {"blocks": 2, "depth": 6}
cases.append(("msdnet", "msdnet", "torch_msd_nets.py", dict(msd)))
for t in ts[:3]:
    cases.append((f"msd-csc T={t}", "msd-csc", "torch_msd_nets.py", dict(msd, unfoldings=t)))


def run(cmd):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")][0]


def best(cmd):
    return max((run(cmd) for _ in range(a.repeats)), key=lambda r: r["images_per_second"])


common = ["--batch", str(a.batch), "--steps", str(a.steps), "--warmup", str(a.warmup), "--threads", str(a.threads),
          "--input", a.input]
results = {"threads": a.threads, "batch": a.batch, "steps": a.steps, "input": a.input, "cases": []}
for label, name, peer, opts in cases:
    sets = [x for k, v in opts.items() for x in ("--set", f"model.{k}={v}")]
    cpp = best([a.deepsc, "benchmark", "train", "--model", name, *common, *sets, "--json"])
    flags = [x for k, v in opts.items() for x in (f"--{k}", str(v))]
    py = best([PY, os.path.join(HERE, "peers", peer), "--model", name, *common, *flags])
    results["cases"].append({"label": label, "model": name, "options": opts, "cpp": cpp, "python": py,
                             "cpp_over_python": cpp["images_per_second"] / py["images_per_second"]})

by_label = {c["label"]: c for c in results["cases"]}


def t0_label(c):
    if c["model"] in ("ml-ista", "ml-fista", "lbp", "ml-lista"):
        return "ml-ista T=0"  # every T = 0 ML-CSC net is the same CNN
    if c["model"] == "msd-csc":
        return "msd-csc T=0"
    if c["label"] == "res-csc depth 20 T=1":
        return "res-csc depth 20"
    return None


print(f"Training throughput, input {a.input}, batch {a.batch}, {a.threads} threads "
      f"(images/s, best of {a.repeats}; one SGD step = forward + backward + update)")
print("| network | parameters | deepsc C++ | PyTorch (Python) | C++ / Python | step time / T=0 step time (C++) | T + 1 |")
print("|---|---|---|---|---|---|---|")
for c in results["cases"]:
    ref = t0_label(c)
    t = c["options"].get("unfoldings", 0)
    if ref and ref in by_label:
        c["time_over_t0"] = by_label[ref]["cpp"]["images_per_second"] / c["cpp"]["images_per_second"]
        scaling = f"{c['time_over_t0']:.2f} | {t + 1}"
    else:
        scaling = "| "
    print(f"| {c['label']} | {c['cpp']['parameters']:,} | {c['cpp']['images_per_second']:.1f} | "
          f"{c['python']['images_per_second']:.1f} | {c['cpp_over_python']:.2f} | {scaling} |")
if a.json_out:
    with open(a.json_out, "w") as f:
        json.dump(results, f, indent=1)
