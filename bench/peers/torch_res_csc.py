#!/usr/bin/env python3
"""Res-CSC and plain-CSC (Zhang & Zhang, National Science Review 2021) in Python PyTorch, the same
computation as deepsc's nn/res_csc.h, so that bench/compare_training.py times deepsc's C++ models
against it. Every layer is an ISTA step for its non-negative lasso with a learnable step c and
per-channel bias b (D g = conv_transpose2d(g, W), D^T = conv2d(., W), 3x3, padding 1):
    from 0:    X = relu(c D^T x + b)
    from X_-1: X = relu(X_-1 + c D^T (x - D X_-1) + b)   (= ResNet's layer with tied weights)
plus T further steps g <- relu(g + c D^T (x - D g) + b). CIFAR-ResNet skeleton, depth 6n + 2: a stem,
3 stages of n blocks (16, 32, 64 channels times width; stride 2 entering stages 2 and 3), each block
a layer from 0 then (res-csc) a layer warm-started at the block input through ResNet's option-A
shortcut (subsample, zero-pad channels) or (plain-csc) from 0 again; global average pool, linear.
No batch norm. W is N(0, 1) scaled so that ||D^T D||_2 = 1 on 8x8 code maps (power iteration),
c = 1, b = 0.

  torch_res_csc.py --model res-csc --depth 20 --unfoldings 0 --batch 64 --steps 20 -> one JSON line
"""
import argparse, json, math

import torch
import torch.nn as nn
import torch.nn.functional as F

from training_timing import time_training


def lipschitz(w, stride, size=8, iters=100, tol=1e-4):
    """||D^T D||_2 on size x size code maps by power iteration (no gradient)."""
    v = torch.randn(1, w.shape[0], size, size, dtype=w.dtype, generator=torch.Generator().manual_seed(20240611))
    v = v / v.norm()
    value = 0.0
    for _ in range(iters):
        u = F.conv2d(F.conv_transpose2d(v, w, stride=stride, padding=1, output_padding=stride - 1), w,
                     stride=stride, padding=1)
        new = u.norm().item()
        if new == 0:
            return 0.0
        v = u / new
        done = new - value <= tol * new
        value = new
        if done:
            break
    return value


class Layer(nn.Module):
    def __init__(self, cin, atoms, stride, iterates=False):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.randn(atoms, cin, 3, 3) * math.sqrt(2 / (9 * cin)))
        c = 1.0
        if iterates:
            with torch.no_grad():
                c = 1 / max(lipschitz(self.weight, stride), 1e-12)
        self.step = nn.Parameter(torch.full((1,), c))
        self.threshold = nn.Parameter(torch.zeros(atoms))

    def synth(self, g, like):
        s = self.stride
        op = tuple(like.shape[2 + i] - ((g.shape[2 + i] - 1) * s - 2 + 3) for i in (0, 1))
        return F.conv_transpose2d(g, self.weight, stride=s, padding=1, output_padding=op)

    def analysis(self, r):  # c D^T r + b in one convolution
        return F.conv2d(self.step * r, self.weight, self.threshold, stride=self.stride, padding=1)

    def forward(self, x, initial=None, iterations=1):
        g = F.relu(self.analysis(x)) if initial is None else F.relu(initial + self.analysis(x - self.synth(initial, x)))
        for _ in range(iterations - 1):
            g = F.relu(g + self.analysis(x - self.synth(g, x)))
        return g


def shortcut(x, channels, stride):
    """ResNet's option A: subsample, zero-pad the new channels (floor(extra/2) in front)."""
    p = x[:, :, ::stride, ::stride] if stride > 1 else x
    extra = channels - x.shape[1]
    return F.pad(p, (0, 0, 0, 0, extra // 2, extra - extra // 2)) if extra > 0 else p


class ResCscNet(nn.Module):
    def __init__(self, skip, depth=20, unfoldings=0, in_ch=3, classes=10, width=1.0):
        super().__init__()
        if depth < 8 or (depth - 2) % 6:
            raise SystemExit("depth must be 6n + 2 with n >= 1, got %d" % depth)
        n = (depth - 2) // 6
        widths = [max(1, round(c * width)) for c in (16, 32, 64)]
        self.skip, self.steps = skip, 1 + unfoldings
        unfolded = unfoldings > 0
        layers, cin = [Layer(in_ch, widths[0], 1, unfolded)], widths[0]
        for stage, cout in enumerate(widths):
            for block in range(n):
                layers += [Layer(cin, cout, 2 if stage > 0 and block == 0 else 1, unfolded),
                           Layer(cout, cout, 1, unfolded or skip)]
                cin = cout
        self.layers = nn.ModuleList(layers)
        self.fc = nn.Linear(cin, classes)

    def forward(self, images):
        x = self.layers[0](images, None, self.steps)
        for i in range(1, len(self.layers), 2):
            a, b = self.layers[i], self.layers[i + 1]
            xa = a(x, None, self.steps)
            warm = shortcut(x, b.weight.shape[0], a.stride) if self.skip else None
            x = b(xa, warm, self.steps)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="res-csc", choices=["res-csc", "plain-csc"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--input", default="3x32x32")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--unfoldings", type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    c, h, w = (int(v) for v in a.input.split("x"))
    torch.manual_seed(0)
    model = ResCscNet(a.model == "res-csc", a.depth, a.unfoldings, in_ch=c, width=a.width)
    result = time_training(model, a.batch, (c, h, w), a.steps, a.warmup)
    print(json.dumps({"model": a.model, **result, "depth": a.depth, "unfoldings": a.unfoldings}))
