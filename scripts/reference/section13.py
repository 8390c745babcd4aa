#!/usr/bin/python3
"""Reference values for spec section 13 (CKA, Hessian, ESD power-law fit, neural collapse,
per-example dynamics), written as small JSON fixtures into test/fixtures/reference/.

Independent of tdlab's TypeScript: CKA and NC straight from the spec's n x n / d x d formulas
in NumPy; the Hessian from PyTorch autograd (torch.autograd.functional.hessian on the flat
parameter vector, float64) and a closed form for softmax regression; the power-law fit as a
plain NumPy loop over xmin candidates. Run with Debian's python3 (numpy, scipy, torch):

    /usr/bin/python3 scripts/reference/section13.py

Re-running rewrites the fixtures bit for bit (fixed seeds).
"""
import json
import math
import os

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(__file__), '..', '..', 'test', 'fixtures', 'reference')


def mat(a):
    a = np.asarray(a, dtype=np.float64)
    return {'rows': int(a.shape[0]), 'cols': int(a.shape[1]), 'data': [float(v) for v in a.ravel()]}


def num(v):
    v = float(v)
    return v if math.isfinite(v) else None


def dump(name, obj):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')


# ---------------------------------------------------------------- CKA (spec 13.1)
def kernel(X, kind, sigma):
    X = X - X.mean(0)
    if kind == 'linear':
        return X @ X.T, None
    D2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    if sigma == 'median':
        iu = np.triu_indices(len(X), 1)
        sigma = float(np.median(np.sqrt(D2[iu])))
    return np.exp(-D2 / (2 * sigma ** 2)), sigma


def hsic(K, L, debiased):
    n = len(K)
    if not debiased:
        H = np.eye(n) - np.ones((n, n)) / n
        return np.trace(K @ H @ L @ H) / (n - 1) ** 2
    Kt = K - np.diag(np.diag(K))
    Lt = L - np.diag(np.diag(L))
    one = np.ones(n)
    return (np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
            - 2 / (n - 2) * one @ Kt @ Lt @ one) / (n * (n - 3))


def cka(X, Y, kind='linear', sigma='median', debiased=False):
    K, sx = kernel(X, kind, sigma)
    L, sy = kernel(Y, kind, sigma)
    return hsic(K, L, debiased) / math.sqrt(hsic(K, K, debiased) * hsic(L, L, debiased)), sx, sy


def cka_fixture():
    rng = np.random.default_rng(1301)
    cases = []
    shapes = [(40, 7, 5), (12, 10, 9), (25, 3, 30)]  # the last two have p + q > n
    for n, p, q in shapes:
        X = rng.normal(size=(n, p))
        Y = np.tanh(X @ rng.normal(size=(p, q)) + 0.5 * rng.normal(size=(n, q)))
        vals = []
        for kind, sigma in [('linear', 'median'), ('rbf', 'median'), ('rbf', 1.5)]:
            for debiased in [False, True]:
                v, sx, sy = cka(X, Y, kind, sigma, debiased)
                vals.append({'kernel': kind, 'sigma': sigma, 'debiased': debiased, 'value': v, 'sigmaX': sx, 'sigmaY': sy})
        cases.append({'X': mat(X), 'Y': mat(Y), 'values': vals})
    dump('section13-cka.json', {'source': 'scripts/reference/section13.py: spec 13.1 formulas with n x n matrices (NumPy)', 'cases': cases})


# ---------------------------------------------------------------- Hessian (spec 13.2)
ACT = {
    'tanh': torch.tanh, 'relu': torch.relu, 'sigmoid': torch.sigmoid,
    'softsign': lambda z: z / (1 + z.abs()), 'softplus': torch.nn.functional.softplus,
    'elu': torch.nn.functional.elu, 'linear': lambda z: z,
}


def make_net(rng, dims, acts, scale=1.0):
    layers = []
    for l in range(len(dims) - 1):
        W = rng.normal(size=(dims[l], dims[l + 1])) * scale / math.sqrt(dims[l])
        b = 0.3 * rng.normal(size=dims[l + 1])
        layers.append((W, b, acts[l]))
    return layers


def flat(layers):
    return np.concatenate([np.concatenate([W.ravel(), b]) for W, b, _ in layers])


def loss_fn(layers, X, y):
    shapes = [(W.shape, b.shape, a) for W, b, a in layers]
    Xt = torch.tensor(X)
    yt = torch.tensor(y)

    def f(theta):
        h = Xt
        off = 0
        for (ws, bs, act) in shapes:
            W = theta[off:off + ws[0] * ws[1]].reshape(ws)
            off += ws[0] * ws[1]
            b = theta[off:off + bs[0]]
            off += bs[0]
            h = ACT[act](h @ W + b)
        return torch.nn.functional.cross_entropy(h, yt)  # mean over rows
    return f


def hessian_case(rng, dims, acts, n, scale=1.0, name=''):
    layers = make_net(rng, dims, acts, scale)
    X = rng.normal(size=(n, dims[0]))
    y = rng.integers(0, dims[-1], size=n)
    theta = torch.tensor(flat(layers))
    f = loss_fn(layers, X, y)
    Hm = torch.autograd.functional.hessian(f, theta).numpy()
    Hm = (Hm + Hm.T) / 2
    th = theta.clone().requires_grad_(True)
    grad = torch.autograd.grad(f(th), th)[0].numpy()
    v = rng.normal(size=len(theta))
    # an independent HVP: reverse-over-reverse with autograd (double backward)
    th = theta.clone().requires_grad_(True)
    gr = torch.autograd.grad(f(th), th, create_graph=True)[0]
    hv = torch.autograd.grad(gr @ torch.tensor(v), th)[0].numpy()
    ev = np.linalg.eigvalsh(Hm)
    blocks = []
    off = 0
    for W, b, _ in layers:
        size = W.size + b.size
        blocks.append(float(np.linalg.eigvalsh(Hm[off:off + size, off:off + size])[-1]))
        off += size
    return {
        'name': name,
        'layers': [{'W': mat(W), 'b': [float(x) for x in b], 'activation': a} for W, b, a in layers],
        'X': mat(X), 'y': [int(t) for t in y],
        'loss': float(f(theta)), 'gradient': [float(t) for t in grad],
        'v': [float(t) for t in v], 'Hv': [float(t) for t in hv],
        'lambda_max': float(ev[-1]), 'lambda_min': float(ev[0]), 'lambda_2': float(ev[-2]),
        'trace': float(np.trace(Hm)), 'block_lambda_max': blocks, 'numParams': int(len(theta)),
    }


def softmax_regression_case(rng, d, K, n):
    W = rng.normal(size=(d, K))
    b = rng.normal(size=K)
    X = rng.normal(size=(n, d))
    y = rng.integers(0, K, size=n)
    Z = X @ W + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    Xt = np.hstack([X, np.ones((n, 1))])
    # closed form (spec 13.2): H = (1/n) sum_i kron(x~ x~', diag(p) - p p'), parameter (i, k) at i*K + k
    H = sum(np.kron(np.outer(Xt[i], Xt[i]), np.diag(P[i]) - np.outer(P[i], P[i])) for i in range(n)) / n
    ev = np.linalg.eigvalsh(H)
    # the same net through autograd, as a cross-check of the closed form
    f = loss_fn([(W, b, 'linear')], X, y)
    Ha = torch.autograd.functional.hessian(f, torch.tensor(np.concatenate([W.ravel(), b]))).numpy()
    assert np.abs(Ha - H).max() < 1e-12, 'closed form vs autograd'
    return {
        'name': 'softmax regression (closed form)',
        'layers': [{'W': mat(W), 'b': [float(x) for x in b], 'activation': 'linear'}],
        'X': mat(X), 'y': [int(t) for t in y],
        'lambda_max': float(ev[-1]), 'trace': float(np.trace(H)),
        'trace_formula': float(np.mean((Xt ** 2).sum(1) * (1 - (P ** 2).sum(1)))),
        'numParams': int(H.shape[0]),
    }


def hessian_fixture():
    rng = np.random.default_rng(1302)
    cases = [
        hessian_case(rng, [5, 6, 4, 3], ['tanh', 'sigmoid', 'linear'], 30, 1.5, 'tanh-sigmoid'),
        hessian_case(rng, [4, 5, 5, 3], ['softplus', 'elu', 'linear'], 25, 1.5, 'softplus-elu'),
        hessian_case(rng, [6, 7, 5, 4], ['softsign', 'relu', 'linear'], 40, 1.5, 'softsign-relu'),
        hessian_case(rng, [8, 12, 10, 5], ['tanh', 'tanh', 'linear'], 60, 2.0, 'tanh-wider'),
    ]
    sr = [softmax_regression_case(rng, 6, 4, 50), softmax_regression_case(rng, 3, 5, 20)]
    # large enough for the WebAssembly products (n * fan_in * fan_out >= 65536), ReLU zeros included
    cases.append(hessian_case(rng, [30, 40, 30, 5], ['relu', 'tanh', 'linear'], 200, 1.5, 'relu-tanh-native'))
    dump('section13-hessian.json', {'source': 'scripts/reference/section13.py: torch.autograd.functional.hessian (float64) and the softmax-regression closed form', 'torch': torch.__version__, 'cases': cases, 'softmaxRegression': sr})


# ---------------------------------------------------------------- ESD power law (spec 13.3)
def powerlaw_fit(lam):
    """Clauset et al. continuous MLE, xmin by minimum KS over the candidates of spec 13.3."""
    lam = np.sort(np.asarray(lam, dtype=np.float64))
    M = len(lam)
    top = max(1, math.ceil(0.01 * M))
    best = None
    for s in range(0, M - top):
        x = lam[s]
        if x <= 0 or (s > 0 and lam[s - 1] == x):
            continue
        tail = lam[s:]
        L = np.sum(np.log(tail / x))
        if L <= 0:
            continue
        a = 1 + len(tail) / L
        cdf_emp = np.searchsorted(tail, tail, side='left') / len(tail)
        D = np.max(np.abs((1 - (tail / x) ** (1 - a)) - cdf_emp))
        if best is None or D < best[2]:
            best = (a, x, D, len(tail))
    return best


def esd_values(W):
    N, M = max(W.shape), min(W.shape)
    lam = np.clip(np.linalg.eigvalsh(W.T @ W if W.shape[1] <= W.shape[0] else W @ W.T), 0, None) / N
    a, xmin, ks, nt = powerlaw_fit(lam)
    lmax = lam.max()
    return {'alpha': a, 'xmin': xmin, 'ks': ks, 'n_tail': nt, 'alpha_weighted': a * math.log10(lmax),
            'log_spectral_norm': math.log10(lmax), 'stable_rank': lam.sum() / lmax}


def esd_fixture():
    rng = np.random.default_rng(1303)
    pareto = []
    for alpha, M in [(2.5, 500), (4.0, 500), (3.0, 137)]:
        lam = (1 - rng.random(M)) ** (-1 / (alpha - 1))  # density ~ lambda^-alpha on [1, inf)
        a, xmin, ks, nt = powerlaw_fit(lam)
        pareto.append({'alpha_true': alpha, 'lambda': [float(v) for v in lam], 'alpha': a, 'xmin': xmin, 'ks': ks, 'n_tail': nt})
    mats = []
    for shape in [(60, 40), (30, 80), (50, 50)]:
        W = rng.standard_t(3, size=shape) * 0.1
        mats.append({'W': mat(W), **esd_values(W)})
    dump('section13-esd.json', {'source': 'scripts/reference/section13.py: NumPy eigvalsh + a plain MLE/KS loop', 'pareto': pareto, 'matrices': mats})


# ---------------------------------------------------------------- neural collapse (spec 13.4)
def nc_values(H, y, W=None, b=None):
    classes = np.unique(y)
    K = len(classes)
    muG = H.mean(0)
    mu = np.stack([H[y == c].mean(0) for c in classes])
    M = mu - muG
    idx = np.searchsorted(classes, y)
    D = H - mu[idx]
    Sw = D.T @ D / len(H)
    Sb = M.T @ M / K
    # pseudo-inverse with a relative cutoff (rank(M) <= K - 1 always; NumPy's 1e-15 default would
    # keep round-off directions of Sb)
    NC1 = np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10, hermitian=True)) / K
    norms = np.linalg.norm(M, axis=1)
    NC2_norm = norms.std() / norms.mean()
    cos = (M @ M.T) / np.outer(norms, norms)
    off = ~np.eye(K, dtype=bool)
    NC2_angle = np.abs(cos[off] + 1 / (K - 1)).mean()
    out = {'NC1': NC1, 'NC2_norm': NC2_norm, 'NC2_angle': NC2_angle}
    if W is not None:
        Wc = W[:, classes].T
        out['NC3'] = float(np.sum((Wc / np.linalg.norm(Wc) - M / np.linalg.norm(M)) ** 2))
        pred = np.argmax(H @ W + b, axis=1)
        near = classes[np.argmin(((H[:, None, :] - mu[None, :, :]) ** 2).sum(-1), axis=1)]
        out['NC4'] = float(np.mean(near != pred))
    return out


def nc_fixture():
    rng = np.random.default_rng(1304)
    cases = []
    for n, d, K, spread in [(60, 8, 4, 1.0), (90, 2, 5, 0.7), (200, 20, 10, 0.3)]:
        y = rng.integers(0, K, size=n)
        y[:K] = np.arange(K)  # every class present
        centres = rng.normal(size=(K, d)) * 2
        H = centres[y] + spread * rng.normal(size=(n, d))
        W = centres.T + 0.5 * rng.normal(size=(d, K))
        b = 0.1 * rng.normal(size=K)
        cases.append({'H': mat(H), 'y': [int(t) for t in y], 'W': mat(W), 'b': [float(t) for t in b], **nc_values(H, y, W, b)})
    dump('section13-nc.json', {'source': 'scripts/reference/section13.py: spec 13.4 with d x d matrices and numpy.linalg.pinv (rcond 1e-10)', 'cases': cases})


# ---------------------------------------------------------------- per-example dynamics (spec 13.5)
def dynamics_fixture():
    rng = np.random.default_rng(1305)
    E, n = 12, 30
    p = rng.random((E, n))
    c = (rng.random((E, n)) < np.linspace(0.2, 0.95, E)[:, None]).astype(int)
    epochs = list(range(1, E + 1))
    conf = p.mean(0)
    var = p.std(0)
    corr = c.mean(0)
    forg = ((c[:-1] == 1) & (c[1:] == 0)).sum(0)
    first = []
    for i in range(n):
        if c[-1, i] == 0:
            first.append(-1)
            continue
        k = E - 1
        while k >= 0 and c[k, i] == 1:
            k -= 1
        first.append(epochs[k + 1])
    dump('section13-dynamics.json', {
        'source': 'scripts/reference/section13.py: NumPy (np.std population)', 'epochs': epochs,
        'p': [[float(v) for v in row] for row in p], 'correct': [[int(v) for v in row] for row in c],
        'confidence': conf.tolist(), 'variability': var.tolist(), 'correctness': corr.tolist(),
        'forgetting': [int(v) for v in forg], 'first_learned': first})


if __name__ == '__main__':
    cka_fixture()
    hessian_fixture()
    esd_fixture()
    nc_fixture()
    dynamics_fixture()
    print('wrote', sorted(f for f in os.listdir(OUT) if f.startswith('section13')))
