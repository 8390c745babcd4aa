/**
 * The estimator validation suite (docs/metrics.md, ground truth; issue 3 item 3): every registered
 * information estimator on the ground-truth tasks of `tasks.ts`, `seeds` independent samples of
 * `n` rows each, summarised as mean, spread and bias against the closed-form truth; plus
 * pass/fail checks with exact or tolerance answers (binning S1-S3, KDE K1-K6, EBAB and KSG
 * invariance under monotone maps, the KSG tolerances of docs/metrics.md, ground truth).
 *
 * Pure computation: no I/O (progress goes to an optional callback).
 *
 * How an estimator meets a task. Estimators compute I(X;T) for a representation T (see
 * `EstimatorInput`); the suite maps a task's (X, Y) onto that interface:
 * - continuous MI tasks: `x` = X and `T` = Y (both standardised per column to mean 0, variance 1,
 *   BMI's convention; MI is invariant to it), `y` = all-zero labels; the value read is `I_XT`.
 * - entropy tasks (Gaussian, closed form 0.5 ln det(2 pi e S)): `T` = the sample, NOT
 *   standardised (entropy depends on scale), `y` = zeros; the value read is `H`.
 * - discrete tasks (the 12-bit task): `T` = the binary inputs X themselves, `y` = the labels, no
 *   `xIds` (all 4096 rows distinct); the value read is `I_XT` (= H(X)) or `I_TY` (= I(X;Y)).
 * Estimators are run with their default parameters plus `unit: 'nats'` (values reported in bits
 * are converted). `input.seed` is the seed index.
 *
 * Which pairs are run. Only `mi.*`, `ib.*` and `ent.*` estimators are validated. Each one is
 * probed once on a small random input, with and without continuous `x`:
 * - it USES x (its I_XT needs or changes with `x`: kNN/KSG/KL, lossy IB) -> "continuous": run on
 *   the continuous MI tasks; also on the entropy tasks when it reports `H` or is an `ent.*`;
 *   skipped on discrete tasks (kNN estimators are inappropriate for discrete inputs, docs/metrics.md, mi.ksg and ent.kl);
 * - it does not (its I(X;T) comes from row identity: binning, EBAB, KDE) -> "identity": run on
 *   the discrete tasks only; continuous tasks are skipped (true I(X;T) of a deterministic map of
 *   continuous X is infinite, so there is nothing to compare with).
 * If the probe throws, the estimator is classed by name (`mi.ksg`, `ib.*`, `ent.*` continuous,
 * other `mi.*` identity) and every row shows the error as `n/a`.
 * An estimator that throws, returns no value of the task's quantity, or a non-finite value on
 * any seed gives an `n/a` row with the reason; the suite itself never throws for that.
 */

import {estimators as registry} from '../metrics/registry.js';
import type {Estimator} from '../metrics/types.js';
import {UserError, errorMessage} from '../util/errors.js';
import {CHECKS, type CheckContext} from './checks.js';
import {classify, type Plan} from './classify.js';
import {compute, isInformationEstimator, meanStd, taskInput} from './estimator-io.js';
import {validationTasks, type ValidationTask} from './tasks.js';
import {Rng} from '../util/prng.js';
import type {SuiteCheck, SuiteOptions, SuiteResult, SuiteRow} from './types.js';

export type {SuiteCheck, SuiteEstimatorInfo, SuiteOptions, SuiteProgress, SuiteResult, SuiteRow, SuiteTaskInfo} from './types.js';
export {checkIds} from './checks.js';
export {standardize, taskInput} from './estimator-io.js';

const now = () => performance.now() / 1000;

function resolveNames(requested: string[] | undefined, known: string[], kind: string): string[] {
  if (!requested || requested.length === 0) return known;
  const unknown = requested.filter((r) => !known.includes(r));
  if (unknown.length) {
    throw new UserError(`unknown ${kind}${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `'${u}'`).join(', ')} (known: ${known.join(', ')})`);
  }
  return known.filter((k) => requested.includes(k));
}

/** Known estimator names for the suite (registry order), or of the injected objects. */
export function suiteEstimatorNames(objects?: Estimator<any>[]): string[] {
  return objects ? objects.map((e) => e.name) : registry.names();
}

export function runSuite(opts: SuiteOptions): SuiteResult {
  const t0 = now();
  if (!(Number.isInteger(opts.n) && opts.n >= 10)) throw new UserError(`n must be an integer >= 10 (got ${opts.n})`);
  if (!(Number.isInteger(opts.seeds) && opts.seeds >= 1)) throw new UserError(`seeds must be an integer >= 1 (got ${opts.seeds})`);
  const pool = opts.estimatorObjects ?? registry.names().map((n) => registry.get(n));
  const byName = new Map<string, Estimator<any>>();
  for (const e of pool) {
    if (byName.has(e.name)) throw new Error(`estimator '${e.name}' given twice`);
    byName.set(e.name, e);
  }
  const names = resolveNames(opts.estimators, [...byName.keys()], 'estimator');
  const allTasks = validationTasks();
  const taskIdsSel = resolveNames(opts.tasks, allTasks.map((t) => t.id), 'task');
  const tasks = allTasks.filter((t) => taskIdsSel.includes(t.id));
  const progress = opts.onProgress ?? (() => {});

  const skipped: SuiteResult['skipped'] = [];
  const plans: Plan[] = [];
  for (const name of names) {
    const est = byName.get(name)!;
    if (!isInformationEstimator(name)) {
      skipped.push({estimator: name, tasks: tasks.map((t) => t.id), reason: 'all tasks: not an information estimator (only mi.*, ib.*, ent.* are validated)'});
      continue;
    }
    plans.push(classify(est));
  }
  const checksOn = opts.checks !== false;

  // which plans run on which task
  const runsOn = (p: Plan, t: ValidationTask): boolean => {
    if (t.kind === 'discrete') return p.info.role === 'identity';
    if (t.quantity === 'H') return p.info.role === 'continuous' && p.info.entropy;
    return p.info.role === 'continuous';
  };
  for (const p of plans) {
    const notRun = tasks.filter((t) => !runsOn(p, t));
    const group = (pred: (t: ValidationTask) => boolean, reason: string) => {
      const ids = notRun.filter(pred).map((t) => t.id);
      if (ids.length) skipped.push({estimator: p.info.name, tasks: ids, reason});
    };
    if (p.info.role === 'continuous') {
      group((t) => t.kind === 'discrete', 'discrete tasks: kNN-type estimators are inappropriate for discrete inputs (docs/metrics.md, mi.ksg and ent.kl)');
      group((t) => t.quantity === 'H', 'entropy tasks: reports no differential entropy H');
    } else {
      group(
        (t) => t.kind === 'continuous' && t.quantity !== 'H',
        'continuous MI tasks: computes I(X;T) from row identity, does not use continuous x (the true I(X;T) of a deterministic map of continuous X is infinite)',
      );
      group((t) => t.quantity === 'H', 'entropy tasks: not a differential-entropy estimator');
    }
  }

  const totalTaskSteps = tasks.filter((t) => plans.some((p) => runsOn(p, t))).length * opts.seeds;

  progress({phase: 'probe', message: `estimators: ${plans.map((p) => `${p.info.name} (${p.info.role}${p.info.entropy ? ', entropy' : ''})`).join(', ') || 'none'}`, done: 0, total: totalTaskSteps});
  // run: one sample per (task, seed), shared by every estimator; accumulate per (estimator, task)
  const rows: SuiteRow[] = [];
  const acc = new Map<string, {values: Array<number | null>; times: number[]; reason?: string; n: number}>();
  const key = (e: string, t: string) => `${e}\u0000${t}`;
  let done = 0;
  for (const task of tasks) {
    const active = plans.filter((p) => runsOn(p, task));
    for (let s = 0; s < opts.seeds; s++) {
      if (active.length === 0) continue;
      const sample = task.sample(opts.n, new Rng(s, `validate/${task.stream}`));
      const input = taskInput(task, sample, s);
      const timing: string[] = [];
      for (const p of active) {
        const k = key(p.info.name, task.id);
        let a = acc.get(k);
        if (!a) acc.set(k, (a = {values: [], times: [], n: input.T.rows}));
        if (!p.params) {
          a.values.push(null);
          a.reason ??= p.paramsError;
          continue;
        }
        const t1 = now();
        try {
          const v = compute(p.est, input, p.params, task.quantity);
          a.values.push(v);
        } catch (err) {
          a.values.push(null);
          a.reason ??= `seed ${s}: ${errorMessage(err)}`;
        }
        const dt = now() - t1;
        a.times.push(dt);
        timing.push(`${p.info.name} ${dt.toFixed(2)}s`);
      }
      done++;
      progress({phase: 'task', message: `${task.id} seed ${s + 1}/${opts.seeds}: ${timing.join(', ')}`, done, total: totalTaskSteps});
    }
  }
  for (const p of plans) {
    for (const task of tasks) {
      const a = acc.get(key(p.info.name, task.id));
      if (!a) continue;
      const ok = a.values.every((v) => v !== null);
      const seconds = a.times.length ? a.times.reduce((x, y) => x + y, 0) / a.times.length : null;
      const base = {estimator: p.info.name, task: task.id, quantity: task.quantity, params: p.info.params, n: a.n, truth: task.truthNats, seconds, values: a.values};
      if (!ok) {
        rows.push({...base, mean: null, std: null, bias: null, relBias: null, status: 'n/a', reason: a.reason ?? 'failed'});
        continue;
      }
      const {mean, std} = meanStd(a.values as number[]);
      const bias = mean - task.truthNats;
      rows.push({...base, mean, std, bias, relBias: task.truthNats !== 0 ? bias / task.truthNats : null, status: 'ok'});
    }
  }

  const checks: SuiteCheck[] = [];
  if (checksOn) {
    const ctx: CheckContext = {opts, plans: new Map(plans.map((p) => [p.info.name, p])), rows, taskIds: taskIdsSel};
    const defs = CHECKS.filter((c) => ctx.plans.has(c.estimator));
    let i = 0;
    for (const def of defs) {
      let status: SuiteCheck['status'];
      let detail: string;
      try {
        ({status, detail} = def.run(ctx));
      } catch (err) {
        status = 'fail';
        detail = `error: ${errorMessage(err)}`;
      }
      checks.push({id: def.id, estimator: def.estimator, description: def.description, status, detail});
      progress({phase: 'check', message: `${status.toUpperCase()} ${def.id} ${def.estimator}: ${detail}`, done: ++i, total: defs.length});
    }
  }

  return {
    n: opts.n,
    seeds: opts.seeds,
    unit: 'nats',
    estimators: plans.map((p) => p.info),
    tasks: tasks.map((t) => ({
      id: t.id,
      description: t.description,
      truthNats: t.truthNats,
      dimX: t.dimX,
      dimY: t.dimY,
      kind: t.kind,
      quantity: t.quantity,
      n: t.fixedN ?? opts.n,
      ...(t.note ? {note: t.note} : {}),
    })),
    rows,
    checks,
    skipped,
    passed: checks.every((c) => c.status !== 'fail'),
    seconds: now() - t0,
  };
}

