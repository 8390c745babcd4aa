import {expect} from 'chai';
import {buildReport, summarize} from '../dist/report/index.js';

// ---------------------------------------------------------------------------------------------
// Synthetic run: 3 hidden tanh layers + softmax output, epochs 0..100, log-spaced snapshots.

const SNAPSHOTS = [0, 1, 2, 4, 8, 16, 32, 64, 99];
const LAYERS = [
  {index: 1, name: 'dense_1', width: 10, activation: 'tanh', kind: 'hidden'},
  {index: 2, name: 'dense_2', width: 7, activation: 'tanh', kind: 'hidden'},
  {index: 3, name: 'dense_3', width: 5, activation: 'tanh', kind: 'hidden'},
  {index: 4, name: 'output', width: 2, activation: 'softmax', kind: 'output'},
];
/** I(X;T) per layer at the snapshot epochs (mi.bin, bins=30, subset all). */
const IXT = {
  1: [6, 7, 8, 8.5, 9, 9.2, 9.3, 9.3, 9.3],
  2: [4, 5, 6, 6.5, 7, 7.2, 7.0, 6.8, 6.5],
  3: [2, 2.5, 3, 3.8, 4.5, 5, 4.6, 4.0, 3.5],
  4: [1, 1.2, 1.5, 1.8, 2, 2.1, 2.0, 1.9, 1.9],
};
const ITY = [0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.93, 0.95, 0.96];
/** Gradient mean norm = C / (1 + epoch), std norm = 0.1, so SNR = 10 C / (1 + epoch). */
const GRAD_C = {1: 1, 2: 1, 3: 3, 4: 100};

function metric(epoch, layerIndex, estimator, quantity, params, subset, value, extra = {}) {
  const layer = LAYERS.find((l) => l.index === layerIndex);
  return {epoch, layerIndex, layer: layer.name, estimator, quantity, params, subset, n: 4096, value, unit: 'bits', atCeiling: false, ...extra};
}

function makeInput({acc = 'learns', deadLayer = null} = {}) {
  const metrics = [];
  SNAPSHOTS.forEach((epoch, s) => {
    for (const l of LAYERS) {
      const i = l.index;
      // mi.bin bins=30: the reference numbers; layer 1 sits at the log2 N ceiling (normal, no warning).
      metrics.push(metric(epoch, i, 'mi.bin', 'I_XT', 'bins=30', 'all', IXT[i][s], {atCeiling: i === 1}));
      metrics.push(metric(epoch, i, 'mi.bin', 'I_TY', 'bins=30', 'all', ITY[s]));
      // The same estimator on the train subset must be ignored in favour of `all`.
      metrics.push(metric(epoch, i, 'mi.bin', 'I_XT', 'bins=30', 'train', 100 + s));
      metrics.push(metric(epoch, i, 'mi.bin', 'I_TY', 'bins=30', 'train', 100));
      // mi.bin bins=100: layers 1 and 2 at the ceiling throughout -> warning for layer 2 only.
      metrics.push(metric(epoch, i, 'mi.bin', 'I_XT', 'bins=100', 'all', 12, {atCeiling: i <= 2}));
      metrics.push(metric(epoch, i, 'mi.bin', 'I_TY', 'bins=100', 'all', ITY[s]));
      // mi.kde noise=0.1: half the binning values.
      metrics.push(metric(epoch, i, 'mi.kde', 'I_XT', 'noise=0.1', 'all', IXT[i][s] / 2));
      metrics.push(metric(epoch, i, 'mi.kde', 'I_TY', 'noise=0.1', 'all', ITY[s] * 0.9));
      const dead = deadLayer === i && s === SNAPSHOTS.length - 1 ? l.width : Math.min(s % 3, l.width - 1);
      metrics.push({...metric(epoch, i, 'act.stats', 'dead_units', '', 'all', dead), unit: 'count'});
      metrics.push({...metric(epoch, i, 'act.stats', 'saturated_frac', '', 'all', 0.05 * s), unit: 'dimensionless'});
    }
  });
  const training = [];
  for (let e = 0; e <= 100; e++) {
    const t = Math.log10(e + 1) / 2;
    const trainAcc = acc === 'learns' ? 0.5 + 0.48 * Math.min(1, t) : acc === 'flat' ? 0.5 + 0.004 * Math.sin(e) : 0.5 + 0.06 * Math.min(1, t);
    training.push({epoch: e, layerIndex: -1, layer: '', quantity: 'train_loss', value: 0.7 * (1 - 0.9 * Math.min(1, t)) + 0.01});
    training.push({epoch: e, layerIndex: -1, layer: '', quantity: 'test_loss', value: 0.7 * (1 - 0.8 * Math.min(1, t)) + 0.02});
    training.push({epoch: e, layerIndex: -1, layer: '', quantity: 'train_acc', value: trainAcc});
    training.push({epoch: e, layerIndex: -1, layer: '', quantity: 'test_acc', value: trainAcc - 0.03 * Math.min(1, t)});
  }
  SNAPSHOTS.forEach((epoch) => {
    for (const l of LAYERS) {
      let mean = GRAD_C[l.index] / (1 + epoch);
      if (l.index === 1 && epoch === 32) mean = 0.2; // a blip above the noise: crossing must wait until 64
      training.push({epoch, layerIndex: l.index, layer: l.name, quantity: 'grad_mean_norm', value: mean});
      training.push({epoch, layerIndex: l.index, layer: l.name, quantity: 'grad_std_norm', value: 0.1});
      training.push({epoch, layerIndex: l.index, layer: l.name, quantity: 'grad_snr', value: mean / 0.1});
    }
  });
  return {
    title: 'tishby',
    runId: '20240101-000000-abcdef',
    configHash: 'abcdef0123456789',
    backend: 'cpu',
    seed: 7,
    command: 'tdlab run configs/tishby.yaml --seed 7 --note "<x> & y"',
    createdAt: '2024-01-01T00:00:00.000Z',
    layers: LAYERS,
    metrics,
    training,
    snapshotEpochs: SNAPSHOTS,
    epochs: 100,
    dataset: {name: 'tishby-12bit', n: 4096, nTrain: 3482, nTest: 614, entropyY: 1},
    configYaml: 'name: tishby\nmodel:\n  widths: [10, 7, 5]\n  note: "<script>alert(1)</script>"\n',
  };
}

// ---------------------------------------------------------------------------------------------
// Geometry, entropy and weight-feature rows for the same synthetic run.

/** Mean local rank per layer at the snapshot epochs (falls late, after the loss plateau). */
const LOCAL_RANK = {
  1: [9.5, 9.6, 9.7, 9.7, 9.4, 8.0, 6.5, 5.0, 5.25],
  2: [6.8, 6.9, 6.9, 6.5, 6.0, 5.0, 4.0, 3.5, 3.75],
  3: [4.5, 4.9, 5.0, 4.8, 4.2, 3.0, 2.5, 2.25, 2.25],
  4: [2, 2, 2, 2, 2, 1.9, 1.8, 1.7, 1.7],
};
const LOCAL_RANK_BOUND = {1: 10, 2: 7, 3: 5, 4: 2};
const WEIGHT_QUANTITIES = [
  'l1', 'l2', 'trace', 'spectral', 'code_sparsity', 'computational_sparsity', 'mean_singular_value',
  'var_singular_value', 'mean_w', 'median_w', 'var_w', 'mean_b', 'median_b', 'var_b',
];

function withGeometry(input, {entropy = true, weights = true} = {}) {
  const metrics = [...input.metrics];
  const count = (epoch, i, quantity, value, params = 'points=128;tol=0.01') =>
    metrics.push({...metric(epoch, i, 'geom.local_rank', quantity, params, 'all', value), n: 128, unit: 'count'});
  SNAPSHOTS.forEach((epoch, s) => {
    for (const l of LAYERS) {
      const i = l.index;
      const mean = LOCAL_RANK[i][s];
      const bound = LOCAL_RANK_BOUND[i];
      count(epoch, i, 'local_rank', mean);
      count(epoch, i, 'local_rank_numerical', mean);
      count(epoch, i, 'local_rank_std', 0.5);
      count(epoch, i, 'local_rank_min', Math.max(0, Math.floor(mean) - 1));
      count(epoch, i, 'local_rank_max', Math.min(bound, Math.ceil(mean) + 1));
      count(epoch, i, 'local_rank_bound', bound);
      count(epoch, i, 's_max_mean', 1 + s / 10);
      // another subset must be ignored in favour of `all`
      metrics.push({...metric(epoch, i, 'geom.local_rank', 'local_rank', 'points=128;tol=0.01', 'train', 99), unit: 'count'});
      if (entropy) {
        metrics.push(metric(epoch, i, 'geom.dse', 'H', 'sigma=10;t=1', 'all', 3 + i - 0.2 * s));
        metrics.push({...metric(epoch, i, 'geom.erank', 'value', '', 'all', l.width - s / 4), unit: 'dimensionless'});
      }
      if (weights) {
        // per-layer matrix features are not part of the network-level figure
        metrics.push({...metric(epoch, i, 'weights.features', 'l2', '', 'all', 1000), unit: 'dimensionless'});
      }
    }
    if (weights) {
      WEIGHT_QUANTITIES.forEach((q, k) => {
        metrics.push({epoch, layerIndex: -1, layer: '', estimator: 'weights.features', quantity: q, params: '', subset: 'all', n: 0, value: (k + 1) * (1 + Math.log1p(epoch)) * (q.startsWith('var') ? 1e-4 : 1), unit: 'dimensionless', atCeiling: false});
      });
    }
  });
  return {...input, metrics};
}

/** Minimal XML well-formedness check: tags balance and nest properly. */
function assertBalanced(xml) {
  const stack = [];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:-]*)([^>]*)>/g)) {
    const [, closing, name, rest] = m;
    if (rest.trimEnd().endsWith('/')) continue;
    if (closing) {
      const top = stack.pop();
      expect(top, `closing </${name}>`).to.equal(name);
    } else {
      stack.push(name);
    }
  }
  expect(stack, 'unclosed tags').to.deep.equal([]);
  // text content must not contain raw '<' or unescaped '&'
  const textOnly = xml.replace(/<[^>]*>/g, '');
  expect(textOnly).to.not.match(/&(?!amp;|lt;|gt;|quot;|#39;)/);
}

const snr = (c, e) => (10 * c) / (1 + e);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

describe('report', () => {
  const input = makeInput();
  const report = buildReport(input);
  const {summary} = report;

  describe('summary', () => {
    it('copies run facts and final training values', () => {
      expect(summary.runId).to.equal(input.runId);
      expect(summary.snapshots).to.equal(9);
      expect(summary.epochs).to.equal(100);
      expect(summary.dataset).to.deep.equal({name: 'tishby-12bit', n: 4096, nTrain: 3482, nTest: 614, entropyY: 1});
      expect(summary.final.trainAcc).to.be.closeTo(0.98, 1e-9);
      expect(summary.final.trainLoss).to.be.closeTo(0.7 * 0.1 + 0.01, 1e-9);
      expect(Object.keys(summary)).to.deep.equal([
        'runId', 'title', 'configHash', 'backend', 'seed', 'epochs', 'snapshots', 'dataset', 'final', 'layers', 'warnings',
      ]);
      expect(JSON.parse(JSON.stringify(summary))).to.deep.equal(summary);
    });

    it('computes max, final and compression of I(X;T) on subset all per layer and estimator', () => {
      expect(summary.layers.map((l) => l.index)).to.deep.equal([1, 2, 3, 4]);
      const expected = {
        1: {max: 9.3, at: 32, final: 9.3, comp: 0},
        2: {max: 7.2, at: 16, final: 6.5, comp: 0.7},
        3: {max: 5, at: 16, final: 3.5, comp: 1.5},
        4: {max: 2.1, at: 16, final: 1.9, comp: 0.2},
      };
      for (const layer of summary.layers) {
        expect(layer.mi.map((m) => `${m.estimator}[${m.params}]`)).to.deep.equal(['mi.bin[bins=30]', 'mi.bin[bins=100]', 'mi.kde[noise=0.1]']);
        const bin = layer.mi.find((m) => m.params === 'bins=30');
        const e = expected[layer.index];
        expect(bin.subset).to.equal('all');
        expect(bin.unit).to.equal('bits');
        expect(bin.maxIXT).to.be.closeTo(e.max, 1e-12);
        expect(bin.maxIXTEpoch).to.equal(e.at);
        expect(bin.finalIXT).to.be.closeTo(e.final, 1e-12);
        expect(bin.compression).to.be.closeTo(e.comp, 1e-12);
        expect(bin.finalITY).to.be.closeTo(0.96, 1e-12);
        const kde = layer.mi.find((m) => m.estimator === 'mi.kde');
        expect(kde.compression).to.be.closeTo(e.comp / 2, 1e-12);
      }
    });

    it('finds the persistent drift-to-diffusion crossing and SNR medians', () => {
      const byIndex = Object.fromEntries(summary.layers.map((l) => [l.index, l.gradients]));
      expect(byIndex[1].crossingEpoch).to.equal(64); // 16 would be the first SNR<1, but epoch 32 goes back above
      expect(byIndex[2].crossingEpoch).to.equal(16);
      expect(byIndex[3].crossingEpoch).to.equal(32);
      expect(byIndex[4].crossingEpoch).to.equal(null);
      const early = [0, 1, 2, 4, 8, 16];
      expect(byIndex[2].snrEarly).to.be.closeTo(median(early.map((e) => snr(1, e))), 1e-12);
      expect(byIndex[2].snrLate).to.be.closeTo(median([64, 99].map((e) => snr(1, e))), 1e-12);
      expect(byIndex[3].snrLate).to.be.closeTo(median([64, 99].map((e) => snr(3, e))), 1e-12);
    });

    it('reports final dead units', () => {
      expect(summary.layers.map((l) => l.deadUnitsFinal)).to.deep.equal([2, 2, 2, 1]);
    });

    it('warns about an estimator ceiling only for layers other than the first', () => {
      const ceiling = summary.warnings.filter((w) => w.startsWith('estimator ceiling'));
      expect(ceiling).to.have.length(1);
      expect(ceiling[0]).to.contain('layer 2').and.contain('mi.bin[bins=100]');
    });

    it('warns when accuracy stays at chance, and not otherwise', () => {
      const chance = (s) => s.warnings.filter((w) => w.startsWith('accuracy stayed at chance'));
      expect(chance(summary)).to.have.length(0);
      expect(chance(summarize(makeInput({acc: 'flat'})))).to.have.length(1);
      expect(chance(summarize(makeInput({acc: 'barely'})))).to.have.length(1); // 0.56 <= 0.55 + 0.02
    });

    it('warns when every unit of a layer is dead at the final snapshot', () => {
      expect(summary.warnings.filter((w) => w.includes('dead'))).to.have.length(0);
      const s = summarize(makeInput({deadLayer: 3}));
      expect(s.layers[2].deadUnitsFinal).to.equal(5);
      const dead = s.warnings.filter((w) => w.includes('units are dead'));
      expect(dead).to.have.length(1);
      expect(dead[0]).to.contain('layer 3');
    });
  });

  describe('figures', () => {
    it('produces the expected figures', () => {
      expect(report.figures.map((f) => f.file)).to.deep.equal([
        'info-plane-mi.bin.svg',
        'info-plane-mi.kde.svg',
        'mi-vs-epoch-mi.bin.svg',
        'mi-vs-epoch-mi.kde.svg',
        'training-curves.svg',
        'gradients.svg',
        'activations.svg',
      ]);
      for (const f of report.figures) {
        expect(f.title).to.be.a('string').and.not.empty;
        expect(f.caption).to.be.a('string').and.not.empty;
      }
    });

    it('renders well-formed, id-free, standalone SVG', () => {
      for (const f of report.figures) {
        expect(f.svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>$/);
        expect(f.svg.match(/<svg/g)).to.have.length(1);
        expect(f.svg).to.not.match(/\sid="/);
        expect(f.svg).to.not.match(/NaN|Infinity|undefined/);
        assertBalanced(f.svg);
      }
    });

    it('draws one info-plane panel per estimator parameter set and one trajectory per layer', () => {
      const bin = report.figures.find((f) => f.file === 'info-plane-mi.bin.svg').svg;
      expect(bin.match(/subset all/g)).to.have.length(2); // bins=30 and bins=100 panels
      expect(bin.indexOf('bins=30')).to.be.lessThan(bin.indexOf('bins=100'));
      expect(bin).to.not.contain('subset train');
      // one point per layer per snapshot per panel
      expect(bin.match(/<circle/g)).to.have.length(2 * 4 * 9);
    });

    it('marks the gradient crossing epochs', () => {
      const g = report.figures.find((f) => f.file === 'gradients.svg').svg;
      for (const e of [64, 16, 32]) expect(g).to.contain(`e* = ${e}<`);
      expect(g.match(/e\* = \d+</g)).to.have.length(3);
    });
  });

  describe('html and markdown', () => {
    it('inlines one <svg> per figure and references nothing external', () => {
      const {html} = report;
      expect(html.match(/<svg/g)).to.have.length(report.figures.length);
      expect(html.replaceAll('http://www.w3.org/2000/svg', '')).to.not.match(/https?:\/\//);
      expect(html).to.not.match(/<script/i);
      expect(html).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).to.contain('--note &quot;&lt;x&gt; &amp; y&quot;');
      expect(html).to.contain(input.runId).and.contain(input.configHash);
      assertBalanced(html.replace(/<!DOCTYPE html>/, '').replace(/<meta charset="utf-8">/, ''));
    });

    it('shows one table row per layer per estimator with 3-decimal bits', () => {
      const {html, markdown} = report;
      const tableLines = markdown.split('\n').filter((l) => /^\| \d+ \S+ \| mi\./.test(l));
      expect(tableLines).to.have.length(4 * 3);
      const l3 = tableLines.find((l) => l.startsWith('| 3 dense_3 | mi.bin[bins=30] |'));
      expect(l3).to.equal('| 3 dense_3 | mi.bin[bins=30] | all | 5.000 | 16 | 3.500 | 1.500 | 0.960 | bits |');
      expect(html).to.contain('<td class="num">1.500</td>');
    });

    it('links every figure from the markdown', () => {
      for (const f of report.figures) expect(report.markdown).to.contain(`](figures/${f.file})`);
      expect(report.markdown).to.contain('## Warnings');
      expect(report.markdown).to.contain('estimator ceiling');
    });

    it('is deterministic', () => {
      const again = buildReport(makeInput());
      expect(again.html).to.equal(report.html);
      expect(again.markdown).to.equal(report.markdown);
      expect(JSON.stringify(again.summary)).to.equal(JSON.stringify(report.summary));
      expect(again.figures.map((f) => f.svg)).to.deep.equal(report.figures.map((f) => f.svg));
    });

    it('copes with a run without metrics or gradients', () => {
      const bare = {...makeInput(), metrics: [], training: makeInput().training.filter((r) => r.layerIndex === -1)};
      const r = buildReport(bare);
      expect(r.figures.map((f) => f.file)).to.deep.equal(['training-curves.svg']);
      expect(r.summary.layers.every((l) => l.mi.length === 0 && l.gradients.crossingEpoch === null && l.deadUnitsFinal === null)).to.equal(true);
      expect(r.html.match(/<svg/g)).to.have.length(1);
    });
  });

  describe('local rank, entropies, spectra and weight features', () => {
    const geoInput = withGeometry(makeInput());
    const geo = buildReport(geoInput);
    const fig = (file) => geo.figures.find((f) => f.file === file);

    it('adds the new figures after the existing ones', () => {
      expect(geo.figures.map((f) => f.file)).to.deep.equal([
        ...report.figures.map((f) => f.file),
        'local-rank.svg',
        'entropies.svg',
        'spectra.svg',
        'weight-features.svg',
      ]);
      for (const f of geo.figures) {
        expect(f.title).to.be.a('string').and.not.empty;
        expect(f.caption).to.be.a('string').and.not.empty;
        expect(f.svg).to.match(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>$/);
        expect(f.svg.match(/<svg/g)).to.have.length(1);
        expect(f.svg).to.not.match(/\sid="/);
        expect(f.svg).to.not.match(/NaN|Infinity|undefined/);
        assertBalanced(f.svg);
      }
      // the existing figures are unchanged by the extra rows
      expect(geo.figures.slice(0, report.figures.length).map((f) => f.svg)).to.deep.equal(report.figures.map((f) => f.svg));
    });

    it('draws one local rank panel per layer with its bound, and the loss below on the same epoch axis', () => {
      const svg = fig('local-rank.svg').svg;
      expect(svg.match(/>local rank</g)).to.have.length(4);
      for (const [i, b] of Object.entries(LOCAL_RANK_BOUND)) expect(svg).to.contain(`· bound ${b}<`, `layer ${i}`);
      expect(svg.indexOf('Training loss')).to.be.greaterThan(svg.lastIndexOf('>local rank<'));
      // one min-max band per layer, one dot per layer per snapshot
      expect(svg.match(/<path d="[^"]*Z" fill="/g)).to.have.length(4);
      expect(svg.match(/<circle/g)).to.have.length(4 * 9 + 1); // + legend marker
      // every panel has the same x ticks (shared epoch axis)
      const ticks = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">100</g)].map((m) => m[1]);
      expect(ticks).to.have.length(5);
      expect(new Set(ticks).size).to.equal(1);
    });

    it('omits the loss panel when there is no loss curve', () => {
      const r = buildReport({...geoInput, training: []});
      const svg = r.figures.find((f) => f.file === 'local-rank.svg').svg;
      expect(svg).to.not.contain('Training loss');
      expect(svg.match(/>local rank</g)).to.have.length(4);
      assertBalanced(svg);
    });

    it('plots entropies and spectra per estimator with units in the axis labels', () => {
      const ent = fig('entropies.svg').svg;
      expect(ent).to.contain('geom.dse[sigma=10;t=1] · H(T)');
      expect(ent).to.contain('>H(T) [bits]<');
      expect(ent.match(/<circle/g)).to.have.length(4 * 9 + 4); // + one legend marker per layer
      const spec = fig('spectra.svg').svg;
      expect(spec).to.contain('>effective rank<');
      expect(spec.match(/<circle/g)).to.have.length(4 * 9 + 4);
    });

    it('draws the 14 network-level weight features as small multiples', () => {
      const svg = fig('weight-features.svg').svg;
      expect(svg.match(/epoch \(log scale\)/g)).to.have.length(14);
      expect(svg.match(/<circle/g)).to.have.length(14 * 9);
      const labels = [...svg.matchAll(/transform="rotate\(-90[^"]*"\s*>([^<]*)</g)].map((m) => m[1]);
      expect(labels).to.deep.equal(WEIGHT_QUANTITIES);
    });

    it('summarises the mean local rank per layer on subset all', () => {
      const expected = {
        1: {first: 9.5, min: 5, final: 5.25, bound: 10},
        2: {first: 6.8, min: 3.5, final: 3.75, bound: 7},
        3: {first: 4.5, min: 2.25, final: 2.25, bound: 5},
        4: {first: 2, min: 1.7, final: 1.7, bound: 2},
      };
      for (const layer of geo.summary.layers) {
        expect(layer.localRank).to.deep.equal(expected[layer.index]);
        expect(Object.keys(layer)).to.deep.equal([
          'index', 'name', 'width', 'activation', 'kind', 'mi', 'gradients', 'deadUnitsFinal', 'localRank',
        ]);
      }
      expect(JSON.parse(JSON.stringify(geo.summary))).to.deep.equal(geo.summary);
      for (const layer of summary.layers) expect(layer).to.not.have.property('localRank');
      // only layers with local rank rows get the key
      const partial = summarize(withGeometry({...makeInput(), layers: LAYERS}, {entropy: false, weights: false}));
      expect(partial.layers.every((l) => 'localRank' in l)).to.equal(true);
      const onlyL2 = summarize({...geoInput, metrics: geoInput.metrics.filter((r) => r.estimator !== 'geom.local_rank' || r.layerIndex === 2)});
      expect(onlyL2.layers.map((l) => 'localRank' in l)).to.deep.equal([false, true, false, false]);
    });

    it('shows a local rank table in HTML and Markdown', () => {
      expect(geo.markdown).to.contain('## Local rank per layer');
      expect(geo.markdown).to.contain('| 2 dense_2 | 7 | 6.8 | 3.5 | 3.75 | 7 |');
      expect(geo.html).to.contain('<h2>Local rank per layer</h2>');
      expect(geo.html).to.contain('<td class="num">3.75</td>');
      expect(geo.html.match(/<svg/g)).to.have.length(geo.figures.length);
      for (const f of geo.figures) expect(geo.markdown).to.contain(`](figures/${f.file})`);
      expect(report.markdown).to.not.contain('Local rank');
      expect(report.html).to.not.contain('Local rank');
    });

    it('reports without these metrics show only the core sections, figures and numbers (default, flat accuracy, dead layer, bare run)', () => {
      const bare = {...makeInput(), metrics: [], training: makeInput().training.filter((r) => r.layerIndex === -1)};
      const CORE = ['info-plane-mi.bin.svg', 'info-plane-mi.kde.svg', 'mi-vs-epoch-mi.bin.svg', 'mi-vs-epoch-mi.kde.svg', 'training-curves.svg', 'gradients.svg', 'activations.svg'];
      const SECTIONS = ['Warnings', 'Information plane per layer', 'Gradient phases and unit health per layer', 'Figures', 'Configuration'];
      const fmt3 = (v) => v.toFixed(3);
      /** The MI table row of one layer/estimator, computed here from the synthetic series. */
      const miRow = (i, label, ixt, ity) => {
        const max = Math.max(...ixt);
        const at = SNAPSHOTS[ixt.indexOf(max)];
        const fin = ixt.at(-1);
        return `| ${i} ${LAYERS[i - 1].name} | ${label} | all | ${fmt3(max)} | ${at} | ${fmt3(fin)} | ${fmt3(max - fin)} | ${fmt3(ity)} | bits |`;
      };
      /** The gradient/unit-health row: SNR medians of 10 C / (1 + epoch) over epochs <= 20 and the last 20% of snapshots. */
      const sig3 = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
      const gradRow = (i, crossing, dead) => {
        const early = median([0, 1, 2, 4, 8, 16].map((e) => snr(GRAD_C[i], e)));
        const late = median([64, 99].map((e) => snr(GRAD_C[i], e)));
        const l = LAYERS[i - 1];
        return `| ${i} ${l.name} | ${l.width} | ${l.activation} | ${crossing ?? '–'} | ${sig3(early)} | ${sig3(late)} | ${dead} |`;
      };
      const variants = [
        ['default', makeInput(), {figures: CORE, warnings: ['estimator ceiling'], dead: [2, 2, 2, 1]}],
        ['flat accuracy', makeInput({acc: 'flat'}), {figures: CORE, warnings: ['accuracy stayed at chance', 'estimator ceiling'], dead: [2, 2, 2, 1]}],
        ['dead layer 3', makeInput({deadLayer: 3}), {figures: CORE, warnings: ['estimator ceiling', 'layer 3 (dense\\_3): all 5 units are dead'], dead: [2, 2, 5, 1]}],
        ['bare', bare, {figures: ['training-curves.svg'], warnings: [], dead: null}],
      ];
      for (const [name, inp, want] of variants) {
        const r = buildReport(inp);
        expect(r.figures.map((f) => f.file), name).to.deep.equal(want.figures);
        expect(r.markdown.match(/^## .*$/gm).map((h) => h.slice(3)), name).to.deep.equal(SECTIONS);
        expect([...r.html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]), name).to.deep.equal(SECTIONS);
        expect(r.html.match(/<svg/g), name).to.have.length(want.figures.length);
        for (const l of r.summary.layers) expect(l, name).to.not.have.property('localRank');
        for (const absent of ['Local rank', 'local-rank', 'weight features', 'entropies.svg', 'spectra.svg']) {
          expect(r.markdown, `${name}: ${absent}`).to.not.contain(absent);
          expect(r.html, `${name}: ${absent}`).to.not.contain(absent);
        }
        // warnings: exactly the expected ones, in Markdown and HTML
        const warnLines = r.markdown.split('## Warnings')[1].split('## ')[0].split('\n').filter((x) => x.startsWith('- '));
        expect(warnLines.length, name).to.equal(want.warnings.length);
        want.warnings.forEach((w, k) => expect(warnLines[k], name).to.contain(w));
        if (!want.warnings.length) expect(r.markdown, name).to.contain('No warnings.');
        // the numbers shown: every MI row and every gradient row, derived here from the inputs
        if (want.dead) {
          for (const i of [1, 2, 3, 4]) {
            expect(r.markdown, `${name} mi.bin layer ${i}`).to.contain(miRow(i, 'mi.bin[bins=30]', IXT[i], ITY.at(-1)));
            expect(r.markdown, `${name} mi.kde layer ${i}`).to.contain(miRow(i, 'mi.kde[noise=0.1]', IXT[i].map((v) => v / 2), ITY.at(-1) * 0.9));
            expect(r.markdown, `${name} gradients layer ${i}`).to.contain(gradRow(i, {1: 64, 2: 16, 3: 32, 4: null}[i], want.dead[i - 1]));
          }
          expect(r.html).to.contain(`<td class="num">${fmt3(IXT[3][5] - IXT[3][8])}</td>`);
        } else {
          expect(r.markdown).to.contain('No mutual-information metrics in this run.');
        }
        // escaping: the command and the config keep their text, HTML-escaped in HTML and fenced in Markdown
        expect(r.html).to.contain('--note &quot;&lt;x&gt; &amp; y&quot;').and.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
        expect(r.html).to.not.contain('<script>alert(1)');
        expect(r.markdown).to.contain('```sh\ntdlab run configs/tishby.yaml --seed 7 --note "<x> & y"\n```');
        expect(r.markdown).to.contain('note: "<script>alert(1)</script>"');
      }
    });
  });
});
