import {z} from 'zod';
import type {Estimator} from './types.js';

const params = z.object({saturation: z.number().positive().default(0.99)}).strict();

/**
 * `act.stats`: dead units (constant over every evaluation row, e.g. a ReLU that never fires) and
 * the fraction of activations with |a| >= `saturation` (tanh saturation). A layer whose units are
 * all dead carries no information and passes no gradient: its flat information plane means
 * "never learned", not "did not compress".
 */
export const actStats: Estimator<z.infer<typeof params>> = {
  name: 'act.stats',
  description: 'dead (constant) units and saturated fraction of a layer',
  params,
  memory: ({n, d}) => 8 * n + 32 * d,
  compute({T}, p) {
    const {rows, cols, data} = T;
    let dead = 0;
    let saturated = 0;
    for (let j = 0; j < cols; j++) {
      const first = data[j];
      let constant = true;
      for (let i = 0; i < rows; i++) {
        const a = data[i * cols + j];
        if (a !== first) constant = false;
        if (Math.abs(a) >= p.saturation) saturated++;
      }
      if (constant) dead++;
    }
    return [
      {quantity: 'dead_units', value: dead, unit: 'count', ceiling: undefined},
      {quantity: 'saturated_frac', value: rows * cols ? saturated / (rows * cols) : 0, unit: 'dimensionless'},
    ];
  },
};
