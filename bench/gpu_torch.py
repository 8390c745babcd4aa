"""PyTorch reference for bench/gpu.sh: one Adam training step of the same networks as
bench/webgpu-step.mjs (synthetic data), timed on CUDA when available, else on the CPU.

  python3 bench/gpu_torch.py --model cnn --batch 128 [--device cuda|cpu] [--steps 50] [--rows N]

Prints one JSON line: ms per step (median of `--steps` timed steps after 10 warm-up steps,
torch.cuda.synchronize() around each), and ms per epoch of `--rows` rows when given.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torch.nn as nn


def model(name):
    if name == 'cnn':  # configs/mnist-cnn.yaml: conv8-pool-conv16-pool-dense64-10
        return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(7 * 7 * 16, 64), nn.ReLU(), nn.Linear(64, 10)), (1, 28, 28)
    if name == 'wide':  # conv32-pool-conv64-pool-dense256-10
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(7 * 7 * 64, 256), nn.ReLU(), nn.Linear(256, 10)), (1, 28, 28)
    if name == 'mlp':  # Saxe et al.'s MNIST MLP 784-1024-20-20-20-10
        return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                             nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 10)), (784,)
    raise SystemExit(f'--model {name}: use cnn, wide or mlp')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default='cnn')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--steps', type=int, default=50)
    ap.add_argument('--rows', type=int, default=0)
    ap.add_argument('--threads', type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dev = torch.device(a.device)
    net, shape = model(a.model)
    net = net.to(dev)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    rows = max(a.rows, a.batch)
    x = torch.rand((rows, *shape), device=dev)
    y = torch.randint(0, 10, (rows,), device=dev)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == 'cuda' else (lambda: None)

    def step(i):
        lo = (i * a.batch) % max(rows - a.batch + 1, 1)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x[lo:lo + a.batch]), y[lo:lo + a.batch])
        loss.backward()
        opt.step()

    for i in range(10):
        step(i)
    sync()
    times = []
    for i in range(a.steps):
        t0 = time.perf_counter()
        step(i)
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    out = {'bench': 'train-step', 'model': a.model, 'batch': a.batch, 'path': f'torch-{dev.type}',
           'device': torch.cuda.get_device_name(0) if dev.type == 'cuda' else f'cpu x{torch.get_num_threads()} threads',
           'torch': torch.__version__, 'steps_timed': a.steps, 'ms_per_step': round(statistics.median(times), 3)}
    if a.rows:
        n_steps = -(-a.rows // a.batch)
        sync()
        t0 = time.perf_counter()
        for i in range(n_steps):
            step(i)
        sync()
        out['ms_per_epoch'] = round((time.perf_counter() - t0) * 1000, 2)
        out['rows_per_epoch'] = a.rows
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    os.environ.setdefault('OMP_NUM_THREADS', str(os.cpu_count()))
    main()
