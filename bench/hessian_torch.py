#!/usr/bin/env python3
"""Reference for bench/hessian.mjs: the top Hessian eigenvalue of a dense MLP's mean cross-entropy
the PyTorch way (PyHessian-style: Hessian-vector products by double backward through autograd,
power iteration on them), in float32 (the usual) or float64 (tdlab's precision). Same network
and data as bench/section13-lib.mjs (bench/section13_data.py): inputs pattern(n, d0, 21),
labels i % classes, weights pattern * sqrt(3 / fan_in).
Prints one JSON line: median ms per HVP over --reps timings of --hvps products (after a warm-up),
and the eigenvalue after --hvps power iterations. Needs Debian's python3-torch: /usr/bin/python3.

  /usr/bin/python3 bench/hessian_torch.py --rows 1000 --dims 784,64,64,10 --act tanh --hvps 20 --dtype float32
"""
import argparse, json, time
import numpy as np
import torch
from section13_data import pattern, mlp

ap = argparse.ArgumentParser()
ap.add_argument('--rows', type=int, default=1000)
ap.add_argument('--dims', default='784,64,64,10')
ap.add_argument('--act', default='tanh')
ap.add_argument('--hvps', type=int, default=20)
ap.add_argument('--reps', type=int, default=3)
ap.add_argument('--dtype', default='float32')
a = ap.parse_args()
dt = getattr(torch, a.dtype)
dims = [int(x) for x in a.dims.split(',')]
X = torch.tensor(pattern(a.rows, dims[0], 21), dtype=dt)
y = torch.tensor(np.arange(a.rows) % dims[-1])
params = []
for W, b in mlp(dims):
    params += [torch.tensor(W, dtype=dt, requires_grad=True), torch.tensor(b, dtype=dt, requires_grad=True)]
act = {'tanh': torch.tanh, 'relu': torch.relu}[a.act]


def loss():
    h = X
    for l in range(0, len(params), 2):
        h = h @ params[l] + params[l + 1]
        if l + 2 < len(params):
            h = act(h)
    return torch.nn.functional.cross_entropy(h, y)


def top(hvps):
    g = torch.autograd.grad(loss(), params, create_graph=True)
    v = [torch.tensor(pattern(*p.shape, 40 + i) if p.dim() == 2 else pattern(1, p.shape[0], 40 + i)[0], dtype=dt) for i, p in enumerate(params)]
    lam = 0.0
    for _ in range(hvps):
        nv = torch.sqrt(sum((t * t).sum() for t in v))
        v = [t / nv for t in v]
        hv = torch.autograd.grad(g, params, v, retain_graph=True)
        lam = sum((p * q).sum() for p, q in zip(v, hv)).item()
        v = [t.detach() for t in hv]
    return lam


top(2)
ts = []
for _ in range(a.reps):
    t0 = time.perf_counter()
    lam = top(a.hvps)
    ts.append((time.perf_counter() - t0) * 1e3)
ms = float(np.median(ts))
print(json.dumps({'ms_total': ms, 'ms_per_hvp': ms / a.hvps, 'lambda_max': lam, 'threads': torch.get_num_threads(), 'dtype': a.dtype}))
