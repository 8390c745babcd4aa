// The fused WebAssembly training engine (src/native/train.c, src/train/fused/) against
// independent references: tf.grads of the loss written with tf ops (every activation, both
// losses, L2, dropout), the tfjs Optimizer (every optimizer), and the tfjs training loop.
import assert from 'node:assert/strict';
import {spawn} from 'node:child_process';
import {readdirSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {loadBackend} from '../dist/backend/tf.js';
import {twelveBit} from '../dist/data/twelve-bit.js';
import {activations} from '../dist/model/activations.js';
import {forward} from '../dist/model/forward.js';
import {initParams, paramSlots, planModel} from '../dist/model/plan.js';
import {fusedUnavailable} from '../dist/native/train.js';
import {FusedNet, fusedEngine} from '../dist/train/fused/engine.js';
import {trainModel} from '../dist/train/loop.js';
import {Optimizer} from '../dist/train/optimizer.js';
import {Rng} from '../dist/util/prng.js';
import {BIN, ROOT, arrowColumn, arrowTable, arrowTensor, fixture, readJson, tempDir} from './helpers.js';

const trainCfg = (over = {}) => ({epochs: 5, batchSize: 256, optimizer: 'adam', lr: 4e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, momentum: 0, l2: 0, snapshots: 'log:200', gradientStats: true, ...over});

function twelveBitData(seed = 0) {
  const ds = twelveBit.load({});
  const perm = new Rng(seed, 'split').permutation(4096);
  return {x: ds.x, labels: ds.labels, n: 4096, inputShape: [12], classes: 2, trainIdx: perm.slice(0, 3277), testIdx: perm.slice(3277)};
}

/** Parameters of `plan` with non-zero biases (so their gradients matter), from a seeded stream. */
function someParams(plan, seed) {
  const theta = initParams(plan, seed);
  const rng = new Rng(seed, 'test-biases');
  for (const p of paramSlots(plan)) if (p.role === 'bias') for (let i = p.offset; i < p.offset + p.size; i++) theta[i] = 0.3 * rng.normal();
  return theta;
}

const denseLayers = (widths, act) => widths.map((units) => ({type: 'dense', units, ...(act ? {activation: act} : {})}));

/** Bytes of a typed array (bit-exact comparisons, NaN-safe). */
const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** max |a - b| over a tensor's slot, relative to max |b| there. */
function slotErrors(plan, a, b) {
  return paramSlots(plan).map((p) => {
    let d = 0;
    let m = 0;
    for (let i = p.offset; i < p.offset + p.size; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
      m = Math.max(m, Math.abs(b[i]));
    }
    return {name: p.name, rel: m > 0 ? d / m : d};
  });
}

describe('fused training engine (WebAssembly SIMD)', function () {
  this.timeout(120000);
  let tf;
  const data = twelveBitData();

  before(async function () {
    if (fusedUnavailable()) this.skip();
    ({tf} = await loadBackend('wasm'));
  });

  describe('minibatch gradients equal tf.grads of the loss (every activation x loss x L2 x dropout), to 1e-5 relative', function () {
    const rows = data.trainIdx.slice(0, 64);
    const step = 7;
    const seed = 3;
    for (const act of activations.names()) {
      for (const loss of ['crossentropy', 'hinge']) {
        for (const l2 of [0, 0.01]) {
          for (const dropout of [false, true]) {
            it(`${act}, ${loss}${l2 ? ', L2' : ''}${dropout ? ', dropout' : ''}`, function () {
              const layers = dropout
                ? [{type: 'dense', units: 10}, {type: 'dropout', rate: 0.3}, {type: 'dense', units: 7}, {type: 'dropout', rate: 0.5, activation: 'tanh'}, {type: 'dense', units: 5}]
                : denseLayers([10, 7, 5]);
              const plan = planModel({activation: act, init: 'glorot_uniform', layers}, [12], 2);
              const theta = someParams(plan, 11);
              const cfg = trainCfg({loss, l2, optimizer: 'sgd'});
              const net = new FusedNet(plan, data, cfg, {seed, threads: 1, start: {epoch: 0, step: 0, params: theta, slots: []}});
              const g = net.gradient(rows, step);

              // reference: autodiff of mean loss + (l2 / 2) sum ||W_hidden||^2 through the tfjs forward pass
              const slots = paramSlots(plan);
              const ref = tf.tidy(() => {
                const params = slots.map((p) => tf.tensor(theta.subarray(p.offset, p.offset + p.size), p.shape));
                const xb = tf.tensor2d(Float32Array.from([...rows].flatMap((r) => [...data.x.subarray(12 * r, 12 * r + 12)])), [rows.length, 12]);
                const y = tf.oneHot(tf.tensor1d(Int32Array.from(rows, (r) => data.labels[r]), 'int32'), 2).toFloat();
                const hidden = new Set(plan.layers.filter((l) => l.kind === 'hidden').flatMap((l) => l.params.filter((p) => p.role === 'weight').map((p) => slots.indexOf(p))));
                const f = (...ps) => {
                  const z = forward(tf, plan, ps, xb, false, {training: true, seed, step}).logits;
                  let lossT;
                  if (loss === 'hinge') {
                    const [z0, z1] = tf.split(z, 2, 1);
                    const [y0, y1] = tf.split(y, 2, 1);
                    lossT = tf.mean(tf.relu(tf.sub(1, tf.mul(tf.sub(y1, y0), tf.sub(z1, z0)))));
                  } else {
                    lossT = tf.mean(tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1)));
                  }
                  const pen = ps.filter((_, i) => hidden.has(i)).map((w) => tf.mul(tf.sum(tf.square(w)), l2 / 2));
                  return pen.length && l2 > 0 ? tf.addN([lossT, ...pen]) : lossT;
                };
                return tf.concat(tf.grads(f)(params).map((t) => tf.reshape(t, [-1])));
              });
              const expected = ref.dataSync();
              ref.dispose();
              for (const e of slotErrors(plan, g, expected)) assert.ok(e.rel <= 1e-5, `${e.name}: relative error ${e.rel}`);
              // the comparison is not vacuous: the gradient is non-zero
              assert.ok(g.some((v) => Math.abs(v) > 1e-4), 'gradient is zero');
            });
          }
        }
      }
    }
  });

  describe('optimizer updates equal the tfjs Optimizer (same float32 operations)', function () {
    const cases = [
      ['adam', {optimizer: 'adam', lr: 1e-3}],
      ['adamw (one flat vector)', {optimizer: 'adamw', lr: 1e-3, weightDecay: 0.1}],
      ['sgd', {optimizer: 'sgd', lr: 0.05}],
      ['sgd with momentum', {optimizer: 'sgd', lr: 0.05, momentum: 0.9}],
      ['sgd with momentum and decoupled weight decay', {optimizer: 'sgd', lr: 0.05, momentum: 0.9, weightDecay: 0.01}],
      ['adamw above 262144 parameters (per tensor)', {optimizer: 'adamw', lr: 1e-3, weightDecay: 0.1}, [600, 440]],
    ];
    for (const [name, over, widths] of cases) {
      it(name, function () {
        const plan = planModel({activation: 'tanh', init: 'glorot_uniform', layers: denseLayers(widths ?? [10, 7])}, [12], 2);
        const cfg = trainCfg(over);
        const theta = someParams(plan, 5);
        const net = new FusedNet(plan, data, cfg, {seed: 0, threads: 1, start: {epoch: 0, step: 0, params: theta, slots: (cfg.optimizer === 'sgd' && !cfg.momentum ? [] : cfg.optimizer === 'sgd' ? [0] : [0, 0]).map(() => new Float32Array(plan.numParams))}});
        const slots = paramSlots(plan);
        const opt = new Optimizer(tf, cfg, slots.map((p) => p.shape), slots.map((p) => p.role === 'weight'));
        let params = slots.map((p) => tf.tensor(theta.subarray(p.offset, p.offset + p.size), p.shape));
        const rng = new Rng(9, 'grads');
        for (let s = 0; s < 3; s++) {
          const g = Float32Array.from({length: plan.numParams}, () => 0.01 * rng.normal());
          const lr = cfg.lr * (1 - 0.1 * s); // a schedule's changing rate
          net.update(g, s, lr);
          const next = tf.tidy(() => opt.update(params, slots.map((p) => tf.tensor(g.subarray(p.offset, p.offset + p.size), p.shape)), lr));
          tf.dispose(params);
          params = next;
        }
        const expected = new Float32Array(plan.numParams);
        params.forEach((t, i) => expected.set(t.dataSync(), slots[i].offset));
        tf.dispose(params);
        assert.deepEqual(net.theta, expected, 'parameters after 3 steps');
        return opt.getState().then((state) => {
          opt.dispose();
          assert.equal(state.length, net.slots.length);
          state.forEach((s, i) => assert.deepEqual(net.slots[i], s, `optimizer slot ${i}`));
        });
      });
    }
  });

  describe('training agrees with the tfjs loop', function () {
    it('20 epochs of the 12-bit net: losses to 1e-6 relative, gradient statistics to 1e-5, snapshots to 1e-6', async function () {
      const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers: denseLayers([10, 7, 5, 4, 3])}, [12], 2);
      const cfg = trainCfg({epochs: 20});
      const run = async (train) => {
        const out = {evals: [], logits: [], grads: new Map(), snaps: new Map()};
        out.theta = await train(plan, data, cfg, 1, [0, 10], {
          onEval: (s, logits) => (out.evals.push(s), out.logits.push(logits)),
          onSnapshot: (e, acts) => out.snaps.set(e, acts.map((a) => Float32Array.from(a))),
          onGradStats: (e, st) => out.grads.set(e, st),
        });
        return out;
      };
      const ref = await run((...a) => trainModel(tf, ...a));
      const got = await run(fusedEngine.train);
      assert.equal(got.evals.length, 21);
      got.evals.forEach((s, i) => {
        for (const k of ['trainLoss', 'testLoss']) assert.ok(Math.abs(s[k] - ref.evals[i][k]) <= 1e-6 * ref.evals[i][k], `epoch ${i} ${k}: ${s[k]} vs ${ref.evals[i][k]}`);
        assert.equal(got.logits[i].length, 4096 * 2);
      });
      for (const [e, st] of ref.grads) {
        got.grads.get(e).forEach((g, l) => {
          for (const k of ['meanNorm', 'stdNorm', 'weightNorm']) assert.ok(Math.abs(g[k] - st[l][k]) <= 1e-5 * st[l][k], `epoch ${e} layer ${g.layer} ${k}`);
        });
      }
      for (const [e, acts] of ref.snaps) {
        got.snaps.get(e).forEach((a, l) => {
          let d = 0;
          for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - acts[l][i]));
          assert.ok(d <= 1e-6, `epoch ${e} layer ${l}: max difference ${d}`);
        });
      }
      // the output snapshot is the softmax: rows sum to 1
      const out = got.snaps.get(10).at(-1);
      for (let r = 0; r < 4096; r += 97) assert.ok(Math.abs(out[2 * r] + out[2 * r + 1] - 1) < 1e-6);
    });
  });

  describe('threads and optimizer state', function () {

    it('1 and 2 threads give bit-identical evaluations, snapshots, gradient statistics and parameters (products split by units and by rows)', async function () {
      // 256-wide layers make every product large enough to be split; the 8-wide layer is split by row blocks
      const plan = planModel({activation: 'tanh', init: 'truncated_normal', layers: denseLayers([256, 256, 8])}, [12], 2);
      const cfg = trainCfg({epochs: 1, gradientStats: true});
      const rows = Int32Array.from(new Rng(1, 'shuffle').permutation(3277), (i) => data.trainIdx[i]);
      const runs = [];
      for (const threads of [1, 2]) {
        const net = new FusedNet(plan, data, cfg, {seed: 1, threads, gradStats: true});
        await net.startWorkers();
        try {
          const before = net.evaluateAll(true);
          const theta0 = net.theta.slice();
          net.trainEpoch(rows, 0, 1e-3, true);
          runs.push({before, stats: net.gradStats(theta0), after: net.evaluateAll(true), theta: net.theta.slice(), m: net.slots[0].slice()});
        } finally {
          await net.close();
        }
      }
      const [a, b] = runs;
      assert.ok(bytes(a.before.logits).equals(bytes(b.before.logits)), 'logits before training');
      a.before.acts.forEach((x, i) => assert.ok(bytes(x).equals(bytes(b.before.acts[i])), `layer ${i} activations`));
      assert.ok(bytes(a.theta).equals(bytes(b.theta)), 'parameters after an epoch');
      assert.ok(bytes(a.m).equals(bytes(b.m)), 'Adam first moment');
      assert.ok(bytes(a.after.logits).equals(bytes(b.after.logits)), 'logits after an epoch');
      assert.deepEqual(a.stats, b.stats);
      assert.ok(a.stats[0].stdNorm > 0, 'minibatch gradients vary');
    });

    for (const engineName of ['fused', 'tfjs']) {
      it(`${engineName}: a run stopped at a snapshot and continued from its optimizer state equals the run straight through, bit for bit`, async function () {
        const plan = planModel({activation: 'relu', init: 'he_normal', layers: [{type: 'dense', units: 10}, {type: 'dropout', rate: 0.2}, {type: 'dense', units: 5}]}, [12], 2);
        const cfg = trainCfg({epochs: 6, lr: 3e-3});
        const train = engineName === 'fused' ? fusedEngine.train : (...args) => trainModel(tf, ...args);
        const hooks = (states) => ({onEval() {}, onSnapshot() {}, onGradStats() {}, onState: (st) => states.push(st)});
        const states = [];
        const straight = await train(plan, data, cfg, 2, [3], hooks(states));
        assert.equal(states.length, 1);
        const st = states[0];
        assert.equal(st.epoch, 3);
        assert.equal(st.step, 3 * Math.ceil(3277 / 256));
        assert.equal(st.slots.length, 2, 'Adam m and v');
        assert.ok(st.slots[1].some((x) => x > 0), 'v is not empty');
        const resumed = await train(plan, data, cfg, 2, [], hooks([]), st);
        assert.ok(bytes(resumed).equals(bytes(straight)));
      });
    }
  });

  describe('the train stage: engine choice, provenance, agreement and determinism (CLI)', function () {
    const dirs = {};
    const res = {};
    const cli = (args, {env = {}, nodeArgs = []} = {}) =>
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {cwd: ROOT, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']});
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({code, stdout, stderr}));
      });
    const study = (out, engine) => ['run', join(ROOT, 'configs', 'tishby.yaml'), '--set', 'train.epochs=50', '--set', 'stages=[data,train]', '--set', `train.engine=${engine}`, '--out', out, '--json'];
    const tiny = (out, ...extra) => ['run', fixture('tiny.yaml'), '--set', 'train.epochs=3', '--set', 'stages=[data,train]', '--out', out, '--json', ...extra];
    const runDir = (k) => JSON.parse(res[k].stdout).runDir;
    const trainInfo = (k) => readJson(join(runDir(k), 'provenance.json')).stages.train.info;

    before(async function () {
      for (const k of ['tfjs', 'fused', 'fused2', 'off', 'noSab', 'forced']) dirs[k] = tempDir(`tdlab-fused-${k}-`);
      const jobs = [
        ['tfjs', study(dirs.tfjs, 'tfjs')],
        ['fused', study(dirs.fused, 'fused')],
        ['fused2', study(dirs.fused2, 'fused')],
        ['off', tiny(dirs.off), {env: {TDLAB_NATIVE: '0'}}],
        // no SharedArrayBuffer: no WebAssembly threads
        ['noSab', tiny(dirs.noSab), {nodeArgs: ['--no-harmony-sharedarraybuffer']}],
        ['forced', tiny(dirs.forced, '--set', 'train.engine=fused'), {env: {TDLAB_NATIVE: '0'}}],
      ];
      let next = 0;
      const worker = async () => {
        while (next < jobs.length) {
          const [k, args, opts] = jobs[next++];
          res[k] = await cli(args, opts);
        }
      };
      await Promise.all([worker(), worker()]);
    });

    after(function () {
      for (const d of Object.values(dirs)) rmSync(d, {recursive: true, force: true});
    });

    it('the 12-bit study (configs/tishby.yaml, 50 epochs): fused and tfjs train losses agree to 1e-4 relative at every epoch', function () {
      for (const k of ['tfjs', 'fused']) assert.equal(res[k].code, 0, res[k].stderr);
      const loss = (k) => {
        const t = arrowTable(join(runDir(k), 'training.arrow'));
        const q = arrowColumn(t, 'quantity');
        const e = arrowColumn(t, 'epoch');
        const val = arrowColumn(t, 'value');
        return q.flatMap((x, i) => (x === 'train_loss' ? [[e[i], val[i]]] : [])).sort((p, r) => p[0] - r[0]);
      };
      const a = loss('tfjs');
      const b = loss('fused');
      assert.equal(a.length, 51);
      assert.deepEqual(b.map(([e]) => e), a.map(([e]) => e));
      let worst = 0;
      a.forEach(([, v], i) => (worst = Math.max(worst, Math.abs(b[i][1] - v) / v)));
      assert.ok(worst <= 1e-4, `largest relative difference ${worst}`);
      assert.ok(a[50][1] < a[0][1] - 0.01, 'the loss falls (the comparison is not between two untrained nets)');
    });

    it('provenance: train.engine tfjs loads the wasm backend; fused records the module hash and loads none', function () {
      assert.equal(trainInfo('tfjs').engine, 'tfjs');
      assert.equal(trainInfo('tfjs').backend, 'wasm');
      assert.equal(JSON.parse(res.tfjs.stdout).backend, 'wasm');
      const f = trainInfo('fused');
      assert.equal(f.engine, 'fused');
      assert.equal(f.threads, 1, 'the 12-bit net is too small for threads');
      assert.match(f.engineKernels, /^wasm-simd128-threads sha256 [0-9a-f]{64}$/);
      assert.equal(JSON.parse(res.fused.stdout).backend, null);
      const md = Object.fromEntries(arrowTable(join(runDir('fused'), 'activations', 'epoch_000000.arrow')).schema.metadata);
      assert.equal(md.engine, 'fused');
      assert.match(md.engine_id, /^fused wasm-simd128-threads [0-9a-f]{12}$/);
    });

    it('two fused runs of the same config and seed are bit-identical: training log, activations and checkpoints at every snapshot', function () {
      assert.equal(res.fused2.code, 0, res.fused2.stderr);
      const [a, b] = [runDir('fused'), runDir('fused2')];
      assert.deepEqual(arrowColumn(arrowTable(join(b, 'training.arrow')), 'value'), arrowColumn(arrowTable(join(a, 'training.arrow')), 'value'));
      const files = readdirSync(join(a, 'activations')).sort();
      assert.ok(files.length > 20, `${files.length} snapshots`);
      assert.deepEqual(readdirSync(join(b, 'activations')).sort(), files);
      for (const f of files) {
        const ta = arrowTable(join(a, 'activations', f));
        const tb = arrowTable(join(b, 'activations', f));
        for (const l of ['h1', 'h2', 'h3', 'h4', 'h5', 'out']) assert.ok(bytes(arrowTensor(ta, l).data).equals(bytes(arrowTensor(tb, l).data)), `${f} ${l}`);
        const ca = arrowTable(join(a, 'checkpoints', f)).getChild('values');
        const cb = arrowTable(join(b, 'checkpoints', f)).getChild('values');
        assert.deepEqual(Array.from(cb, (x) => Array.from(x)), Array.from(ca, (x) => Array.from(x)), `checkpoint ${f}`);
      }
    });

    it('falls back to the tfjs engine with TDLAB_NATIVE=0 or without WebAssembly threads, and says why', function () {
      for (const k of ['off', 'noSab']) {
        assert.equal(res[k].code, 0, res[k].stderr);
        assert.equal(trainInfo(k).engine, 'tfjs');
        assert.equal(trainInfo(k).backend, 'wasm');
      }
      assert.match(trainInfo('off').engineReason, /TDLAB_NATIVE=0/);
      assert.match(trainInfo('noSab').engineReason, /threads/);
      assert.match(readJson(join(runDir('noSab'), 'provenance.json')).packages['tdlab/train-kernels'], /^unavailable/);
    });

    it('train.engine: fused where it cannot run is a user error (exit 2) naming the reason and the way out', function () {
      assert.equal(res.forced.code, 2, res.forced.stderr);
      assert.match(res.forced.stderr + res.forced.stdout, /train\.engine: fused cannot train this run: TDLAB_NATIVE=0; use train\.engine: tfjs/);
    });
  });
});
