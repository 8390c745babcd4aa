"""Deterministic inputs shared by the spec-13 benchmarks (same formulas as bench/section13-lib.mjs)."""
import numpy as np


def pattern(rows, cols, salt=0):
    """v[i, j] = 2 * ((i * 7919 + j * 104729 + salt * 31337) % 10007) / 10007 - 1, in [-1, 1)."""
    i = np.arange(rows, dtype=np.int64)[:, None]
    j = np.arange(cols, dtype=np.int64)[None, :]
    return 2 * ((i * 7919 + j * 104729 + salt * 31337) % 10007) / 10007 - 1


def mlp(dims):
    """Weights W_l (fan_in x fan_out) = pattern * sqrt(3 / fan_in), biases 0.1 * pattern."""
    out = []
    for l in range(len(dims) - 1):
        W = pattern(dims[l], dims[l + 1], l + 1) * np.sqrt(3.0 / dims[l])
        b = 0.1 * pattern(1, dims[l + 1], l + 11)[0]
        out.append((W, b))
    return out
