import {Args, Flags} from '@oclif/core';
import {findRuns, loadRun} from '../aggregate/runs.js';
import {analyzePhases, type PhaseResult, type PhaseRunInput} from '../phases/analyze.js';
import {expandFeature, parseFeature, runMatrix, splitFeatureList, type FeatureSpec} from '../phases/features.js';
import {UserError} from '../util/errors.js';
import {BaseCommand} from '../cli/base-command.js';

const MAX_K = 20;

/** `a..b` or `a` -> [a, b]. */
export function parseKRange(text: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(text);
  if (!m) throw new UserError(`--k ${text}: expected a range like 1..8 or a single K like 3`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi < lo || hi > MAX_K) throw new UserError(`--k ${text}: need 1 <= from <= to <= ${MAX_K}`);
  return [lo, hi];
}

function fmt(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

export default class Phases extends BaseCommand {
  static override description = `Segment training into phases: a Gaussian HMM over per-run metric trajectories (docs/metrics.md, phases)

One sequence per run (rows = the epochs at which every feature has a value, columns = the features, each z-scored within its run); runs with non-finite values are dropped; runs are split 80/20 (seeded) into fit and held-out runs. For every K in --k, EM (Baum-Welch, k-means++ init, --restarts runs) keeps the restart with the best held-out log-likelihood; AIC and BIC are computed on the held-out runs and K is chosen at the BIC minimum. Reported: Viterbi state path per run (states numbered by when runs occupy them, 0 = earliest), transition matrix, and for every transition the features whose state means differ most (z units).

Feature names:
  <estimator>[<k=v;...>]:<quantity>:<layer>   a value from metrics/metrics.arrow
      e.g. mi.bin:I_XT:h5, mi.bin:I_TY:out, mi.kde[noiseVariance=0.001]:I_XT:3
      [params] is needed only when the estimator ran with several parameter sets; the listed key=value pairs must all appear in the stored parameters. Subset "all" is used when present.
  train:<quantity>[:<layer>]                  a value from training.arrow
      e.g. train:train_loss, train:test_acc, train:grad_snr:h3, train:weight_norm:h1
  <layer> is a layer name (h1..., out), an index (1 = first hidden layer) or * (every layer).`;
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> phases runs/sweeps/saxe --features mi.bin:I_XT:h5,mi.bin:I_TY:h5,train:grad_snr:h5',
    "<%= config.bin %> phases runs/sweeps/saxe --features 'mi.bin:I_XT:*' --k 1..6 --restarts 5 --json",
    '<%= config.bin %> phases runs/tishby/RUN_A runs/tishby/RUN_B --features train:train_loss,train:weight_norm:h1 --cov full',
  ];
  static override strict = false;
  static override args = {dirs: Args.string({description: 'sweep directory, or run directories', required: true})};
  static override flags = {
    features: Flags.string({description: 'comma-separated feature names (repeatable); see the grammar above', multiple: true, multipleNonGreedy: true, required: true}),
    k: Flags.string({description: 'range of state counts to try, e.g. 1..8 or 3', default: '1..8'}),
    restarts: Flags.integer({description: 'EM runs per K, each from its own k-means++ seeding', default: 5, min: 1}),
    cov: Flags.string({description: 'covariance of each state', options: ['diag', 'full'], default: 'diag'}),
    seed: Flags.integer({description: 'seed of the fit/held-out split and of the initialisations', default: 0, min: 0}),
    'max-rows': Flags.integer({description: 'use at most the first N epochs of each run (spec: 1000)', default: 1000, min: 2}),
  };

  async run(): Promise<PhaseResult> {
    const {argv, flags} = await this.parse(Phases);
    const [kMin, kMax] = parseKRange(flags.k);
    const found = findRuns(argv as string[]);
    if (found.runDirs.length === 0) throw new UserError(`no finished runs found (${found.skipped.map((s) => `${s.runDir}: ${s.reason}`).join('; ')})`);
    let specs: FeatureSpec[];
    try {
      specs = splitFeatureList(flags.features).map(parseFeature);
    } catch (err) {
      throw new UserError((err as Error).message);
    }
    if (specs.length === 0) throw new UserError('--features: give at least one feature name');

    const dropped = found.skipped.map((s) => ({...s}));
    const inputs: PhaseRunInput[] = [];
    let names: string[] | null = null;
    const reasons = new Set<string>();
    for (const dir of found.runDirs) {
      const run = loadRun(dir);
      const expanded = specs.flatMap((s) => expandFeature(s, run.layers));
      const theseNames = expanded.map((s) => s.name);
      names ??= theseNames;
      if (theseNames.join('\u0000') !== names.join('\u0000')) {
        dropped.push({runDir: dir, reason: `its layers differ from the first run's (features ${theseNames.join(',')})`});
        continue;
      }
      const needsTraining = expanded.some((s) => s.source === 'train');
      const m = runMatrix(expanded, run.metrics, needsTraining ? run.training() : [], flags['max-rows']);
      if (typeof m === 'string') {
        dropped.push({runDir: dir, reason: m});
        reasons.add(m);
        continue;
      }
      inputs.push({id: dir, epochs: m.epochs, data: m.data});
    }
    if (inputs.length === 0) throw new UserError(`no run has every feature: ${[...reasons][0] ?? dropped.map((d) => d.reason).join('; ')}`);
    let result: PhaseResult;
    try {
      result = analyzePhases(inputs, names ?? [], {kMin, kMax, restarts: flags.restarts, cov: flags.cov as 'diag' | 'full', seed: flags.seed}, dropped);
    } catch (err) {
      throw new UserError(`phases: ${(err as Error).message}`, {exitCode: 1, code: 'E_PHASES'});
    }
    if (!this.jsonEnabled()) this.printText(result);
    return result;
  }

  private printText(r: PhaseResult): void {
    const D = r.features.length;
    this.log(`runs: ${r.runs.fit.length} fit, ${r.runs.heldOut.length} held out, ${r.runs.dropped.length} dropped; ${D} features; ${r.cov} covariance`);
    for (const d of r.runs.dropped) this.log(`  dropped ${d.runDir}: ${d.reason}`);
    this.log('');
    this.log('   K   held-out LL        AIC        BIC');
    for (const k of Object.keys(r.bic)) {
      const mark = Number(k) === r.k ? '  <- BIC minimum' : '';
      this.log(`${k.padStart(4)} ${fmt(r.loglik[k], 1).padStart(13)} ${fmt(r.aic[k], 1).padStart(10)} ${fmt(r.bic[k], 1).padStart(10)}${mark}`);
    }
    this.log('');
    this.log(`chosen K = ${r.k}; state means (z units):`);
    const w = Math.max(...r.features.map((f) => f.length), 7);
    this.log(`  ${'feature'.padEnd(w)} ${r.means.map((_, s) => `s${s}`.padStart(7)).join(' ')}`);
    r.features.forEach((f, d) => this.log(`  ${f.padEnd(w)} ${r.means.map((m) => fmt(m[d]).padStart(7)).join(' ')}`));
    this.log('');
    this.log('transitions (Viterbi count, probability; features that move most, z units):');
    if (r.transitions.length === 0) this.log('  none');
    for (const t of r.transitions) {
      const top = t.features.slice(0, 3).map((f) => `${f.name} ${f.delta >= 0 ? '+' : ''}${fmt(f.delta)}`).join(', ');
      this.log(`  s${t.from} -> s${t.to}  n=${t.count} p=${fmt(t.prob, 3)}  ${top}`);
    }
    this.log('');
    this.log('Viterbi paths (state[first epoch-last epoch]):');
    for (const [run, segs] of Object.entries(r.segments)) this.log(`  ${run}: ${segs.map((s) => `s${s.state}[${s.from}-${s.to}]`).join(' ')}`);
    for (const w2 of r.warnings) this.log(`warning: ${w2}`);
  }
}
