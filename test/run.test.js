// End-to-end tests of `tdlab run` on tiny 12-bit runs (30 epochs, snapshots every 10): the JSON
// outcome, the run directory and its artifacts, an independent Arrow reader (nodejs-polars), an
// independent recomputation of the binning MI, determinism across processes, a failing stage,
// resume, and SIGINT. Every CLI invocation runs once (in `before` hooks) into a temp directory.
import assert from 'node:assert/strict';
import {createHash} from 'node:crypto';
import {cpSync, existsSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {join, relative, sep} from 'node:path';
import {parse as parseYaml} from 'yaml';
import {
  ROOT, arrowColumn, arrowTable, arrowTensor, epochFiles, fixture, lines, listFiles, mtime, naiveMi, linspaceF32,
  binState, widthState, parseCsv, parseParams, polarsFrame, polarsTensor, readJson, runAll, runCli, sleep, startCli, tempDir,
} from './helpers.js';

const LAYERS = ['h1', 'h2', 'h3', 'h4', 'h5', 'out'];
const WIDTHS = [10, 7, 5, 4, 3, 2];
const SNAPSHOTS = [0, 10, 20, 29]; // every:10 over epochs 0..29, the last epoch always included
const EPOCH_FILES = SNAPSHOTS.map((e) => `epoch_${String(e).padStart(6, '0')}.arrow`);

/** `tdlab run` of the tiny fixture, overriding epochs 20 -> 30 on the command line. */
const tinyArgs = (out, ...extra) => ['run', fixture('tiny.yaml'), '--set', 'train.epochs=30', '--backend', 'wasm', '--out', out, ...extra];

function canonicalJson(v) {
  const sort = (x) => {
    if (Array.isArray(x)) return x.map(sort);
    if (x && typeof x === 'object') return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sort(x[k])]));
    return x;
  };
  return JSON.stringify(sort(v));
}

function parseJsonStdout(r) {
  let obj;
  assert.doesNotThrow(() => (obj = JSON.parse(r.stdout)), `stdout is not exactly one JSON document:\n${r.stdout}`);
  assert.ok(obj && typeof obj === 'object' && !Array.isArray(obj), 'a JSON object');
  return obj;
}

/** Bytes of a Float32Array (for bit-exact comparisons, NaN-safe). */
const bytesOf = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('tdlab run (end to end, tiny runs)', function () {
  this.timeout(150000);
  const dirs = {};
  const res = {};
  let t0;
  let t1;

  before(async function () {
    for (const k of ['good', 'same', 'seed1', 'nan', 'resume', 'linear']) dirs[k] = tempDir(`tdlab-run-${k}-`);
    t0 = new Date();
    const [good, same, seed1, nan, resume, linear] = await runAll([
      tinyArgs(dirs.good, '--json'),
      tinyArgs(dirs.same, '--json'),
      tinyArgs(dirs.seed1, '--seed', '1', '--json'),
      // relu + SGD at lr 1e30 blows the loss up to NaN at epoch 1 (tanh would just saturate)
      tinyArgs(dirs.nan, '--set', 'model.activation=relu', '--set', 'train.optimizer=sgd', '--set', 'train.lr=1e30'),
      tinyArgs(dirs.resume, '--json'),
      // linear units leave [-1, 1]: exercises the IDNNs below-lo quirk of mi.bin
      tinyArgs(dirs.linear, '--set', 'model.activation=linear', '--json'),
    ]);
    t1 = new Date();
    Object.assign(res, {good, same, seed1, nan, resume, linear});
  });

  after(function () {
    for (const d of Object.values(dirs)) rmSync(d, {recursive: true, force: true});
  });

  // ------------------------------------------------------------------------------------------
  describe('a good run: JSON outcome and run directory', function () {
    let out;
    let runDir;
    let prov;
    before(function () {
      assert.equal(res.good.code, 0, `exit code; stderr:\n${res.good.stderr}`);
      out = JSON.parse(res.good.stdout);
      runDir = out.runDir;
      prov = readJson(join(runDir, 'provenance.json'));
    });

    it('exits 0 and prints exactly one JSON object on stdout', function () {
      assert.equal(res.good.code, 0);
      parseJsonStdout(res.good);
    });

    it('the JSON has runDir, status done, a 64-hex configHash, engine fused and no tensor backend (a dense model on --backend wasm trains on the fused engine)', function () {
      const j = parseJsonStdout(res.good);
      assert.equal(typeof j.runDir, 'string');
      assert.equal(j.status, 'done');
      assert.match(j.configHash, /^[0-9a-f]{64}$/);
      assert.equal(j.engine, 'fused');
      assert.equal(j.backend, null);
    });

    it('progress goes to stderr (stage lines, epochs), not stdout', function () {
      const err = res.good.stderr;
      for (const s of ['data', 'train', 'metrics', 'report']) assert.match(err, new RegExp(`\\b${s}\\b`), `stage ${s} on stderr`);
      assert.match(err, /epoch \d+\/30/);
      assert.doesNotMatch(res.good.stdout, /epoch \d+\/30|backend:/);
      assert.ok(!err.includes('    at '), 'no stack trace');
    });

    it('runDir is <out>/<name>/<run-id>/ and exists', function () {
      const parts = relative(dirs.good, runDir).split(sep);
      assert.equal(parts.length, 2, `runDir ${runDir} is not two levels below ${dirs.good}`);
      assert.equal(parts[0], 'tiny');
      assert.equal(parts[1], prov.runId);
      assert.ok(existsSync(runDir));
      if (out.runId !== undefined) assert.equal(out.runId, prov.runId);
    });

    it('config.yaml is the resolved config: re-parsable, overrides applied, defaults filled, hash matches', function () {
      const cfg = parseYaml(readFileSync(join(runDir, 'config.yaml'), 'utf8'));
      assert.equal(cfg.name, 'tiny');
      assert.equal(cfg.train.epochs, 30, '--set train.epochs=30 applied');
      assert.equal(cfg.train.batchSize, 256, 'default batchSize filled');
      assert.equal(cfg.train.optimizer, 'adam');
      assert.equal(cfg.train.lr, 4e-4);
      assert.deepEqual(cfg.stages, ['data', 'train', 'metrics', 'report']);
      assert.deepEqual(cfg.model.layers.map((l) => l.units), [10, 7, 5, 4, 3]);
      assert.deepEqual(cfg.metrics.estimators.map((e) => e.name), ['mi.bin', 'mi.binwidth', 'act.stats']);
      assert.equal(cfg.metrics.estimators[0].params.bins, 30, 'estimator params resolved');
      const hash = createHash('sha256').update(canonicalJson(cfg)).digest('hex');
      assert.equal(hash, out.configHash, 'sha256 of the canonical resolved config');
    });

    it('provenance.json records hash, seed, versions, backend, host, git, argv, times and stage statuses', function () {
      const pkg = (name) => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
      assert.equal(prov.configHash, out.configHash);
      assert.equal(prov.seed, 0);
      assert.equal(prov.tdlab, JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
      assert.equal(prov.node, process.version);
      assert.equal(typeof prov.packages, 'object');
      assert.equal(prov.packages['@tensorflow/tfjs'], pkg('@tensorflow/tfjs'));
      assert.equal(prov.packages['apache-arrow'], pkg('apache-arrow'), `apache-arrow missing or wrong in packages: ${JSON.stringify(prov.packages)}`);
      assert.match(prov.packages['tdlab/spectral-kernels'], /^wasm-simd128 [0-9a-f]{12}$/);
      assert.match(prov.packages['tdlab/train-kernels'], /^wasm-simd128-threads [0-9a-f]{12}$/);
      // the fused engine trained: no tensor backend was loaded; the module's hash is recorded
      assert.equal(prov.backend, null);
      assert.equal(prov.stages.train.info.engine, 'fused');
      assert.match(prov.stages.train.info.engineKernels, /^wasm-simd128-threads sha256 [0-9a-f]{64}$/);
      assert.equal(prov.stages.train.info.engineKernels.split(' ').at(-1).slice(0, 12), prov.packages['tdlab/train-kernels'].split(' ')[1]);
      assert.ok(prov.host && typeof prov.host === 'object', 'host');
      assert.equal(typeof prov.host.hostname, 'string');
      assert.ok(prov.host.cpu || prov.host.cores, 'host CPU');
      assert.ok(prov.git === null || (typeof prov.git === 'object' && /^([0-9a-f]{40}|none)$/.test(prov.git.commit) && typeof prov.git.dirty === 'boolean'), `git: ${JSON.stringify(prov.git)}`);
      assert.deepEqual(prov.argv, tinyArgs(dirs.good, '--json'), 'argv starts with the command, as the Command line of the report shows it');
      const started = new Date(prov.startedAt);
      const ended = new Date(prov.endedAt);
      assert.ok(started >= new Date(t0.getTime() - 1000) && started <= ended && ended <= new Date(t1.getTime() + 1000), `times ${prov.startedAt} .. ${prov.endedAt}`);
      assert.equal(prov.status, 'done');
      assert.deepEqual(Object.keys(prov.stages).sort(), ['data', 'metrics', 'report', 'train']);
      for (const [name, s] of Object.entries(prov.stages)) assert.equal(s.status, 'done', `stage ${name}`);
    });

    it('has every artifact the contract lists', function () {
      const files = new Set(listFiles(runDir));
      for (const f of [
        'config.yaml', 'provenance.json', 'data/dataset.arrow', 'training.arrow', 'metrics/metrics.arrow', 'metrics/metrics.csv',
        'report/index.html', 'report/report.md', 'report/summary.json',
        ...EPOCH_FILES.map((e) => `activations/${e}`), ...EPOCH_FILES.map((e) => `checkpoints/${e}`),
      ]) assert.ok(files.has(f), `missing ${f}`);
      assert.deepEqual([...files].filter((f) => /(^|\/)\.[^/]*\.tmp$|\.tmp$/.test(f)), [], 'no temp files left behind');
    });

    it('one activation file and one checkpoint per snapshot epoch (epoch 0 included), nothing else', function () {
      for (const d of ['activations', 'checkpoints']) {
        const {epochs, others} = epochFiles(join(runDir, d));
        assert.deepEqual(epochs, SNAPSHOTS, d);
        assert.deepEqual(others, [], `${d}: unexpected files`);
      }
    });

    it('activation files carry run id, epoch and layer metadata (apache-arrow)', function () {
      for (const e of SNAPSHOTS) {
        const t = arrowTable(join(runDir, 'activations', `epoch_${String(e).padStart(6, '0')}.arrow`));
        const md = Object.fromEntries(t.schema.metadata);
        assert.equal(md.run_id, prov.runId);
        assert.equal(md.epoch, String(e));
        assert.deepEqual(JSON.parse(md.layers).map((l) => l.name), LAYERS);
        for (const [i, l] of LAYERS.entries()) {
          const f = t.schema.fields.find((x) => x.name === l);
          assert.equal(f.type.listSize, WIDTHS[i], `${l} is FixedSizeList[${WIDTHS[i]}]`);
          assert.equal(String(f.type.children[0].type), 'Float32');
        }
      }
    });

    it('checkpoints hold every parameter tensor (12*10+10+...+3*2+2 values) and the training state (Adam m, v)', function () {
      const nParams = [12, ...WIDTHS].slice(0, -1).reduce((acc, fanIn, i) => acc + fanIn * WIDTHS[i] + WIDTHS[i], 0);
      for (const e of SNAPSHOTS) {
        const t = arrowTable(join(runDir, 'checkpoints', `epoch_${String(e).padStart(6, '0')}.arrow`));
        const roles = arrowColumn(t, 'role');
        const names = arrowColumn(t, 'name');
        let total = 0;
        const state = {};
        let r = 0;
        for (const row of t.getChild('values')) {
          if (roles[r] === 'optimizer') state[names[r]] = row.length;
          else total += row.length;
          r++;
        }
        assert.equal(total, nParams, `epoch ${e}`);
        assert.deepEqual(state, {'optimizer.m': nParams, 'optimizer.v': nParams}, `epoch ${e}`);
        const meta = JSON.parse(t.schema.metadata.get('train_state'));
        assert.equal(meta.epoch, e);
        assert.equal(meta.step, e * Math.ceil(3277 / 256), `Adam steps before epoch ${e}`);
        assert.equal(meta.rng.length, 4);
      }
    });

    it('training.arrow: loss/accuracy every epoch, gradient stats and weight norm per snapshot epoch and layer', function () {
      const t = arrowTable(join(runDir, 'training.arrow'));
      const [epoch, layer, quantity, value] = ['epoch', 'layer', 'quantity', 'value'].map((c) => arrowColumn(t, c));
      const have = new Set(epoch.map((e, i) => `${e}|${layer[i]}|${quantity[i]}`));
      for (let e = 0; e < 30; e++) for (const q of ['train_loss', 'train_acc', 'test_loss', 'test_acc']) assert.ok(have.has(`${e}||${q}`), `${q} at epoch ${e}`);
      for (const e of SNAPSHOTS) for (const l of LAYERS) for (const q of ['grad_mean_norm', 'grad_std_norm', 'grad_snr', 'weight_norm']) assert.ok(have.has(`${e}|${l}|${q}`), `${q} of ${l} at epoch ${e}`);
      assert.ok(value.every((v) => Number.isFinite(v)), 'finite values');
      const loss = (e) => value[epoch.findIndex((x, i) => x === e && quantity[i] === 'train_loss')];
      assert.ok(loss(29) < loss(0), `train loss falls (${loss(0)} -> ${loss(29)})`);
    });

    it('metrics.arrow and metrics.csv hold the same tidy rows, one per (epoch, layer, estimator, quantity, params, subset)', function () {
      const csv = parseCsv(readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8'));
      const t = arrowTable(join(runDir, 'metrics', 'metrics.arrow'));
      assert.equal(t.numRows, csv.length);
      const cols = Object.fromEntries(['epoch', 'layer_index', 'layer', 'estimator', 'quantity', 'params', 'subset', 'n', 'value', 'unit'].map((c) => [c, arrowColumn(t, c)]));
      const keys = new Set();
      csv.forEach((r, i) => {
        for (const c of ['layer', 'estimator', 'quantity', 'params', 'subset', 'unit']) assert.equal(r[c], cols[c][i], `row ${i} ${c}`);
        for (const c of ['epoch', 'layer_index', 'n']) assert.equal(Number(r[c]), cols[c][i], `row ${i} ${c}`);
        assert.equal(Number(r.value), cols.value[i], `row ${i} value (CSV must round-trip the double)`);
        const key = [r.epoch, r.layer, r.estimator, r.quantity, r.params, r.subset].join('|');
        assert.ok(!keys.has(key), `duplicate row ${key}`);
        keys.add(key);
      });
      for (const e of SNAPSHOTS) for (const l of LAYERS) for (const est of ['mi.bin', 'mi.binwidth']) for (const q of ['I_XT', 'I_TY']) {
        const r = csv.filter((x) => Number(x.epoch) === e && x.layer === l && x.estimator === est && x.quantity === q && x.subset === 'all');
        assert.equal(r.length, 1, `${est} ${q} ${l} epoch ${e}`);
        assert.equal(r[0].unit, 'bits');
        assert.equal(Number(r[0].n), 4096);
      }
    });

    it('report: self-contained index.html (inline SVG, no network), report.md with the layer table, summary.json', function () {
      const html = readFileSync(join(runDir, 'report', 'index.html'), 'utf8');
      assert.match(html, /<svg[\s>]/);
      assert.doesNotMatch(html, /<(script|img|link|iframe)[^>]+(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external resources');
      const md = readFileSync(join(runDir, 'report', 'report.md'), 'utf8');
      assert.match(md, /\|.*\|/, 'a Markdown table');
      for (const l of ['h1', 'h5']) assert.match(md, new RegExp(`\\b${l}\\b`));
      const summary = readJson(join(runDir, 'report', 'summary.json'));
      assert.equal(typeof summary, 'object');
      // the Command line is the exact command, subcommand included
      const command = ['tdlab', ...tinyArgs(dirs.good, '--json')].join(' ');
      assert.ok(md.includes(command), `report.md shows "${command}"`);
      assert.ok(html.includes(command.replace(/&/g, '&amp;')), 'index.html shows the command');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('independent reader: nodejs-polars opens the activation files', function () {
    let runDir;
    before(function () {
      assert.equal(res.good.code, 0, res.good.stderr);
      runDir = JSON.parse(res.good.stdout).runDir;
    });

    for (const e of SNAPSHOTS) {
      it(`epoch ${e}: 4096 rows, columns sample,label,split,h1..h5,out, labels sum 2118, equal to apache-arrow exactly`, function () {
        const path = join(runDir, 'activations', `epoch_${String(e).padStart(6, '0')}.arrow`);
        const df = polarsFrame(path);
        const at = arrowTable(path);
        assert.equal(df.height, 4096);
        assert.deepEqual(df.columns, ['sample', 'label', 'split', ...LAYERS]);
        const label = df.getColumn('label').toArray();
        assert.equal(label.reduce((a, b) => a + Number(b), 0), 2118);
        assert.deepEqual(df.getColumn('sample').toArray().map(Number), Array.from({length: 4096}, (_, i) => i));
        for (const c of ['sample', 'label', 'split']) {
          assert.deepEqual(df.getColumn(c).toArray().map((v) => (typeof v === 'bigint' ? Number(v) : v)), arrowColumn(at, c), c);
        }
        const split = df.getColumn('split').toArray();
        assert.equal(split.filter((s) => s === 'train').length, Math.round(0.8 * 4096));
        assert.equal(split.filter((s) => s === 'test').length, 4096 - Math.round(0.8 * 4096));
        for (const [i, l] of LAYERS.entries()) {
          const p = polarsTensor(df, l);
          const a = arrowTensor(at, l);
          assert.equal(p.cols, WIDTHS[i], `${l} width`);
          assert.equal(a.cols, WIDTHS[i]);
          assert.equal(p.values.length, 4096 * WIDTHS[i]);
          // exact equality of every float (polars widens float32 to a JS number exactly)
          let diffs = 0;
          for (let k = 0; k < p.values.length; k++) if (!Object.is(p.values[k], a.data[k])) diffs++;
          assert.equal(diffs, 0, `${l}: ${diffs} values differ between polars and apache-arrow`);
          assert.ok(a.data.every((v) => Number.isFinite(v)), `${l}: finite`);
        }
      });
    }
  });

  // ------------------------------------------------------------------------------------------
  for (const run of ['good', 'linear']) describe(`independent recomputation of mi.bin and mi.binwidth from the Arrow files (${run === 'good' ? 'tanh' : 'linear units'} run)`, function () {
    let csv;
    let belowLo = 0;
    let aboveHi = 0;
    const expected = new Map(); // `${epoch}|${layer}|${estimator}|${quantity}` -> value
    before(function () {
      assert.equal(res[run].code, 0, res[run].stderr);
      const runDir = JSON.parse(res[run].stdout).runDir;
      csv = parseCsv(readFileSync(join(runDir, 'metrics', 'metrics.csv'), 'utf8'));
      const edges = linspaceF32(-1, 1, 30);
      for (const e of SNAPSHOTS) {
        const df = polarsFrame(join(runDir, 'activations', `epoch_${String(e).padStart(6, '0')}.arrow`));
        const labels = df.getColumn('label').toArray().map(Number);
        for (const l of LAYERS) {
          const T = polarsTensor(df, l);
          for (const v of T.values) {
            if (v < -1) belowLo++;
            else if (v >= 1) aboveHi++;
          }
          const bin = naiveMi(T, labels, (a) => binState(a, edges, true));
          const width = naiveMi(T, labels, (a) => widthState(a, 0.07));
          for (const q of ['I_XT', 'I_TY']) {
            expected.set(`${e}|${l}|mi.bin|${q}`, bin[q]);
            expected.set(`${e}|${l}|mi.binwidth|${q}`, width[q]);
          }
          // the validity diagnostic of mi.bin: the fraction of values outside [lo, hi] = [-1, 1]
          expected.set(`${e}|${l}|mi.bin|out_of_range`, T.values.filter((v) => v < -1 || v > 1).length / T.values.length);
        }
      }
    });

    if (run === 'good') {
      it('the float32 edges are linspace(-1, 1, 30) with exact ends', function () {
        const edges = linspaceF32(-1, 1, 30);
        assert.equal(edges.length, 30);
        assert.equal(edges[0], -1);
        assert.equal(edges[29], 1);
        assert.equal(edges[15], Math.fround(-1 + 15 * (2 / 29)));
        // digitize right=False: a value equal to an edge falls in the bin to its right
        assert.equal(binState(edges[3], edges), edges[3]);
        assert.equal(binState(-1.5, edges), 1, 'IDNNs quirk: below lo is the state of hi');
        assert.equal(binState(1, edges), 1);
      });
    }

    it('every mi.bin and mi.binwidth row of metrics.csv equals the recomputation to 1e-9 bits', function () {
      let compared = 0;
      for (const r of csv) {
        if (r.estimator !== 'mi.bin' && r.estimator !== 'mi.binwidth') continue;
        assert.equal(r.subset, 'all');
        const p = parseParams(r.params);
        if (r.estimator === 'mi.bin') assert.deepEqual({bins: p.bins, lo: p.lo, hi: p.hi, idnnsQuirks: p.idnnsQuirks}, {bins: '30', lo: '-1', hi: '1', idnnsQuirks: 'true'});
        else assert.equal(p.binWidth, '0.07');
        const key = `${r.epoch}|${r.layer}|${r.estimator}|${r.quantity}`;
        assert.ok(expected.has(key), `unexpected metrics row ${key}`);
        const got = Number(r.value);
        const want = expected.get(key);
        assert.ok(Math.abs(got - want) <= 1e-9, `${key}: metrics.csv ${got}, recomputed ${want} (diff ${got - want})`);
        compared++;
      }
      assert.equal(compared, expected.size, 'every recomputed value has its row');
      assert.equal(compared, SNAPSHOTS.length * LAYERS.length * (2 * 2 + 1));
    });

    it('the recomputed values are not degenerate (narrow layers below the 12-bit ceiling, I(T;Y) > 0)', function () {
      const vals = [...expected.entries()].filter(([k]) => k.includes('|I_'));
      assert.ok(vals.some(([k, v]) => k.includes('|I_XT') && v < 11), 'some I(X;T) below 11 bits');
      assert.ok(vals.every(([, v]) => v >= -1e-12 && v <= 12 + 1e-9), 'all within [0, 12]');
      assert.ok(vals.some(([k, v]) => k.includes('|I_TY') && v > 0.05), 'I(T;Y) > 0 somewhere');
      if (run === 'linear') assert.ok(belowLo > 0 && aboveHi > 0, `values outside [-1, 1] exercise the quirk (below: ${belowLo}, above: ${aboveHi})`);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('determinism: same config and seed in two processes', function () {
    let a;
    let b;
    let c;
    before(function () {
      for (const k of ['good', 'same', 'seed1']) assert.equal(res[k].code, 0, `${k}: ${res[k].stderr}`);
      [a, b, c] = ['good', 'same', 'seed1'].map((k) => JSON.parse(res[k].stdout).runDir);
    });

    it('metrics.csv and metrics.arrow are byte-identical', function () {
      for (const f of ['metrics/metrics.csv', 'metrics/metrics.arrow']) {
        assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs between two runs of the same config`);
      }
    });

    it('activation tensors are bit-identical at every snapshot', function () {
      for (const name of EPOCH_FILES) {
        const ta = arrowTable(join(a, 'activations', name));
        const tb = arrowTable(join(b, 'activations', name));
        for (const l of LAYERS) assert.ok(bytesOf(arrowTensor(ta, l).data).equals(bytesOf(arrowTensor(tb, l).data)), `${name} ${l}`);
      }
    });

    it('the training log values are identical', function () {
      const va = arrowColumn(arrowTable(join(a, 'training.arrow')), 'value');
      const vb = arrowColumn(arrowTable(join(b, 'training.arrow')), 'value');
      assert.deepEqual(va, vb);
    });

    it('a different --seed gives a different config hash, metrics and activations', function () {
      const pc = readJson(join(c, 'provenance.json'));
      assert.equal(pc.seed, 1);
      assert.notEqual(JSON.parse(res.seed1.stdout).configHash, JSON.parse(res.good.stdout).configHash);
      assert.ok(!readFileSync(join(a, 'metrics/metrics.csv')).equals(readFileSync(join(c, 'metrics/metrics.csv'))), 'metrics.csv equal for seeds 0 and 1');
      const ta = arrowTable(join(a, 'activations', EPOCH_FILES[0]));
      const tc = arrowTable(join(c, 'activations', EPOCH_FILES[0]));
      assert.ok(!bytesOf(arrowTensor(ta, 'h1').data).equals(bytesOf(arrowTensor(tc, 'h1').data)), 'initial activations equal for seeds 0 and 1');
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('a failing stage (loss becomes NaN) keeps its artifacts', function () {
    let runDir;
    let prov;
    before(function () {
      const out = lines(res.nan.stdout);
      assert.equal(out.length, 1, `stdout should be the run directory:\n${res.nan.stdout}`);
      runDir = out[0].trim();
      prov = readJson(join(runDir, 'provenance.json'));
    });

    it('exits with code 1', function () {
      assert.equal(res.nan.code, 1, res.nan.stderr);
    });

    it('prints one error line naming the stage, no stack trace', function () {
      const errs = lines(res.nan.stderr).filter((l) => /^Error\b/.test(l));
      assert.equal(errs.length, 1, `error lines:\n${res.nan.stderr}`);
      assert.match(errs[0], /\btrain\b/);
      assert.match(errs[0], /NaN|Infinity/);
      assert.ok(!res.nan.stderr.includes('    at '), 'stack trace on stderr');
    });

    it('the run directory is under --out', function () {
      assert.equal(relative(dirs.nan, runDir).split(sep).length, 2);
    });

    it('provenance: status failed, data done, train failed (with the NaN message), later stages not done', function () {
      assert.equal(prov.status, 'failed');
      assert.equal(prov.stages.data.status, 'done');
      assert.equal(prov.stages.train.status, 'failed');
      assert.match(prov.stages.train.error, /NaN|Infinity/);
      assert.ok(prov.endedAt, 'endedAt set');
      for (const s of ['metrics', 'report']) assert.notEqual(prov.stages[s]?.status, 'done', s);
    });

    it('finished artifacts are kept: data/dataset.arrow (readable) and the epoch-0 snapshot', function () {
      const df = polarsFrame(join(runDir, 'data', 'dataset.arrow'));
      assert.equal(df.height, 4096);
      assert.ok(existsSync(join(runDir, 'activations', 'epoch_000000.arrow')));
      assert.equal(polarsFrame(join(runDir, 'activations', 'epoch_000000.arrow')).height, 4096);
    });

    it('no report or metrics were written', function () {
      assert.ok(!existsSync(join(runDir, 'report', 'index.html')));
      assert.ok(!existsSync(join(runDir, 'metrics', 'metrics.csv')));
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('--resume runs only the stages that are not done', function () {
    let runDir;
    let before_;
    let mtimes;
    let r;
    let tResume;
    let edited;
    before(async function () {
      assert.equal(res.resume.code, 0, res.resume.stderr);
      runDir = JSON.parse(res.resume.stdout).runDir;
      before_ = readJson(join(runDir, 'provenance.json'));
      const watched = ['metrics/metrics.csv', 'metrics/metrics.arrow', 'data/dataset.arrow', 'training.arrow', `activations/${EPOCH_FILES[1]}`];
      mtimes = Object.fromEntries(watched.map((f) => [f, mtime(join(runDir, f))]));
      // a run whose report was lost: delete it and mark the stage pending
      rmSync(join(runDir, 'report'), {recursive: true, force: true});
      const p = readJson(join(runDir, 'provenance.json'));
      p.stages.report = {status: 'pending'};
      writeFileSync(join(runDir, 'provenance.json'), JSON.stringify(p, null, 2));
      await sleep(20);
      tResume = new Date();
      r = await runCli(['run', '--resume', runDir, '--json']);
      // a copy whose config.yaml was edited after the run: resume must refuse it
      const copy = join(dirs.resume, 'edited-copy');
      cpSync(runDir, copy, {recursive: true});
      const cfgPath = join(copy, 'config.yaml');
      writeFileSync(cfgPath, readFileSync(cfgPath, 'utf8').replace(/^seed: 0$/m, 'seed: 5'));
      edited = {copy, result: await runCli(['run', '--resume', copy, '--json'])};
    });

    it('exits 0 with status done for the same run directory', function () {
      assert.equal(r.code, 0, r.stderr);
      const j = parseJsonStdout(r);
      assert.equal(j.status, 'done');
      assert.equal(j.runDir, runDir);
    });

    it('the report exists again', function () {
      for (const f of ['index.html', 'report.md', 'summary.json']) assert.ok(existsSync(join(runDir, 'report', f)), f);
    });

    it('data, train and metrics kept their original startedAt; report ran now', function () {
      const after_ = readJson(join(runDir, 'provenance.json'));
      for (const s of ['data', 'train', 'metrics']) {
        assert.equal(after_.stages[s].status, 'done', s);
        assert.equal(after_.stages[s].startedAt, before_.stages[s].startedAt, `${s} startedAt`);
      }
      assert.equal(after_.stages.report.status, 'done');
      assert.ok(new Date(after_.stages.report.startedAt) >= tResume, `report startedAt ${after_.stages.report.startedAt} before the resume (${tResume.toISOString()})`);
      assert.equal(after_.status, 'done');
      assert.equal(after_.configHash, before_.configHash);
      assert.equal(after_.runId, before_.runId);
    });

    it('the artifacts of the kept stages were not rewritten', function () {
      for (const [f, t] of Object.entries(mtimes)) assert.equal(mtime(join(runDir, f)), t, f);
    });

    it('resume refuses a run whose config.yaml was edited (exit 2, JSON error naming config.yaml)', function () {
      assert.equal(edited.result.code, 2, edited.result.stdout + edited.result.stderr);
      const j = parseJsonStdout(edited.result);
      assert.match(j.error.message, /config\.yaml/);
      assert.match(j.error.message, /edited/);
    });
  });

  // ------------------------------------------------------------------------------------------
  describe('SIGINT during training', function () {
    const GRACE_MS = 10000;
    let dir;
    let result;
    let sentAt;
    let exitedAfter;
    let forced = false;
    let runDir;
    before(async function () {
      dir = tempDir('tdlab-run-sigint-');
      dirs.sigint = dir;
      const {child, done} = startCli(['run', fixture('tiny.yaml'), '--set', 'train.epochs=3000', '--set', 'train.snapshots=every:100', '--backend', 'wasm', '--out', dir, '--json']);
      let exited = false;
      done.then(() => (exited = true));
      const deadline = Date.now() + 60000;
      const activationFiles = () => listFiles(dir).filter((f) => /\/activations\/epoch_\d{6}\.arrow$/.test(f));
      while (!exited && activationFiles().length === 0 && Date.now() < deadline) await sleep(100);
      assert.ok(!exited, 'the run ended before any snapshot was written');
      assert.ok(activationFiles().length > 0, 'no activation file within 60 s');
      sentAt = Date.now();
      child.kill('SIGINT');
      const timer = sleep(GRACE_MS).then(() => 'timeout');
      if ((await Promise.race([done, timer])) === 'timeout') {
        forced = true;
        child.kill('SIGKILL'); // our own child, by its handle
      }
      result = await done;
      exitedAfter = Date.now() - sentAt;
      runDir = join(dir, 'tiny', listFiles(dir)[0].split('/')[1]);
    });

    it(`exits with code 130 within ${GRACE_MS / 1000} s of SIGINT`, function () {
      assert.ok(!forced, `still running ${GRACE_MS} ms after SIGINT (killed); stderr tail:\n${result.stderr.split('\n').slice(-5).join('\n')}`);
      assert.equal(result.code, 130, `exit code ${result.code} after ${exitedAfter} ms`);
    });

    it('provenance: status interrupted, train stage interrupted', function () {
      const prov = readJson(join(runDir, 'provenance.json'));
      assert.equal(prov.status, 'interrupted');
      assert.equal(prov.stages.data.status, 'done');
      assert.equal(prov.stages.train.status, 'interrupted', `stages: ${JSON.stringify(Object.fromEntries(Object.entries(prov.stages).map(([k, v]) => [k, v.status])))}`);
    });

    it('the JSON outcome on stdout says interrupted', function () {
      const j = parseJsonStdout(result);
      assert.equal(j.status, 'interrupted');
    });

    it('the activation files written so far are complete: only epoch_*.arrow, all readable by polars', function () {
      const {epochs, others} = epochFiles(join(runDir, 'activations'));
      assert.deepEqual(others, [], 'partial or temporary files in activations/');
      assert.ok(epochs.length >= 1 && epochs[0] === 0);
      for (const e of epochs) {
        assert.equal(e % 100, 0, `epoch ${e} is not on the every:100 schedule`);
        const df = polarsFrame(join(runDir, 'activations', `epoch_${String(e).padStart(6, '0')}.arrow`));
        assert.equal(df.height, 4096);
        assert.deepEqual(df.columns, ['sample', 'label', 'split', ...LAYERS]);
      }
    });
  });
});
