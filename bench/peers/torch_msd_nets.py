#!/usr/bin/env python3
"""MSDNet (Pelt & Sethian, PNAS 2018) and MSD-CSC (Zhang & Zhang, National Science Review 2021) as
classifiers in Python PyTorch, the same computation as deepsc's nn/msd_nets.h, so that
bench/compare_unfolded.py times deepsc's C++ models against it.

Dense layer i of a block (stack X of C channels, w = growth new maps, 3x3 filters W [w, C, 3, 3],
dilation s_i = ((i - 1) mod max_dilation) + 1, padding s_i):
    msdnet:   X <- [X; relu(conv2d(X, W) + bias)]
    msd-csc:  code [A; G] of D = [I  F^T] (F = conv2d(., W), F^T = conv_transpose2d(., W)),
              [A; G] = relu(D^T X + b) = [relu(X + b_A); relu(F X + b_G)]      (thresholding)
              then T times: r = c (X - A - F^T G),  [A; G] <- relu([A; G] + [r + b_A; F r + b_G])
              and X <- [A; G]; b = [b_A; b_G] per channel (init 0), c learnable (init 1/L,
              L = 1 + ||F||^2 by power iteration on a 16x16 map, float64, stop at a 1e-5 relative
              change or 100 steps).
Classifier (deepsc's design): stem conv 3x3 + bias + relu (16 x width channels), `blocks` dense
blocks of `depth` layers, between blocks conv 1x1 to half the channels + bias + relu + 2x2 average
pool, global average pool, linear. Conv filters N(0, 2/fan_in), biases 0; no batch norm.

  torch_msd_nets.py --model msd-csc --unfoldings 1 --batch 64 --steps 20 -> one JSON line (images/s)
"""
import argparse, json, math

import torch
import torch.nn as nn
import torch.nn.functional as F

from training_timing import time_training


def lipschitz_f(w, s, size=16, iters=100, tol=1e-5):
    """||F||^2 = ||F F^T||_2 on size x size maps by power iteration on the codes of F^T (no gradient)."""
    w = w.detach().double()
    v = torch.randn(1, w.shape[0], size, size, dtype=torch.double, generator=torch.Generator().manual_seed(20240611))
    v = v / v.norm()
    value = 0.0
    for _ in range(iters):
        u = F.conv2d(F.conv_transpose2d(v, w, padding=s, dilation=s), w, padding=s, dilation=s)
        new = u.norm().item()
        if new == 0:
            return 0.0
        v = u / new
        done = new - value <= tol * new
        value = max(new, value)
        if done:
            break
    return value


def pelt_conv(cin, cout, k, dilation=1, padding=0):
    conv = nn.Conv2d(cin, cout, k, padding=padding, dilation=dilation, bias=True)
    with torch.no_grad():
        conv.weight.normal_(0, math.sqrt(2.0 / (cin * k * k)))
        conv.bias.zero_()
    return conv


class MsdCscLayer(nn.Module):
    def __init__(self, cin, growth, dilation, unfoldings):
        super().__init__()
        self.c, self.s, self.t = cin, dilation, unfoldings
        self.weight = nn.Parameter(torch.randn(growth, cin, 3, 3) * math.sqrt(2.0 / (9 * cin)))
        self.bias = nn.Parameter(torch.zeros(cin + growth))
        self.step = nn.Parameter(torch.tensor(1.0 / (1.0 + lipschitz_f(self.weight, dilation))))

    def scaled_adjoint(self, r):  # D^T r + b = [r + b_A; F r + b_G]
        b_a = self.bias[:self.c].view(1, -1, 1, 1)
        return torch.cat([r + b_a, F.conv2d(r, self.weight, self.bias[self.c:], padding=self.s, dilation=self.s)], 1)

    def forward(self, x):
        code = F.relu(self.scaled_adjoint(x))
        for _ in range(self.t):
            synth = code[:, :self.c] + F.conv_transpose2d(code[:, self.c:], self.weight, padding=self.s, dilation=self.s)
            code = F.relu(code + self.scaled_adjoint((x - synth) * self.step))
        return code


class MsdNet(nn.Module):
    def __init__(self, csc, in_ch=3, classes=10, stem=16, blocks=3, depth=8, growth=8, max_dilation=4, unfoldings=1):
        super().__init__()
        self.csc = csc
        self.stem = pelt_conv(in_ch, stem, 3, padding=1)
        self.blocks, self.transitions = nn.ModuleList(), nn.ModuleList()
        c = stem
        for b in range(blocks):
            layers = nn.ModuleList()
            for i in range(1, depth + 1):
                s = (i - 1) % max_dilation + 1
                layers.append(MsdCscLayer(c, growth, s, unfoldings) if csc else pelt_conv(c, growth, 3, s, s))
                c += growth
            self.blocks.append(layers)
            if b + 1 < blocks:
                self.transitions.append(pelt_conv(c, max(1, c // 2), 1))
                c = max(1, c // 2)
        self.fc = nn.Linear(c, classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        for b, layers in enumerate(self.blocks):
            if b > 0:
                x = F.avg_pool2d(F.relu(self.transitions[b - 1](x)), 2)
            for layer in layers:
                x = layer(x) if self.csc else torch.cat([x, F.relu(layer(x))], 1)
        return self.fc(x.mean((2, 3)))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="msd-csc", choices=["msdnet", "msd-csc"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--input", default="3x32x32")
    p.add_argument("--width", type=float, default=1.0, help="stem channels = max(1, round(16 width))")
    p.add_argument("--channels", type=int, default=0, help="stem channels (overrides --width)")
    p.add_argument("--unfoldings", type=int, default=1, help="ISTA steps after the thresholding (msd-csc)")
    p.add_argument("--depth", type=int, default=8)
    p.add_argument("--blocks", type=int, default=3)
    p.add_argument("--growth", type=int, default=8)
    p.add_argument("--max_dilation", "--max-dilation", type=int, default=4)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    c, h, w = (int(v) for v in a.input.split("x"))
    torch.manual_seed(0)
    stem = a.channels or max(1, round(16 * a.width))
    model = MsdNet(a.model == "msd-csc", in_ch=c, stem=stem, blocks=a.blocks, depth=a.depth, growth=a.growth,
                   max_dilation=a.max_dilation, unfoldings=a.unfoldings)
    result = time_training(model, a.batch, (c, h, w), a.steps, a.warmup)
    print(json.dumps({"model": a.model, **result, "unfoldings": a.unfoldings if a.model == "msd-csc" else None,
                      "blocks": a.blocks, "depth": a.depth, "growth": a.growth, "max_dilation": a.max_dilation,
                      "stem_channels": stem}))
