import {Flags} from '@oclif/core';
import {measureFiles, type MeasureResult} from '../stages/measure.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Measure extends BaseCommand {
  static override description = `Compute a metric on activations from any source (.npy, .arrow, .csv): same registry and code as the metrics stage

--json prints {metric, params, unit, n, values, warnings}; warnings are measured on the input (range: values outside the fixed bins of mi.bin; scale: mi.kde noise far from the activation scale; ceiling: I(X;T) at log2 N). Weight metrics need --weights, and geom.local_rank also --x (the points the Jacobians are taken at).`;
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> measure --activations h3.npy --labels y.npy --metric mi.bin --json',
    '<%= config.bin %> measure --activations acts.arrow --column h5 --labels acts.arrow --metric mi.kde --param noiseVariance=1e-4,1e-3,1e-2',
    '<%= config.bin %> measure --activations t.csv --x x.csv --labels y.csv --metric mi.ksg --param k=5',
    '<%= config.bin %> measure --metric sim.cka --activations a.npy --other b.npy --param kernel=rbf --param sigma=median --param debiased=true --json',
    '<%= config.bin %> measure --metric curv.hessian --weights w.npz --x X.npy --labels y.npy --activation tanh --param probes=exact --json',
    '<%= config.bin %> measure --metric weights.esd --weights w.npz --json',
    '<%= config.bin %> measure --metric nc.collapse --activations H.npy --labels y.npy --weights out.npz --json',
  ];
  static override flags = {
    activations: Flags.string({description: 'representation T: rows = samples (.npy C order, .arrow, .csv)'}),
    weights: Flags.string({description: 'network weights for weight metrics (geom.local_rank, weights.features, weights.esd, curv.hessian): .npz with W0, b0, W1, b1, ... (input-by-output) or a run checkpoint .arrow; for nc.collapse the classifier W0 (d x K), b0'}),
    other: Flags.string({description: 'second representation of the same rows, for similarity metrics (sim.cka)'}),
    'other-column': Flags.string({description: 'column of the --other file (default: --column)'}),
    labels: Flags.string({description: 'integer labels, one per row (.npy, .arrow, .csv); needed for I(T;Y), curv.hessian and nc.collapse'}),
    x: Flags.string({description: 'inputs X, one row per sample: continuous inputs for kNN I(X;T), and the evaluation points of geom.local_rank and curv.hessian (required there)'}),
    metric: Flags.string({description: 'estimator name, e.g. mi.bin, mi.binwidth', required: true}),
    param: Flags.string({description: 'parameter name=value or name=v1,v2,... (sweep), repeatable', multiple: true, default: []}),
    column: Flags.string({description: 'column of the activations file (Arrow tensor column or CSV column)'}),
    'label-column': Flags.string({description: 'label column of an Arrow/CSV labels file (default: label, y, or the only column)'}),
    'x-column': Flags.string({description: 'column of the inputs file'}),
    activation: Flags.string({description: 'activation of the layer (adaptive estimators use its range) or, with --weights, of the hidden layers (one name, or a comma list with one per layer)'}),
    'max-rows': Flags.integer({description: 'seeded subsample of at most N rows', min: 1}),
    seed: Flags.integer({description: 'seed for subsampling and randomised estimators', default: 0, min: 0}),
  };

  async run(): Promise<MeasureResult | MeasureResult[]> {
    const {flags} = await this.parse(Measure);
    const results = await measureFiles({
      activations: flags.activations,
      weights: flags.weights,
      labels: flags.labels,
      x: flags.x,
      metric: flags.metric,
      params: flags.param,
      column: flags.column,
      labelColumn: flags['label-column'],
      xColumn: flags['x-column'],
      activation: flags.activation,
      maxRows: flags['max-rows'],
      seed: flags.seed,
      other: flags.other,
      otherColumn: flags['other-column'],
    });
    for (const r of results) {
      const vals = Object.entries(r.values).map(([k, v]) => `${k} = ${v}`).join(', ');
      this.log(`${r.metric} [${(r as MeasureResult & {paramsText: string}).paramsText}] n = ${r.n}: ${vals} (${r.unit})`);
      for (const w of r.warnings) this.log(`  warning (${w.kind}): ${w.message}`);
    }
    const clean = results.map(({metric, params, unit, n, values, warnings, notes}) => ({metric, params, unit, n, values, warnings, ...(notes ? {notes} : {})}));
    return clean.length === 1 ? clean[0] : clean;
  }
}
