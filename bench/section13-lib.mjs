// Deterministic inputs shared by the spec-13 benchmarks (same formulas as bench/section13_data.py).

/** v[i, j] = 2 * ((i * 7919 + j * 104729 + salt * 31337) % 10007) / 10007 - 1, row-major float64. */
export function pattern(rows, cols, salt = 0) {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = (2 * ((i * 7919 + j * 104729 + salt * 31337) % 10007)) / 10007 - 1;
  return out;
}

/** A DenseNet: W_l = pattern * sqrt(3 / fan_in), b_l = 0.1 * pattern; hidden activation `act`, linear logits. */
export function mlp(dims, act) {
  return {
    layers: dims.slice(1).map((cols, l) => ({
      W: pattern(dims[l], cols, l + 1).map((v) => v * Math.sqrt(3 / dims[l])),
      rows: dims[l],
      cols,
      b: pattern(1, cols, l + 11).map((v) => 0.1 * v),
      activation: l === dims.length - 2 ? 'linear' : act,
    })),
  };
}
