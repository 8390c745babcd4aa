import type {Estimator} from '../metrics/types.js';
import type {Quantity} from './tasks.js';

/* Result and option types of the estimator validation suite (suite.ts). */

export interface SuiteProgress {
  phase: 'probe' | 'task' | 'check';
  /** One line of what was just done. */
  message: string;
  done: number;
  total: number;
}

export interface SuiteOptions {
  /** Rows per sample of the continuous tasks (discrete tasks have their own size). */
  n: number;
  /** Independent samples per task (seed indices 0..seeds-1). */
  seeds: number;
  /** Estimator names to validate (default: all of them). Unknown names throw a UserError. */
  estimators?: string[];
  /** Task ids to run (default: all). Unknown ids throw a UserError. */
  tasks?: string[];
  /** Estimator objects to use instead of the registry (tests); names must be unique. */
  estimatorObjects?: Estimator<any>[];
  /** Run the pass/fail checks (default true). */
  checks?: boolean;
  onProgress?: (p: SuiteProgress) => void;
}

export interface SuiteRow {
  estimator: string;
  task: string;
  quantity: Quantity;
  /** Canonical parameter string of the run (`key=value;...`, unit excluded). */
  params: string;
  /** Rows per sample. */
  n: number;
  truth: number;
  /** Mean over seeds (null when the row is n/a). */
  mean: number | null;
  /** Sample standard deviation over seeds (null with fewer than 2 seeds or n/a). */
  std: number | null;
  bias: number | null;
  /** bias / truth. */
  relBias: number | null;
  /** Mean wall time of one estimate (seconds). */
  seconds: number | null;
  /** Value per seed (null where that seed failed). */
  values: Array<number | null>;
  status: 'ok' | 'n/a';
  reason?: string;
}

export interface SuiteCheck {
  /** e.g. `S1`, `K4`, `ebab.invariance`, `ksg.tol.normal-1x1`. */
  id: string;
  estimator: string;
  description: string;
  status: 'pass' | 'fail' | 'skip';
  /** What was measured and against what. */
  detail: string;
}

export interface SuiteEstimatorInfo {
  name: string;
  role: 'continuous' | 'identity';
  /** Also validated on the entropy tasks. */
  entropy: boolean;
  params: string;
  /** Set when the probe failed (the role then comes from the name). */
  probeError?: string;
}

export interface SuiteTaskInfo {
  id: string;
  description: string;
  truthNats: number;
  dimX: number;
  dimY: number;
  kind: 'continuous' | 'discrete';
  quantity: Quantity;
  n: number;
  note?: string;
}

export interface SuiteResult {
  n: number;
  seeds: number;
  unit: 'nats';
  estimators: SuiteEstimatorInfo[];
  tasks: SuiteTaskInfo[];
  rows: SuiteRow[];
  checks: SuiteCheck[];
  /** Estimator-task pairs that were not run, and why. */
  skipped: Array<{estimator: string; tasks: string[]; reason: string}>;
  /** No check failed. */
  passed: boolean;
  /** Wall time of the whole suite (seconds). */
  seconds: number;
}

