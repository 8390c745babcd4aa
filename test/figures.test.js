// Figures as a browser shows them: the run report (every kind of figure, on a synthetic run and on a
// real tiny run) and an aggregate report are laid out by headless Chromium; no two text labels of
// any figure may overlap (bounding boxes from the DOM), figures fill the page width, and full-page
// screenshots are taken (kept in $TDLAB_SCREENSHOTS when that is set, for a person to look at).
// Every figure is also written as a standalone SVG and PNG (resvg).
import assert from 'node:assert/strict';
import {copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {buildAggregate} from '../dist/aggregate/index.js';
import {buildReport} from '../dist/report/index.js';
import {probeTexts, screenshot} from './chromium.js';
import {makeInput, withGeometry} from './fixtures/report-input.js';
import {fixture, readJson, runAll, runCli, tempDir} from './helpers.js';

const WIDTH = 1400;

/** Lays the page out, asserts that no texts overlap in any figure, and takes a screenshot. */
function checkPage(htmlFile, name, {minFigures = 1} = {}) {
  const probe = probeTexts(htmlFile, WIDTH);
  assert.ok(probe.figures.length >= minFigures, `${name}: ${probe.figures.length} figures`);
  for (const f of probe.figures) {
    assert.ok(f.texts > 5, `${name}, figure ${f.figure} (${f.title}): only ${f.texts} texts`);
    assert.deepEqual(f.overlaps, [], `${name}, figure ${f.figure} (${f.title}): overlapping text labels`);
    assert.ok(f.width >= 1000, `${name}, figure ${f.figure} (${f.title}) is ${f.width} px wide on a ${WIDTH} px window: not sized to the page`);
  }
  const png = join(tempDir('tdlab-shot-'), `${name}.png`);
  const bytes = screenshot(htmlFile, png, WIDTH, probe.height);
  assert.ok(bytes.length > 20000, `${name}: screenshot of ${bytes.length} bytes`);
  if (process.env.TDLAB_SCREENSHOTS) {
    mkdirSync(process.env.TDLAB_SCREENSHOTS, {recursive: true});
    copyFileSync(png, join(process.env.TDLAB_SCREENSHOTS, `${name}.png`));
  }
  return probe;
}

describe('figures in headless Chromium: no overlapping labels, sized to the page', function () {
  this.timeout(600000);
  let dir;
  before(() => (dir = tempDir('tdlab-figures-')));

  it('a synthetic run with every kind of figure (MI, training, gradients, units, local rank, entropies, spectra, weights)', function () {
    const report = buildReport(withGeometry(makeInput()));
    const file = join(dir, 'synthetic.html');
    writeFileSync(file, report.html);
    const probe = checkPage(file, 'synthetic-report', {minFigures: 9});
    assert.equal(probe.figures.length, report.figures.length);
    // the same with a linear epoch axis and shared estimator axes
    const linear = buildReport({...withGeometry(makeInput()), epochAxis: 'linear', shareEstimatorAxes: true});
    assert.ok(linear.figures.some((f) => f.svg.includes('>epoch<')), 'the linear epoch axis is labelled "epoch"');
    assert.ok(!linear.figures.some((f) => f.svg.includes('epoch (log scale)')));
    const lin = join(dir, 'linear.html');
    writeFileSync(lin, linear.html);
    checkPage(lin, 'synthetic-report-linear', {minFigures: 9});
  });

  it('a real run: the report page, and every figure as SVG and PNG', async function () {
    const r = await runCli(['run', fixture('tiny.yaml'), '--set', 'train.epochs=60', '--set', 'train.snapshots=log:30', '--out', join(dir, 'runs'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const runDir = JSON.parse(r.stdout).runDir;
    checkPage(join(runDir, 'report', 'index.html'), 'tiny-run-report', {minFigures: 4});
    const figures = readdirSync(join(runDir, 'report', 'figures'));
    const svgs = figures.filter((f) => f.endsWith('.svg'));
    assert.ok(svgs.length >= 4);
    for (const svg of svgs) {
      const png = svg.replace(/\.svg$/, '.png');
      assert.ok(figures.includes(png), `${png} next to ${svg}`);
      const bytes = readFileSync(join(runDir, 'report', 'figures', png));
      assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
      // PNG width (IHDR) is twice the SVG's width
      const width = Number(/^<svg[^>]* width="([\d.]+)"/.exec(readFileSync(join(runDir, 'report', 'figures', svg), 'utf8'))[1]);
      assert.equal(bytes.readUInt32BE(16), Math.round(2 * width), png);
    }
    const prov = readJson(join(runDir, 'provenance.json'));
    assert.ok(prov.stages.report.outputs.includes('report/figures/info-plane-mi.bin.png'));
  });

  it('an aggregate of tanh and ReLU runs (bands clipped to [0, log2 N])', async function () {
    const args = (act, seed) => ['run', fixture('tiny.yaml'), '--set', 'train.epochs=40', '--set', 'train.snapshots=every:4', '--set', `model.activation=${act}`, '--seed', String(seed), '--out', join(dir, 'agg'), '--json'];
    const results = await runAll([args('tanh', 0), args('tanh', 1), args('relu', 0), args('relu', 1)]);
    for (const x of results) assert.equal(x.code, 0, x.stderr);
    const a = await runCli(['aggregate', join(dir, 'agg'), '--out', join(dir, 'agg-out'), '--json']);
    assert.equal(a.code, 0, a.stderr);
    // the ReLU group's fixed-range binning is flagged from its runs' data; the tanh group's is not
    const warnings = JSON.parse(a.stdout).warnings;
    assert.ok(warnings.some((w) => /^group model\.activation=relu: mi\.bin\[.*\] is not valid \(range\)/.test(w)), JSON.stringify(warnings));
    assert.ok(!warnings.some((w) => /model\.activation=tanh: mi\.bin/.test(w)));
    const html = join(dir, 'agg-out', 'aggregate', 'index.html');
    checkPage(html, 'aggregate-tanh-relu', {minFigures: 3});
    assert.ok(existsSync(join(dir, 'agg-out', 'aggregate', 'figures', 'compression.png')));
  });

  it('bands of the aggregate never leave the valid range of MI', function () {
    // two seeds far apart: mean - std < 0 and mean + std > log2 N unless clipped
    const rows = (seed, v) =>
      [0, 10, 100].flatMap((epoch) => [
        {epoch, layerIndex: 1, layer: 'h1', estimator: 'mi.bin', quantity: 'I_XT', params: 'bins=30', subset: 'all', n: 16, value: seed ? 4 : v, unit: 'bits', atCeiling: false},
        {epoch, layerIndex: 1, layer: 'h1', estimator: 'mi.bin', quantity: 'I_TY', params: 'bins=30', subset: 'all', n: 16, value: seed ? 0.9 : 0.01, unit: 'bits', atCeiling: false},
      ]);
    const run = (seed) => ({runDir: `/r/${seed}`, runId: String(seed), seed, config: {seed}, layers: [{index: 1, name: 'h1', width: 3, activation: 'tanh', kind: 'hidden'}], metrics: rows(seed, 0.05), training: []});
    const out = buildAggregate([run(0), run(1)]);
    const svg = out.figures[0].svg;
    const bands = [...svg.matchAll(/<path d="([^"]+)Z" fill="[^"]+" fill-opacity="0\.18"/g)].map((m) => m[1]);
    assert.ok(bands.length >= 2, 'a band per time panel');
    // y pixels of the band outlines lie within the plot frames
    const frames = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none" stroke="#333333"/g)].map((m) => m.slice(1).map(Number));
    for (const d of bands) {
      const ys = [...d.matchAll(/[ML][\d.]+ ([\d.]+)/g)].map((m) => Number(m[1]));
      assert.ok(frames.some(([, y, , h]) => ys.every((v) => v >= y - 0.1 && v <= y + h + 0.1)), `band outside its plot: ${d.slice(0, 80)}`);
    }
    writeFileSync(join(dir, 'bands.html'), out.html);
  });
});
