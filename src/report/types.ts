import type {ValidityWarning} from '../metrics/validity.js';
import type {ExampleTable, LayerInfo, MetricRow, TrainingRow} from '../types.js';
export type {ExampleTable} from '../types.js';
import type {StudyCheck} from './study-checks.js';

export type {ValidityWarning} from '../metrics/validity.js';

/** Everything the report needs about one run. Built by the report stage from the run directory. */
export interface ReportInput {
  /** Config name, e.g. "tishby". */
  title: string;
  runId: string;
  configHash: string;
  backend: string;
  seed: number;
  /** Exact command line that produced the run (shown in the report). */
  command: string;
  /** Later commands that continued the run (`tdlab run --resume`, `tdlab metrics`, `tdlab report`), oldest first. */
  laterCommands?: string[];
  /** ISO time. */
  createdAt: string;
  /** Hidden layers 1..L then the output layer. */
  layers: LayerInfo[];
  /** Tidy metric rows (see src/types.ts). */
  metrics: MetricRow[];
  /** Tidy training rows (see src/types.ts). */
  training: TrainingRow[];
  /** Sorted, includes 0. */
  snapshotEpochs: number[];
  /** Total training epochs E (training rows go from epoch 0..E). */
  epochs: number;
  dataset: {name: string; n: number; nTrain: number; nTest: number; entropyY?: number};
  /** Resolved config text, shown collapsed in the HTML. */
  configYaml: string;
  /** Epoch axis of the time panels (`report.epochAxis`, default log). */
  epochAxis?: 'log' | 'linear';
  /** One I(X;T) and one I(T;Y) range for the MI figures of every estimator (`report.shareEstimatorAxes`). */
  shareEstimatorAxes?: boolean;
  /** Per-example training dynamics (dynamics/examples.arrow), when `dynamics.examples` ran. */
  examples?: ExampleTable;
}


export interface ReportFigure {
  /** File name relative to the report's `figures/` directory, e.g. `info-plane-mi.bin.svg`. */
  file: string;
  title: string;
  /** Self-contained SVG document (no ids, no external references). */
  svg: string;
  /** Plain-text explanation of how to read the figure. */
  caption: string;
}

export interface ReportOutput {
  html: string;
  markdown: string;
  summary: ReportSummary;
  figures: ReportFigure[];
}

/** Per (estimator, params) information-plane numbers of one layer, over snapshot epochs. */
export interface MiSummary {
  estimator: string;
  params: string;
  /** Subset the numbers were computed on (`all` when present). */
  subset: string;
  unit: string;
  maxIXT: number | null;
  maxIXTEpoch: number | null;
  /** I(X;T) at the last snapshot epoch. */
  finalIXT: number | null;
  /** maxIXT - finalIXT. */
  compression: number | null;
  /** I(T;Y) at the last snapshot epoch. */
  finalITY: number | null;
}

export interface GradientSummary {
  /** First snapshot epoch from which mean norm < std norm at every later snapshot (SNR < 1 persistently). */
  crossingEpoch: number | null;
  /** Median mean/std over snapshot epochs <= 20. */
  snrEarly: number | null;
  /** Median mean/std over the last 20% of snapshot epochs. */
  snrLate: number | null;
}

export interface LayerSummary {
  index: number;
  name: string;
  width: number;
  activation: string;
  kind: 'hidden' | 'output';
  mi: MiSummary[];
  gradients: GradientSummary;
  /** `dead_units` of `act.stats` at the last snapshot epoch, null when not measured. */
  deadUnitsFinal: number | null;
  /**
   * The layer's information-plane numbers from the first estimator (in `HEADLINE_ORDER`, then the
   * others) that carries no validity warning on this layer; null when every one is flagged.
   */
  headline: MiSummary | null;
  /** Mean local rank (`geom.local_rank`, first params set); present only when measured for the layer. */
  localRank?: LocalRankSummary;
}

/** Mean local rank over the evaluation points of one layer, over snapshot epochs. */
export interface LocalRankSummary {
  /** At the first snapshot epoch with a value. */
  first: number | null;
  /** Minimum over snapshot epochs. */
  min: number | null;
  /** At the last snapshot epoch with a value. */
  final: number | null;
  /** `local_rank_bound` at the last snapshot epoch with a bound. */
  bound: number | null;
}

export interface ReportSummary {
  runId: string;
  title: string;
  configHash: string;
  backend: string;
  seed: number;
  epochs: number;
  snapshots: number;
  dataset: {name: string; n: number; nTrain: number; nTest: number; entropyY: number | null};
  final: {trainLoss: number | null; testLoss: number | null; trainAcc: number | null; testAcc: number | null};
  layers: LayerSummary[];
  /** The last hidden layer's headline numbers (what `tdlab runs` shows), null when none is valid. */
  headline: (MiSummary & {layer: string}) | null;
  /** Checks of the shipped spec-13 studies (edge of stability, neural collapse), where the run has their data. */
  checks?: StudyCheck[];
  /** Validity warnings (`range`, `scale`, `ceiling`) and run-level ones (`chance`, `dead`). */
  warnings: ValidityWarning[];
}
