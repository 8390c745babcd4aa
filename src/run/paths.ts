import {join} from 'node:path';

/** The run directory layout: the only interface between stages. */
export function runPaths(runDir: string) {
  const epochFile = (dir: string) => (epoch: number) => join(runDir, dir, `epoch_${String(epoch).padStart(6, '0')}.arrow`);
  return {
    root: runDir,
    config: join(runDir, 'config.yaml'),
    provenance: join(runDir, 'provenance.json'),
    dataset: join(runDir, 'data', 'dataset.arrow'),
    datasetInfo: join(runDir, 'data', 'dataset.json'),
    model: join(runDir, 'model.json'),
    activationsDir: join(runDir, 'activations'),
    activation: epochFile('activations'),
    checkpointsDir: join(runDir, 'checkpoints'),
    checkpoint: epochFile('checkpoints'),
    training: join(runDir, 'training.arrow'),
    dynamicsDir: join(runDir, 'dynamics'),
    /** Per-epoch predictions of the training rows (train stage, when a history metric is configured). */
    predictions: join(runDir, 'dynamics', 'predictions.arrow'),
    /** Per-example statistics (`dynamics.examples`). */
    examples: join(runDir, 'dynamics', 'examples.arrow'),
    metricsArrow: join(runDir, 'metrics', 'metrics.arrow'),
    metricsCsv: join(runDir, 'metrics', 'metrics.csv'),
    reportDir: join(runDir, 'report'),
    reportHtml: join(runDir, 'report', 'index.html'),
    reportMd: join(runDir, 'report', 'report.md'),
    reportSummary: join(runDir, 'report', 'summary.json'),
    logs: join(runDir, 'logs'),
    /** Held by the process that works on the run (src/io/lock.ts). */
    lock: join(runDir, '.lock'),
  };
}

export type RunPaths = ReturnType<typeof runPaths>;

/** Epoch of a snapshot file name `epoch_000123.arrow`, or undefined. */
export function epochOfFile(name: string): number | undefined {
  const m = /^epoch_(\d+)\.arrow$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
