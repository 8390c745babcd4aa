import {z} from 'zod';
import {Rng} from '../util/prng.js';
import {classCounts, labelEntropy, standardizeColumns} from './transforms.js';
import type {Dataset, DatasetType} from './types.js';

const options = z
  .object({
    /** Number of classes K. */
    classes: z.number().int().min(2).default(10),
    /** Number of Gaussian clusters (default K); cluster c has label c mod K (docs/metrics.md, headline experiments: 4 clusters, 2 classes). */
    clusters: z.number().int().positive().optional(),
    /** Input dimension d0. */
    dim: z.number().int().positive().default(20),
    /** Rows in all (cluster of row i = i mod clusters, so clusters are balanced). */
    rows: z.number().int().positive().default(2000),
    /** Centres ~ N(0, separation^2 I): expected distance between two centres = separation * sqrt(2 dim). */
    separation: z.number().nonnegative().default(1),
    /** Within-cluster noise std (isotropic). */
    noise: z.number().nonnegative().default(1),
    /** Seeded permutation of the labels (random-label control of docs/metrics.md, headline experiments); class counts unchanged. */
    shuffleLabels: z.boolean().default(false),
    /** Seed of the data (centres and samples); default: the run seed. Fix it to compare runs on the same data. */
    dataSeed: z.number().int().nonnegative().optional(),
    /** Standardise each input column to mean 0, std 1. */
    standardize: z.boolean().default(false),
  })
  .strict();

export type GaussianMixtureOptions = z.infer<typeof options>;

/** Mixture of isotropic Gaussians: seeded centres and samples, balanced clusters, label = cluster mod classes. */
export const gaussianMixture: DatasetType<GaussianMixtureOptions> = {
  description: 'mixture of isotropic Gaussian clusters (options classes, clusters, dim, rows, separation, noise, shuffleLabels); seeded',
  options,
  shape: (o) => ({n: o.rows, inputShape: [o.dim], classes: o.classes}),
  load(o, seed): Dataset {
    const K = o.clusters ?? o.classes;
    const d = o.dim;
    const n = o.rows;
    const dataSeed = o.dataSeed ?? seed;
    const crng = new Rng(dataSeed, 'gmm/centres');
    const centres = new Float64Array(K * d);
    for (let i = 0; i < centres.length; i++) centres[i] = crng.normal() * o.separation;
    const srng = new Rng(dataSeed, 'gmm/samples');
    const x = new Float32Array(n * d);
    const labels = new Int32Array(n);
    for (let r = 0; r < n; r++) {
      const c = r % K;
      labels[r] = c % o.classes;
      for (let j = 0; j < d; j++) x[r * d + j] = centres[c * d + j] + srng.normal() * o.noise;
    }
    if (o.standardize) standardizeColumns(x, n, d);
    // mean distance between centres relative to the within-cluster spread (noise * sqrt(2 d))
    let dist = 0;
    let pairs = 0;
    for (let a = 0; a < K; a++) {
      for (let b = a + 1; b < K; b++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (centres[a * d + j] - centres[b * d + j]) ** 2;
        dist += Math.sqrt(s);
        pairs++;
      }
    }
    const facts: Record<string, number | string> = {
      clusters: K,
      meanCentreDistance: pairs ? dist / pairs : 0,
      withinClusterDistance: o.noise * Math.sqrt(2 * d),
      entropyY: labelEntropy(labels, o.classes),
    };
    if (o.shuffleLabels) {
      new Rng(seed, 'gmm/shuffle-labels').shuffle(labels);
      facts.labels = 'shuffled (seeded permutation)';
    }
    classCounts(labels, o.classes).forEach((c, k) => (facts[`count${k}`] = c));
    return {name: 'gaussian-mixture', n, inputShape: [d], x, labels, classes: o.classes, facts};
  },
};
