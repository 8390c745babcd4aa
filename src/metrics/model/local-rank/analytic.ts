import {eigvalsh} from '../../../linalg/eigen.js';
import {activationDerivative64} from '../../../model/activations.js';
import {checkDenseNet, forwardPre, type DenseNet} from '../../../model/dense-net.js';
import type {Matrix} from '../../../types.js';
import {UserError} from '../../../util/errors.js';
import {GramWorkspace, fullFromLower, gramCols, gramRows, lowerCopy, matmulSquare, softmaxJacobian} from './gram.js';
import {layerJacobians} from './jacobian.js';
import {checkLocalRankOptions, countInto, layerSummary, type Counter, type LayerLocalRank, type LocalRankOptions, type LocalRankResult} from './types.js';

/**
 * Local rank (docs/metrics.md, geom.local_rank, Patel & Shwartz-Ziv 2024) of an MLP from its weights: for every evaluation
 * point x and layer l, the Jacobian of the pre-activation (or, with `post`, the post-activation)
 * with respect to the input, J_l(x) = d z_l / d x (d_l x d_0), and the number of its singular
 * values above a tolerance.
 *
 * Layout: tdlab stores W as fan_in x fan_out (z = x W + b), so with D_k = diag(phi'(z_k(x))):
 *   J_1 = W_1^T,  J_l = W_l^T D_{l-1} J_{l-1},  J^post_l = D_l J_l.
 *
 * Singular values are square roots of the eigenvalues of a Gram matrix, in float64. Two exact
 * paths give the same spectrum:
 *  - `gram` (default when every layer is at most as wide as the input): the output-side Gram
 *    G_l = J_l J_l^T (d_l x d_l) is propagated without ever forming J:
 *      G_1 = W_1^T W_1 (once, it does not depend on x),  G_l = W_l^T D G_{l-1} D W_l,
 *    restricted to the units with phi' != 0 (about half of a ReLU layer): only
 *    H = (D G D)[a, a] (a x a) is carried, and the nonzero spectrum of G_l = W_a^T H W_a comes
 *    from the a x a matrix L^T H L with W_a = L Q (Householder LQ) when a < d_l. That is
 *    O(a^2 d_l) per layer and point instead of O(d_l^2 d_0) for J and again for J J^T;
 *  - `explicit`: J_l is built row-blocked (each row of J_l is a combination of rows of
 *    D J_{l-1}), then the Gram of its smaller side (J J^T or J^T J) is formed.
 * Both feed an eigenvalue-only symmetric solver (Householder tridiagonalisation of the lower
 * triangle + implicit QL), about 4/3 n^3 flops.
 *
 * Precision: eigenvalues of a float64 Gram are accurate to ~n eps lambda_max, so singular values
 * are resolved down to ~sqrt(n eps) s_max (~2e-7 s_max for n = 200): exact for the absolute
 * tolerance 0.01 and for relative tolerances >= ~1e-6. The "numerical rank" is therefore the
 * NumPy `matrix_rank` rule applied to the Gram (lambda > lambda_max * max(d_l, d_0) * eps), which
 * equals rank(J) in exact arithmetic; the literal rule on s (s > s_max max(d) eps) would count
 * Gram round-off as rank and needs a full SVD of J (see `layerJacobians` + an SVD if required).
 */

/** Float64 copies of the weights (float32 checkpoints are converted exactly once). */
function f64(a: Float32Array | Float64Array): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

/**
 * Local rank of every layer (or `opts.layer`) at the first `opts.points` rows of X (N x d_0).
 * Pure; float64 throughout.
 */
export function localRank(net: DenseNet, X: Matrix, opts: LocalRankOptions): LocalRankResult {
  checkDenseNet(net);
  const L = net.layers.length;
  const d0 = net.layers[0].rows;
  if (X.cols !== d0) throw new UserError(`local rank: inputs have ${X.cols} columns but the first layer has fan_in ${d0}`);
  checkLocalRankOptions(opts, L);
  const M = Math.min(opts.points, X.rows);
  const upto = opts.layer ?? L;
  const wanted = (l: number) => opts.layer === undefined || opts.layer === l + 1;
  const widest = Math.max(...net.layers.slice(0, upto).map((l) => l.cols));
  const method = opts.method === undefined || opts.method === 'auto' ? (widest <= d0 ? 'gram' : 'explicit') : opts.method;
  const Ws = net.layers.map((l) => f64(l.W));
  const layers: Counter[] = net.layers.slice(0, upto).map(() => ({
    ranks: new Int32Array(M),
    numericalRanks: new Int32Array(M),
    sMax: new Float64Array(M),
    sv: opts.keepSingularValues ? new Array<Float64Array>(M) : undefined,
  }));
  const maxRank: number[] = [];
  let bound = d0;
  for (let l = 0; l < upto; l++) maxRank.push((bound = Math.min(bound, net.layers[l].cols)));

  const x = new Float64Array(d0);
  if (method === 'gram') {
    // G_1 = J_1 J_1^T = W_1^T W_1 (lower triangle), the same for every point
    const d1 = net.layers[0].cols;
    const G1 = new Float64Array(d1 * d1);
    gramCols(Ws[0], d0, d1, G1);
    const maxW = widest; // H, W_a and the Gram blocks are at most (widest hidden layer)^2
    const ws = new GramWorkspace(maxW);
    let lam1: Float64Array | undefined; // pre-activation spectrum of layer 1 (x-independent)
    const dvec = new Float64Array(maxW);
    // H = D_a G_{l-1}[a, a] D_a over the active units a of the previous layer (full symmetric na x na)
    let H = new Float64Array(maxW * maxW);
    let Hnext = new Float64Array(maxW * maxW);
    let act = new Int32Array(maxW);
    let actNext = new Int32Array(maxW);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < d0; k++) x[k] = X.data[m * d0 + k];
      const zs = forwardPre(net, x, upto);
      let na = 0;
      for (let l = 0; l < upto; l++) {
        const {cols: dl, activation} = net.layers[l];
        const maxDim = Math.max(dl, d0);
        const want = wanted(l);
        const last = l + 1 === upto;
        // --- pre-activation spectrum of G_l
        if (want && !opts.post) {
          if (l === 0) {
            if (!lam1) lam1 = eigvalsh(G1, d1);
            countInto(layers[l], m, lam1, opts, maxDim);
          } else countInto(layers[l], m, ws.preSpectrum(H, na, act, Ws[l], dl), opts, maxDim);
        }
        if (last && !(want && opts.post)) break;
        // --- post-activation spectrum / next H
        if (activation === 'softmax') {
          // last layer only (checkDenseNet): S G S with S = diag(p) - p p^T
          const G = l === 0 ? fullFromLower(G1, dl) : ws.fullGram(H, na, act, Ws[l], dl);
          const S = softmaxJacobian(zs[l]);
          countInto(layers[l], m, eigvalsh(matmulSquare(matmulSquare(S, G, dl), S, dl), dl, {overwrite: true}), opts, maxDim);
          break;
        }
        activationDerivative64(activation, zs[l], dvec.subarray(0, dl));
        let nb = 0;
        for (let i = 0; i < dl; i++) if (dvec[i] !== 0) actNext[nb++] = i;
        if (l === 0) {
          for (let i = 0; i < nb; i++) {
            const bi = actNext[i];
            for (let k = 0; k <= i; k++) Hnext[i * nb + k] = Hnext[k * nb + i] = dvec[bi] * G1[bi * d1 + actNext[k]] * dvec[actNext[k]];
          }
        } else ws.nextH(H, na, act, Ws[l], dl, actNext, nb, dvec, Hnext);
        if (want && opts.post) {
          const lam = new Float64Array(dl);
          if (nb > 0) lam.set(eigvalsh(lowerCopy(Hnext, nb, ws.buf), nb, {overwrite: true}));
          countInto(layers[l], m, lam, opts, maxDim);
        }
        [H, Hnext] = [Hnext, H];
        [act, actNext] = [actNext, act];
        na = nb;
      }
    }
  } else {
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < d0; k++) x[k] = X.data[m * d0 + k];
      const Js = layerJacobians(net, x, opts.post, upto);
      for (let l = 0; l < upto; l++) {
        if (!wanted(l)) continue;
        const dl = net.layers[l].cols;
        const useRows = opts.side === 'output' || ((opts.side ?? 'auto') === 'auto' && dl <= d0);
        const k = useRows ? dl : d0;
        const G = new Float64Array(k * k);
        if (useRows) gramRows(Js[l], dl, d0, G);
        else gramCols(Js[l], dl, d0, G);
        countInto(layers[l], m, eigvalsh(G, k, {overwrite: true}), opts, Math.max(dl, d0));
      }
    }
  }
  const out: LayerLocalRank[] = [];
  layers.forEach((c, l) => {
    if (wanted(l)) out.push(layerSummary(c, l + 1, net.layers[l].cols, maxRank[l]));
  });
  return {layers: out, points: M, inputDim: d0, method};
}

