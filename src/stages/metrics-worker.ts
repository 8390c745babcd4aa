import {workerData} from 'node:worker_threads';
import {serveRequests} from '../util/worker-pool.js';
import {layerMaxima, snapshotValues, SnapshotTables, workContext, type SnapshotTask, type SnapshotValues, type WorkInputs} from './metrics-work.js';

/*
 * A worker thread of the metrics stage (src/stages/metrics.ts starts them): it reads the run's
 * dataset and model once, then answers requests for whole snapshots - reading each snapshot's
 * Arrow file itself - with the same function the stage runs on one thread.
 */

export interface MetricsWorkerData {
  inputs: WorkInputs;
  /** The run's last snapshot epoch (similarities compare with it). */
  finalEpoch: number;
}

/** A snapshot's values, or (first pass of mi.adaptmax) its layer maxima. */
export type MetricsRequest = {task: SnapshotTask} | {maxima: number};

if (workerData && typeof workerData === 'object' && 'inputs' in workerData) {
  const {inputs, finalEpoch} = workerData as MetricsWorkerData;
  const ctx = workContext(inputs);
  const tables = new SnapshotTables(ctx.paths, finalEpoch);
  serveRequests<MetricsRequest, SnapshotValues | number[]>((r) => ('maxima' in r ? layerMaxima(tables.get(r.maxima), ctx.plan) : snapshotValues(ctx, r.task, tables)));
}
