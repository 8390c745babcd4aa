"""Test helper (Debian's /usr/bin/python3 with python3-torch and python3-numpy):

1. trains a small PyTorch MLP on a seeded two-class Gaussian mixture and writes its snapshots with
   scripts/export_snapshots.py (forward hooks, as the script's docstring shows);
2. computes the fixed-range binning MI (tdlab's mi.bin, docs/metrics.md) of every layer and
   snapshot with NumPy alone, from the .npy files on disk, and writes it to <dir>/../reference.json.

usage: torch_mlp_snapshots.py <snapshot dir> <reference.json>
"""

import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts"))
from export_snapshots import SnapshotWriter  # noqa: E402

SNAPSHOTS = [0, 1, 2, 4, 8, 16, 24]
BIN_SETTINGS = [(30, -1.0, 1.0), (10, -1.0, 1.0)]


def train(directory):
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    n, d = 512, 8
    y = rng.integers(0, 2, size=n)
    centres = rng.normal(size=(2, d)) * 1.5
    x = (centres[y] + rng.normal(size=(n, d))).astype(np.float32)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    model = torch.nn.Sequential(
        torch.nn.Linear(d, 10), torch.nn.Tanh(),
        torch.nn.Linear(10, 6), torch.nn.ReLU(),
        torch.nn.Linear(6, 2), torch.nn.Softmax(dim=1),
    )
    layers = {"h1": model[1], "h2": model[3], "out": model[5]}
    writer = SnapshotWriter(directory, layers={"h1": "tanh", "h2": "relu", "out": "softmax"})
    writer.labels(y)
    writer.inputs(x)
    captured = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: captured.__setitem__(name, out.detach().numpy().copy()))
             for name, m in layers.items()]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def snapshot(epoch):
        model.eval()
        with torch.no_grad():
            model(xt)
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        weights = [(m.weight.detach().numpy().T.copy(), m.bias.detach().numpy().copy()) for m in linears]
        writer.snapshot(epoch, captured, weights=weights)
        model.train()

    snapshot(0)
    for epoch in range(1, SNAPSHOTS[-1] + 1):
        perm = torch.randperm(n)
        for b in range(0, n, 64):
            idx = perm[b:b + 64]
            opt.zero_grad()
            p = model(xt[idx])
            loss = torch.nn.functional.nll_loss(torch.log(p + 1e-12), yt[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            p = model(xt)
            writer.log(epoch, "train_loss", torch.nn.functional.nll_loss(torch.log(p + 1e-12), yt).item())
            writer.log(epoch, "train_acc", (p.argmax(1) == yt).float().mean().item())
        if epoch in SNAPSHOTS:
            snapshot(epoch)
    writer.close()
    for h in hooks:
        h.remove()


def entropy_bits(keys):
    _, counts = np.unique(keys, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def binned_mi(t, y, bins, lo, hi):
    """I(X;T), I(T;Y) in bits of 30-edge style fixed-range binning, every input row distinct."""
    edges = np.linspace(lo, hi, bins).astype(np.float32)
    k = np.digitize(t.astype(np.float32), edges)        # number of edges <= a
    state = edges[k - 1]                                  # left edge; k = 0 wraps to the last edge
    h_t = entropy_bits(state)
    h_t_y = sum((y == c).mean() * entropy_bits(state[y == c]) for c in np.unique(y))
    return h_t, h_t - h_t_y


def reference(directory, out):
    y = np.load(os.path.join(directory, "labels.npy"))
    rows = []
    for epoch in SNAPSHOTS:
        for layer in ["h1", "h2", "out"]:
            t = np.load(os.path.join(directory, f"epoch_{epoch}", f"{layer}.npy"))
            for bins, lo, hi in BIN_SETTINGS:
                ixt, ity = binned_mi(t, y, bins, lo, hi)
                rows.append({"epoch": epoch, "layer": layer, "bins": bins, "I_XT": ixt, "I_TY": ity,
                             "outside": float(np.mean((t < lo) | (t > hi)))})
    with open(out, "w") as f:
        json.dump(rows, f)


if __name__ == "__main__":
    train(sys.argv[1])
    reference(sys.argv[1], sys.argv[2])
