import {z} from 'zod';
import {UserError} from '../util/errors.js';
import type {Dataset, DatasetType} from './types.js';

/**
 * The data of a run made by `tdlab import`: its rows were written by another program, and
 * `data/dataset.arrow` already holds them (inputs when given, labels, split). The data stage cannot
 * rebuild them; the source directory and file hashes are in provenance.json (`import`).
 */
const MESSAGE = 'data.name imported: this run was made by tdlab import and its data cannot be rebuilt; import the snapshots again (tdlab import <dir>) instead of re-running the data stage';

export const imported: DatasetType<Record<string, never>> = {
  description: 'rows of a run brought in with tdlab import (already in data/dataset.arrow; cannot be rebuilt)',
  options: z.object({}).strict(),
  shape(): never {
    throw new UserError(MESSAGE);
  },
  load(): Dataset {
    throw new UserError(MESSAGE);
  },
};
