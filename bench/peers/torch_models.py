#!/usr/bin/env python3
"""ResNet-18/34 and SDNet-18/34 (CIFAR stem) in Python PyTorch, written for bench/compare_training.py
from the published description, so that deepsc's C++ models are timed against the same
computation in Python: the CSC stem solves
    c* = argmin_{c >= 0} lam ||c||_1 + 1/2 ||x - D c||^2,   D c = conv_transpose2d(c, W)
by 2 unrolled ISTA steps from c = 0 with step 0.9/L, L from a warm-started power iteration (at
most 50 steps, stop when ||dv||^2 <= 1e-5) done without gradients before every forward, and
atoms renormalised to unit norm (no gradient) before every forward.

  torch_models.py --model sdnet18 --batch 64 --steps 20 --threads T  -> one JSON line (images/s)
"""
import argparse, json

import torch
import torch.nn as nn
import torch.nn.functional as F

from training_timing import time_training


class CscLayer(nn.Module):
    def __init__(self, in_ch, atoms, k, stride=1, padding=1, lam=0.1, iters=2, step=0.9):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(atoms, in_ch, k, k))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.stride, self.padding, self.lam, self.iters, self.step = stride, padding, lam, iters, step
        self.v = None

    def synth(self, c, out_hw):
        op = [out_hw[i] - ((c.shape[2 + i] - 1) * self.stride - 2 * self.padding + self.weight.shape[2]) for i in (0, 1)]
        return F.conv_transpose2d(c, self.weight, stride=self.stride, padding=self.padding, output_padding=tuple(op))

    def forward(self, x):
        with torch.no_grad():
            w = self.weight
            w.div_(w.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1))
            code_hw = F.conv2d(x[:1], w, stride=self.stride, padding=self.padding).shape[2:]
            if self.v is None or self.v.shape[2:] != code_hw:
                self.v = torch.randn(1, w.shape[0], *code_hw)
            v = self.v / self.v.norm()
            for _ in range(50):
                u = F.conv2d(self.synth(v, x.shape[2:]), w, stride=self.stride, padding=self.padding)
                L = u.norm()
                u = u / L
                done = (u - v).square().sum() <= 1e-5
                v = u
                if done:
                    break
            self.v = v
            eta = self.step / L.item()
        c = F.relu(eta * F.conv2d(x, self.weight, stride=self.stride, padding=self.padding) - self.lam * eta)
        for _ in range(self.iters - 1):
            r = x - self.synth(c, x.shape[2:])
            c = F.relu(c + eta * F.conv2d(r, self.weight, stride=self.stride, padding=self.padding) - self.lam * eta)
        return c


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = nn.Sequential()
        if stride != 1 or cin != cout:
            self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.short(x))


class Net(nn.Module):
    def __init__(self, layers, csc_stem, in_ch=3, classes=10, width=1.0):
        super().__init__()
        w = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
        self.csc_stem = csc_stem
        self.stem = CscLayer(in_ch, w[0], 3) if csc_stem else nn.Conv2d(in_ch, w[0], 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(w[0])
        blocks, cin = [], w[0]
        for i, (n, cout) in enumerate(zip(layers, w)):
            for j in range(n):
                blocks.append(BasicBlock(cin, cout, 2 if (i > 0 and j == 0) else 1))
                cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.bn(self.stem(x))
        if not self.csc_stem:  # SDNet has no ReLU after the CSC layer
            x = F.relu(x)
        x = self.blocks(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


MODELS = {"resnet18": ([2, 2, 2, 2], False), "resnet34": ([3, 4, 6, 3], False),
          "sdnet18": ([2, 2, 2, 2], True), "sdnet34": ([3, 4, 6, 3], True)}

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="sdnet18", choices=sorted(MODELS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--input", default="3x32x32")
    p.add_argument("--width", type=float, default=1.0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    c, h, w = (int(v) for v in a.input.split("x"))
    torch.manual_seed(0)
    layers, csc = MODELS[a.model]
    model = Net(layers, csc, in_ch=c, width=a.width)
    result = time_training(model, a.batch, (c, h, w), a.steps, a.warmup)
    print(json.dumps({"model": a.model, **result}))
