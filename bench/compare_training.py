#!/usr/bin/env python3
"""Training throughput of SDNet-18 and ResNet-18 (CIFAR stem, 3x32x32, batch 64): deepsc's C++
models (`deepsc benchmark train`) against the same models in Python PyTorch
(bench/peers/torch_models.py), one after another in one run, with one thread count.

  bench/compare_training.py --deepsc build/apps/deepsc/deepsc [--threads T] [--steps S] [--width W]

Both use Debian's LibTorch/PyTorch (the same ATen underneath), so the ratio measures the
framework code around it. Each measurement is the best of 3 runs. Targets (issue): C++ >= 1.1x
Python for each model; SDNet-18 / ResNet-18 >= 0.94 (the paper's ratio, 1500/1600 n/s).
"""
import argparse, json, os, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"

p = argparse.ArgumentParser()
p.add_argument("--deepsc", required=True)
p.add_argument("--threads", type=int, default=os.cpu_count())
p.add_argument("--steps", type=int, default=10)
p.add_argument("--batch", type=int, default=64)
p.add_argument("--width", type=float, default=1.0)
p.add_argument("--json-out", default=None)
a = p.parse_args()
env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))


def run(cmd):
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines() if l.startswith("{")][0]


results = {"threads": a.threads, "batch": a.batch, "steps": a.steps, "width": a.width}
for model in ("resnet18", "sdnet18"):
    cpp = max((run([a.deepsc, "benchmark", "train", "--model", model, "--input", "3x32x32", "--batch", str(a.batch),
                    "--steps", str(a.steps), "--width", str(a.width), "--threads", str(a.threads), "--json"])
               for _ in range(3)), key=lambda r: r["images_per_second"])
    py = max((run([PY, f"{HERE}/peers/torch_models.py", "--model", model, "--batch", str(a.batch), "--steps",
                   str(a.steps), "--width", str(a.width), "--threads", str(a.threads)]) for _ in range(3)),
             key=lambda r: r["images_per_second"])
    results[model] = {"cpp": cpp, "python": py, "cpp_over_python": cpp["images_per_second"] / py["images_per_second"]}

print(f"Training throughput, CIFAR stem 3x32x32, batch {a.batch}, width {a.width}, {a.threads} threads (images/s, best of 3)")
print("| model | deepsc C++ | PyTorch (Python) | C++ / Python |")
print("|---|---|---|---|")
for model in ("resnet18", "sdnet18"):
    r = results[model]
    print(f"| {model} | {r['cpp']['images_per_second']:.1f} | {r['python']['images_per_second']:.1f} | "
          f"{r['cpp_over_python']:.2f} |")
ratio_cpp = results["sdnet18"]["cpp"]["images_per_second"] / results["resnet18"]["cpp"]["images_per_second"]
ratio_py = results["sdnet18"]["python"]["images_per_second"] / results["resnet18"]["python"]["images_per_second"]
results["sdnet_over_resnet_cpp"], results["sdnet_over_resnet_python"] = ratio_cpp, ratio_py
print(f"SDNet-18 / ResNet-18: C++ {ratio_cpp:.3f}, Python {ratio_py:.3f} (paper 0.94)")
if a.json_out:
    with open(a.json_out, "w") as f:
        json.dump(results, f, indent=1)
