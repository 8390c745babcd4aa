import type {EstimatorInput} from '../metrics/types.js';
import type {Matrix} from '../types.js';
import {Rng} from '../util/prng.js';
import type {Plan} from './classify.js';
import {fmt, LN2, mapMatrix, parseParams, taskInput} from './estimator-io.js';
import {twelveBitHyBits, validationTasks} from './tasks.js';
import type {SuiteOptions, SuiteRow} from './types.js';

/*
 * The suite's pass/fail checks with exact or tolerance answers: binning S1-S3, KDE K1-K6, EBAB
 * and KSG invariance under monotone maps, and the KSG tolerances of docs/metrics.md, ground truth.
 */

/** The estimators with binning sanity checks S2/S3 (S1 is specific to `mi.bin`'s edges). */
const BINNING = ['mi.bin', 'mi.binwidth', 'mi.ebab', 'mi.adaptmax'];
/** Spec 10.2 tolerance rows for KSG with k = 5, at N >= 5000 and >= 10 seeds. */
const KSG_TOLERANCES: Array<{task: string; abs?: number; rel?: number}> = [
  {task: 'normal-1x1', abs: 0.03},
  {task: 'uniform-1x1', abs: 0.03},
  {task: 'dense-2x2', rel: 0.1},
  {task: 'dense-3x3', rel: 0.1},
];
/** Transformed versions of normal-1x1 (same base draws per seed) used by the KSG monotone-map check. */
const MONOTONE_VARIANTS = ['uniform-1x1', 'halfcube-1x1', 'wiggly-1x1', 'asinh-1x1'];
/** Largest |mean paired difference| (nats) allowed between KSG on normal-1x1 and on a monotone image of it. */
const KSG_MONOTONE_TOL = 0.03;

export interface CheckContext {
  opts: SuiteOptions;
  plans: Map<string, Plan>;
  rows: SuiteRow[];
  taskIds: string[];
}

interface CheckDef {
  id: string;
  estimator: string;
  description: string;
  run(ctx: CheckContext): {status: 'pass' | 'fail' | 'skip'; detail: string};
}

const pass = (detail: string) => ({status: 'pass' as const, detail});
const fail = (detail: string) => ({status: 'fail' as const, detail});
const skip = (detail: string) => ({status: 'skip' as const, detail});

/** Runs an estimator by name with parameter overrides; returns every value in nats by quantity. */
function run(ctx: CheckContext, name: string, input: EstimatorInput, overrides: Record<string, unknown> = {}): Record<string, number> {
  const est = ctx.plans.get(name)!.est;
  const params = parseParams(est, overrides);
  const out: Record<string, number> = {};
  for (const v of est.compute(input, params)) out[v.quantity] = v.unit === 'bits' ? v.value * LN2 : v.value;
  return out;
}

function need(values: Record<string, number>, q: string): number {
  const v = values[q];
  if (v === undefined) throw new Error(`no ${q} value`);
  return v;
}

/** The 12-bit inputs as T (4096 x 12, row r = binary expansion of r) with labels. */
function twelveBitInput(): EstimatorInput {
  const task = validationTasks().find((t) => t.id === 'twelvebit-hx')!;
  const s = task.sample(4096, new Rng(0, 'validate/twelvebit'));
  return {T: s.x, y: s.y as Int32Array, seed: 0};
}

function constantInput(rows: number, cols: number, value: number, labels?: Int32Array): EstimatorInput {
  return {T: {data: new Float32Array(rows * cols).fill(value), rows, cols}, y: labels ?? Int32Array.from({length: rows}, (_, i) => i % 2), seed: 0};
}

const BITS12 = 12 * LN2;

/** |a - b| <= tol for each pair; a failing pair gives the detail. */
function compareAll(pairs: Array<[string, number, number]>, tol: number): {status: 'pass' | 'fail'; detail: string} {
  const bad = pairs.filter(([, a, b]) => !(Math.abs(a - b) <= tol));
  const text = pairs.map(([q, a, b]) => `${q} = ${fmt(a, 9)} (expected ${fmt(b, 9)})`).join(', ');
  return bad.length ? fail(text) : pass(text);
}

function binningChecks(): CheckDef[] {
  const out: CheckDef[] = [
    {
      id: 'S1',
      estimator: 'mi.bin',
      description: '12-bit task, T = X, edges linspace(0, 1, 2): I(X;T) = 12 bits, I(T;Y) = H(Y) = 0.99916 bits',
      run: (ctx) => {
        const v = run(ctx, 'mi.bin', twelveBitInput(), {bins: 2, lo: 0, hi: 1});
        return compareAll([['I_XT', need(v, 'I_XT'), BITS12], ['I_TY', need(v, 'I_TY'), twelveBitHyBits() * LN2]], 1e-9);
      },
    },
  ];
  for (const name of BINNING) {
    out.push({
      id: 'S2',
      estimator: name,
      description: '12-bit task, T = X (all discretised rows distinct): I(X;T) = 12 bits, I(T;Y) = H(Y)',
      run: (ctx) => {
        const v = run(ctx, name, twelveBitInput());
        return compareAll([['I_XT', need(v, 'I_XT'), BITS12], ['I_TY', need(v, 'I_TY'), twelveBitHyBits() * LN2]], 1e-9);
      },
    });
    out.push({
      id: 'S3',
      estimator: name,
      description: 'constant layer (4096 x 12, every value 0.5): I(X;T) = I(T;Y) = 0',
      run: (ctx) => {
        const v = run(ctx, name, constantInput(4096, 12, 0.5, twelveBitInput().y));
        return compareAll([['I_XT', need(v, 'I_XT'), 0], ['I_TY', need(v, 'I_TY'), 0]], 1e-12);
      },
    });
  }
  return out;
}

function gaussianMatrix(rng: Rng, rows: number, cols: number): Matrix<Float32Array> {
  return {data: Float32Array.from({length: rows * cols}, () => rng.normal()), rows, cols};
}

function kdeChecks(): CheckDef[] {
  const name = 'mi.kde';
  const bits = (v: number) => v / LN2;
  return [
    {
      id: 'K1',
      estimator: name,
      description: 'well-separated distinct rows (12-bit X, noiseVariance 1e-3): upper I(X;T) = ln 4096 nats = 12 bits',
      run: (ctx) => {
        const v = run(ctx, name, twelveBitInput(), {noiseVariance: 1e-3, bound: 'upper'});
        return compareAll([['I_XT', need(v, 'I_XT'), BITS12]], 1e-6);
      },
    },
    {
      id: 'K2',
      estimator: name,
      description: 'noiseVariance 1e3 on 12-bit X: upper I(X;T) ~ 0.0043 bits -> 0 (must lie in [0, 0.01] bits)',
      run: (ctx) => {
        const v = need(run(ctx, name, twelveBitInput(), {noiseVariance: 1e3, bound: 'upper'}), 'I_XT');
        const text = `I_XT = ${fmt(bits(v), 6)} bits`;
        return v >= 0 && bits(v) <= 0.01 ? pass(text) : fail(text);
      },
    },
    {
      id: 'K3',
      estimator: name,
      description: 'all rows identical: I_up = I_lo = 0 (I(X;T) and I(T;Y))',
      run: (ctx) => {
        const input = constantInput(512, 5, 0.3);
        const up = run(ctx, name, input, {bound: 'upper'});
        const lo = run(ctx, name, input, {bound: 'lower'});
        return compareAll([['I_XT up', need(up, 'I_XT'), 0], ['I_XT lo', need(lo, 'I_XT'), 0], ['I_TY up', need(up, 'I_TY'), 0], ['I_TY lo', need(lo, 'I_TY'), 0]], 1e-12);
      },
    },
    {
      id: 'K4',
      estimator: name,
      description: 'ordering I_lo <= I_up on random data (N 400, d 3, 3 classes; noiseVariance 1e-3 .. 10)',
      run: (ctx) => {
        const rng = new Rng(4, 'validate/K4');
        const bad: string[] = [];
        let count = 0;
        for (const s2 of [1e-3, 1e-2, 1e-1, 1, 10]) {
          const input: EstimatorInput = {T: gaussianMatrix(rng, 400, 3), y: Int32Array.from({length: 400}, () => rng.int(3)), seed: 0};
          const up = run(ctx, name, input, {noiseVariance: s2, bound: 'upper'});
          const lo = run(ctx, name, input, {noiseVariance: s2, bound: 'lower'});
          for (const q of ['I_XT', 'I_TY']) {
            count++;
            if (!(need(lo, q) <= need(up, q) + 1e-12)) bad.push(`${q} at s2=${s2}: lo ${fmt(lo[q])} > up ${fmt(up[q])}`);
          }
        }
        return bad.length ? fail(bad.join('; ')) : pass(`${count} pairs ordered`);
      },
    },
    {
      id: 'K5',
      estimator: name,
      description: 'Gaussian channel h = x ~ N(0,1), N 4000: I_lo <= 0.5 ln(1 + 1/s2) <= I_up for s2 = 0.1 and 0.01',
      run: (ctx) => {
        const rng = new Rng(5, 'validate/K5');
        const input: EstimatorInput = {T: gaussianMatrix(rng, 4000, 1), y: new Int32Array(4000), seed: 0};
        const parts: string[] = [];
        let ok = true;
        for (const s2 of [0.1, 0.01]) {
          const pop = 0.5 * Math.log(1 + 1 / s2);
          const up = need(run(ctx, name, input, {noiseVariance: s2, bound: 'upper'}), 'I_XT');
          const lo = need(run(ctx, name, input, {noiseVariance: s2, bound: 'lower'}), 'I_XT');
          ok &&= lo <= pop && pop <= up;
          parts.push(`s2=${s2}: ${fmt(lo, 3)} <= ${fmt(pop, 3)} <= ${fmt(up, 3)}`);
        }
        return ok ? pass(parts.join('; ')) : fail(parts.join('; '));
      },
    },
    {
      id: 'K6',
      estimator: name,
      description: 'labels (12-bit X, noiseVariance 1e-3): upper I(T;Y) = H(Y) = 0.99916 bits',
      run: (ctx) => {
        const v = run(ctx, name, twelveBitInput(), {noiseVariance: 1e-3, bound: 'upper'});
        return compareAll([['I_TY', need(v, 'I_TY'), twelveBitHyBits() * LN2]], 1e-6);
      },
    },
  ];
}

function ebabCheck(): CheckDef {
  return {
    id: 'ebab.invariance',
    estimator: 'mi.ebab',
    description: 'EBAB exactly invariant under strictly increasing maps of a layer: MI(T) == MI(3T + 1) == MI(exp T)',
    run: (ctx) => {
      // values on the grid k / 4096 so that 3T + 1 and exp(T) are exact / distinct in float32
      const rng = new Rng(7, 'validate/ebab');
      const rows = 1000;
      const cols = 3;
      const T: Matrix<Float32Array> = {data: Float32Array.from({length: rows * cols}, () => (1 + rng.int(4096)) / 4096), rows, cols};
      const y = Int32Array.from({length: rows}, () => rng.int(2));
      const base = run(ctx, 'mi.ebab', {T, y, seed: 0});
      const parts: string[] = [];
      let ok = true;
      for (const [label, f] of [['3T+1', (v: number) => 3 * v + 1], ['exp(T)', Math.exp]] as const) {
        const v = run(ctx, 'mi.ebab', {T: mapMatrix(T, f), y, seed: 0});
        for (const q of ['I_XT', 'I_TY']) {
          const same = need(v, q) === need(base, q);
          ok &&= same;
          if (!same) parts.push(`${q} of ${label} = ${v[q]} != ${base[q]}`);
        }
      }
      return ok ? pass(`I_XT = ${fmt(need(base, 'I_XT'))}, I_TY = ${fmt(need(base, 'I_TY'))} nats for T, 3T+1, exp(T)`) : fail(parts.join('; '));
    },
  };
}

function ksgChecks(): CheckDef[] {
  const name = 'mi.ksg';
  const statsGate = (ctx: CheckContext) =>
    ctx.opts.n >= 5000 && ctx.opts.seeds >= 10 ? undefined : `needs --n >= 5000 and --seeds >= 10 (docs/metrics.md, ground truth); ran n = ${ctx.opts.n}, seeds = ${ctx.opts.seeds}`;
  const rowOf = (ctx: CheckContext, task: string) => ctx.rows.find((r) => r.estimator === name && r.task === task);
  const out: CheckDef[] = [
    {
      id: 'ksg.invariance.scale',
      estimator: name,
      description: 'KSG invariant (to 1e-12) under the common rescaling X -> 2X, T -> 2T (exact in floating point)',
      run: (ctx) => {
        const task = validationTasks().find((t) => t.id === 'normal-1x1')!;
        const n = Math.min(ctx.opts.n, 5000);
        const input = taskInput(task, task.sample(n, new Rng(0, `validate/${task.stream}`)), 0);
        const a = need(run(ctx, name, input), 'I_XT');
        const b = need(run(ctx, name, {...input, T: mapMatrix(input.T, (v) => 2 * v), x: mapMatrix(input.x!, (v) => 2 * v)}), 'I_XT');
        const text = `I = ${fmt(a, 9)} vs ${fmt(b, 9)} (n ${n})`;
        return Math.abs(a - b) <= 1e-12 ? pass(text) : fail(text);
      },
    },
    {
      id: 'ksg.invariance.monotone',
      estimator: name,
      description: `KSG nearly invariant under monotone maps: |mean over seeds of I(f(X); g(Y)) - I(X;Y)| <= ${KSG_MONOTONE_TOL} nats for the Phi, half-cube, wiggly, asinh images of normal-1x1 (same base draws)`,
      run: (ctx) => {
        const base = rowOf(ctx, 'normal-1x1');
        if (!base) return skip('task normal-1x1 not selected');
        if (base.status !== 'ok') return fail(`normal-1x1: ${base.reason}`);
        const parts: string[] = [];
        let ok = true;
        let any = false;
        for (const id of MONOTONE_VARIANTS) {
          const r = rowOf(ctx, id);
          if (!r) continue;
          any = true;
          if (r.status !== 'ok') {
            ok = false;
            parts.push(`${id}: ${r.reason}`);
            continue;
          }
          const d = (r.values as number[]).reduce((acc, v, i) => acc + (v - (base.values[i] as number)), 0) / r.values.length;
          ok &&= Math.abs(d) <= KSG_MONOTONE_TOL;
          parts.push(`${id} ${d >= 0 ? '+' : ''}${fmt(d, 4)}`);
        }
        if (!any) return skip('no transformed normal-1x1 task selected');
        const gate = statsGate(ctx);
        if (gate) return skip(`${parts.join(', ')} (informational: ${gate})`);
        return ok ? pass(parts.join(', ')) : fail(parts.join(', '));
      },
    },
  ];
  for (const tol of KSG_TOLERANCES) {
    out.push({
      id: `ksg.tol.${tol.task}`,
      estimator: name,
      description: tol.abs !== undefined ? `KSG k = 5 on ${tol.task}: |bias| <= ${tol.abs} nats (docs/metrics.md, ground truth)` : `KSG k = 5 on ${tol.task}: |bias| <= ${tol.rel! * 100}% (docs/metrics.md, ground truth)`,
      run: (ctx) => {
        const r = rowOf(ctx, tol.task);
        if (!r) return skip(`task ${tol.task} not selected`);
        if (r.status !== 'ok') return fail(`${tol.task}: ${r.reason}`);
        const k = ctx.plans.get(name)!.params?.k;
        if (k !== undefined && k !== 5) return skip(`default k = ${String(k)}, the tolerance is for k = 5`);
        const text = `mean ${fmt(r.mean!, 4)} vs truth ${fmt(r.truth, 4)}: bias ${fmt(r.bias!, 4)} (${fmt(100 * r.relBias!, 1)}%)`;
        const ok = tol.abs !== undefined ? Math.abs(r.bias!) <= tol.abs : Math.abs(r.relBias!) <= tol.rel!;
        const gate = statsGate(ctx);
        if (gate) return skip(`${text} (informational: ${gate})`);
        return ok ? pass(text) : fail(text);
      },
    });
  }
  return out;
}

/** Every check, in report order; a check runs when its estimator is selected. */
export const CHECKS: CheckDef[] = [...binningChecks(), ...kdeChecks(), ebabCheck(), ...ksgChecks()];

/** Ids of every check with its estimator (for documentation and tests). */
export function checkIds(): Array<{id: string; estimator: string; description: string}> {
  return CHECKS.map(({id, estimator, description}) => ({id, estimator, description}));
}

