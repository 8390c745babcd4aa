import type {z} from 'zod';

/** An in-memory labelled dataset: `n` rows of `inputShape` float32 inputs, integer labels 0..classes-1. */
export interface Dataset {
  name: string;
  n: number;
  inputShape: number[];
  x: Float32Array;
  labels: Int32Array;
  classes: number;
  /**
   * The dataset's own train/test split, when it has one (1 = train, 0 = test), e.g. sparse
   * parity's 1000/100 or MNIST's 60,000/10,000 IDX files. Absent: the data stage makes a seeded
   * split with `data.trainFraction`.
   */
  split?: Int8Array;
  /** Facts worth recording (e.g. positives, H(Y)); shown in dataset.json and the report. */
  facts: Record<string, number | string>;
}

/** What a dataset will be, known before it is built (validation and memory estimates). */
export interface DatasetShape {
  n: number;
  inputShape: number[];
  classes: number;
}

export interface DatasetType<O = Record<string, unknown>> {
  description: string;
  /** Schema of the dataset-specific `data.options` block (defaults filled in). */
  options: z.ZodType<O, z.ZodTypeDef, any>;
  /**
   * Files and directories the options name, with their field under `data.options` (dotted).
   * Relative paths are resolved against the config file's directory when the config is loaded,
   * and each is checked before a run starts.
   */
  files?(options: O): Array<{field: string; path: string; dir?: boolean}>;
  /** Rows, input shape and classes, without building the dataset (at most file headers are read; a table is read and checked in full). */
  shape(options: O, seed: number): DatasetShape | Promise<DatasetShape>;
  /** Builds the dataset; `seed` is the run seed for datasets with random content. */
  load(options: O, seed: number): Dataset | Promise<Dataset>;
}

/** What the data stage recorded about the dataset of a run (`data/dataset.json`). */
export interface DatasetInfo {
  name: string;
  n: number;
  inputShape: number[];
  classes: number;
  nTrain: number;
  nTest: number;
  trainFraction: number;
  /** `dataset` when the dataset's own train/test split was used, `seeded` for a seeded random split. */
  splitSource: 'dataset' | 'seeded';
  facts: Record<string, number | string>;
}

/** A run's evaluation rows as training and evaluation see them (read back from `data/dataset.arrow`). */
export interface TrainData {
  x: Float32Array;
  labels: Int32Array;
  n: number;
  inputShape: number[];
  classes: number;
  trainIdx: Int32Array;
  testIdx: Int32Array;
}
