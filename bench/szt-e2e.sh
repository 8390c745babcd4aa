#!/usr/bin/env bash
# The 12-bit study end to end at 1000 epochs: tdlab vs the PyTorch + NumPy reference,
# interleaved rounds. Usage: bash bench/szt-e2e.sh [rounds=3]
# Same work on both sides: train 1000 epochs, 130 snapshots of every layer on all 4096 rows,
# per-epoch train/test loss and accuracy, mi.bin on every layer and snapshot. tdlab also writes
# the snapshots, checkpoints and metrics as Arrow files and renders the report; the reference
# keeps everything in memory and writes one CSV (see bench/README-reference.md).
# Environment: ENGINE=auto|fused|tfjs (tdlab's train.engine, default auto = fused here);
# TORCH_THREADS=1|2 (the reference's torch/OpenBLAS threads, default 2);
# FULL=1 runs tdlab's default study instead (adds gradient statistics, mi.binwidth, EBAB, KDE).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
engine=${ENGINE:-auto}
threads=${TORCH_THREADS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for r in $(seq "$rounds"); do
  t0=$(date +%s.%N)
  if [ "${FULL:-0}" = 1 ]; then extra=(); else extra=(--set 'metrics.estimators=[mi.bin]' --set train.gradientStats=false); fi
  node bin/run.js run configs/tishby.yaml --set train.epochs=1000 --set "train.engine=$engine" "${extra[@]}" --out "$out" --json > /dev/null 2>&1
  t1=$(date +%s.%N)
  /usr/bin/python3 bench/reference/szt_torch.py --epochs 1000 --seed 1 --threads "$threads" --csv "$out/ref.csv" > "$out/ref.json" 2>/dev/null
  t2=$(date +%s.%N)
  python3 -c "print('{\"round\": $r, \"engine\": \"$engine\", \"torch_threads\": $threads, \"tdlab_s\": %.2f, \"torch_numpy_s\": %.2f, \"ratio\": %.3f}' % ($t1-$t0, $t2-$t1, ($t1-$t0)/($t2-$t1)))"
done
