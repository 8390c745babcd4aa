#!/usr/bin/env python3
"""Reference for bench/nc.mjs: nc.collapse (spec 13.4) the NumPy way (as Papyan et al.'s code):
class means, Sigma_W (d x d) and Sigma_B (d x d), tr(Sigma_W pinv(Sigma_B)) / K, norms and cosines
of the centred means, NC3 against W (d x K), NC4 by nearest class mean vs argmax(H W + b).
Data: H = class centre + noise from bench/section13_data.py, labels i % K.

  python3 bench/nc_numpy.py --rows 5000 --width 128 --classes 10 --reps 3
"""
import argparse, json, time
import numpy as np
from section13_data import pattern

ap = argparse.ArgumentParser()
ap.add_argument('--rows', type=int, default=5000)
ap.add_argument('--width', type=int, default=128)
ap.add_argument('--classes', type=int, default=10)
ap.add_argument('--reps', type=int, default=3)
a = ap.parse_args()
n, d, K = a.rows, a.width, a.classes
y = np.arange(n) % K
C = 3 * pattern(K, d, 4)
H = C[y] + pattern(n, d, 5)
W = C.T + 0.5 * pattern(d, K, 6)
b = 0.1 * pattern(1, K, 7)[0]


def nc(H, y, W, b):
    mu = np.stack([H[y == k].mean(0) for k in range(K)])
    muG = H.mean(0)
    M = mu - muG
    D = H - mu[y]
    Sw = D.T @ D / len(H)
    Sb = M.T @ M / K
    nc1 = np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10, hermitian=True)) / K
    norms = np.linalg.norm(M, axis=1)
    cos = (M @ M.T) / np.outer(norms, norms)
    off = ~np.eye(K, dtype=bool)
    nc2a = np.abs(cos[off] + 1 / (K - 1)).mean()
    nc3 = np.sum((W.T / np.linalg.norm(W) - M / np.linalg.norm(M)) ** 2)
    near = np.argmin(((H[:, None, :] - mu[None]) ** 2).sum(-1), axis=1)
    nc4 = np.mean(near != np.argmax(H @ W + b, axis=1))
    return nc1, norms.std() / norms.mean(), nc2a, nc3, nc4


nc(H, y, W, b)
ts = []
for _ in range(a.reps):
    t0 = time.perf_counter()
    v = nc(H, y, W, b)
    ts.append((time.perf_counter() - t0) * 1e3)
print(json.dumps({'ms': float(np.median(ts)), 'values': [float(x) for x in v]}))
