import type * as tfType from '@tensorflow/tfjs';
import type {TrainConfig} from '../config/schema.js';

type Tf = typeof tfType;
type Tensor = tfType.Tensor;

/**
 * Adam (PyTorch/Keras form, bias-corrected), AdamW (Adam plus decoupled weight decay, PyTorch
 * order: W <- W (1 - lr wd), then the Adam step) and SGD with optional momentum (and the same
 * decoupled decay when `weightDecay` > 0) over a list of parameter tensors. Decay applies to the
 * tensors flagged in `decay` (weights, not biases). The learning rate of each step is passed to
 * `update` (schedules); it defaults to `cfg.lr`. On WASM every op costs ~13 us of dispatch, so small networks update one
 * concatenated vector (a dozen ops in all) and split it back; large networks update tensor by
 * tensor (no extra copies of big weight matrices).
 */
export class Optimizer {
  private step = 0;
  /** state[slot][i]: Adam has slots m and v, momentum SGD one slot; one tensor per parameter, or one flat vector. */
  private state: Tensor[][];
  private readonly flat: boolean;
  private readonly sizes: number[];
  private readonly adam: boolean;
  private readonly wd: number;
  /** Flat mode with decay: 1 for decayed elements, 0 otherwise. */
  private decayMask: Tensor | null = null;

  constructor(private readonly tf: Tf, private readonly cfg: TrainConfig, private readonly shapes: number[][], private readonly decay: boolean[] = shapes.map(() => true)) {
    this.sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.flat = total <= 262144;
    this.adam = cfg.optimizer === 'adam' || cfg.optimizer === 'adamw';
    this.wd = cfg.weightDecay ?? 0;
    const slots = this.adam ? 2 : cfg.momentum > 0 ? 1 : 0;
    this.state = Array.from({length: slots}, () => (this.flat ? [tf.zeros([total])] : shapes.map((s) => tf.zeros(s))));
    if (this.wd > 0 && this.flat) {
      const mask = new Float32Array(total);
      let off = 0;
      this.sizes.forEach((n, i) => {
        if (decay[i]) mask.fill(1, off, off + n);
        off += n;
      });
      this.decayMask = tf.tensor(mask);
    }
  }

  /** New parameter tensors from the old ones and their gradients (call inside tf.tidy). */
  update(params: Tensor[], grads: Tensor[], lr = this.cfg.lr): Tensor[] {
    const tf = this.tf;
    this.step++;
    if (!this.flat) {
      const outs = params.map((p, i) => this.apply(this.decayed(p, this.decay[i] ? 1 : 0, lr), grads[i], this.state.map((s) => s[i]), lr));
      this.replaceState(this.state.map((_, k) => outs.map((o) => o.state[k])));
      return outs.map((o) => o.param);
    }
    const flatten = (ts: Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1])));
    const o = this.apply(this.decayed(flatten(params), this.decayMask, lr), flatten(grads), this.state.map((s) => s[0]), lr);
    this.replaceState(o.state.map((t) => [t]));
    return tf.split(o.param, this.sizes).map((t, i) => tf.reshape(t, this.shapes[i]));
  }

  /** The state slots (Adam: m, v; momentum SGD: velocity), each flat over all parameters in order. */
  async getState(): Promise<Float32Array[]> {
    return Promise.all(
      this.state.map(async (ts) => {
        const out = new Float32Array(this.sizes.reduce((a, b) => a + b, 0));
        let off = 0;
        for (const t of ts) {
          const d = (await t.data()) as Float32Array;
          out.set(d, off);
          off += d.length;
        }
        return out;
      }),
    );
  }

  /** Takes back a state from `getState` (and the step counter it goes with). */
  setState(step: number, slots: Float32Array[]): void {
    const {tf} = this;
    if (slots.length !== this.state.length) throw new Error(`optimizer state has ${slots.length} slots, ${this.cfg.optimizer} needs ${this.state.length}`);
    const next = slots.map((flat) => {
      if (this.flat) return [tf.tensor(flat)];
      let off = 0;
      return this.shapes.map((s, i) => {
        const t = tf.tensor(flat.subarray(off, off + this.sizes[i]), s);
        off += this.sizes[i];
        return t;
      });
    });
    this.replaceState(next);
    this.step = step;
  }

  private replaceState(next: Tensor[][]): void {
    for (const t of next.flat()) this.tf.keep(t);
    this.tf.dispose(this.state.flat());
    this.state = next;
  }

  /** Decoupled weight decay: p (1 - lr wd) where `mask` is 1 (a number, or a 0/1 vector in flat mode). */
  private decayed(p: Tensor, mask: Tensor | number | null, lr: number): Tensor {
    const {tf, wd} = this;
    if (wd === 0 || mask === null || mask === 0) return p;
    if (typeof mask === 'number') return tf.mul(p, 1 - lr * wd);
    return tf.sub(p, tf.mul(tf.mul(p, mask), lr * wd));
  }

  private apply(p: Tensor, g: Tensor, st: Tensor[], lr: number): {param: Tensor; state: Tensor[]} {
    const {tf, cfg} = this;
    if (this.adam) {
      const m = tf.add(tf.mul(st[0], cfg.beta1), tf.mul(g, 1 - cfg.beta1));
      const v = tf.add(tf.mul(st[1], cfg.beta2), tf.mul(tf.square(g), 1 - cfg.beta2));
      const bc1 = 1 - Math.pow(cfg.beta1, this.step);
      const bc2 = 1 - Math.pow(cfg.beta2, this.step);
      const denom = tf.add(tf.sqrt(tf.div(v, bc2)), cfg.epsilon);
      return {param: tf.sub(p, tf.mul(tf.div(m, denom), lr / bc1)), state: [m, v]};
    }
    if (cfg.momentum > 0) {
      const vel = tf.add(tf.mul(st[0], cfg.momentum), g);
      return {param: tf.sub(p, tf.mul(vel, lr)), state: [vel]};
    }
    return {param: tf.sub(p, tf.mul(g, lr)), state: []};
  }

  dispose(): void {
    if (this.decayMask) this.decayMask.dispose();
    this.decayMask = null;
    this.tf.dispose(this.state.flat());
    this.state = [];
  }
}
