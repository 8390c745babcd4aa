import {activationDerivative64, applyActivation64} from '../../../model/activations.js';
import {forwardPre, type DenseNet} from '../../../model/dense-net.js';

/**
 * Explicit Jacobians J_l(x) = dz_l/dx (or dh_l/dx with `post`), row-major d_l x d_0, for every
 * layer up to `upto`. Row-blocked: row p of J_l is sum_i W_l[i, p] phi'_i J_{l-1}[i, :].
 */
export function layerJacobians(net: DenseNet, x: ArrayLike<number>, post = false, upto = net.layers.length): Float64Array[] {
  const zs = forwardPre(net, x, upto);
  const d0 = net.layers[0].rows;
  const out: Float64Array[] = [];
  let Jprev: Float64Array | undefined;
  let dprev: Float64Array | undefined;
  for (let l = 0; l < upto; l++) {
    const {W, rows, cols, activation} = net.layers[l];
    const J = new Float64Array(cols * d0);
    if (!Jprev) {
      for (let i = 0; i < rows; i++) for (let p = 0; p < cols; p++) J[p * d0 + i] = W[i * cols + p];
    } else {
      for (let i = 0; i < rows; i++) {
        const di = dprev![i];
        if (di === 0) continue;
        const src = i * d0;
        for (let p = 0; p < cols; p++) {
          const c = W[i * cols + p] * di;
          if (c === 0) continue;
          const dst = p * d0;
          for (let k = 0; k < d0; k++) J[dst + k] += c * Jprev[src + k];
        }
      }
    }
    if (post) out.push(postJacobian(activation, zs[l], J, cols, d0));
    else out.push(J);
    Jprev = J;
    if (l + 1 < upto) dprev = activationDerivative64(activation, zs[l], new Float64Array(cols));
  }
  return out;
}

/** D J (elementwise activation) or (diag(p) - p p^T) J (softmax), as a new array. */
function postJacobian(activation: string, z: Float64Array, J: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  if (activation === 'softmax') {
    const p = applyActivation64('softmax', z, new Float64Array(rows));
    const pj = new Float64Array(cols); // p^T J
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) pj[k] += p[i] * J[i * cols + k];
    for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i * cols + k] = p[i] * (J[i * cols + k] - pj[k]);
    return out;
  }
  const d = activationDerivative64(activation, z, new Float64Array(rows));
  for (let i = 0; i < rows; i++) for (let k = 0; k < cols; k++) out[i * cols + k] = d[i] * J[i * cols + k];
  return out;
}

