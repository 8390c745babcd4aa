import {Registry} from '../registry.js';
import {gaussianMixture} from './gaussian-mixture.js';
import {imported} from './imported.js';
import {mnist} from './mnist.js';
import {sparseParity} from './sparse-parity.js';
import {table} from './table.js';
import type {DatasetType} from './types.js';
import {twelveBit} from './twelve-bit.js';

/** Datasets usable as `data.name`. */
export const datasets = new Registry<DatasetType<any>>('dataset')
  .register('twelve-bit', twelveBit)
  .register('mnist', mnist)
  .register('gaussian-mixture', gaussianMixture)
  .register('sparse-parity', sparseParity)
  .register('table', table)
  .register('imported', imported);
