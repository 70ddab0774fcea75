#!/usr/bin/env python3
"""The ML-CSC networks of Sulam, Aberdam, Beck & Elad ("On multi-layer basis pursuit, efficient
algorithms and convolutional neural networks", TPAMI 2020) in plain Python PyTorch, the twin of
deepsc's src/nn/ml_csc_nets.cpp for bench/compare_training.py: the same five networks, layouts and
initialisation, so that deepsc's C++ training step is timed against the same computation.

Per dictionary layer i: weights W_i (D_i g = conv_transpose2d(g, W_i), D_i^T = conv2d(., W_i)), a
step c_i (init 1) and per-channel thresholds b_i (init 0); one layer step is
    S_i(g, x) = relu(g - c_i D_i^T(D_i g - x) + b_i)          (thresholding: g = 0)
  mlcsc-cnn  layered thresholding (T = 0)
  ml-ista    thresholding, then T times: project the deepest code down (g_{i-1} = D_i g_i), then
             one step per layer from its projection on the freshly updated layer below
  ml-fista   as ml-ista with FISTA momentum on the deepest code only
  lbp        per layer: thresholding, then T ISTA steps, before the next layer
  ml-lista   analysis weights B_i, no c: relu(B_i^T g_{i-1} + b_i); unfolding: g_{i-1} = B_i g_i,
             g_i = relu(g_i - W_i^T W_i g_i + B_i^T g_{i-1} + b_i)
Layouts: mnist 32 (6x6 s2), 64 (6x6 s2), 512 (4x4 s1); cifar 32, 64, 128 (4x4 s2 p1) then conv 3x3
256, 512 (max-pool 2), 512 (max-pool 2) with biases and ReLU. Head: global average pool, Linear.
Init: W_i, B_i ~ N(0,1)*0.1/sqrt(fan_in), tail ~ N(0,1)/sqrt(fan_in).

  torch_ml_csc_nets.py --model ml-ista --unfoldings 6 --layout mnist --input 1x28x28 --batch 64
  -> one JSON line (images/s)
"""
import argparse, json, math

import torch
import torch.nn as nn
import torch.nn.functional as F

from training_timing import time_training

LAYOUTS = {  # channels, kernel sizes, strides, paddings, tail
    "mnist": ([32, 64, 512], [6, 6, 4], [2, 2, 1], [0, 0, 0], []),
    "cifar": ([32, 64, 128], [4, 4, 4], [2, 2, 2], [1, 1, 1], [256, 512, 512]),
}
MODELS = ["mlcsc-cnn", "ml-ista", "ml-fista", "lbp", "ml-lista"]


def published_weight(out, inp, k, gain):
    return nn.Parameter(torch.randn(out, inp, k, k) * (gain / math.sqrt(inp * k * k)))


class MlCscNet(nn.Module):
    def __init__(self, model, unfoldings, layout="mnist", in_ch=1, classes=10, width=1.0):
        super().__init__()
        if model == "mlcsc-cnn" and unfoldings:
            raise ValueError("mlcsc-cnn takes no unfoldings (use ml-ista)")
        chans, ks, ss, ps, tail = LAYOUTS[layout]
        scale = lambda m: max(1, round(m * width))
        self.model, self.T, self.lista = model, unfoldings, model == "ml-lista"
        self.geometry = list(zip(ks, ss, ps))
        self.W, self.B = nn.ParameterList(), nn.ParameterList()
        self.c, self.b = nn.ParameterList(), nn.ParameterList()
        cin = in_ch
        for m, k in zip(chans, ks):
            m = scale(m)
            self.W.append(published_weight(m, cin, k, 0.1))
            if self.lista:
                self.B.append(published_weight(m, cin, k, 0.1))
            else:
                self.c.append(nn.Parameter(torch.ones(())))
            self.b.append(nn.Parameter(torch.zeros(m)))
            cin = m
        self.tail_w, self.tail_b = nn.ParameterList(), nn.ParameterList()
        for m in tail:
            m = scale(m)
            self.tail_w.append(published_weight(m, cin, 3, 1.0))
            self.tail_b.append(nn.Parameter(torch.zeros(m)))
            cin = m
        self.fc = nn.Linear(cin, classes)

    def analysis(self, x, w, i):
        k, s, p = self.geometry[i]
        return F.conv2d(x, w, stride=s, padding=p)

    def synthesis(self, g, w, i, like):
        k, s, p = self.geometry[i]
        op = tuple(like.shape[2 + a] - ((g.shape[2 + a] - 1) * s - 2 * p + k) for a in (0, 1))
        return F.conv_transpose2d(g, w, stride=s, padding=p, output_padding=op)

    def threshold(self, i, x):
        b = self.b[i].view(1, -1, 1, 1)
        if self.lista:
            return F.relu(self.analysis(x, self.B[i], i) + b)
        return F.relu(self.c[i] * self.analysis(x, self.W[i], i) + b)

    def step(self, i, g, x, dg=None):
        # dg: D_i g when already computed (ML-ISTA's projection one layer down), as deepsc reuses it
        b, w = self.b[i].view(1, -1, 1, 1), self.W[i]
        if self.lista:
            return F.relu(g - self.analysis(self.synthesis(g, w, i, x), w, i) + self.analysis(x, self.B[i], i) + b)
        dg = self.synthesis(g, w, i, x) if dg is None else dg
        return F.relu(g - self.c[i] * self.analysis(dg - x, w, i) + b)

    def codes(self, x):
        K = len(self.W)
        g = [x] + [None] * K
        for i in range(K):
            g[i + 1] = self.threshold(i, g[i])
            if self.model == "lbp":
                for _ in range(self.T):
                    g[i + 1] = self.step(i, g[i + 1], g[i])
        if self.model in ("ml-ista", "ml-fista", "ml-lista"):
            t, prev = 1.0, g[K]
            for _ in range(self.T):
                proj = [None] * (K + 1)
                proj[K] = g[K]
                if self.model == "ml-fista":
                    t_prev, t = t, (1 + math.sqrt(1 + 4 * t * t)) / 2
                    proj[K] = g[K] + (t_prev - 1) / t * (g[K] - prev)
                    prev = g[K]
                for i in range(K - 1, 0, -1):
                    proj[i] = self.synthesis(proj[i + 1], (self.B if self.lista else self.W)[i], i, g[i])
                for i in range(K):
                    g[i + 1] = self.step(i, proj[i + 1], g[i], proj[i] if i >= 1 and not self.lista else None)
        return g[1:]

    def forward(self, x):
        x = self.codes(x)[-1]
        for j, (w, b) in enumerate(zip(self.tail_w, self.tail_b)):
            x = F.relu(F.conv2d(x, w, b, padding=1))
            if j > 0:
                x = F.max_pool2d(x, 2, 2)
        return self.fc(x.mean((2, 3)))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="ml-ista", choices=MODELS)
    p.add_argument("--unfoldings", type=int, default=-1, help="T (default 6; 0 for mlcsc-cnn)")
    p.add_argument("--layout", default="mnist", choices=sorted(LAYOUTS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--input", default="", help="CxHxW (default 1x28x28 for mnist, 3x32x32 for cifar)")
    p.add_argument("--width", type=float, default=1.0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    c, h, w = (int(v) for v in (a.input or ("1x28x28" if a.layout == "mnist" else "3x32x32")).split("x"))
    T = a.unfoldings if a.unfoldings >= 0 else (0 if a.model == "mlcsc-cnn" else 6)
    torch.manual_seed(0)
    model = MlCscNet(a.model, T, a.layout, in_ch=c, width=a.width)
    result = time_training(model, a.batch, (c, h, w), a.steps, a.warmup)
    print(json.dumps({"model": a.model, **result, "unfoldings": T, "layout": a.layout}))
