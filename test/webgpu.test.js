// The webgpu backend on a software adapter: Dawn's OpenGL ES backend on Mesa llvmpipe, in
// WebGPU compatibility mode. It checks tdlab's WGSL training engine against the WASM backend
// (tfjs's own kernels: an independent implementation of the same network and optimizer), and
// that two WebGPU runs are identical. Skips, saying why, only when the Dawn binding (optional
// npm package `webgpu`) or Mesa's EGL/GLES drivers are missing; .ci/run installs Mesa.
import assert from 'node:assert/strict';
import {spawnSync} from 'node:child_process';
import {readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {arrowColumn, arrowTable, arrowTensor, fixture, readJson, ROOT, runAll, tempDir} from './helpers.js';

/** Why WebGPU cannot run here, or null when a (software) adapter opens. */
function webgpuMissing() {
  const probe = `
    let m; try { m = await import('webgpu'); } catch { console.log('the optional npm package webgpu (Dawn) is not installed'); process.exit(0); }
    process.env.EGL_PLATFORM = 'surfaceless';
    const a = await m.create(['backend=opengles']).requestAdapter({featureLevel: 'compatibility'});
    console.log(a ? 'ok' : 'no OpenGL ES adapter: apt-get install libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri');`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {cwd: ROOT, encoding: 'utf8'});
  const out = r.stdout.trim().split('\n').pop();
  return out === 'ok' ? null : out || `probe failed: ${r.stderr.split('\n')[0]}`;
}

const series = (dir, q) => {
  const t = arrowTable(join(dir, 'training.arrow'));
  const [epoch, layer, quantity, value] = ['epoch', 'layer', 'quantity', 'value'].map((c) => arrowColumn(t, c));
  return value.flatMap((v, i) => (quantity[i] === q ? [{epoch: epoch[i], layer: layer[i], v}] : []));
};
const relClose = (a, b, tol, what) => assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-12), `${what}: ${a} vs ${b} (tolerance ${tol} relative)`);

describe('webgpu backend (software adapter: Mesa llvmpipe through Dawn OpenGL ES)', function () {
  this.timeout(300000);
  let out;
  let missing;
  before(function () {
    missing = webgpuMissing();
    if (missing) {
      console.log(`      skipped: ${missing}`);
      this.skip();
    }
    out = tempDir('tdlab-webgpu-');
  });
  after(() => out && rmSync(out, {recursive: true, force: true}));

  describe('the 12-bit study, 20 epochs', function () {
    let gpu;
    let cpu;
    before(async function () {
      const [g, c] = await runAll([
        ['run', join(ROOT, 'configs', 'tishby.yaml'), '--backend', 'webgpu', '--set', 'train.epochs=20', '--out', join(out, 'g'), '--json'],
        ['run', join(ROOT, 'configs', 'tishby.yaml'), '--backend', 'wasm', '--set', 'train.epochs=20', '--set', 'stages=[data,train]', '--out', join(out, 'c'), '--json'],
      ]);
      assert.equal(g.code, 0, g.stderr);
      assert.equal(c.code, 0, c.stderr);
      gpu = JSON.parse(g.stdout).runDir;
      cpu = JSON.parse(c.stdout).runDir;
    });

    it('completes every stage and records the backend, the engine and the adapter', function () {
      const prov = readJson(join(gpu, 'provenance.json'));
      assert.equal(prov.status, 'done');
      assert.equal(prov.backend, 'webgpu');
      for (const s of ['data', 'train', 'metrics', 'report']) assert.equal(prov.stages[s].status, 'done', s);
      assert.equal(prov.stages.train.info.engine, 'webgpu');
      assert.equal(prov.adapter.dawnBackend, 'opengles');
      assert.equal(prov.adapter.featureLevel, 'compatibility');
      assert.equal(prov.adapter.software, true);
      assert.match(`${prov.adapter.device} ${prov.adapter.description}`, /llvmpipe|Mesa/);
      assert.ok(prov.packages.webgpu, 'webgpu package version recorded');
    });

    it('train loss every epoch equals the WASM run to 1e-3 relative (the final one to 1e-4)', function () {
      const g = series(gpu, 'train_loss');
      const c = series(cpu, 'train_loss');
      assert.equal(g.length, 21);
      assert.equal(c.length, 21);
      g.forEach((r, i) => relClose(r.v, c[i].v, 1e-3, `train loss at epoch ${r.epoch}`));
      relClose(g[20].v, c[20].v, 1e-4, 'final train loss');
      assert.ok(g[20].v < g[0].v - 0.1, `the network learns (${g[0].v} -> ${g[20].v})`);
    });

    it('gradient statistics (Welford moments on the device) equal the WASM run to 1e-3 relative', function () {
      const g = series(gpu, 'grad_snr');
      const c = series(cpu, 'grad_snr');
      assert.ok(g.length >= 6 * 10, `${g.length} rows`);
      assert.equal(g.length, c.length);
      g.forEach((r, i) => relClose(r.v, c[i].v, 1e-3, `grad_snr ${r.layer} epoch ${r.epoch}`));
    });

    it('snapshot activations equal the WASM run to 1e-4 absolute', function () {
      for (const e of ['000000', '000019']) {
        const tg = arrowTable(join(gpu, 'activations', `epoch_${e}.arrow`));
        const tc = arrowTable(join(cpu, 'activations', `epoch_${e}.arrow`));
        for (const l of ['h1', 'h3', 'h5', 'out']) {
          const a = arrowTensor(tg, l).data;
          const b = arrowTensor(tc, l).data;
          let worst = 0;
          for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
          assert.ok(worst < 1e-4, `${l} epoch ${e}: max |diff| ${worst}`);
        }
      }
    });
  });

  describe('a small CNN (conv same/strided valid, max-pool, flatten, dropout, tanh dense; AdamW + L2)', function () {
    let runs;
    before(async function () {
      const args = (b, sub) => ['run', fixture('webgpu-cnn.yaml'), '--backend', b, '--out', join(out, sub), '--json'];
      const res = await runAll([args('webgpu', 'cnn-g1'), args('wasm', 'cnn-c'), args('webgpu', 'cnn-g2')]);
      for (const r of res) assert.equal(r.code, 0, r.stderr);
      runs = res.map((r) => JSON.parse(r.stdout).runDir);
    });

    it('trains with the same per-epoch losses and accuracies as WASM (1e-5 relative)', function () {
      for (const q of ['train_loss', 'test_loss', 'train_acc', 'test_acc']) {
        const g = series(runs[0], q);
        const c = series(runs[1], q);
        assert.equal(g.length, 4);
        g.forEach((r, i) => relClose(r.v, c[i].v, 1e-5, `${q} epoch ${r.epoch}`));
      }
    });

    it('its checkpoints equal the WASM run to 1e-5 absolute', function () {
      for (const e of ['000000', '000002']) {
        const vg = arrowColumn(arrowTable(join(runs[0], 'checkpoints', `epoch_${e}.arrow`)), 'values').flatMap((r) => Array.from(r));
        const vc = arrowColumn(arrowTable(join(runs[1], 'checkpoints', `epoch_${e}.arrow`)), 'values').flatMap((r) => Array.from(r));
        assert.equal(vg.length, vc.length);
        let worst = 0;
        for (let i = 0; i < vg.length; i++) worst = Math.max(worst, Math.abs(vg[i] - vc[i]));
        assert.ok(worst < 1e-5, `epoch ${e}: max |diff| ${worst}`);
      }
    });

    it('same config + seed + backend + adapter gives identical runs (training log, checkpoints, activations)', function () {
      const bytesOf = (dir, f) => readFileSync(join(dir, f));
      const vals = (dir) => arrowColumn(arrowTable(join(dir, 'training.arrow')), 'value');
      assert.deepEqual(vals(runs[0]), vals(runs[2]));
      for (const f of ['checkpoints/epoch_000002.arrow', 'activations/epoch_000002.arrow']) {
        const a = arrowTable(join(runs[0], f));
        const b = arrowTable(join(runs[2], f));
        for (const field of a.schema.fields) {
          if (field.type.listSize) assert.deepEqual(arrowTensor(a, field.name).data, arrowTensor(b, field.name).data, `${f} ${field.name}`);
        }
        assert.ok(bytesOf(runs[0], f).length > 0);
      }
      const ck = (d) => arrowColumn(arrowTable(join(d, 'checkpoints', 'epoch_000002.arrow')), 'values').flatMap((r) => Array.from(r));
      assert.deepEqual(ck(runs[0]), ck(runs[2]));
    });
  });

  it("every registered activation's WGSL form equals its float64 f and df on the device (f32 rounding)", function () {
    const code = `
      const {openWebGPU} = await import(${JSON.stringify(join(ROOT, 'dist', 'backend', 'webgpu.js'))});
      const {activations} = await import(${JSON.stringify(join(ROOT, 'dist', 'model', 'activations.js'))});
      const {device} = await openWebGPU({allowSoftware: true});
      const zs = Float32Array.from([-80, -30, -5, -1, -0.3, -1e-3, 0, 1e-3, 0.3, 1, 2.5, 5, 30, 80]);
      const out = {};
      for (const name of activations.names()) {
        const {wgsl} = activations.get(name);
        const shader = '@group(0) @binding(0) var<storage, read> zs: array<f32>; @group(0) @binding(1) var<storage, read_write> o: array<f32>;' +
          '@compute @workgroup_size(16) fn main(@builtin(global_invocation_id) g: vec3<u32>) { let i = g.x; if (i >= ' + zs.length + 'u) { return; } let z = zs[i]; let h = ' + wgsl.f + '; o[2u * i] = h; o[2u * i + 1u] = ' + wgsl.df + '; }';
        const pipeline = device.createComputePipeline({layout: 'auto', compute: {module: device.createShaderModule({code: shader}), entryPoint: 'main'}});
        const zb = device.createBuffer({size: zs.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST});
        device.queue.writeBuffer(zb, 0, zs);
        const ob = device.createBuffer({size: zs.byteLength * 2, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC});
        const rb = device.createBuffer({size: zs.byteLength * 2, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST});
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, device.createBindGroup({layout: pipeline.getBindGroupLayout(0), entries: [{binding: 0, resource: {buffer: zb}}, {binding: 1, resource: {buffer: ob}}]}));
        pass.dispatchWorkgroups(1);
        pass.end();
        enc.copyBufferToBuffer(ob, 0, rb, 0, zs.byteLength * 2);
        device.queue.submit([enc.finish()]);
        await rb.mapAsync(GPUMapMode.READ);
        out[name] = Array.from(new Float32Array(rb.getMappedRange().slice(0)));
      }
      console.log(JSON.stringify({zs: Array.from(zs), out}));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {cwd: ROOT, encoding: 'utf8'});
    assert.equal(r.status, 0, r.stderr);
    const {zs, out} = JSON.parse(r.stdout.trim().split('\n').pop());
    const names = Object.keys(out);
    assert.ok(names.length >= 7, names.join(','));
    return import('../dist/model/activations.js').then(({activations}) => {
      for (const name of names) {
        const {f, df} = activations.get(name);
        zs.forEach((z, i) => {
          const close = (got, want, what) => assert.ok(Math.abs(got - want) <= 2e-6 * Math.max(1, Math.abs(want)), `${name} ${what}(${z}): WGSL ${got}, float64 ${want}`);
          close(out[name][2 * i], f(z), 'f');
          close(out[name][2 * i + 1], df(z), 'df');
        });
      }
    });
  });

  it('auto never takes a software adapter, and sizes the model first', function () {
    const probe = (flops) => {
      const code = `const m = await import(${JSON.stringify(join(ROOT, 'dist', 'backend', 'tf.js'))}); const r = await m.loadBackend('auto', {flopsPerStep: ${flops}}); console.log(JSON.stringify({backend: r.backend, skipped: r.skipped}));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], {cwd: ROOT, encoding: 'utf8'});
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop());
    };
    const big = probe(1e12);
    assert.notEqual(big.backend, 'webgpu');
    assert.ok(big.skipped.some((s) => /^webgpu: .*software adapter/.test(s)), big.skipped.join('; '));
    const small = probe(1e5);
    assert.notEqual(small.backend, 'webgpu');
    assert.ok(small.skipped.some((s) => /^webgpu: step of 0\.10* MFLOP < 10 MFLOP/.test(s)), small.skipped.join('; '));
  });
});

describe('stepFlops (the auto rule for webgpu)', function () {
  it('is 6 x multiply-adds x batch: closed forms for the MNIST MLP and mnist-cnn.yaml network', async function () {
    const {stepFlops} = await import('../dist/model/flops.js');
    const dense = (i, o) => ({width: o, params: [{role: 'weight', shape: [i, o], size: i * o}, {role: 'bias', shape: [o], size: o}]});
    const mlp = [dense(784, 1024), dense(1024, 20), dense(20, 20), dense(20, 20), dense(20, 10)];
    assert.equal(stepFlops(mlp, 128), 6 * 128 * (784 * 1024 + 1024 * 20 + 20 * 20 + 20 * 20 + 20 * 10));
    const conv = (h, w, k, c, f) => ({width: h * w * f, params: [{role: 'weight', shape: [k, k, c, f], size: k * k * c * f}, {role: 'bias', shape: [f], size: f}]});
    const pool = (width) => ({width, params: []});
    const cnn = [conv(28, 28, 3, 1, 8), pool(14 * 14 * 8), conv(14, 14, 3, 8, 16), pool(7 * 7 * 16), pool(784), dense(784, 64), dense(64, 10)];
    const macs = 28 * 28 * 9 * 8 + 14 * 14 * 9 * 8 * 16 + 784 * 64 + 64 * 10;
    assert.equal(stepFlops(cnn, 64), 6 * 64 * macs);
    assert.ok(stepFlops(cnn, 64) > 1e7, 'mnist-cnn.yaml goes to a hardware adapter under auto');
    const tishby = [dense(12, 10), dense(10, 7), dense(7, 5), dense(5, 4), dense(4, 3), dense(3, 2)];
    assert.ok(stepFlops(tishby, 256) < 1e7, 'the 12-bit network stays on the CPU');
  });
});
