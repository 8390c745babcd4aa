import {readFileSync} from 'node:fs';
import {numberColumn, readArrowFile, stringColumn, tensorColumn} from '../io/arrow.js';
import type {DatasetInfo, TrainData} from '../data/types.js';
import type {RunPaths} from './paths.js';

/** Reads the evaluation rows written by the data stage. */
export function readDataset(paths: RunPaths): TrainData & {split: string[]; info: DatasetInfo} {
  const info = JSON.parse(readFileSync(paths.datasetInfo, 'utf8')) as DatasetInfo;
  const t = readArrowFile(paths.dataset);
  // an imported run without inputs (no x.npy) has no x column: rows are taken as distinct inputs
  const x = t.getChild('x') ? tensorColumn(t, 'x') : {data: new Float32Array(0)};
  const labels = Int32Array.from(numberColumn(t, 'label'));
  const split = stringColumn(t, 'split');
  const idx = (s: string) => Int32Array.from(split.flatMap((v, i) => (v === s ? [i] : [])));
  return {x: x.data, labels, n: t.numRows, inputShape: info.inputShape, classes: info.classes, trainIdx: idx('train'), testIdx: idx('test'), split, info};
}
