#!/usr/bin/env python3
"""Reference for bench/cka.mjs: sim.cka (spec 13.1) the NumPy way.

linear: Kornblith et al.'s feature-space form ||Y'X||_F^2 / (||X'X||_F ||Y'Y||_F) on centred
columns (three BLAS products), debiased with their row-norm corrections; rbf: the n x n kernels
exp(-D / (2 sigma^2)) with sigma = median pairwise distance (numpy.median over i < j), then
HSIC = tr(KHLH) or the Song et al. unbiased form. Data from bench/section13_data.py.
Prints one JSON line: median ms over --reps (after one warm-up) and the value.

  python3 bench/cka_numpy.py --rows 2000 --p 64 --q 64 --kernel linear --debiased 0 --reps 3
"""
import argparse, json, time
import numpy as np
from section13_data import pattern

ap = argparse.ArgumentParser()
ap.add_argument('--rows', type=int, default=2000)
ap.add_argument('--p', type=int, default=64)
ap.add_argument('--q', type=int, default=64)
ap.add_argument('--kernel', default='linear')
ap.add_argument('--debiased', type=int, default=0)
ap.add_argument('--reps', type=int, default=3)
a = ap.parse_args()
X = pattern(a.rows, a.p, 1)
Y = np.tanh(pattern(a.rows, a.q, 2) + 0.5 * pattern(a.rows, a.q, 3))


def linear(X, Y, debiased):
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    xy = np.linalg.norm(X.T @ Y) ** 2
    xx = np.linalg.norm(X.T @ X)
    yy = np.linalg.norm(Y.T @ Y)
    if not debiased:
        return xy / (xx * yy)
    n = len(X)
    rx, ry = np.einsum('ij,ij->i', X, X), np.einsum('ij,ij->i', Y, Y)
    sx, sy = rx.sum(), ry.sum()
    h = lambda t, a, b, s, u: t - n / (n - 2) * a.dot(b) + s * u / ((n - 1) * (n - 2))
    return h(xy, rx, ry, sx, sy) / np.sqrt(h(xx ** 2, rx, rx, sx, sx) * h(yy ** 2, ry, ry, sy, sy))


def rbf_gram(X):
    X = X - X.mean(0)
    sq = np.einsum('ij,ij->i', X, X)
    D = np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0)
    sigma = np.median(np.sqrt(D[np.triu_indices(len(X), 1)]))
    return np.exp(-D / (2 * sigma ** 2))


def hsic(K, L, debiased):
    n = len(K)
    if not debiased:
        Kc = K - K.mean(0) - K.mean(1)[:, None] + K.mean()
        Lc = L - L.mean(0) - L.mean(1)[:, None] + L.mean()
        return (Kc * Lc).sum() / (n - 1) ** 2
    Kt, Lt = K.copy(), L.copy()
    np.fill_diagonal(Kt, 0)
    np.fill_diagonal(Lt, 0)
    k1, l1 = Kt.sum(1), Lt.sum(1)
    return ((Kt * Lt).sum() + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * k1.dot(l1)) / (n * (n - 3))


def rbf(X, Y, debiased):
    K, L = rbf_gram(X), rbf_gram(Y)
    return hsic(K, L, debiased) / np.sqrt(hsic(K, K, debiased) * hsic(L, L, debiased))


f = linear if a.kernel == 'linear' else rbf
f(X, Y, a.debiased)
ts = []
for _ in range(a.reps):
    t0 = time.perf_counter()
    v = f(X, Y, a.debiased)
    ts.append((time.perf_counter() - t0) * 1e3)
print(json.dumps({'ms': float(np.median(ts)), 'value': float(v)}))
