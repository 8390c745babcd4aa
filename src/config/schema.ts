import {z} from 'zod';
import {checksSchema} from './checks.js';
import {datasets} from '../data/registry.js';
import {allMetricNames, anyMetric, historyMetrics, isMetricName} from '../metrics/registry.js';
import {activations} from '../model/activations.js';
import {initializers} from '../model/init.js';
import {layerTypes} from '../model/layers.js';
import type {Registry} from '../registry.js';
import {STAGE_NAMES} from '../run/stage-names.js';

/**
 * The one schema of a tdlab config: validation, defaults and error messages all come from here.
 * Names that live in registries (datasets, layer types, activations, initialisers, estimators)
 * are checked against those registries.
 */

function registryName(reg: Registry<unknown>) {
  return z.string().superRefine((v, ctx) => {
    if (!reg.has(v)) ctx.addIssue({code: z.ZodIssueCode.custom, message: `unknown ${reg.kind} '${v}' (known: ${reg.names().join(', ')})`});
  });
}

const positiveInt = z.number().int().positive();

const layerObject = z
  .object({
    type: registryName(layerTypes).default('dense'),
    /** dense: width (required for dense). */
    units: positiveInt.optional(),
    activation: registryName(activations).optional(),
    init: registryName(initializers).optional(),
    /** dropout: drop probability in [0, 1) (training only; masks seeded by run seed, layer and step). */
    rate: z.number().min(0).lt(1).optional(),
    /** conv2d: output channels, square kernel size, stride (1), padding (same). */
    filters: positiveInt.optional(),
    kernel: positiveInt.optional(),
    stride: positiveInt.optional(),
    padding: z.enum(['same', 'valid']).optional(),
    /** maxpool2d: window size = stride (2). */
    size: positiveInt.optional(),
  })
  .strict()
  .superRefine((l, ctx) => {
    if (!layerTypes.has(l.type)) return; // reported by the type field
    for (const message of layerTypes.get(l.type).check?.(l) ?? []) ctx.addIssue({code: z.ZodIssueCode.custom, message});
  });

/**
 * A layer: `{type, units, activation?, init?}` (dense), `{type: dropout, rate}`,
 * `{type: conv2d, filters, kernel, stride?, padding?}`, `{type: maxpool2d, size?}`, `{type: flatten}`,
 * or a bare number as shorthand for a dense layer of that width.
 */
const layer = z.union([positiveInt.transform((units) => ({type: 'dense', units})), layerObject]).pipe(layerObject);

const model = z
  .object({
    activation: registryName(activations).default('tanh'),
    init: registryName(initializers).default('truncated_normal'),
    layers: z.array(layer).min(1).default([10, 7, 5, 4, 3]),
  })
  .strict();

/** Snapshot schedule: `log:K`, `every:N`, `ibsgd`, or an explicit list of epochs. */
const snapshots = z.union([
  z.string().regex(/^(log:([2-9]|[1-9]\d+)|every:[1-9]\d*|ibsgd)$/, "expected 'log:K' (K >= 2), 'every:N' (N >= 1), 'ibsgd' or a list of epochs"),
  z.array(z.number().int().nonnegative()).min(1),
]);

/**
 * Learning-rate schedule over epochs (the rate is constant within an epoch):
 * constant; step: lr * gamma^floor(epoch / every); cosine: minLr + (lr - minLr) (1 + cos(pi epoch / epochs)) / 2.
 */
const lrSchedule = z
  .object({
    type: z.enum(['constant', 'step', 'cosine']).default('constant'),
    every: positiveInt.optional(),
    gamma: z.number().positive().default(0.1),
    minLr: z.number().nonnegative().default(0),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.type === 'step' && s.every === undefined) ctx.addIssue({code: z.ZodIssueCode.custom, path: ['every'], message: "a 'step' schedule needs every (epochs between decays)"});
  });

const train = z
  .object({
    epochs: positiveInt.default(8000),
    batchSize: positiveInt.default(256),
    optimizer: z.enum(['adam', 'sgd', 'adamw']).default('adam'),
    lr: z.number().positive().default(4e-4),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    epsilon: z.number().positive().default(1e-7),
    momentum: z.number().min(0).max(1).default(0),
    /** L2 penalty (lambda/2) * sum ||W||^2 over hidden-layer weights. */
    l2: z.number().nonnegative().default(0),
    /** Decoupled weight decay (adamw, sgd): W <- W - lr * weightDecay * W each step, on weights of every layer (not biases). Absent = 0. */
    weightDecay: z.number().nonnegative().optional(),
    /** Learning-rate schedule; absent = constant. */
    schedule: lrSchedule.optional(),
    /** Training loss: softmax cross-entropy (absent = crossentropy) or hinge on z1 - z0 (2 classes only). */
    loss: z.enum(['crossentropy', 'hinge']).optional(),
    snapshots: snapshots.default('log:200'),
    /**
     * Loss/accuracy on all rows every N epochs (absent = 1), plus every snapshot epoch and the last
     * one. Evaluating 10,000 MNIST rows costs more than an epoch on 2,000 training rows.
     */
    evalEvery: positiveInt.optional(),
    /** Per-layer minibatch gradient mean/std norms at snapshot epochs (docs/metrics.md, gradient statistics). */
    gradientStats: z.boolean().default(true),
    /**
     * Training engine (absent = auto): fused = one WebAssembly (SIMD, threads) call per epoch for
     * dense networks; tfjs = the TensorFlow.js loop (any layer, any backend); auto = fused for
     * dense models on the CPU backends, tfjs otherwise. Optional, so configs without it keep their hash.
     */
    engine: z.enum(['auto', 'fused', 'tfjs']).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.weightDecay ?? 0) > 0 && t.optimizer === 'adam') {
      ctx.addIssue({code: z.ZodIssueCode.custom, path: ['weightDecay'], message: 'weightDecay is decoupled decay: use optimizer adamw (or train.l2 for a coupled L2 penalty with adam)'});
    }
  });

const data = z
  .object({
    name: registryName(datasets).default('twelve-bit'),
    trainFraction: z.number().gt(0).lt(1).default(0.8),
    /** auto (absent): the dataset's own train/test split when it has one (sparse-parity, IDX MNIST train+test), else a seeded trainFraction split; random: always the seeded split. */
    split: z.enum(['auto', 'random']).optional(),
    options: z.record(z.unknown()).default({}),
  })
  .strict();

const estimatorEntry = z
  .union([
    z.string().transform((name) => ({name})),
    z.object({name: z.string(), params: z.record(z.unknown()).optional(), every: positiveInt.optional(), maxRows: positiveInt.optional()}).strict(),
  ])
  .pipe(
    z.object({
      name: z.string().superRefine((v, ctx) => {
        if (!isMetricName(v)) ctx.addIssue({code: z.ZodIssueCode.custom, message: `unknown estimator '${v}' (known: ${allMetricNames().join(', ')})`});
      }),
      params: z.record(z.unknown()).default({}),
      /** Compute at every k-th snapshot epoch only (first and last are always included). */
      every: positiveInt.default(1),
      /** Seeded subsample of at most this many evaluation rows (same rows every epoch); N is stored with each value. */
      maxRows: positiveInt.optional(),
    }),
  );

const metrics = z
  .object({
    /** Which evaluation rows the metrics use: all rows (default), the training rows, the test rows. */
    subsets: z.array(z.enum(['all', 'train', 'test'])).min(1).default(['all']),
    estimators: z.array(estimatorEntry).min(1).default(['mi.bin', 'mi.binwidth', 'act.stats']),
    /**
     * Worker threads computing snapshots side by side (absent = one per core, one when the work is
     * small or a sweep runs points side by side). Any count gives the same values; not part of
     * the config hash.
     */
    threads: z.number().int().min(1, 'at least 1 thread (1 = no worker threads; remove the key for one per core)').optional(),
  })
  .strict();

const report = z
  .object({
    title: z.string().optional(),
    /** Epoch axis of the report's figures: log10(epoch + 1) (absent = log) or linear. */
    epochAxis: z.enum(['log', 'linear']).optional(),
    /** Same y range for the panels of different estimators in the MI-against-epoch figures (absent = false). */
    shareEstimatorAxes: z.boolean().optional(),
  })
  .strict();

export const configSchema = z
  .object({
    /** The run's name: a directory under --out, so one path segment (not '.' or '..'). */
    name: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, ".", "_" or "-" (it names a directory)')
      .refine((n) => n !== '.' && n !== '..', "'.' and '..' are not names (it names a directory under --out)")
      .default('run'),
    seed: z.number().int().nonnegative().default(0),
    stages: z
      .array(z.enum(STAGE_NAMES))
      .min(1)
      .default([...STAGE_NAMES]),
    data: data.default({}),
    model: model.default({}),
    train: train.default({}),
    metrics: metrics.default({}),
    report: report.default({}),
    /**
     * Acceptance checks `tdlab aggregate` evaluates on groups of runs (src/config/checks.ts). Not
     * part of the config hash: editing a check does not make a run stale.
     */
    checks: checksSchema.optional(),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    // dataset options and estimator parameters are validated by their own registered schemas
    const ds = datasets.has(cfg.data.name) ? datasets.get(cfg.data.name) : undefined;
    if (ds) {
      const r = ds.options.safeParse(cfg.data.options);
      if (!r.success) for (const is of r.error.issues) ctx.addIssue({...is, path: ['data', 'options', ...is.path]});
    }
    cfg.metrics.estimators.forEach((e, i) => {
      if (!isMetricName(e.name)) return;
      if (historyMetrics.has(e.name) && (cfg.train.evalEvery ?? 1) !== 1) {
        ctx.addIssue({code: z.ZodIssueCode.custom, path: ['train', 'evalEvery'], message: `${e.name} needs the predictions of every epoch: remove train.evalEvery or set it to 1 (now ${cfg.train.evalEvery})`});
      }
      const r = anyMetric(e.name).params.safeParse(e.params);
      if (!r.success) for (const is of r.error.issues) ctx.addIssue({...is, path: ['metrics', 'estimators', i, 'params', ...is.path]});
    });
  });

export type Config = z.infer<typeof configSchema>;
export type ModelConfig = Config['model'];
export type TrainConfig = Config['train'];
