/** The parts of a planned layer the operation count needs (a structural view of PlannedLayer). */
export interface FlopsLayer {
  width: number;
  params: {role: 'weight' | 'bias'; shape: number[]; size: number}[];
}

/**
 * Multiply-adds of one sample's forward pass: each weight tensor of shape [..., F] is applied at
 * width / F output positions (1 for a dense layer, out_h * out_w for a convolution).
 */
export function forwardMacsPerRow(layers: FlopsLayer[]): number {
  let macs = 0;
  for (const l of layers) {
    for (const p of l.params) {
      if (p.role !== 'weight') continue;
      const f = p.shape[p.shape.length - 1];
      macs += p.size * (l.width / f);
    }
  }
  return macs;
}

/**
 * Floating-point operations of one training step of `batch` rows: forward (2 per multiply-add)
 * and backward (the weight gradient and the input gradient, 4 per multiply-add), so 6 x MACs x batch.
 * Elementwise work and the optimizer update are ignored (small beside the products).
 */
export function stepFlops(layers: FlopsLayer[], batch: number): number {
  return 6 * forwardMacsPerRow(layers) * batch;
}
