import {expect} from 'chai';
import {buildReport, summarize} from '../dist/report/index.js';
import {GRAD_C, ITY, IXT, LAYERS, LOCAL_RANK_BOUND, makeInput, SNAPSHOTS, WEIGHT_QUANTITIES, withGeometry} from './fixtures/report-input.js';

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
        'runId', 'title', 'configHash', 'backend', 'seed', 'epochs', 'snapshots', 'dataset', 'final', 'layers', 'headline', 'warnings',
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

    it('warns about an estimator ceiling on every layer where it applies, the first included', () => {
      const ceiling = summary.warnings.filter((w) => w.kind === 'ceiling');
      expect(ceiling.map((w) => [w.layer, w.estimator, w.params])).to.deep.equal([
        ['dense_1', 'mi.bin', 'bins=100'],
        ['dense_1', 'mi.bin', 'bins=30'],
        ['dense_2', 'mi.bin', 'bins=100'],
      ]);
      expect(ceiling[2].message).to.contain('dense_2').and.contain('mi.bin[bins=100]').and.contain('at every snapshot (9)');
      for (const w of summary.warnings) expect(Object.keys(w)).to.deep.equal(['layer', 'estimator', 'params', 'kind', 'message']);
    });

    it('takes headline numbers only from estimators without a warning on the layer', () => {
      // dense_1: mi.bin (both bin counts) at the ceiling -> mi.kde; dense_2: bins=30 is fine
      expect(summary.layers.map((l) => l.headline && `${l.headline.estimator}[${l.headline.params}]`)).to.deep.equal(['mi.kde[noise=0.1]', 'mi.bin[bins=30]', 'mi.bin[bins=30]', 'mi.bin[bins=30]']);
      expect(summary.headline.layer).to.equal('dense_3');
      expect(summary.headline.compression).to.be.closeTo(1.5, 1e-12);
    });

    it('warns when accuracy stays at chance, and not otherwise', () => {
      const chance = (s) => s.warnings.filter((w) => w.kind === 'chance');
      expect(chance(summary)).to.have.length(0);
      expect(chance(summarize(makeInput({acc: 'flat'})))).to.have.length(1);
      expect(chance(summarize(makeInput({acc: 'barely'})))).to.have.length(1); // 0.56 <= 0.55 + 0.02
    });

    it('warns when every unit of a layer is dead at the final snapshot', () => {
      expect(summary.warnings.filter((w) => w.kind === 'dead')).to.have.length(0);
      const s = summarize(makeInput({deadLayer: 3}));
      expect(s.layers[2].deadUnitsFinal).to.equal(5);
      const dead = s.warnings.filter((w) => w.kind === 'dead');
      expect(dead).to.have.length(1);
      expect(dead[0].layer).to.equal('dense_3');
      expect(dead[0].message).to.contain('layer 3');
    });
  });

  describe('figures', () => {
    it('produces the expected figures', () => {
      expect(report.figures.map((f) => f.file)).to.deep.equal([
        'info-plane-mi.bin.svg',
        'info-plane-mi.kde.svg',
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

    it('draws a row of plane, I(X;T) and I(T;Y) panels per parameter set, one colour per layer, the ceiling and H(Y)', () => {
      const bin = report.figures.find((f) => f.file === 'info-plane-mi.bin.svg').svg;
      const titles = [...bin.matchAll(/font-weight="bold">([^<]*)</g)].map((m) => m[1]).filter((t) => t.startsWith('bins'));
      expect(titles).to.deep.equal(['bins = 30: information plane', 'bins = 30: I(X;T) against epoch', 'bins = 30: I(T;Y) against epoch', 'bins = 100: information plane', 'bins = 100: I(X;T) against epoch', 'bins = 100: I(T;Y) against epoch']);
      expect(bin).to.contain('subset all').and.not.contain('subset train');
      // the plane's markers are coloured by layer (not by epoch) and grow with the epoch
      const l3 = '#2ca02c';
      const plane = [...bin.matchAll(/<circle cx="[\d.]+" cy="[\d.]+" r="([\d.]+)" fill="([^"]+)" fill-opacity="([\d.]+)"/g)].filter((m) => m[2] === l3);
      expect(plane).to.have.length(2 * 9);
      expect(Number(plane[0][1])).to.be.lessThan(Number(plane[8][1]));
      expect(Number(plane[0][3])).to.be.lessThan(Number(plane[8][3]));
      // the log2 N ceiling (N = 4096) and H(Y) = 1 bit are drawn and labelled
      expect(bin).to.contain('log2 N = 12<');
      expect(bin).to.contain('H(Y) = 1<');
      expect(bin).to.contain('Information plane: fixed-range binning (mi.bin)');
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
      expect(l3).to.equal('| 3 dense_3 | mi.bin[bins=30] | all | 5.000 | 16 | 3.500 | 1.500 | 0.960 | bits | headline |');
      expect(tableLines.find((l) => l.startsWith('| 2 dense_2 | mi.bin[bins=100] |'))).to.match(/\| not valid: ceiling \|$/);
      expect(html).to.contain('<td class="num">1.500</td>');
    });

    it('links every figure from the markdown', () => {
      for (const f of report.figures) expect(report.markdown).to.contain(`](figures/${f.file})`);
      expect(report.markdown).to.contain('## Warnings');
      expect(report.markdown).to.contain('- **ceiling**: dense\\_2, mi.bin\\[bins=100\\]');
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
      expect(ent).to.contain('>diffusion spectral entropy: H(T) (sigma = 10, t = 1)<');
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
          'index', 'name', 'width', 'activation', 'kind', 'mi', 'headline', 'gradients', 'deadUnitsFinal', 'localRank',
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
      const CORE = ['info-plane-mi.bin.svg', 'info-plane-mi.kde.svg', 'training-curves.svg', 'gradients.svg', 'activations.svg'];
      const SECTIONS = ['Warnings', 'Information plane per layer', 'Gradient phases and unit health per layer', 'Figures', 'Configuration'];
      const fmt3 = (v) => v.toFixed(3);
      // every layer at the ceiling throughout gets the warning, the first included (Markdown-escaped)
      const CEILINGS = ['**ceiling**: dense\\_1, mi.bin\\[bins=100\\]', '**ceiling**: dense\\_1, mi.bin\\[bins=30\\]', '**ceiling**: dense\\_2, mi.bin\\[bins=100\\]'];
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
        ['default', makeInput(), {figures: CORE, warnings: CEILINGS, dead: [2, 2, 2, 1]}],
        ['flat accuracy', makeInput({acc: 'flat'}), {figures: CORE, warnings: ['**chance**: accuracy stayed at chance', ...CEILINGS], dead: [2, 2, 2, 1]}],
        ['dead layer 3', makeInput({deadLayer: 3}), {figures: CORE, warnings: [...CEILINGS, '**dead**: layer 3 (dense\\_3): all 5 units are dead'], dead: [2, 2, 5, 1]}],
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
