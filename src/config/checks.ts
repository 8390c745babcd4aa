import {z} from 'zod';

/**
 * Acceptance checks as data: declared under `checks:` in a config or a sweep file and evaluated by
 * `tdlab aggregate` on the groups of runs (src/aggregate/checks.ts). docs/metrics.md lists the
 * shipped ones (the 12-bit study's in configs/tishby.yaml, the Saxe and Chelombiev comparisons in
 * configs/sweeps/) and explains each field.
 *
 * ```yaml
 * checks:
 *   - id: A1.1
 *     description: tanh networks compress in the last hidden layer (fixed-range binning)
 *     where: {model.activation: tanh, train.l2: 0}     # groups whose runs all have these config values
 *     metric: mi.bin[bins=30;lo=-1;hi=1]              # estimator, optionally [params that must match]
 *     statistic: compression                          # per run, then the mean over the group's seeds
 *     layers: last-hidden
 *     op: '>='
 *     threshold: 1.5                                  # bits for MI (nats are converted)
 * ```
 */

/** Per-run statistics of a metric's trajectory (each then averaged over the seeds of a group). */
export const CHECK_STATISTICS = {
  compression: 'max over snapshots minus the value at the last snapshot',
  final: 'value at the last snapshot',
  max: 'maximum over snapshots',
  min: 'minimum over snapshots',
  first: 'value at the first snapshot',
  'final-over-max': 'value at the last snapshot divided by the maximum over snapshots',
  'min-of-mean': 'minimum over snapshots of the mean over seeds',
  'snr-ratio': 'median gradient SNR over epochs <= 20 divided by the median over the last 20% of snapshots',
  'crossing-fraction': 'first epoch from which the gradient SNR stays below 1, over the number of epochs (1 = never)',
} as const;
export type CheckStatistic = keyof typeof CHECK_STATISTICS;

/** Statistics of the gradient statistics of the training log (metric `gradients`). */
export const GRADIENT_STATISTICS: readonly CheckStatistic[] = ['snr-ratio', 'crossing-fraction'];

const layerSelector = z.union([
  z.enum(['last-hidden', 'first-hidden', 'output', 'hidden', 'all']),
  z.array(z.union([z.number().int().positive(), z.string().min(1)])).min(1),
]);

const where = z.record(z.union([z.string(), z.number(), z.boolean(), z.null()]));

export const checkSchema = z
  .object({
    /** Short id shown in tables, e.g. `A1.1`; the part before the first dot names the check family. */
    id: z.string().regex(/^[A-Za-z0-9][\w.-]*$/, 'letters, digits, "_", "." or "-"'),
    description: z.string().optional(),
    /** Config values (dotted keys) every run of a group must have for the check to apply to it. */
    where: where.default({}),
    /** `estimator[param=value;...]` (the params listed must match; others may be anything), or `gradients`. */
    metric: z.string().min(1),
    /** Quantity of the metric (default I_XT; `final-ity` style checks name I_TY). */
    quantity: z.string().optional(),
    statistic: z.enum(Object.keys(CHECK_STATISTICS) as [CheckStatistic, ...CheckStatistic[]]),
    /** Which layers: a kind, or layer indices (1 = first hidden) / names. */
    layers: layerSelector,
    /** How per-layer values combine: min, max, mean, spread (max - min), or at least k layers. */
    over: z.union([z.enum(['min', 'max', 'mean', 'spread']), z.object({atLeast: z.number().int().positive()}).strict()]).default('min'),
    /** Compare with another value per layer: the ratio to a metric of the same group, or the difference to another group. */
    relative: z
      .union([
        z.object({ratioTo: z.string().min(1), floor: z.number().nonnegative().default(0)}).strict(),
        z.object({minus: where}).strict(),
      ])
      .optional(),
    op: z.enum(['>=', '<=', '>', '<']),
    threshold: z.number(),
    /** Setup the threshold was calibrated on; a group that differs is evaluated with a note. */
    calibratedOn: z
      .object({
        seeds: z.number().int().positive().optional(),
        config: where.default({}),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    const gradients = c.metric === 'gradients';
    if (gradients !== GRADIENT_STATISTICS.includes(c.statistic)) {
      ctx.addIssue({code: z.ZodIssueCode.custom, path: ['statistic'], message: gradients ? `metric gradients takes statistic ${GRADIENT_STATISTICS.join(' or ')}` : `statistic ${c.statistic} needs metric: gradients`});
    }
    if (!gradients && !/^[A-Za-z][\w.]*(\[[^\]]*\])?$/.test(c.metric)) ctx.addIssue({code: z.ZodIssueCode.custom, path: ['metric'], message: "expected 'estimator' or 'estimator[key=value;...]', e.g. mi.bin[bins=30;lo=-1;hi=1]"});
  });

export type CheckSpec = z.infer<typeof checkSchema>;

/** A list of checks with unique ids. */
export const checksSchema = z.array(checkSchema).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((c, i) => {
    if (seen.has(c.id)) ctx.addIssue({code: z.ZodIssueCode.custom, path: [i, 'id'], message: `check id '${c.id}' is used twice`});
    seen.add(c.id);
  });
});

/** `mi.bin[bins=30;lo=-1]` -> estimator and the params that must match (as `key=value` strings). */
export function parseMetricRef(ref: string): {estimator: string; params: string[]} {
  const m = /^([^[\]]+)(?:\[([^\]]*)\])?$/.exec(ref.trim());
  if (!m) return {estimator: ref, params: []};
  return {estimator: m[1], params: (m[2] ?? '').split(/[;,]/).map((p) => p.trim()).filter((p) => p !== '')};
}
