"""Write training snapshots in the layout that `tdlab import` reads (NumPy only).

Layout (docs/metrics.md, "Importing your own runs"):

    <dir>/labels.npy              N class ids (or N x C one-hot), row i = evaluation sample i
    <dir>/x.npy                   optional: the N inputs
    <dir>/split.npy               optional: N values, 1 = training row, 0 = test row
    <dir>/layers.txt              layer names in network order, each with its activation if known
    <dir>/epoch_<N>/<layer>.npy   one N x ... array per layer and snapshot epoch
    <dir>/epoch_<N>/weights.npz   optional: W0, b0, W1, b1, ... (input-by-output: z = x W + b)
    <dir>/training.csv            optional: epoch,quantity,value (e.g. train_loss, train_acc)

Use the SAME evaluation rows, in the same order, at every snapshot (e.g. the whole training set
or a fixed test set), never the changing minibatches.

Example with PyTorch (forward hooks capture every layer's output; nothing here imports torch):

    import torch
    from export_snapshots import SnapshotWriter

    model = torch.nn.Sequential(
        torch.nn.Linear(12, 10), torch.nn.Tanh(),     # h1
        torch.nn.Linear(10, 7), torch.nn.Tanh(),      # h2
        torch.nn.Linear(7, 2), torch.nn.Softmax(1))   # out
    layers = {"h1": model[1], "h2": model[3], "out": model[5]}    # modules whose output is T
    writer = SnapshotWriter("snapshots", layers={"h1": "tanh", "h2": "tanh", "out": "softmax"})
    writer.labels(y_eval.numpy())                     # y_eval: the N evaluation labels
    writer.inputs(x_eval.numpy())                     # optional

    captured = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, name=name: captured.__setitem__(name, out.detach().cpu().numpy()))
             for name, m in layers.items()]

    def snapshot(epoch):
        model.eval()
        with torch.no_grad():
            model(x_eval)                             # the hooks fill `captured`
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        weights = [(m.weight.detach().numpy().T, m.bias.detach().numpy()) for m in linears]  # input-by-output
        writer.snapshot(epoch, captured, weights=weights)
        model.train()

    snapshot(0)                                       # the initialisation
    for epoch in range(1, epochs + 1):
        ...                                           # one epoch of training
        writer.log(epoch, "train_loss", loss.item())
        if epoch in snapshot_epochs:
            snapshot(epoch)
    writer.close()                                    # writes layers.txt and training.csv
    for h in hooks:
        h.remove()

Then: `tdlab import snapshots --name my-mlp`, `tdlab metrics <run dir> --estimator mi.kde`, and the
report, aggregate, phases and compare commands work on the run as on any other.
"""

import csv
import os

import numpy as np


class SnapshotWriter:
    """Writes one run's snapshots under `directory` (created; existing snapshot files are overwritten).

    layers: optional mapping (or list) of layer names in network order; a mapping gives each layer's
    activation name (tanh, relu, sigmoid, softmax, linear, ...) or None. Without it, layers.txt lists
    the names in the order of the first snapshot, without activations.
    """

    def __init__(self, directory, layers=None):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        if layers is None:
            self._layers = None
        elif isinstance(layers, dict):
            self._layers = list(layers.items())
        else:
            self._layers = [(name, None) for name in layers]
        self._rows = None
        self._log = []

    def _check_rows(self, array, what):
        array = np.asarray(array)
        if array.ndim == 0:
            raise ValueError(f"{what}: expected an array with one row per sample, got a scalar")
        if self._rows is None:
            self._rows = array.shape[0]
        elif array.shape[0] != self._rows:
            raise ValueError(f"{what}: {array.shape[0]} rows, but the other arrays have {self._rows}")
        return array

    def labels(self, y):
        """N integer class ids (0..C-1), or an N x C one-hot array."""
        y = self._check_rows(y, "labels")
        if y.ndim == 1 and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise ValueError("labels: not integer class ids")
            y = y.astype(np.int64)
        np.save(os.path.join(self.directory, "labels.npy"), y)

    def inputs(self, x):
        """The N evaluation inputs (any shape N x ...)."""
        np.save(os.path.join(self.directory, "x.npy"), np.ascontiguousarray(self._check_rows(x, "inputs")))

    def split(self, is_train):
        """N booleans: True for a training row, False for a test row."""
        mask = self._check_rows(is_train, "split")
        np.save(os.path.join(self.directory, "split.npy"), mask.astype(np.uint8))

    def snapshot(self, epoch, activations, weights=None):
        """Layer name -> N x ... array at `epoch`; weights: optional list of (W, b), W input-by-output."""
        epoch = int(epoch)
        if epoch < 0:
            raise ValueError("epoch must be >= 0")
        if self._layers is None:
            self._layers = [(name, None) for name in activations]
        target = os.path.join(self.directory, f"epoch_{epoch}")
        os.makedirs(target, exist_ok=True)
        for name, _ in self._layers:
            if name not in activations:
                raise ValueError(f"epoch {epoch}: no activations for layer {name!r}")
        for name, array in activations.items():
            array = self._check_rows(array, f"epoch {epoch}, layer {name}")
            if array.dtype not in (np.float32, np.float64):
                array = array.astype(np.float32)
            np.save(os.path.join(target, f"{name}.npy"), np.ascontiguousarray(array))
        if weights is not None:
            arrays = {}
            for i, (w, b) in enumerate(weights):
                arrays[f"W{i}"] = np.ascontiguousarray(w)
                if b is not None:
                    arrays[f"b{i}"] = np.ascontiguousarray(b)
            np.savez(os.path.join(target, "weights.npz"), **arrays)

    def log(self, epoch, quantity, value):
        """One training-log value (e.g. train_loss, test_acc), written to training.csv on close()."""
        self._log.append((int(epoch), str(quantity), float(value)))

    def close(self):
        """Writes layers.txt and training.csv."""
        if self._layers is not None:
            with open(os.path.join(self.directory, "layers.txt"), "w") as f:
                for name, activation in self._layers:
                    f.write(f"{name} {activation}\n" if activation else f"{name}\n")
        if self._log:
            with open(os.path.join(self.directory, "training.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["epoch", "quantity", "value"])
                for row in self._log:
                    w.writerow([row[0], row[1], repr(row[2])])

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
