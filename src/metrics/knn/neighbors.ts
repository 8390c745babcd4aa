/**
 * Exact k-nearest-neighbour search and strict range counts over the rows of a float64 matrix,
 * for the kNN estimators (docs/metrics.md, mi.ksg and ent.kl). Everything is "all points against all points": row i is
 * the query, and row i itself is never its own neighbour.
 *
 * Distances are returned in the metric's RAW scale:
 *   - `max`:      Chebyshev distance max_j |a_j - b_j|;
 *   - `sqeuclid`: SQUARED Euclidean distance; with `groupEnds` (contiguous column groups, e.g.
 *                 [dx, dx + dt]) the raw distance is the max over groups of the squared
 *                 Euclidean norm within each group (KSG's joint distance with Euclidean
 *                 marginals, squared).
 * Working with raw (squared) values keeps comparisons exact: a KSG radius taken from a joint
 * distance is compared with marginal distances computed by the same float operations in the
 * same order (columns ascending), so "strictly closer than eps" means exactly that.
 *
 * Two engines, chosen by measurement (bench/ksg.mjs, `auto`):
 *   - a k-d tree over typed arrays (median splits on the widest dimension, tight bounding
 *     boxes per node, leaf buckets, explicit stack, queries in tree order for locality);
 *     pruning bounds are computed with the same monotone float operations as point
 *     distances, so the search is exact, not approximate;
 *   - brute force (row against all rows with early exit), which wins at high dimension.
 */

export type MetricKind = 'max' | 'sqeuclid';

export interface Metric {
  kind: MetricKind;
  /** Only for `sqeuclid`: exclusive ends of contiguous column groups, last = d. Default one group. */
  groupEnds?: ArrayLike<number>;
}

export interface KnnResult {
  /** n x k raw distances (see module doc), ascending per row. */
  dist: Float64Array;
  /** n x k neighbour row indices matching `dist` (ties in arbitrary order). */
  idx: Int32Array;
  k: number;
}

export type Engine = 'auto' | 'tree' | 'brute';

/**
 * Largest dimension for which `auto` uses the k-d tree. Measured (`node bench/ksg.mjs --sweep`,
 * N = 5000, k = 5, correlated Gaussian, kNN + range counts): the tree beats brute force at every
 * d from 2 (15x) to 20 (2.8x); above 24 the tree is untested and brute force is used.
 */
export const TREE_MAX_DIM = 24;

function groupsOf(metric: Metric, d: number): Int32Array {
  if (metric.kind === 'max') return Int32Array.of(d);
  const g = metric.groupEnds ? Int32Array.from(metric.groupEnds) : Int32Array.of(d);
  if (g.length === 0 || g[g.length - 1] !== d) throw new Error(`groupEnds must end at d = ${d}`);
  for (let i = 0; i < g.length; i++) if (g[i] <= (i ? g[i - 1] : 0)) throw new Error('groupEnds must increase');
  return g;
}

/** Raw distance between row a of `x` (offset ao) and row b of `y` (offset bo); naive, full. */
export function rawDistance(x: Float64Array, ao: number, y: Float64Array, bo: number, d: number, metric: Metric): number {
  return dist(x, ao, y, bo, d, metric.kind === 'max', groupsOf(metric, d));
}

function dist(x: Float64Array, ao: number, y: Float64Array, bo: number, d: number, isMax: boolean, groups: Int32Array): number {
  if (isMax) {
    let m = 0;
    for (let j = 0; j < d; j++) {
      const t = Math.abs(x[ao + j] - y[bo + j]);
      if (t > m) m = t;
    }
    return m;
  }
  let best = 0;
  let j = 0;
  for (let g = 0; g < groups.length; g++) {
    let s = 0;
    const ge = groups[g];
    for (; j < ge; j++) {
      const t = x[ao + j] - y[bo + j];
      s += t * t;
    }
    if (s > best) best = s;
  }
  return best;
}

/** Converts raw distances to ordinary distances in place (sqrt for `sqeuclid`). */
export function rawToDistance(raw: Float64Array, metric: Metric): Float64Array {
  if (metric.kind === 'sqeuclid') for (let i = 0; i < raw.length; i++) raw[i] = Math.sqrt(raw[i]);
  return raw;
}

// ---------------------------------------------------------------------------------------------
// k-d tree

/** A static k-d tree over the rows of an n x d float64 matrix (data is copied into tree order). */
export class KdTree {
  readonly n: number;
  readonly d: number;
  /** Points in tree order, n x d. */
  readonly pts: Float64Array;
  /** Tree position -> original row index. */
  readonly perm: Int32Array;
  /** Per node: first and one-past-last tree position. */
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** Per node: index of the left child (right = left + 1), -1 for a leaf. */
  readonly left: Int32Array;
  /** Per node: tight bounding box, 2d values (lo_0..lo_{d-1}, hi_0..hi_{d-1}). */
  readonly bbox: Float64Array;
  readonly nodeCount: number;
  readonly depth: number;

  constructor(data: Float64Array, n: number, d: number, leafSize = 12) {
    if (data.length < n * d) throw new Error('KdTree: data shorter than n x d');
    this.n = n;
    this.d = d;
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const maxNodes = 2 * (Math.ceil((2 * n) / Math.max(1, leafSize)) + 2);
    const start = new Int32Array(maxNodes);
    const end = new Int32Array(maxNodes);
    const left = new Int32Array(maxNodes).fill(-1);
    const bbox = new Float64Array(maxNodes * 2 * d);
    const key = new Float64Array(n);
    const stack = new Int32Array(256);
    const depthOf = new Int32Array(maxNodes);
    let count = 1;
    let maxDepth = 0;
    start[0] = 0;
    end[0] = n;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      const s = start[node];
      const e = end[node];
      // bounding box
      const bo = node * 2 * d;
      for (let j = 0; j < d; j++) {
        bbox[bo + j] = Infinity;
        bbox[bo + d + j] = -Infinity;
      }
      for (let p = s; p < e; p++) {
        const o = perm[p] * d;
        for (let j = 0; j < d; j++) {
          const v = data[o + j];
          if (v < bbox[bo + j]) bbox[bo + j] = v;
          if (v > bbox[bo + d + j]) bbox[bo + d + j] = v;
        }
      }
      if (depthOf[node] > maxDepth) maxDepth = depthOf[node];
      if (e - s <= leafSize) continue;
      let dim = 0;
      let spread = -1;
      for (let j = 0; j < d; j++) {
        const w = bbox[bo + d + j] - bbox[bo + j];
        if (w > spread) {
          spread = w;
          dim = j;
        }
      }
      if (!(spread > 0)) continue; // all points identical (or NaN): keep as one leaf
      for (let p = s; p < e; p++) key[p] = data[perm[p] * d + dim];
      const mid = s + ((e - s) >> 1);
      select(key, perm, s, e - 1, mid);
      const l = count;
      count += 2;
      left[node] = l;
      start[l] = s;
      end[l] = mid;
      start[l + 1] = mid;
      end[l + 1] = e;
      depthOf[l] = depthOf[l + 1] = depthOf[node] + 1;
      if (sp + 2 > stack.length) throw new Error('KdTree: build stack overflow');
      stack[sp++] = l + 1;
      stack[sp++] = l;
    }
    const pts = new Float64Array(n * d);
    for (let p = 0; p < n; p++) {
      const o = perm[p] * d;
      for (let j = 0; j < d; j++) pts[p * d + j] = data[o + j];
    }
    this.pts = pts;
    this.perm = perm;
    this.start = start;
    this.end = end;
    this.left = left;
    this.bbox = bbox;
    this.nodeCount = count;
    this.depth = maxDepth;
  }

  /** k nearest neighbours of every row (itself excluded), raw distances ascending. */
  knnAll(k: number, metric: Metric): KnnResult {
    const {n, d} = this;
    if (!(k >= 1) || k > n - 1) throw new Error(`k must be in [1, n - 1] (k = ${k}, n = ${n})`);
    const dist = new Float64Array(n * k);
    const idx = new Int32Array(n * k);
    const bd = new Float64Array(k);
    const bi = new Int32Array(k);
    const stack = new Int32Array(4 * (this.depth + 2));
    const lbs = new Float64Array(4 * (this.depth + 2));
    const groups = groupsOf(metric, d);
    const isMax = metric.kind === 'max';
    const single = groups.length === 1;
    for (let q = 0; q < n; q++) {
      if (isMax) this.knnMaxOne(q, k, bd, bi, stack, lbs);
      else if (single) this.knnEuclidOne(q, k, bd, bi, stack, lbs);
      else this.knnGroupedOne(q, k, groups, bd, bi, stack, lbs);
      const o = this.perm[q] * k;
      for (let t = 0; t < k; t++) {
        dist[o + t] = bd[t];
        idx[o + t] = this.perm[bi[t]];
      }
    }
    return {dist, idx, k};
  }

  private knnMaxOne(q: number, k: number, bd: Float64Array, bi: Int32Array, stack: Int32Array, lbs: Float64Array): void {
    const {d, pts, bbox, start, end, left} = this;
    const qo = q * d;
    bd.fill(Infinity);
    bi.fill(-1);
    let kth = Infinity;
    let sp = 0;
    stack[sp] = 0;
    lbs[sp++] = 0;
    while (sp > 0) {
      sp--;
      if (lbs[sp] >= kth) continue;
      const node = stack[sp];
      const l = left[node];
      if (l < 0) {
        const e = end[node];
        for (let p = start[node]; p < e; p++) {
          if (p === q) continue;
          const po = p * d;
          let m = 0;
          for (let j = 0; j < d; j++) {
            const t = Math.abs(pts[po + j] - pts[qo + j]);
            if (t > m) {
              m = t;
              if (m >= kth) break;
            }
          }
          if (m < kth) {
            let s = k - 1;
            while (s > 0 && bd[s - 1] > m) {
              bd[s] = bd[s - 1];
              bi[s] = bi[s - 1];
              s--;
            }
            bd[s] = m;
            bi[s] = p;
            kth = bd[k - 1];
          }
        }
        continue;
      }
      // lower bounds of both children
      const ao = l * 2 * d;
      const bo = ao + 2 * d;
      let la = 0;
      let lb = 0;
      for (let j = 0; j < d; j++) {
        const v = pts[qo + j];
        let g = bbox[ao + j] - v;
        let h = v - bbox[ao + d + j];
        if (h > g) g = h;
        if (g > la) la = g;
        g = bbox[bo + j] - v;
        h = v - bbox[bo + d + j];
        if (h > g) g = h;
        if (g > lb) lb = g;
      }
      // push the farther child first so the nearer one is searched first
      if (la <= lb) {
        if (lb < kth) {
          stack[sp] = l + 1;
          lbs[sp++] = lb;
        }
        if (la < kth) {
          stack[sp] = l;
          lbs[sp++] = la;
        }
      } else {
        if (la < kth) {
          stack[sp] = l;
          lbs[sp++] = la;
        }
        if (lb < kth) {
          stack[sp] = l + 1;
          lbs[sp++] = lb;
        }
      }
    }
  }

  private knnEuclidOne(q: number, k: number, bd: Float64Array, bi: Int32Array, stack: Int32Array, lbs: Float64Array): void {
    const {d, pts, bbox, start, end, left} = this;
    const qo = q * d;
    bd.fill(Infinity);
    bi.fill(-1);
    let kth = Infinity;
    let sp = 0;
    stack[sp] = 0;
    lbs[sp++] = 0;
    while (sp > 0) {
      sp--;
      if (lbs[sp] >= kth) continue;
      const node = stack[sp];
      const l = left[node];
      if (l < 0) {
        const e = end[node];
        for (let p = start[node]; p < e; p++) {
          if (p === q) continue;
          const po = p * d;
          let s2 = 0;
          for (let j = 0; j < d; j++) {
            const t = pts[po + j] - pts[qo + j];
            s2 += t * t;
            if (s2 >= kth) break;
          }
          if (s2 < kth) {
            let s = k - 1;
            while (s > 0 && bd[s - 1] > s2) {
              bd[s] = bd[s - 1];
              bi[s] = bi[s - 1];
              s--;
            }
            bd[s] = s2;
            bi[s] = p;
            kth = bd[k - 1];
          }
        }
        continue;
      }
      const ao = l * 2 * d;
      const bo = ao + 2 * d;
      let la = 0;
      let lb = 0;
      for (let j = 0; j < d; j++) {
        const v = pts[qo + j];
        let g = bbox[ao + j] - v;
        let h = v - bbox[ao + d + j];
        if (h > g) g = h;
        if (g > 0) la += g * g;
        g = bbox[bo + j] - v;
        h = v - bbox[bo + d + j];
        if (h > g) g = h;
        if (g > 0) lb += g * g;
      }
      if (la <= lb) {
        if (lb < kth) {
          stack[sp] = l + 1;
          lbs[sp++] = lb;
        }
        if (la < kth) {
          stack[sp] = l;
          lbs[sp++] = la;
        }
      } else {
        if (la < kth) {
          stack[sp] = l;
          lbs[sp++] = la;
        }
        if (lb < kth) {
          stack[sp] = l + 1;
          lbs[sp++] = lb;
        }
      }
    }
  }

  private knnGroupedOne(q: number, k: number, groups: Int32Array, bd: Float64Array, bi: Int32Array, stack: Int32Array, lbs: Float64Array): void {
    const {d, pts, bbox, start, end, left} = this;
    const qo = q * d;
    const G = groups.length;
    bd.fill(Infinity);
    bi.fill(-1);
    let kth = Infinity;
    let sp = 0;
    stack[sp] = 0;
    lbs[sp++] = 0;
    while (sp > 0) {
      sp--;
      if (lbs[sp] >= kth) continue;
      const node = stack[sp];
      const l = left[node];
      if (l < 0) {
        const e = end[node];
        for (let p = start[node]; p < e; p++) {
          if (p === q) continue;
          const po = p * d;
          let best = 0;
          let j = 0;
          for (let g = 0; g < G && best < kth; g++) {
            let s2 = 0;
            const ge = groups[g];
            for (; j < ge; j++) {
              const t = pts[po + j] - pts[qo + j];
              s2 += t * t;
            }
            if (s2 > best) best = s2;
          }
          if (best < kth) {
            let s = k - 1;
            while (s > 0 && bd[s - 1] > best) {
              bd[s] = bd[s - 1];
              bi[s] = bi[s - 1];
              s--;
            }
            bd[s] = best;
            bi[s] = p;
            kth = bd[k - 1];
          }
        }
        continue;
      }
      const la = boxMinGrouped(bbox, l * 2 * d, pts, qo, d, groups);
      const lb = boxMinGrouped(bbox, (l + 1) * 2 * d, pts, qo, d, groups);
      if (la <= lb) {
        if (lb < kth) {
          stack[sp] = l + 1;
          lbs[sp++] = lb;
        }
        if (la < kth) {
          stack[sp] = l;
          lbs[sp++] = la;
        }
      } else {
        if (la < kth) {
          stack[sp] = l;
          lbs[sp++] = la;
        }
        if (lb < kth) {
          stack[sp] = l + 1;
          lbs[sp++] = lb;
        }
      }
    }
  }

  /**
   * For every row i: the number of rows j != i with raw distance strictly below radii[i]
   * (radii indexed by original row). Whole nodes inside the radius are added without scanning.
   */
  countWithinAll(radii: Float64Array, metric: Metric): Int32Array {
    const {n, d, pts, bbox, start, end, left, perm} = this;
    if (radii.length !== n) throw new Error('countWithinAll: radii length must be n');
    const groups = groupsOf(metric, d);
    const isMax = metric.kind === 'max';
    const out = new Int32Array(n);
    const stack = new Int32Array(4 * (this.depth + 2));
    for (let q = 0; q < n; q++) {
      const r = radii[perm[q]];
      const qo = q * d;
      let c = 0;
      let sp = 0;
      stack[sp++] = 0;
      while (sp > 0) {
        const node = stack[--sp];
        const bo = node * 2 * d;
        let lo: number;
        let hi: number;
        if (isMax) {
          lo = 0;
          hi = 0;
          for (let j = 0; j < d; j++) {
            const v = pts[qo + j];
            const a = bbox[bo + j] - v;
            const b = v - bbox[bo + d + j];
            const g = a > b ? a : b;
            if (g > lo) lo = g;
            const f = a > b ? -b : -a; // max(v - lo_j, hi_j - v) = -min(a, b)
            if (f > hi) hi = f;
          }
        } else {
          lo = boxMinGrouped(bbox, bo, pts, qo, d, groups);
          hi = boxMaxGrouped(bbox, bo, pts, qo, d, groups);
        }
        if (lo >= r) continue;
        if (hi < r) {
          c += end[node] - start[node];
          continue;
        }
        const l = left[node];
        if (l >= 0) {
          stack[sp++] = l;
          stack[sp++] = l + 1;
          continue;
        }
        const e = end[node];
        if (isMax) {
          for (let p = start[node]; p < e; p++) {
            const po = p * d;
            let inside = 1;
            for (let j = 0; j < d; j++) {
              if (!(Math.abs(pts[po + j] - pts[qo + j]) < r)) {
                inside = 0;
                break;
              }
            }
            c += inside;
          }
        } else {
          for (let p = start[node]; p < e; p++) if (dist(pts, p * d, pts, qo, d, false, groups) < r) c++;
        }
      }
      // row q itself (distance 0) was counted when 0 < r
      out[perm[q]] = r > 0 ? c - 1 : c;
    }
    return out;
  }
}

function boxMinGrouped(bbox: Float64Array, bo: number, pts: Float64Array, qo: number, d: number, groups: Int32Array): number {
  let best = 0;
  let j = 0;
  for (let g = 0; g < groups.length; g++) {
    let s = 0;
    const ge = groups[g];
    for (; j < ge; j++) {
      const v = pts[qo + j];
      let a = bbox[bo + j] - v;
      const b = v - bbox[bo + d + j];
      if (b > a) a = b;
      if (a > 0) s += a * a;
    }
    if (s > best) best = s;
  }
  return best;
}

function boxMaxGrouped(bbox: Float64Array, bo: number, pts: Float64Array, qo: number, d: number, groups: Int32Array): number {
  let best = 0;
  let j = 0;
  for (let g = 0; g < groups.length; g++) {
    let s = 0;
    const ge = groups[g];
    for (; j < ge; j++) {
      const v = pts[qo + j];
      const a = v - bbox[bo + j];
      const b = bbox[bo + d + j] - v;
      const f = a > b ? a : b;
      s += f * f;
    }
    if (s > best) best = s;
  }
  return best;
}

/** Quickselect on key[lo..hi] (inclusive), permuting `perm` alongside: key[m] gets rank m. */
function select(key: Float64Array, perm: Int32Array, lo: number, hi: number, m: number): void {
  while (hi > lo) {
    // median of three as pivot
    const mid = lo + ((hi - lo) >> 1);
    const a = key[lo];
    const b = key[mid];
    const c = key[hi];
    const pivot = a < b ? (b < c ? b : a < c ? c : a) : a < c ? a : b < c ? c : b;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key[i] < pivot) i++;
      while (key[j] > pivot) j--;
      if (i <= j) {
        const t = key[i];
        key[i] = key[j];
        key[j] = t;
        const u = perm[i];
        perm[i] = perm[j];
        perm[j] = u;
        i++;
        j--;
      }
    }
    if (m <= j) hi = j;
    else if (m >= i) lo = i;
    else return;
  }
}

// ---------------------------------------------------------------------------------------------
// brute force

/** Brute-force k nearest neighbours of every row (itself excluded), raw distances ascending. */
export function bruteKnnAll(data: Float64Array, n: number, d: number, k: number, metric: Metric): KnnResult {
  if (!(k >= 1) || k > n - 1) throw new Error(`k must be in [1, n - 1] (k = ${k}, n = ${n})`);
  const groups = groupsOf(metric, d);
  const isMax = metric.kind === 'max';
  const dist = new Float64Array(n * k);
  const idx = new Int32Array(n * k);
  for (let q = 0; q < n; q++) {
    const qo = q * d;
    const oo = q * k;
    for (let t = 0; t < k; t++) {
      dist[oo + t] = Infinity;
      idx[oo + t] = -1;
    }
    let kth = Infinity;
    for (let p = 0; p < n; p++) {
      if (p === q) continue;
      const po = p * d;
      let v: number;
      if (isMax) {
        v = 0;
        for (let j = 0; j < d; j++) {
          const t = Math.abs(data[po + j] - data[qo + j]);
          if (t > v) {
            v = t;
            if (v >= kth) break;
          }
        }
      } else {
        v = 0;
        let j = 0;
        for (let g = 0; g < groups.length && v < kth; g++) {
          let s2 = 0;
          const ge = groups[g];
          for (; j < ge; j++) {
            const t = data[po + j] - data[qo + j];
            s2 += t * t;
          }
          if (s2 > v) v = s2;
        }
      }
      if (v < kth) {
        let s = k - 1;
        while (s > 0 && dist[oo + s - 1] > v) {
          dist[oo + s] = dist[oo + s - 1];
          idx[oo + s] = idx[oo + s - 1];
          s--;
        }
        dist[oo + s] = v;
        idx[oo + s] = p;
        kth = dist[oo + k - 1];
      }
    }
  }
  return {dist, idx, k};
}

/** Brute-force strict range counts (j != i, raw distance < radii[i]). */
export function bruteCountWithinAll(data: Float64Array, n: number, d: number, radii: Float64Array, metric: Metric): Int32Array {
  const out = new Int32Array(n);
  const groups = groupsOf(metric, d);
  const isMax = metric.kind === 'max';
  for (let q = 0; q < n; q++) {
    const r = radii[q];
    let c = 0;
    for (let p = 0; p < n; p++) if (p !== q && dist(data, p * d, data, q * d, d, isMax, groups) < r) c++;
    out[q] = c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// entry points

function useTree(engine: Engine, d: number, n: number): boolean {
  if (engine === 'tree') return true;
  if (engine === 'brute') return false;
  return d <= TREE_MAX_DIM && n > 64;
}

/** k nearest neighbours of every row of an n x d float64 matrix (row itself excluded). */
export function knnAll(data: Float64Array, n: number, d: number, k: number, metric: Metric, engine: Engine = 'auto'): KnnResult {
  return useTree(engine, d, n) ? new KdTree(data, n, d).knnAll(k, metric) : bruteKnnAll(data, n, d, k, metric);
}

/** Strict range counts for every row: #{j != i : raw distance(i, j) < radii[i]}. */
export function countWithinAll(data: Float64Array, n: number, d: number, radii: Float64Array, metric: Metric, engine: Engine = 'auto'): Int32Array {
  return useTree(engine, d, n) ? new KdTree(data, n, d).countWithinAll(radii, metric) : bruteCountWithinAll(data, n, d, radii, metric);
}
