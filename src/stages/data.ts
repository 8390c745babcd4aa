import {datasets} from '../data/registry.js';
import {writeArrowFile} from '../io/arrow.js';
import {writeJsonAtomic} from '../io/atomic.js';
import {Rng} from '../util/prng.js';
import type {DatasetInfo} from '../data/types.js';
import type {Stage} from './types.js';

/** `data`: builds the dataset and a seeded train/test split, and writes them with the evaluation row order. */
export const dataStage: Stage = {
  name: 'data',
  description: 'build the dataset and its seeded train/test split',
  async run(ctx) {
    const {config, paths} = ctx;
    const ds = await datasets.get(config.data.name).load(config.data.options, config.seed);
    const split: string[] = new Array(ds.n).fill('test');
    let nTrain: number;
    const own = ds.split && (config.data.split ?? 'auto') === 'auto';
    if (own) {
      // the dataset's natural split (e.g. sparse parity 1000/100, MNIST IDX train/test)
      nTrain = 0;
      for (let i = 0; i < ds.n; i++) if (ds.split![i]) (split[i] = 'train'), nTrain++;
    } else {
      const perm = new Rng(config.seed, 'split').permutation(ds.n);
      nTrain = Math.round(config.data.trainFraction * ds.n);
      for (let i = 0; i < nTrain; i++) split[perm[i]] = 'train';
    }
    const width = ds.inputShape.reduce((a, b) => a * b, 1);
    writeArrowFile(
      paths.dataset,
      [
        {name: 'sample', column: {kind: 'int32', values: Int32Array.from({length: ds.n}, (_, i) => i)}},
        {name: 'x', column: {kind: 'tensor', values: ds.x, width}, metadata: {shape: JSON.stringify(ds.inputShape)}},
        {name: 'label', column: {kind: 'int32', values: ds.labels}},
        {name: 'split', column: {kind: 'utf8', values: split}},
      ],
      ds.n,
      {dataset: ds.name, input_shape: JSON.stringify(ds.inputShape), classes: String(ds.classes), seed: String(config.seed)},
    );
    const info: DatasetInfo = {name: ds.name, n: ds.n, inputShape: ds.inputShape, classes: ds.classes, nTrain, nTest: ds.n - nTrain, trainFraction: own ? nTrain / ds.n : config.data.trainFraction, splitSource: own ? 'dataset' : 'seeded', facts: ds.facts};
    writeJsonAtomic(paths.datasetInfo, info);
    ctx.progress(`${ds.name}: ${ds.n} rows, ${nTrain} train / ${ds.n - nTrain} test`);
    return {outputs: ['data/dataset.arrow', 'data/dataset.json'], info: {...info}};
  },
};
