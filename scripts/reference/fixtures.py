#!/usr/bin/env python3
"""Independent NumPy/SciPy references for tdlab's estimators (issue 13, items 4-5).

Writes small deterministic JSON fixtures into test/fixtures/reference/, one file per estimator
family. Inputs are drawn here with NumPy's PCG64 generator from fixed seeds and stored in the
fixture (rounded to float32 where tdlab's inputs are float32); the expected values are computed by
implementations written in this file from the definitions in shared/spec/metrics.md (sections 0,
3, 5, 6, 7, 8.1, 11), NOT from tdlab's TypeScript. SciPy is used where it is the natural
reference (cKDTree + digamma for kNN, logsumexp for KDE, cdist/pdist for distances); spectra come
from numpy.linalg (eigvalsh / eigh / svd / matrix_rank).

Where tdlab documents a deliberate deviation from (or a choice the spec leaves open in) the
spec, this script follows tdlab's documented convention and says so at the place it does
("CONVENTION:" comments and the `note` of the affected cases):
  - aKDE uses s2 = c * max|T|^2 (src/metrics/mi/kde.ts, README), not c * max|T|;
  - KDE with repeated inputs (xIds): T | X = x is the mixture over the rows of x (kde.ts);
  - EBAB / adaptmax for an activation without a finite lower bound (`linear`): low is just
    below the layer's minimum (adaptive-binning.ts);
  - whitening is PCA whitening (eigenbasis of the ddof-1 covariance) with a ridge of 1e-9 times
    the mean eigenvalue (linalg/dense.ts); the max-norm kNN geometry depends on that choice;
  - the weighted-KL weights solve the least-squares system with the sum row scaled 1/k and the
    gamma rows scaled to unit norm (knn/kl.ts);
  - local rank's "numerical rank" is NumPy's matrix_rank rule applied to the Gram J J^T,
    i.e. s^2 > s_max^2 * max(d_l, d_0) * eps (local-rank/analytic.ts); the literal rule on s
    is also recorded (numpy.linalg.matrix_rank) for information;
  - weight features follow the PyTorch reference code: unbiased variances, lower medians,
    singular values < 1e-5 set to 0 (model/features.ts).

Runs with Debian's python3-numpy/python3-scipy (/usr/bin/python3) or any python3 with NumPy >=
1.17 and SciPy >= 1.6; the versions used are recorded in every file. Regenerate with

    /usr/bin/python3 scripts/reference/fixtures.py            # writes test/fixtures/reference/
    /usr/bin/python3 scripts/reference/fixtures.py --out DIR  # elsewhere, e.g. to diff

Another script (scripts/reference/section13.py) writes the section-13 fixtures (section13-*.json)
into the same folder; the names here do not collide with those.
"""
import argparse
import json
import math
import os
import platform
import sys

import numpy as np
import scipy
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist, pdist
from scipy.special import digamma, gammaln, logsumexp

LN2 = math.log(2.0)
EPS64 = float(np.finfo(np.float64).eps)

# ---------------------------------------------------------------------------------------------
# serialisation


def short32(values):
    """float32 values as the shortest decimal that rounds back to the same float32."""
    out = []
    for v in np.asarray(values, dtype=np.float32).ravel():
        s = np.format_float_positional(v, unique=True, trim='-') if abs(v) >= 1e-4 or v == 0 else np.format_float_scientific(v, unique=True, trim='-')
        f = float(s)
        if np.float32(f) != v:  # double rounding through float64: fall back to the exact value
            f = float(v)
        out.append(f)
    return out


def mat32(a):
    a = np.asarray(a, dtype=np.float32)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return {"rows": int(a.shape[0]), "cols": int(a.shape[1]), "dtype": "float32", "data": short32(a)}


def mat64(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    return {"rows": int(a.shape[0]), "cols": int(a.shape[1]), "dtype": "float64", "data": [float(x) for x in a.ravel()]}


def ints(a):
    return [int(x) for x in np.asarray(a).ravel()]


def fl(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    return x


def header(family, spec, notes):
    return {
        "source": "scripts/reference/fixtures.py (independent NumPy/SciPy implementations of the spec definitions)",
        "family": family,
        "spec": spec,
        "generated_with": {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__},
        "notes": notes,
    }


def rng_for(name):
    """One generator per family, seeded from the family name (stable across runs and versions)."""
    seed = sum((i + 1) * ord(c) for i, c in enumerate(name))
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# discrete entropies (spec 0 / 3.1): plug-in, rows compared exactly, bits


def row_ids(states):
    """Integer id per row of a 2-D array of states (rows compared exactly; -0.0 == 0.0)."""
    s = np.ascontiguousarray(np.asarray(states) + 0)  # +0 turns -0.0 into 0.0 for float states
    if s.ndim == 1:
        s = s.reshape(-1, 1)
    _, inv = np.unique(s, axis=0, return_inverse=True)
    return np.asarray(inv).ravel()


def entropy_bits(ids):
    _, counts = np.unique(ids, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log2(p)))


def conditional_entropy_bits(t_ids, g_ids):
    """H(T | G) = sum_g p(g) H(T | G = g)."""
    n = len(t_ids)
    h = 0.0
    for g in np.unique(g_ids):
        sel = g_ids == g
        h += sel.sum() / n * entropy_bits(t_ids[sel])
    return h


def discrete_mi(states, y, xids=None):
    t = row_ids(states)
    ht = entropy_bits(t)
    htx = 0.0 if xids is None else conditional_entropy_bits(t, np.asarray(xids))
    hty = conditional_entropy_bits(t, np.asarray(y))
    ceiling = math.log2(len(t)) if xids is None else entropy_bits(np.asarray(xids))
    return {"I_XT": ht - htx, "I_TY": ht - hty}, ceiling


def in_unit(values, unit):
    f = LN2 if unit == "nats" else 1.0
    return {k: fl(v * f) for k, v in values.items()}


# ---------------------------------------------------------------------------------------------
# 3.1 / 3.2 binning


def bin_states(T, lo, hi, bins, quirks):
    """Spec 3.1: float32 edges linspace(lo, hi, B); k = digitize(a, edges); state = edges[k - 1].
    quirks (IDNNs): k = 0 indexes edges[-1] (= hi), k = B gives edges[B - 1] = hi (own state);
    without quirks k is clipped to 1..B-1 (below lo -> first interval, >= hi -> last interval)."""
    edges = np.linspace(lo, hi, bins).astype(np.float32)
    k = np.digitize(T, edges, right=False)
    if not quirks:
        k = np.clip(k, 1, bins - 1)
    return edges[k - 1]


def width_states(T, b):
    """Spec 3.2: floor(a / b) per unit, float32 arithmetic (T and b float32)."""
    return np.floor(T / np.float32(b)).astype(np.int64)


def family_binning():
    rng = rng_for("binning")
    N = 300
    tanh = np.tanh(1.6 * rng.standard_normal((N, 3))).astype(np.float32)
    e30 = np.linspace(-1, 1, 30).astype(np.float32)
    e8 = np.linspace(-0.5, 0.8, 8).astype(np.float32)
    # saturated units (exactly +-1.0 in float32), values exactly on edges, outside [lo, hi]
    tanh[:12, 0] = 1.0
    tanh[12:20, 1] = -1.0
    tanh[20:40, 2] = rng.choice(e30, 20)
    tanh[40:55, 0] = rng.choice(e8, 15)
    tanh[55:60, 1] = np.float32(1.0) + np.float32(0.25)  # above hi
    tanh[60:65, 2] = np.float32(-1.5)  # below lo
    y = rng.integers(0, 3, N)
    # repeated inputs: 100 distinct inputs x 3 rows each (shuffled), nearby but not equal representations
    base = np.tanh(1.2 * rng.standard_normal((100, 3)))
    xids = np.repeat(np.arange(100), 3)
    perm = rng.permutation(N)
    xids = xids[perm]
    rep = (base[xids] + 0.04 * rng.standard_normal((N, 3))).astype(np.float32)
    y_rep = (base[xids, 0] > 0).astype(np.int64) + (base[xids, 1] > 0.5)
    # unbounded: ReLU-like and linear layers, with values exactly on multiples of the bin width
    relu = np.maximum(0, 2.0 * rng.standard_normal((N, 2))).astype(np.float32)
    lin = (3.0 * rng.standard_normal((N, 2))).astype(np.float32)
    lin[:30, 0] = (rng.integers(-20, 20, 30) * np.float32(0.5)).astype(np.float32)
    lin[30:40, 1] = -0.0
    wide = np.concatenate([relu, lin], axis=1)

    inputs = {"tanh": mat32(tanh), "rep": mat32(rep), "wide": mat32(wide)}
    labels = {"y": ints(y), "y_rep": ints(y_rep)}
    xid = {"rep": ints(xids)}
    cases = []

    def add(est, inp, lab, params, values, ceiling, xids_name=None, note=None):
        unit = params.get("unit", "bits")
        c = {"estimator": est, "input": inp, "labels": lab, "params": params, "expected": in_unit(values, unit),
             "ceiling": {"I_XT": fl(ceiling * (LN2 if unit == "nats" else 1.0))}, "tol": {"abs": 1e-12}}
        if xids_name:
            c["xIds"] = xids_name
        if note:
            c["note"] = note
        cases.append(c)

    for bins, lo, hi in [(30, -1.0, 1.0), (8, -0.5, 0.8), (12, -1.0, 1.0)]:
        for quirks in [True, False]:
            v, ceil = discrete_mi(bin_states(tanh, lo, hi, bins, quirks), y)
            add("mi.bin", "tanh", "y", {"bins": bins, "lo": lo, "hi": hi, "idnnsQuirks": quirks}, v, ceil)
    v, ceil = discrete_mi(bin_states(tanh, -1.0, 1.0, 30, True), y)
    add("mi.bin", "tanh", "y", {"unit": "nats"}, v, ceil)
    v, ceil = discrete_mi(bin_states(rep, -1.0, 1.0, 30, True), y_rep, xids)
    add("mi.bin", "rep", "y_rep", {}, v, ceil, "rep", "repeated inputs: I(X;T) = H(T) - H(T|X) with rows grouped by input id")
    v, ceil = discrete_mi(bin_states(rep, -1.0, 1.0, 8, False), y_rep, xids)
    add("mi.bin", "rep", "y_rep", {"bins": 8, "idnnsQuirks": False, "unit": "nats"}, v, ceil, "rep")
    for bw in [0.07, 0.5, 1.3]:
        v, ceil = discrete_mi(width_states(wide, bw), y)
        add("mi.binwidth", "wide", "y", {"binWidth": bw}, v, ceil)
    v, ceil = discrete_mi(width_states(wide, 0.5), y)
    add("mi.binwidth", "wide", "y", {"binWidth": 0.5, "unit": "nats"}, v, ceil)
    v, ceil = discrete_mi(width_states(rep, 0.07), y_rep, xids)
    add("mi.binwidth", "rep", "y_rep", {}, v, ceil, "rep")
    out = header("binning", "3.1, 3.2", "edges: numpy linspace cast to float32; digitize(right=False); state = left edge edges[k-1] with numpy's negative index for k = 0 (IDNNs); rows compared exactly; plug-in entropies in bits")
    out.update({"inputs": inputs, "labels": labels, "xIds": xid, "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------
# 3.3 adaptive binning

LOWER_BOUND = {"tanh": -1.0, "softsign": -1.0, "elu": -1.0, "relu": 0.0, "softplus": 0.0, "sigmoid": 0.0, "softmax": 0.0}


def adaptive_low(T, activation):
    """Spec 3.3: low = 0 for activations bounded below by 0; -1.000001 (float32) for those bounded
    below by -1. CONVENTION (tdlab, spec silent): without a finite lower bound (`linear`, unknown)
    low is float32(min - 1e-6 max(1, |min|)), lowered by float32 ulps until strictly below min."""
    b = LOWER_BOUND.get(activation)
    if b == 0.0:
        return np.float32(0.0)
    if b is not None:
        return np.float32(b - 1e-6 * max(1.0, abs(b)))
    mn = float(np.min(T))
    low = np.float32(mn - 1e-6 * max(1.0, abs(mn)))
    while not float(low) < mn:
        low = np.nextafter(low, np.float32(-np.inf))
    return low


def ebab_edges(T, low, bins):
    """Spec 3.3 (maxentropy mode): u = sorted unique values without low; edges = [low] +
    [u[floor(k U / B)] for k < B] + [u[U - 1]] (float32)."""
    u = np.unique(T.ravel())
    u = u[u != low]
    U = len(u)
    return np.concatenate([[low], [u[(k * U) // bins] for k in range(bins)], [u[U - 1]]]).astype(np.float32)


def left_edge_states(T, edges):
    k = np.digitize(T, edges, right=False)
    return edges[k - 1]  # k = 0 wraps to the last edge, as the reference's negative index


def family_adaptive():
    rng = rng_for("adaptive-binning")
    N = 240
    tanh = np.tanh(1.3 * rng.standard_normal((N, 3))).astype(np.float32)
    tanh[:10, 0] = 1.0
    tanh[10:15, 1] = -1.0
    relu = np.maximum(0, rng.standard_normal((N, 3)) * np.array([0.5, 2.0, 8.0])).astype(np.float32)  # ~half exact zeros
    lin = (rng.standard_normal((N, 2)) * 3 - 1).astype(np.float32)
    few = rng.choice(np.float32([-0.5, 0.0, 0.25, 0.75, 1.0]), (N, 2)).astype(np.float32)  # U < B: duplicate edges
    soft = rng.random((N, 2)).astype(np.float32)
    soft = soft / soft.sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, N)
    xids = rng.permutation(np.repeat(np.arange(80), 3))
    rep = np.tanh(rng.standard_normal((80, 2))[xids] + 0.05 * rng.standard_normal((N, 2))).astype(np.float32)
    inputs = {"tanh": mat32(tanh), "relu": mat32(relu), "lin": mat32(lin), "few": mat32(few), "soft": mat32(soft), "rep": mat32(rep)}
    cases = []

    def add(est, inp, act, params, T, y_, edges, extra=None, xids_name=None, note=None):
        v, ceil = discrete_mi(left_edge_states(T, edges), y_, xids if xids_name else None)
        unit = params.get("unit", "bits")
        c = {"estimator": est, "input": inp, "activation": act, "labels": "y", "params": params, "expected": in_unit(v, unit),
             "ceiling": {"I_XT": fl(ceil * (LN2 if unit == "nats" else 1.0))}, "edges": short32(edges), "tol": {"abs": 1e-12}}
        if extra:
            c.update(extra)
        if xids_name:
            c["xIds"] = xids_name
        if note:
            c["note"] = note
        cases.append(c)

    arrays = {"tanh": tanh, "relu": relu, "lin": lin, "few": few, "soft": soft, "rep": rep}
    for inp, act in [("tanh", "tanh"), ("relu", "relu"), ("lin", "linear"), ("few", "tanh"), ("few", "linear"), ("soft", "softmax"), ("relu", "sigmoid"), ("tanh", "elu")]:
        T = arrays[inp]
        for bins in [30, 10]:
            low = adaptive_low(T, act)
            add("mi.ebab", inp, act, {"bins": bins}, T, y, ebab_edges(T, low, bins),
                note="low from the activation (spec 3.3)" if act != "linear" else "CONVENTION: low just below the minimum (no finite lower bound)")
    T = tanh
    add("mi.ebab", "tanh", "tanh", {"unit": "nats"}, T, y, ebab_edges(T, adaptive_low(T, "tanh"), 30))
    add("mi.ebab", "rep", "tanh", {}, rep, y, ebab_edges(rep, adaptive_low(rep, "tanh"), 30), xids_name="rep")
    # adaptmax: edges linspace(low, M, B) with M = running max (given) or this epoch's max
    for inp, act, running in [("tanh", "tanh", None), ("relu", "relu", None), ("relu", "relu", 12.5), ("relu", "relu", 3.0), ("lin", "linear", None), ("lin", "linear", 20.0)]:
        T = arrays[inp]
        M = np.float32(running) if running is not None else np.max(T)
        low = adaptive_low(T, act)
        for bins in [30, 7]:
            edges = np.linspace(float(low), float(M), bins).astype(np.float32)
            extra = {"runningMax": running} if running is not None else None
            add("mi.adaptmax", inp, act, {"bins": bins}, T, y, edges, extra,
                note="runningMax below the epoch maximum: values above it share the top state" if running == 3.0 else None)
    add("mi.adaptmax", "rep", "tanh", {"unit": "nats"}, rep, y, np.linspace(float(adaptive_low(rep, "tanh")), float(np.max(rep)), 30).astype(np.float32), xids_name="rep")
    out = header("adaptive-binning", "3.3", "EBAB and adaptmax: edges per the spec 3.3 rule (float32), left-edge states, plug-in entropies; `edges` lists the expected float32 edges")
    out.update({"inputs": inputs, "labels": {"y": ints(y)}, "xIds": {"rep": ints(xids)}, "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------
# 3.4 / 3.5 KDE


def kde_L(T, a):
    """L(G) = -(1/|G|) sum_i ln[(1/|G|) sum_j exp(-a D_ij)] over the rows of T (nats)."""
    n = T.shape[0]
    D = cdist(T, T, "sqeuclidean")
    return float(-np.mean(logsumexp(-a * D, axis=1) - math.log(n)))


def kde_mi(T, y, s2, bound, xids=None):
    """Spec 3.4: I(X;T) = L(all) - sum_x p(x) L(x) (L(x) = 0 for one row per x), I(T;Y) likewise.
    CONVENTION (tdlab, kde.ts): with repeated inputs T | X = x is the mixture over the rows of x."""
    T = np.asarray(T, dtype=np.float64)
    a = 1.0 / ((2.0 if bound == "upper" else 8.0) * s2)
    n = T.shape[0]
    L = kde_L(T, a)
    cond_x = 0.0
    if xids is not None:
        for g in np.unique(xids):
            sel = xids == g
            cond_x += sel.sum() / n * kde_L(T[sel], a)
    cond_y = 0.0
    for g in np.unique(y):
        sel = y == g
        cond_y += sel.sum() / n * kde_L(T[sel], a)
    return {"I_XT": (L - cond_x) / LN2, "I_TY": (L - cond_y) / LN2}


def family_kde():
    rng = rng_for("kde")
    N = 240
    y = rng.integers(0, 3, N)
    T1 = (0.15 * rng.standard_normal((N, 3)) + 0.1 * y[:, None]).astype(np.float32)
    T2 = np.tanh(rng.standard_normal((N, 5)) * 2).astype(np.float32)
    xids = rng.permutation(np.repeat(np.arange(80), 3))
    rep = (0.3 * rng.standard_normal((80, 2))[xids] + 0.03 * rng.standard_normal((N, 2))).astype(np.float32)
    inputs = {"T1": mat32(T1), "T2": mat32(T2), "rep": mat32(rep)}
    arrays = {"T1": T1, "T2": T2, "rep": rep}
    cases = []

    def add(est, inp, params, v, s2, xids_name=None, note=None):
        unit = params.get("unit", "bits")
        T = arrays[inp]
        ceil = math.log2(T.shape[0]) if xids_name is None else entropy_bits(xids)
        c = {"estimator": est, "input": inp, "labels": "y", "params": params, "noiseVariance": s2, "expected": in_unit(v, unit),
             "ceiling": {"I_XT": fl(ceil * (LN2 if unit == "nats" else 1.0))}, "tol": {"rel": 1e-10, "abs": 1e-12}}
        if xids_name:
            c["xIds"] = xids_name
        if note:
            c["note"] = note
        cases.append(c)

    for inp in ["T1", "T2"]:
        T = arrays[inp]
        for s2 in [1e-3, 1e-2, 0.1]:
            for bound in ["upper", "lower"]:
                add("mi.kde", inp, {"noiseVariance": s2, "bound": bound}, kde_mi(T, y, s2, bound), s2)
    add("mi.kde", "T1", {"noiseVariance": 1e-2, "unit": "nats"}, kde_mi(T1, y, 1e-2, "upper"), 1e-2)
    for bound in ["upper", "lower"]:
        add("mi.kde", "rep", {"noiseVariance": 1e-3, "bound": bound}, kde_mi(rep, y, 1e-3, bound, xids), 1e-3, "rep",
            "CONVENTION: repeated inputs, T | X = x is the mixture over the rows of x (kde.ts)")
    # aKDE: CONVENTION s2 = c * max|T|^2 (tdlab's documented deviation: the spec's c * max|T| is
    # not scale invariant; both agree at max |T| = 1)
    for inp in ["T1", "T2"]:
        T = arrays[inp]
        m = float(np.max(np.abs(T)))
        for c in [1e-3, 1e-2]:
            for bound in ["upper", "lower"]:
                s2 = c * m * m
                add("mi.akde", inp, {"c": c, "bound": bound}, kde_mi(T, y, s2, bound), s2, note="CONVENTION: s2 = c * max|T|^2")
    m = float(np.max(np.abs(rep)))
    add("mi.akde", "rep", {"c": 1e-2, "unit": "nats"}, kde_mi(rep, y, 1e-2 * m * m, "upper", xids), 1e-2 * m * m, "rep")
    out = header("kde", "3.4, 3.5", "Kolchinsky-Tracey bounds with scipy.special.logsumexp over scipy cdist squared distances, float64; values in bits unless unit says otherwise")
    out.update({"inputs": inputs, "labels": {"y": ints(y)}, "xIds": {"rep": ints(xids)}, "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------
# 3.6 kNN estimators


def ln_ball(d, norm):
    return d * LN2 if norm == "max" else 0.5 * d * math.log(math.pi) - float(gammaln(0.5 * d + 1))


def knn_dists(x, k, norm):
    """Distances to the 1st..k-th nearest neighbour (self excluded) by scipy's cKDTree."""
    p = np.inf if norm == "max" else 2
    d, _ = cKDTree(x).query(x, k=k + 1, p=p)
    assert np.all(d[:, 0] == 0) and np.all(d[:, 1:] > 0), "fixture data must have no duplicate rows"
    return d[:, 1:]


def wkl_weights(k, d):
    """Weighted KL weights (spec 3.6): d <= 4 -> (1, 0, ..., 0); otherwise the minimum-norm least
    squares (numpy.linalg.lstsq, rcond 1e-6) of sum_j w_j = 1 and, for l = 1..floor(d/4),
    sum_j w_j Gamma(j + 2l/d) / Gamma(j) = 0, with w_j = 0 for every 1-based j not of the form
    floor(i k / d), i = 1..d (those columns are removed). CONVENTION (tdlab kl.ts): the sum row is
    scaled by 1/k and each gamma row to unit norm (matters only for an inconsistent system)."""
    w = np.zeros(k)
    if d <= 4 or k == 1:
        w[0] = 1.0
        return w
    allowed = sorted({(i * k) // d for i in range(1, d + 1)} - {0})
    js = np.array(allowed, dtype=np.float64)
    rows = [np.full(len(js), 1.0 / k)]
    rhs = [1.0 / k]
    for l in range(1, d // 4 + 1):
        r = np.exp(gammaln(js + 2.0 * l / d) - gammaln(js))
        rows.append(r / np.linalg.norm(np.exp(gammaln(np.arange(1, k + 1) + 2.0 * l / d) - gammaln(np.arange(1, k + 1)))))
        rhs.append(0.0)
    sol = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=1e-6)[0]
    w[np.array(allowed) - 1] = sol
    return w


def whiten(x, ridge=1e-9):
    """CONVENTION (tdlab linalg/dense.ts): PCA whitening with the ddof-1 covariance, eigenvalues
    clipped at 0 plus ridge * mean eigenvalue; returns (white, ln det of the regularised cov)."""
    xc = x - x.mean(axis=0)
    cov = np.cov(x, rowvar=False, ddof=1).reshape(x.shape[1], x.shape[1])
    lam, V = np.linalg.eigh(cov)
    lam = np.maximum(lam, 0)
    tr = lam.sum()
    lam = lam + ridge * (tr / len(lam) if tr > 0 else 1.0)
    return (xc @ V) / np.sqrt(lam), float(np.sum(np.log(lam)))


def kl_entropy(x, k, norm, weighted=False, standardize=False, whiten_=False):
    """Kozachenko-Leonenko entropy in nats (spec 3.6): H(j) = psi(N) - psi(j) + ln V_d + (d/N) sum ln r_ij,
    plain KL uses j = k, weighted KL sum_j w_j H(j); optional standardisation (population std,
    Jacobian sum ln std added back) and whitening (0.5 ln det added back)."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    jac = 0.0
    if standardize:
        sd = x.std(axis=0)
        sd = np.where(sd > 0, sd, 1.0)
        x = (x - x.mean(axis=0)) / sd
        jac += float(np.sum(np.log(sd)))
    if whiten_:
        x, logdet = whiten(x)
        jac += 0.5 * logdet
    k = min(k, n - 1)
    w = wkl_weights(k, d) if weighted else np.eye(k)[k - 1]
    r = knn_dists(x, k, norm)
    h = 0.0
    for j in range(k):
        if w[j] != 0:
            h += w[j] * (digamma(n) - digamma(j + 1) + ln_ball(d, norm) + d * np.mean(np.log(r[:, j])))
    return float(h) + jac


def conditional_mi(t, y, **kw):
    """I(T;Y) = H(T) - sum_y p(y) H(T | Y = y), each class re-fitted (k -> min(k, n_y - 1))."""
    classes = np.unique(y)
    if len(classes) <= 1:
        return 0.0
    h = kl_entropy(t, **kw)
    n = len(y)
    hc = 0.0
    for c in classes:
        sel = y == c
        m = int(sel.sum())
        hc += m / n * (h if m < 2 else kl_entropy(t[sel], **{**kw, "k": min(kw["k"], m - 1)}))
    return h - hc


def ksg(a, b, k, norm):
    """KSG algorithm 1 (spec 3.6), nats: eps_i = k-th neighbour distance under max(||da||, ||db||)
    (each marginal max-norm or Euclidean), strict marginal counts, brute force with scipy cdist."""
    metric = "chebyshev" if norm == "max" else "euclidean"
    da = cdist(a, a, metric)
    db = cdist(b, b, metric)
    joint = np.maximum(da, db)
    np.fill_diagonal(joint, np.inf)
    eps = np.sort(joint, axis=1)[:, k - 1]
    np.fill_diagonal(da, np.inf)
    np.fill_diagonal(db, np.inf)
    na = np.sum(da < eps[:, None], axis=1)
    nb = np.sum(db < eps[:, None], axis=1)
    n = a.shape[0]
    if norm == "max":  # cross-check the count of the max-norm case with scipy's cKDTree
        ta = cKDTree(a)
        alt = ta.query_ball_point(a, np.nextafter(eps, 0), p=np.inf, return_length=True) - 1
        assert np.array_equal(alt, na)
    return float(digamma(k) + digamma(n) - np.mean(digamma(na + 1) + digamma(nb + 1)))


def std_cols(x):
    sd = x.std(axis=0)
    return (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def family_knn():
    rng = rng_for("knn")
    N = 300
    X = rng.standard_normal((N, 2)).astype(np.float32)
    Xd = X.astype(np.float64)
    Ta = np.stack([Xd[:, 0] + 0.5 * rng.standard_normal(N), np.tanh(Xd[:, 1]) + 0.3 * rng.standard_normal(N)], axis=1).astype(np.float32)
    A = rng.standard_normal((2, 6)) * np.array([3.0, 1.0, 0.5, 0.2, 2.0, 1.0])
    Tb = (Xd @ A + rng.standard_normal((N, 6)) * np.array([0.3, 0.5, 0.2, 1.0, 0.4, 0.1])).astype(np.float32)
    y = np.digitize(Xd[:, 0] + 0.3 * rng.standard_normal(N), [-0.5, 0.5])
    inputs = {"X": mat32(X), "Ta": mat32(Ta), "Tb": mat32(Tb)}
    arrays = {"X": X, "Ta": Ta, "Tb": Tb}
    cases = []

    def nats_to(v, unit):
        return {k: fl(x / LN2 if unit == "bits" else x) for k, x in v.items()}

    def ent_case(est, inp, params, withx=False, note=None):
        weighted = est == "ent.wkl"
        k = params.get("k", 5)
        norm = params.get("norm", "euclidean")
        kw = {"k": k, "norm": norm, "weighted": weighted, "standardize": params.get("standardize", False), "whiten_": weighted and params.get("whiten", True)}
        t = arrays[inp].astype(np.float64)
        v = {"H": kl_entropy(t, **kw), "I_TY": conditional_mi(t, y, **kw)}
        if withx:
            v["I_XT"] = kl_entropy(Xd, **kw) + v["H"] - kl_entropy(np.concatenate([Xd, t], axis=1), **kw)
        c = {"estimator": est, "input": inp, "labels": "y", "params": params, "expected": nats_to(v, params.get("unit", "bits")), "tol": {"rel": 1e-9, "abs": 1e-10}}
        if withx:
            c["x"] = "X"
        if note:
            c["note"] = note
        cases.append(c)

    ent_case("ent.kl", "Ta", {})
    ent_case("ent.kl", "Ta", {"k": 3, "norm": "max", "unit": "nats"})
    ent_case("ent.kl", "Ta", {"standardize": True}, withx=True)
    ent_case("ent.kl", "Tb", {"k": 8})
    ent_case("ent.kl", "Tb", {"norm": "max", "standardize": True, "unit": "nats"})
    ent_case("ent.wkl", "Ta", {}, note="d = 2 <= 4: weights (1, 0, ...), 1-NN KL on whitened data")
    ent_case("ent.wkl", "Tb", {}, note="d = 6, k = 5: Berrett-Samworth-Yuan weights; CONVENTION: PCA whitening + 1e-9 ridge")
    ent_case("ent.wkl", "Tb", {"whiten": False, "k": 10}, note="k = 10, d = 6: w_j = 0 for j in {2, 4, 7, 9}")
    ent_case("ent.wkl", "Tb", {"norm": "max", "unit": "nats"}, note="max-norm after PCA whitening (eigenbasis; max-norm depends on the rotation)")
    ent_case("ent.wkl", "Ta", {"standardize": True, "whiten": False}, withx=True, note="I_XT joint d = 4: still 1-NN")
    ent_case("ent.wkl", "Tb", {}, withx=True, note="joint d = 8: weighted")

    def ksg_case(params, note=None):
        k = params.get("k", 5)
        norm = params.get("norm", "max")
        st = params.get("standardize", True)
        t = Ta.astype(np.float64)
        x = Xd
        if st:
            t = std_cols(t)
            x = std_cols(x)
        v = {"I_XT": ksg(x, t, k, norm), "I_TY": conditional_mi(t, y, k=k, norm=norm)}
        c = {"estimator": "mi.ksg", "input": "Ta", "x": "X", "labels": "y", "params": params, "expected": nats_to(v, params.get("unit", "bits")), "tol": {"rel": 1e-9, "abs": 1e-10}}
        if note:
            c["note"] = note
        cases.append(c)

    ksg_case({})
    ksg_case({"norm": "euclidean", "unit": "nats"}, "Euclidean marginals (BMI), joint = max of the marginal norms")
    ksg_case({"k": 3, "standardize": False})
    ksg_case({"k": 10, "norm": "euclidean", "standardize": False})
    # weights of the weighted KL estimator, for the record and for a direct test
    weights = [{"k": k, "d": d, "w": [float(v) for v in wkl_weights(k, d)]} for k, d in [(5, 2), (5, 5), (5, 6), (5, 8), (5, 12), (10, 6), (3, 7)]]
    out = header("knn", "3.6", "KL / weighted KL with scipy cKDTree distances and scipy.special.digamma; KSG by brute-force scipy cdist with strict counts (max-norm counts cross-checked with cKDTree.query_ball_point); no duplicate rows in the inputs")
    out.update({"inputs": inputs, "labels": {"y": ints(y)}, "cases": cases, "wklWeights": weights})
    return out


# ---------------------------------------------------------------------------------------------
# 3.7 lossy compression


def pca_scores(x, m):
    xc = x - x.mean(axis=0)
    lam, V = np.linalg.eigh(np.cov(x, rowvar=False, ddof=1))
    order = np.argsort(lam)[::-1][:m]
    return xc @ V[:, order]


def family_lossy():
    rng = rng_for("lossy")
    N = 200
    Z = rng.standard_normal((N, 3))
    X = (Z @ rng.standard_normal((3, 6)) + 0.2 * rng.standard_normal((N, 6))).astype(np.float32)
    T = np.tanh(Z @ rng.standard_normal((3, 8)) * 0.8 + 0.3 * rng.standard_normal((N, 8))).astype(np.float32)
    y = np.digitize(Z[:, 0] + 0.5 * Z[:, 1], [-0.7, 0.0, 0.7])
    Xd = X.astype(np.float64)
    Td = T.astype(np.float64)
    cases = []
    for params, withx in [({}, False), ({}, True), ({"dims": 2, "unit": "nats"}, True), ({"dims": 3, "k": 3}, True), ({"dims": 6, "k": 5}, False)]:
        dims = params.get("dims", 4)
        k = params.get("k", 5)
        kw = {"k": k, "norm": "euclidean", "weighted": True, "whiten_": True}
        t = pca_scores(Td, min(dims, Td.shape[1]))
        v = {"I_TY": conditional_mi(t, y, **kw)}
        if withx:
            x = pca_scores(Xd, min(dims, Xd.shape[1]))
            v["I_XT"] = kl_entropy(x, **kw) + kl_entropy(t, **kw) - kl_entropy(np.concatenate([x, t], axis=1), **kw)
        unit = params.get("unit", "bits")
        c = {"estimator": "ib.lossy", "input": "T", "labels": "y", "params": params, "expected": {q: fl(val / LN2 if unit == "bits" else val) for q, val in v.items()}, "tol": {"rel": 1e-8, "abs": 1e-9}}
        if withx:
            c["x"] = "X"
        cases.append(c)
    out = header("lossy", "3.7", "PCA (numpy eigh of the ddof-1 covariance) to min(dims, width), then weighted KL with whitening (Euclidean), per-class re-fit for I_TY; CONVENTION: PCA for X too, PCA whitening + 1e-9 ridge")
    out.update({"inputs": {"T": mat32(T), "X": mat32(X)}, "labels": {"y": ints(y)}, "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------
# 6 DSE / DSMI


def dse_bits(Z, sigma, t):
    """Spec 6: G = exp(-D / (2 sigma^2)) / (sigma sqrt(2 pi)), K = Deg^-1/2 G Deg^-1/2,
    p = |lambda|^t / sum, DSE = -sum (p + eps) log2 (p + eps), eps = machine epsilon."""
    Z = np.asarray(Z, dtype=np.float64)
    D = cdist(Z, Z, "sqeuclidean")
    G = np.exp(-D / (2 * sigma ** 2)) / (sigma * math.sqrt(2 * math.pi))
    r = 1 / np.sqrt(G.sum(axis=1))
    K = G * r[:, None] * r[None, :]
    lam = np.abs(np.linalg.eigvalsh(K)) ** t
    p = lam / lam.sum() + EPS64
    return float(-np.sum(p * np.log2(p)))


def median_dist(Z):
    return float(np.median(pdist(np.asarray(Z, dtype=np.float64))))


def family_dse():
    rng = rng_for("dse")
    N = 120
    y = rng.integers(0, 3, N)
    centres = rng.standard_normal((3, 5)) * 6
    Z = (centres[y] + 4 * rng.standard_normal((N, 5))).astype(np.float32)
    odd = rng.standard_normal((31, 3)).astype(np.float32)  # 465 pairs: odd count for the median
    yodd = rng.integers(0, 2, 31)
    cases = []
    for inp, arr, params in [("Z", Z, {}), ("Z", Z, {"sigma": "median", "t": 2}), ("Z", Z, {"sigma": 3, "t": 0.5, "unit": "nats"}), ("odd", odd, {"sigma": "median"}), ("Z", Z, {"sigma": 25})]:
        sigma = params.get("sigma", 10)
        s = median_dist(arr) if sigma == "median" else sigma
        h = dse_bits(arr, s, params.get("t", 1))
        unit = params.get("unit", "bits")
        cases.append({"estimator": "geom.dse", "input": inp, "labels": "y" if inp == "Z" else "yodd", "params": params, "sigmaUsed": s,
                      "expected": {"H": fl(h * (LN2 if unit == "nats" else 1))}, "ceiling": {"H": fl(math.log2(arr.shape[0]) * (LN2 if unit == "nats" else 1))}, "tol": {"rel": 1e-9, "abs": 1e-11}})
    # DSMI (spec 6) with fixed subsets: sum_c p(c) [mean_r DSE(Z*_{c,r}) - DSE(Z | Y = c)]
    dsmi = []
    for params in [{"sigma": "median"}, {"sigma": 10, "t": 2, "repetitions": 3}]:
        sigma = median_dist(Z) if params["sigma"] == "median" else params["sigma"]
        t = params.get("t", 1)
        R = params.get("repetitions", 5)
        per = []
        total = 0.0
        mc = []
        for c in np.unique(y):
            rows = np.flatnonzero(y == c)
            nc = len(rows)
            subsets = [np.sort(rng.choice(N, nc, replace=False)) for _ in range(R)]
            h_sub = float(np.mean([dse_bits(Z[s], sigma, t) for s in subsets]))
            h_cond = dse_bits(Z[rows], sigma, t)
            total += nc / N * (h_sub - h_cond)
            per.append({"label": int(c), "subsets": [ints(s) for s in subsets], "dseSubsetMean": h_sub, "dseClass": h_cond})
            # the distribution of DSE over random subsets (for the registry value, whose subsets come from tdlab's RNG)
            draws = [dse_bits(Z[rng.choice(N, nc, replace=False)], sigma, t) for _ in range(200)]
            mc.append({"label": int(c), "p": nc / N, "mean": float(np.mean(draws)), "std": float(np.std(draws, ddof=1)), "dseClass": h_cond})
        mean = sum(m["p"] * (m["mean"] - m["dseClass"]) for m in mc)
        sd = math.sqrt(sum((m["p"] ** 2) * m["std"] ** 2 / R for m in mc))
        dsmi.append({"estimator": "geom.dsmi", "input": "Z", "labels": "y", "params": params, "sigmaUsed": sigma, "classes": per,
                     "expected": {"I_TY": total}, "tol": {"rel": 1e-9, "abs": 1e-11},
                     "randomSubsets": {"classes": mc, "mean": mean, "sd": sd,
                                       "note": "Monte-Carlo (200 NumPy subsets per class) mean and standard deviation of the R-subset DSMI; the registry's value (subsets from tdlab's seeded RNG) must lie within 6 sd of the mean"}})
    out = header("dse", "6", "DSE with numpy.linalg.eigvalsh of the symmetric diffusion operator built from scipy cdist; sigma median = numpy.median of scipy pdist; DSMI with the fixed subsets listed per class")
    out.update({"inputs": {"Z": mat32(Z), "odd": mat32(odd)}, "labels": {"y": ints(y), "yodd": ints(yodd)}, "cases": cases + dsmi})
    return out


# ---------------------------------------------------------------------------------------------
# 7 matrix entropies and spectra


def renyi_bits(lam, alpha):
    # eigenvalues at round-off level (below N eps lambda_max) are zeros: with alpha < 1 their
    # noise would otherwise count (tdlab builds the label-side spectrum from class proportions)
    lam = np.asarray(lam, dtype=np.float64)
    lam = np.where(lam > len(lam) * EPS64 * lam.max(), lam, 0.0)
    if abs(alpha - 1) < 1e-12:
        nz = lam[lam > 0]
        return float(-np.sum(nz * np.log2(nz)))
    return float(np.log2(np.sum(lam[lam > 0] ** alpha)) / (1 - alpha))


def renyi(Z, y, alpha, sigma):
    """Spec 7.1 with full N x N matrices: A = K / N, B = K_Y / N, joint (A o B) / tr(A o B)."""
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    K = np.exp(-cdist(Z, Z, "sqeuclidean") / (2 * sigma ** 2))
    A = K / (n * np.sqrt(np.outer(np.diag(K), np.diag(K))))
    B = (y[:, None] == y[None, :]).astype(np.float64) / n
    AB = A * B
    J = AB / np.trace(AB)
    SA = renyi_bits(np.linalg.eigvalsh(A), alpha)
    SB = renyi_bits(np.linalg.eigvalsh(B), alpha)
    SJ = renyi_bits(np.linalg.eigvalsh(J), alpha)
    return SA, SA + SB - SJ


def normalise_rows(Z):
    s = np.linalg.norm(Z, axis=1, keepdims=True)
    return np.where(s > 0, Z / np.where(s > 0, s, 1), Z)


def matrix_entropy(Z, center):
    """Spec 7.2: centre, L2-normalise rows, Sigma = Z^T Z / N, -sum l ln l / ln d over Sigma / tr."""
    Z = np.asarray(Z, dtype=np.float64)
    n, d = Z.shape
    if center:
        Z = Z - Z.mean(axis=0)
    Z = normalise_rows(Z)
    lam = np.clip(np.linalg.eigvalsh(Z.T @ Z / n), 0, None)
    if d < 2 or lam.sum() == 0:
        return 0.0
    p = lam / lam.sum()
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)) / math.log(d))


def vne(Z):
    """Spec 7.3: rows L2-normalised, C = Z^T Z / N, -sum l ln l (nats); via singular values s^2 / N."""
    Z = normalise_rows(np.asarray(Z, dtype=np.float64))
    lam = np.linalg.svd(Z, compute_uv=False) ** 2 / Z.shape[0]
    lam = lam[lam > 0]
    return float(-np.sum(lam * np.log(lam)))


def mbe2(Z, P):
    """Spec 7.4: patches of P consecutive rows (a trailing partial patch dropped; N < P: one patch),
    G = Z_p Z_p^T, max(0, ln(tr(G)^2 / ||G||_F^2)) nats, mean over patches (all-zero patch: 0)."""
    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    P = min(P, n)
    vals = []
    for q in range(n // P):
        G = Z[q * P:(q + 1) * P] @ Z[q * P:(q + 1) * P].T
        f2 = np.sum(G * G)
        vals.append(max(0.0, math.log(np.trace(G) ** 2 / f2)) if f2 > 0 else 0.0)
    return float(np.mean(vals))


def family_matrix_entropy():
    rng = rng_for("matrix-entropy")
    N = 64
    y = rng.integers(0, 3, N)
    Z = (rng.standard_normal((N, 5)) + 1.5 * rng.standard_normal((3, 5))[y]).astype(np.float32)
    tall = (rng.standard_normal((90, 7)) * np.linspace(2, 0.2, 7) + 0.5).astype(np.float32)
    wide = (rng.standard_normal((6, 15)) * 2).astype(np.float32)
    seq = rng.standard_normal((27, 5)).astype(np.float32)  # 27 = 3 patches of 8 + 3 dropped; 5 patches of 5 + 2
    sep = (rng.standard_normal((40, 3)) * 4).astype(np.float32)  # sigma 0.5: K near I (well conditioned for alpha < 1)
    ysep = rng.integers(0, 2, 40)
    zero_row = tall.copy()
    zero_row[5] = zero_row.mean(axis=0)  # a row that is 0 after centring
    inputs = {"Z": mat32(Z), "tall": mat32(tall), "wide": mat32(wide), "seq": mat32(seq), "sep": mat32(sep), "zeroRow": mat32(zero_row)}
    arrays = {"Z": Z, "tall": tall, "wide": wide, "seq": seq, "sep": sep, "zeroRow": zero_row}
    labels = {"y": ints(y), "ysep": ints(ysep), "none90": [0] * 90, "none6": [0] * 6, "none27": [0] * 27}
    cases = []
    conv = lambda v, unit: v * LN2 if unit == "nats" else v
    for inp, lab, params in [("Z", "y", {}), ("Z", "y", {"alpha": 2}), ("Z", "y", {"alpha": 1, "sigma": 2.5}), ("Z", "y", {"alpha": 1.01, "sigma": 4, "unit": "nats"}), ("sep", "ysep", {"alpha": 0.5, "sigma": 0.5})]:
        T = arrays[inp]
        yy = np.array(labels[lab])
        alpha = params.get("alpha", 1.01)
        sigma = params.get("sigma", "median")
        s = median_dist(T) if sigma == "median" else sigma
        H, I = renyi(T, yy, alpha, s)
        unit = params.get("unit", "bits")
        cases.append({"estimator": "ent.renyi", "input": inp, "labels": lab, "params": params, "sigmaUsed": s,
                      "expected": {"H": conv(H, unit), "I_TY": conv(I, unit)}, "ceiling": {"H": conv(math.log2(T.shape[0]), unit)}, "tol": {"rel": 1e-9, "abs": 1e-10}})
    for inp, lab in [("tall", "none90"), ("wide", "none6"), ("zeroRow", "none90")]:
        T = arrays[inp]
        for center in [True, False]:
            cases.append({"estimator": "ent.matrix", "input": inp, "labels": lab, "params": {"center": center},
                          "expected": {"H": matrix_entropy(T, center)}, "ceiling": {"H": 1.0}, "tol": {"rel": 1e-10, "abs": 1e-12}})
        for unit in ["nats", "bits"]:
            v = vne(T)
            cases.append({"estimator": "ent.vne", "input": inp, "labels": lab, "params": {"unit": unit} if unit == "bits" else {},
                          "expected": {"H": v / LN2 if unit == "bits" else v}, "ceiling": {"H": math.log2(min(T.shape)) * (LN2 if unit == "nats" else 1)}, "tol": {"rel": 1e-10, "abs": 1e-12}})
    for inp, lab, params in [("seq", "none27", {}), ("seq", "none27", {"patch": 5, "unit": "bits"}), ("wide", "none6", {}), ("tall", "none90", {"patch": 30})]:
        T = arrays[inp]
        P = params.get("patch", 8)
        v = mbe2(T, P)
        unit = params.get("unit", "nats")
        cases.append({"estimator": "ent.mbe2", "input": inp, "labels": lab, "params": params,
                      "expected": {"H": v / LN2 if unit == "bits" else v}, "ceiling": {"H": math.log2(min(P, T.shape[0])) * (LN2 if unit == "nats" else 1)}, "tol": {"rel": 1e-10, "abs": 1e-12}})
    out = header("matrix-entropy", "7.1-7.4", "full N x N kernel matrices and numpy.linalg.eigvalsh (Renyi), eigvalsh of Z^T Z / N (matrix entropy), numpy.linalg.svd (VNE), explicit patch Grams (MBE)")
    out.update({"inputs": inputs, "labels": labels, "cases": cases})
    return out


def family_spectrum():
    rng = rng_for("spectrum")
    decay = (rng.standard_normal((120, 10)) * 0.7 ** np.arange(10) + 0.3).astype(np.float32)
    wide = rng.standard_normal((8, 20)).astype(np.float32)
    power = np.zeros((40, 20), dtype=np.float32)  # rows +-sqrt(k^-1.5) e_k: centred spectrum exactly k^-1.5
    for kk in range(20):
        power[kk, kk] = math.sqrt((kk + 1) ** -1.5)
        power[20 + kk, kk] = -math.sqrt((kk + 1) ** -1.5)
    inputs = {"decay": mat32(decay), "wide": mat32(wide), "power": mat32(power)}
    arrays = {"decay": decay, "wide": wide, "power": power}
    cases = []
    for inp in ["decay", "wide", "power"]:
        Z0 = arrays[inp].astype(np.float64)
        n, d = Z0.shape
        for center in [False, True]:
            Z = Z0 - Z0.mean(axis=0) if center else Z0
            s = np.linalg.svd(Z, compute_uv=False)  # min(n, d) singular values
            p = s / s.sum()
            nz = p[p > 0]
            erank = math.exp(-np.sum(nz * np.log(nz)))
            q = s / np.sum(np.abs(s)) + 1e-7
            rankme = math.exp(-np.sum(q * np.log(q)))
            lam = np.sort(np.clip(np.linalg.eigvalsh(Z.T @ Z / (n - 1)), 0, None))[::-1]  # covariance spectrum (centred) / second moments
            k_max = min(n - 1, d, len(lam))
            k_hi = max([k for k in range(1, k_max + 1) if lam[k - 1] > 1e-12 * lam[0]], default=0)
            alpha = -np.polyfit(np.log(np.arange(1, k_hi + 1)), np.log(lam[:k_hi]), 1)[0] if k_hi >= 2 else float("nan")
            pr = lam.sum() ** 2 / np.sum(lam ** 2)
            tol = {"rel": 1e-9, "abs": 1e-11}
            # a centred N <= d matrix has a zero singular value that the Gram path resolves only to ~sqrt(eps) s_max
            if center and n <= d:
                tol = {"rel": 1e-6, "abs": 1e-7}
            cases.append({"estimator": "geom.erank", "input": inp, "params": {"center": center}, "expected": {"value": erank}, "ceiling": {"value": min(n, d)}, "tol": tol})
            cases.append({"estimator": "geom.rankme", "input": inp, "params": {"center": center}, "expected": {"value": rankme}, "ceiling": {"value": min(n, d)}, "tol": tol})
            cases.append({"estimator": "geom.alphareq", "input": inp, "params": {"center": center}, "expected": {"value": fl(alpha)}, "kHi": k_hi, "tol": tol})
            cases.append({"estimator": "geom.pr", "input": inp, "params": {"center": center}, "expected": {"value": pr}, "ceiling": {"value": max(0, min(n - 1 if center else n, d))}, "tol": tol})
    out = header("spectrum", "7.5-7.7", "singular values from numpy.linalg.svd (erank, RankMe over min(N, d) values), covariance eigenvalues from numpy.linalg.eigvalsh, OLS by numpy.polyfit over k = 1..k_hi")
    out.update({"inputs": inputs, "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------
# act.stats


def family_act_stats():
    rng = rng_for("act-stats")
    T = np.tanh(rng.standard_normal((150, 6)) * np.array([0.1, 1, 3, 6, 1, 1])).astype(np.float32)
    T[:, 4] = np.float32(0.25)  # a dead (constant) unit
    T[:, 5] = 0.0  # a dead ReLU-like unit
    T[:7, 1] = np.float32(0.99)  # exactly the float32 of 0.99 (> 0.99 in float64)
    T[7:9, 1] = np.float32(-0.99)
    cases = []
    for params in [{}, {"saturation": 0.5}, {"saturation": 0.25}]:
        s = params.get("saturation", 0.99)
        Td = T.astype(np.float64)
        dead = int(np.sum(np.all(Td == Td[0], axis=0)))
        frac = float(np.mean(np.abs(Td) >= s))
        cases.append({"estimator": "act.stats", "input": "T", "params": params, "expected": {"dead_units": dead, "saturated_frac": frac}, "tol": {"abs": 0}})
    out = header("act-stats", "act.stats (README)", "dead units = columns constant over all rows; saturated fraction = mean(|a| >= saturation) in float64")
    out.update({"inputs": {"T": mat32(T)}, "cases": cases})
    return out


# ---------------------------------------------------------------------------------------------
# 5 local rank, 8.1 weight features


ACT = {
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(np.float64)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "softsign": (lambda z: z / (1 + np.abs(z)), lambda z: 1 / (1 + np.abs(z)) ** 2),
    "softplus": (lambda z: np.log1p(np.exp(z)), lambda z: 1 / (1 + np.exp(-z))),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
}


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def jacobians(layers, x, post):
    """Spec 5 in tdlab's layout (z = h W + b, W fan_in x fan_out): J_1 = W_1^T,
    J_l = W_l^T D_{l-1} J_{l-1}, D = diag(phi'(z)); post: D_l J_l (softmax: (diag p - p p^T) J_l)."""
    out = []
    h = x
    J = np.eye(len(x))
    for W, b, act in layers:
        z = h @ W + b
        Jz = W.T @ J
        if act == "softmax":
            p = softmax(z)
            Jh = (np.diag(p) - np.outer(p, p)) @ Jz
            h = p
        else:
            f, df = ACT[act]
            Jh = df(z)[:, None] * Jz
            h = f(z)
        out.append(Jh if post else Jz)
        J = Jh
    return out


def local_rank_expected(layers, X, tol, rel_tol, post):
    d0 = X.shape[1]
    L = len(layers)
    per_layer = [dict(ranks=[], num=[], smax=[], sv=[], literal=[]) for _ in range(L)]
    for x in X:
        for l, J in enumerate(jacobians(layers, x, post)):
            s = np.linalg.svd(J, compute_uv=False)
            smax = s[0] if len(s) else 0.0
            t = rel_tol * smax if rel_tol is not None else tol
            maxdim = max(J.shape[0], d0)
            r = per_layer[l]
            r["ranks"].append(int(np.sum(s > t)))
            r["num"].append(int(np.sum(s ** 2 > smax ** 2 * maxdim * EPS64)))  # CONVENTION: matrix_rank rule on the Gram
            r["literal"].append(int(np.linalg.matrix_rank(J)))
            r["smax"].append(float(smax))
            r["sv"].append([float(v) for v in s])
    rows = []
    bound = d0
    for l, r in enumerate(per_layer):
        bound = min(bound, layers[l][0].shape[1])
        ranks = np.array(r["ranks"], dtype=np.float64)
        margins = [min(abs(v - (rel_tol * sv[0] if rel_tol is not None else tol)) for v in sv) for sv in r["sv"]]
        margin = min(margins)
        rows.append({"layerIndex": l + 1, "expected": {
            "local_rank": float(ranks.mean()), "local_rank_numerical": float(np.mean(r["num"])), "local_rank_std": float(ranks.std()),
            "local_rank_min": float(ranks.min()), "local_rank_max": float(ranks.max()), "local_rank_bound": float(bound), "s_max_mean": float(np.mean(r["smax"]))},
            "ranks": r["ranks"], "numericalRanks": r["num"], "literalMatrixRankMean": float(np.mean(r["literal"])), "singularValues": r["sv"],
            "toleranceMargin": margin, "pointMargins": [float("%.3g" % m) for m in margins]})
    return rows


def family_local_rank():
    rng = rng_for("local-rank")
    nets = {}
    X = {}

    def net(name, dims, act, scale, bias, last="softmax"):
        layers = []
        for l in range(len(dims) - 1):
            W = (rng.standard_normal((dims[l], dims[l + 1])) * scale / math.sqrt(dims[l])).astype(np.float32)
            b = (rng.standard_normal(dims[l + 1]) * bias).astype(np.float32)
            layers.append((W.astype(np.float64), b.astype(np.float64), last if l == len(dims) - 2 else act))
        nets[name] = layers
        return layers

    # d0 >= every width: Gram path; widths above d0: explicit path; one net per registered activation
    specs = [("tanh", [12, 10, 8, 6, 3], "tanh", 2.0, 0.4), ("relu", [12, 10, 10, 6, 4], "relu", 1.6, 0.3),
             ("sigmoid", [10, 8, 8, 3], "sigmoid", 4.0, 0.5), ("softsign", [10, 9, 7, 3], "softsign", 2.0, 0.3),
             ("softplus", [10, 8, 6, 3], "softplus", 1.5, 0.3), ("elu", [10, 8, 6, 3], "elu", 1.5, 0.3),
             ("linear", [20, 8, 3, 6, 3], "linear", 1.0, 0.1), ("wide-relu", [6, 14, 10, 3], "relu", 1.5, 0.3)]
    for name, dims, act, scale, bias in specs:
        net(name, dims, act, scale, bias)
        X[name] = rng.standard_normal((12, dims[0])).astype(np.float32)
    cases = []
    for name in nets:
        extra = [{"relTol": 0.05}, {"tol": 0.3}] if name in ("tanh", "relu", "sigmoid", "wide-relu") else []
        for params in [{}, {"post": True}] + extra:
            rows = local_rank_expected(nets[name], X[name].astype(np.float64), params.get("tol", 0.01), params.get("relTol"), params.get("post", False))
            for r in rows:
                if params:  # singular values are kept for the default parameters only (file size)
                    del r["singularValues"]
                else:
                    r["singularValues"] = [[float("%.12g" % v) for v in sv] for sv in r["singularValues"]]
            cases.append({"metric": "geom.local_rank", "net": name, "x": name, "params": params, "layers": rows,
                          "tol": {"abs": 1e-12, "singularValuesRelToSmax": 1e-9}})
    out = header("local-rank", "5", "Jacobians by explicit products (numpy), singular values by numpy.linalg.svd; ranks count s > tol (or relTol * s_max); all rows of X are used (N = 12 <= points); singularValues (default parameters only) are rounded to 12 significant digits; pointMargins = min_i |s_i - threshold| per point; CONVENTION: numerical rank = s^2 > s_max^2 max(d_l, d_0) eps (matrix_rank's rule on the Gram); literalMatrixRankMean = mean of numpy.linalg.matrix_rank(J) (the literal rule on s), for information")
    out["nets"] = {name: [{"W": mat32(W), "b": short32(b), "activation": act} for W, b, act in layers] for name, layers in nets.items()}
    out["x"] = {name: mat32(x) for name, x in X.items()}
    out["cases"] = cases
    return out


def matrix_features(W):
    W = np.asarray(W, dtype=np.float64)
    l1 = float(np.sum(np.abs(W)))
    l2 = float(np.linalg.norm(W))
    trace = float(np.trace(W))  # sum of W_ii over the min dimension
    s = np.linalg.svd(W, compute_uv=False)
    spectral = float(s[0])
    s = np.where(s < 1e-5, 0.0, s)
    return {"l1": l1, "l2": l2, "trace": trace, "spectral": spectral, "code_sparsity": l1 / l2, "computational_sparsity": trace / spectral,
            "mean_singular_value": float(np.mean(s)), "var_singular_value": float(np.var(s, ddof=1)) if len(s) > 1 else 0.0}


def lower_median(a):
    return float(np.sort(a)[(len(a) - 1) // 2])


def family_weight_features():
    rng = rng_for("weight-features")
    dims = [9, 7, 7, 4, 3]
    layers = []
    for l in range(len(dims) - 1):
        W = rng.standard_normal((dims[l], dims[l + 1])) / math.sqrt(dims[l])
        if l == 1:  # rank 3: four singular values below 1e-5 (set to 0)
            W = rng.standard_normal((dims[l], 3)) @ rng.standard_normal((3, dims[l + 1])) / 3
        layers.append((W.astype(np.float32), (rng.standard_normal(dims[l + 1]) * 0.1).astype(np.float32)))
    per = [{"layerIndex": i + 1, "expected": matrix_features(W)} for i, (W, b) in enumerate(layers)]
    net = {k: float(np.mean([p["expected"][k] for p in per])) for k in per[0]["expected"]}
    w = np.concatenate([W.astype(np.float64).ravel() for W, b in layers])
    b = np.concatenate([b.astype(np.float64) for W, b in layers])
    net.update({"mean_w": float(w.mean()), "median_w": lower_median(w), "var_w": float(w.var(ddof=1)),
                "mean_b": float(b.mean()), "median_b": lower_median(b), "var_b": float(b.var(ddof=1))})
    acts = ["relu", "tanh", "relu", "softmax"]
    out = header("weight-features", "8.1", "per matrix with numpy (svd for spectral and singular values < 1e-5 set to 0); network level: mean over matrices plus weight/bias statistics; CONVENTION (PyTorch reference code): unbiased variances, lower medians")
    out["net"] = [{"W": mat32(W), "b": short32(bb), "activation": a} for (W, bb), a in zip(layers, acts)]
    out["cases"] = [{"metric": "weights.features", "params": {}, "network": net, "layers": per, "tol": {"rel": 1e-10, "abs": 1e-12}}]
    return out


# ---------------------------------------------------------------------------------------------
# linear algebra (src/linalg): eigvalsh / eigh with UPLO, Gram spectra, covariance, PCA, whitening, lstsq


def family_eigen():
    rng = rng_for("eigen")
    sym = []
    for n in [1, 2, 3, 4, 5, 8, 17, 24]:
        A = rng.standard_normal((n, n)).astype(np.float32).astype(np.float64)
        # lower and upper triangles differ: only the one named by UPLO may be read
        sym.append({"n": n, "A": mat32(A), "eigvalsL": [float(v) for v in np.linalg.eigvalsh(A, UPLO="L")[::-1]],
                    "eigvalsU": [float(v) for v in np.linalg.eigvalsh(A, UPLO="U")[::-1]]})
    # n >= 48 takes the WebAssembly tridiagonalisation in tdlab: small integers keep the file short
    for n in [64]:
        A = rng.integers(-9, 10, (n, n)).astype(np.float64)
        sym.append({"name": f"integers{n}", "n": n, "A": {"rows": n, "cols": n, "dtype": "float64", "data": ints(A)},
                    "eigvalsL": [float(v) for v in np.linalg.eigvalsh(A, UPLO="L")[::-1]], "eigvalsU": [float(v) for v in np.linalg.eigvalsh(A, UPLO="U")[::-1]]})
    # known hard cases: repeated, rank-deficient, widely scaled, diagonal
    u = np.arange(1, 7) / math.sqrt(91.0)
    v = np.array([1, -1, 1, -1, 1, -1]) / math.sqrt(6.0)
    special = {"scaled": 1e6 * np.outer(u, u) + 1e-6 * np.outer(v, v), "identity": np.eye(5), "zero": np.zeros((3, 3)),
               "diagonalBlock": np.diag([3.0, -1, 2, 0, 5, 1]) + np.diag([0, 0, 0, 0, 0.5], 1) + np.diag([0, 0, 0, 0, 0.5], -1)}
    for name, A in special.items():
        sym.append({"name": name, "n": A.shape[0], "A": mat64(A), "eigvalsL": [float(x) for x in np.linalg.eigvalsh(A, UPLO="L")[::-1]],
                    "eigvalsU": [float(x) for x in np.linalg.eigvalsh(A, UPLO="U")[::-1]]})
    # eigenvectors (for eigh): a matrix with well separated eigenvalues; vectors compared up to sign
    B = rng.standard_normal((7, 7)).astype(np.float32).astype(np.float64)
    B = B + B.T
    w, V = np.linalg.eigh(B)
    eigh = {"A": mat64(B), "values": [float(x) for x in w[::-1]], "vectors": mat64(V[:, ::-1])}
    # Gram spectra Z^T Z (numpy's eigvalsh of the d x d product), both shapes
    grams = []
    for n, d in [(40, 7), (7, 40), (20, 20), (60, 5)]:
        Z = rng.standard_normal((n, d)).astype(np.float32).astype(np.float64)
        ev = np.sort(np.clip(np.linalg.eigvalsh(Z.T @ Z), 0, None))[::-1][:min(n, d)]
        grams.append({"Z": mat32(Z), "eigvals": [float(x) for x in ev], "rank": int(np.linalg.matrix_rank(Z))})
    # covariance / PCA / whitening / minimum-norm least squares
    Xc = (rng.standard_normal((100, 4)) @ rng.standard_normal((4, 4)) + np.array([1.0, -2.0, 0.5, 3.0])).astype(np.float32).astype(np.float64)
    cov = np.cov(Xc, rowvar=False, ddof=1)
    lam, V = np.linalg.eigh(cov)
    order = np.argsort(lam)[::-1]
    scores = (Xc - Xc.mean(axis=0)) @ V[:, order[:2]]
    _, logdet = whiten(Xc)
    lst = []
    for m, k in [(3, 2), (2, 4), (5, 5), (6, 3)]:
        A = rng.integers(-8, 9, (m, k)) / 4.0  # exact in float32 and float64: the rank deficiency below is exact
        if m == 5:
            A[:, 4] = A[:, 0] + A[:, 1]  # rank deficient: minimum-norm solution
        bb = rng.standard_normal(m)
        lst.append({"A": mat32(A), "b": [float(x) for x in bb], "x": [float(x) for x in np.linalg.lstsq(A, bb, rcond=1e-6)[0]]})
    out = header("eigen", "linalg (11.7: float64 eigen-solvers)", "numpy.linalg.eigvalsh / eigh with UPLO 'L' and 'U' (values listed descending), Gram spectra, numpy.cov (ddof 1), PCA scores on the top eigenvectors (compared up to sign), PCA whitening (CONVENTION: ridge 1e-9 * mean eigenvalue) and numpy.linalg.lstsq (rcond 1e-6)")
    out.update({"symmetric": sym, "eigh": eigh, "gram": grams,
                "dense": {"X": mat32(Xc), "mean": [float(x) for x in Xc.mean(axis=0)], "cov": mat64(cov), "pcaValues": [float(x) for x in lam[order[:2]]],
                          "pcaScores": mat64(scores), "whiteLogDet": logdet},
                "lstsq": lst})
    return out


FAMILIES = {
    "binning": family_binning,
    "adaptive-binning": family_adaptive,
    "kde": family_kde,
    "knn": family_knn,
    "lossy": family_lossy,
    "dse": family_dse,
    "matrix-entropy": family_matrix_entropy,
    "spectrum": family_spectrum,
    "act-stats": family_act_stats,
    "local-rank": family_local_rank,
    "weight-features": family_weight_features,
    "eigen": family_eigen,
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "..", "test", "fixtures", "reference"))
    ap.add_argument("--only", nargs="*", help="family names (default: all)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for name, fn in FAMILIES.items():
        if args.only and name not in args.only:
            continue
        data = fn()
        path = os.path.join(args.out, f"{name}.json")
        text = json.dumps(data, separators=(",", ":"), allow_nan=False)
        with open(path + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(path + ".tmp", path)
        print(f"{path}: {len(text) / 1024:.1f} KB", file=sys.stderr)


if __name__ == "__main__":
    main()
