#!/usr/bin/env python3
"""Denoisers side by side on the same noisy pictures: deepsc's K-SVD patch denoiser (`deepsc denoise`),
its unsupervised CSC denoiser (`deepsc csc-denoise`), its unsupervised strided CSC denoiser averaged over
shifts (`deepsc csc-denoise --stride S`) and a learned strided CSC denoiser
(`deepsc csc-denoise --model`, trained by `deepsc train-denoiser`). Every method gets the very same
noisy picture: `--add-noise --seed S` draws the noise inside deepsc from the clean picture.

Prints a Markdown table of PSNR (dB) per picture and noise level, the mean per method, and each
method's seconds; `--json` also writes the raw rows.

  bench/denoisers.py --pictures camera,baboon,fruits,astronaut --sigmas 15,25,50 --model model.pt
  bench/denoisers.py --methods ksvd,strided --stride 8
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent


def find_picture(folder, name):
    for ext in (".png", ".jpg", ".jpeg"):
        path = folder / (name + ext)
        if path.exists():
            return path
    sys.exit(f"denoisers.py: no picture {name} in {folder}")


def run(command):
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1]), time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deepsc", default=str(ROOT / "build/apps/deepsc/deepsc"))
    parser.add_argument("--images", default=str(ROOT / "data/images"))
    parser.add_argument("--pictures", default="camera,baboon,fruits,astronaut")
    parser.add_argument("--sigmas", default="15,25,50")
    parser.add_argument("--model", help="a model from deepsc train-denoiser (omit: no learned row)")
    parser.add_argument("--methods", default="ksvd,csc,learned", help="any of ksvd, csc, strided, learned")
    parser.add_argument("--stride", type=int, default=8, help="the stride of the strided method")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "runs/denoisers"), help="folder for the denoised pictures")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()

    folder = pathlib.Path(args.images)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    methods = [m for m in args.methods.split(",") if m != "learned" or args.model]
    common = ["--add-noise", "--seed", str(args.seed), "--threads", str(args.threads), "--json"]
    rows = []
    for name in args.pictures.split(","):
        picture = find_picture(folder, name)
        for sigma in [float(s) for s in args.sigmas.split(",")]:
            row = {"picture": name, "sigma": sigma}
            for method in methods:
                target = str(out / f"{name}-{sigma:g}-{method}.png")
                base = ["--image", str(picture), "--sigma", str(sigma), "--out", target] + common
                if method == "ksvd":
                    command = [args.deepsc, "denoise"] + base
                elif method == "csc":
                    command = [args.deepsc, "csc-denoise"] + base
                elif method == "strided":
                    command = [args.deepsc, "csc-denoise", "--stride", str(args.stride)] + base
                else:
                    command = [args.deepsc, "csc-denoise", "--model", args.model] + base
                report, seconds = run(command)
                row[method] = report["denoised"]["psnr"]
                row[method + "_seconds"] = seconds
                row["noisy"] = report["noisy"]["psnr"]
            rows.append(row)
            print(json.dumps(row), file=sys.stderr, flush=True)

    print("| picture | σ | noisy | " + " | ".join(methods) + " |")
    print("|---|---|---|" + "---|" * len(methods))
    for row in rows:
        cells = [f"{row[m]:.2f}" for m in methods]
        print(f"| {row['picture']} | {row['sigma']:g} | {row['noisy']:.2f} | " + " | ".join(cells) + " |")
    for sigma in sorted({row["sigma"] for row in rows}):
        at = [row for row in rows if row["sigma"] == sigma]
        means = [sum(row[m] for row in at) / len(at) for m in methods]
        seconds = [sum(row[m + "_seconds"] for row in at) / len(at) for m in methods]
        print(f"| **mean** | {sigma:g} | | " + " | ".join(f"**{v:.2f}**" for v in means) + " |")
        print(f"| seconds per picture | {sigma:g} | | " + " | ".join(f"{v:.1f}" for v in seconds) + " |")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
