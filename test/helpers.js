// Shared helpers for the end-to-end CLI tests. Nothing here imports from src/ or dist/: the
// tests drive the built CLI (`node bin/run.js ...`) as a child process and read its files with
// independent code (apache-arrow's reader, nodejs-polars' native reader, a hand-written CSV
// parser and a deliberately naive binning-MI implementation).
import {spawn} from 'node:child_process';
import {mkdtempSync, readdirSync, readFileSync, existsSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {tableFromIPC} from 'apache-arrow';
import pl from 'nodejs-polars';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'run.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const fixture = (name) => join(FIXTURES, name);

/** A fresh temporary directory (under the OS temp dir). */
export function tempDir(prefix = 'tdlab-test-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts `node bin/run.js ...args` with piped stdio (so stderr is not a TTY). Returns the child
 * and a promise of {code, signal, stdout, stderr, ms}.
 */
export function startCli(args, {cwd = ROOT, env = {}} = {}) {
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, ...args], {cwd, env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env}, stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr, ms: Date.now() - t0, args}));
  });
  return {child, done};
}

/** Runs the CLI to completion. */
export function runCli(args, opts) {
  return startCli(args, opts).done;
}

/** Runs many CLI invocations with at most `limit` at a time (2 cores here); results in order. */
export async function runAll(argLists, limit = 2) {
  const results = new Array(argLists.length);
  let next = 0;
  const worker = async () => {
    while (next < argLists.length) {
      const i = next++;
      results[i] = await runCli(argLists[i]);
    }
  };
  await Promise.all(Array.from({length: Math.min(limit, argLists.length)}, worker));
  return results;
}

/** Non-empty lines of a text. */
export function lines(text) {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}

/** Every file under `dir`, relative paths with '/' separators (sorted). */
export function listFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  const walk = (d, rel) => {
    for (const e of readdirSync(d, {withFileTypes: true})) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out.sort();
}

/** Everything (files and directories) directly or indirectly under `dir`. */
export function listEntries(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, {recursive: true}).map(String).sort();
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function mtime(path) {
  return statSync(path).mtimeMs;
}

/** Epoch numbers of `epoch_NNNNNN.arrow` files in a directory (sorted), and any other names. */
export function epochFiles(dir) {
  const names = readdirSync(dir).sort();
  const epochs = [];
  const others = [];
  for (const n of names) {
    const m = /^epoch_(\d{6})\.arrow$/.exec(n);
    if (m) epochs.push(Number(m[1]));
    else others.push(n);
  }
  return {epochs: epochs.sort((a, b) => a - b), others, names};
}

// ------------------------------------------------------------------------------------------
// Arrow readers

/** An Arrow IPC file through apache-arrow. */
export function arrowTable(path) {
  return tableFromIPC(readFileSync(path));
}

/** A FixedSizeList<Float32> column through apache-arrow, as one flat row-major Float32Array. */
export function arrowTensor(table, name) {
  const col = table.getChild(name);
  if (!col) throw new Error(`no column ${name}`);
  const width = col.type.listSize;
  const out = new Float32Array(table.numRows * width);
  let i = 0;
  for (const row of col) {
    for (const v of row) out[i++] = v;
  }
  if (i !== out.length) throw new Error(`column ${name}: ${i} values, expected ${out.length}`);
  return {data: out, rows: table.numRows, cols: width};
}

/** A scalar column through apache-arrow as a plain array. */
export function arrowColumn(table, name) {
  const col = table.getChild(name);
  if (!col) throw new Error(`no column ${name}`);
  return Array.from(col, (v) => (typeof v === 'bigint' ? Number(v) : v));
}

/** An Arrow IPC file through nodejs-polars (its own native Rust reader). */
export function polarsFrame(path) {
  // pass a Buffer: a string would be parsed as data unless it ends in .ipc
  return pl.readIPC(readFileSync(path));
}

/** A FixedSizeList<Float32> column of a polars frame, flattened row-major; width from the dtype. */
export function polarsTensor(df, name) {
  const flat = df.select(pl.col(name).cast(pl.List(pl.Float32)).explode()).getColumn(name).toArray();
  const rows = df.height;
  if (flat.length % rows !== 0) throw new Error(`column ${name}: ${flat.length} values for ${rows} rows`);
  return {data: Float32Array.from(flat), values: flat, rows, cols: flat.length / rows};
}

export {pl};

// ------------------------------------------------------------------------------------------
// CSV (RFC 4180, written here rather than taken from the code under test)

export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  const [header, ...body] = rows;
  return body.map((r) => {
    if (r.length !== header.length) throw new Error(`CSV row has ${r.length} fields, header has ${header.length}: ${r.join(',')}`);
    return Object.fromEntries(header.map((h, j) => [h, r[j]]));
  });
}

/** `k=v;k=v` -> {k: v} (values kept as strings). */
export function parseParams(s) {
  if (!s) return {};
  return Object.fromEntries(s.split(';').map((kv) => {
    const eq = kv.indexOf('=');
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }));
}

// ------------------------------------------------------------------------------------------
// Naive binning mutual information (independent of src/metrics). Slow but obvious.

/** numpy linspace(lo, hi, n) (start + k * step, last = hi) cast to float32. */
export function linspaceF32(lo, hi, n) {
  const step = (hi - lo) / (n - 1);
  const e = [];
  for (let k = 0; k < n; k++) e.push(Math.fround(lo + k * step));
  e[n - 1] = Math.fround(hi);
  return e;
}

/** numpy.digitize(a, edges, right=False): the number of edges <= a (edges increasing). */
export function digitize(a, edges) {
  let k = 0;
  while (k < edges.length && edges[k] <= a) k++;
  return k;
}

/**
 * mi.bin state of one value: the left edge of its bin, edges[k - 1]. With the IDNNs quirk,
 * k = 0 (a < lo) indexes edges[-1], i.e. the same state as a >= hi.
 */
export function binState(a, edges, quirks = true) {
  const k = digitize(a, edges);
  if (k === 0) return quirks ? edges[edges.length - 1] : 'under';
  return edges[k - 1];
}

/** mi.binwidth state of one value: floor(a / b) in float32 arithmetic. */
export function widthState(a, binWidth) {
  return Math.floor(Math.fround(a / Math.fround(binWidth)));
}

/** Shannon entropy in bits of a Map of counts. */
export function entropyOfCounts(counts, n) {
  let h = 0;
  for (const c of counts.values()) {
    const p = c / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * I(X;T) and I(T;Y) in bits of a representation T (rows x cols, row-major) under a per-value
 * state function; rows of X are all distinct, so H(T|X) = 0 and I(X;T) = H(T).
 */
export function naiveMi(T, labels, state) {
  const {data, rows, cols} = T;
  const keys = new Array(rows);
  for (let i = 0; i < rows; i++) {
    const parts = [];
    for (let j = 0; j < cols; j++) parts.push(String(state(data[i * cols + j])));
    keys[i] = parts.join('|');
  }
  const countT = new Map();
  for (const k of keys) countT.set(k, (countT.get(k) ?? 0) + 1);
  const hT = entropyOfCounts(countT, rows);
  const byLabel = new Map();
  for (let i = 0; i < rows; i++) {
    if (!byLabel.has(labels[i])) byLabel.set(labels[i], []);
    byLabel.get(labels[i]).push(keys[i]);
  }
  let hTgivenY = 0;
  for (const ks of byLabel.values()) {
    const c = new Map();
    for (const k of ks) c.set(k, (c.get(k) ?? 0) + 1);
    hTgivenY += (ks.length / rows) * entropyOfCounts(c, ks.length);
  }
  return {I_XT: hT, I_TY: hT - hTgivenY};
}

/** Sleeps `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a seeded uniform stream in [0, 1), independent of src/util/prng. */
export function uniform(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** mulberry32 + Box-Muller: deterministic standard normals. */
export function gaussian(seed) {
  const u = uniform(seed);
  return () => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
}

/** Runs f with a module setting switched by `set(value)` (which returns the previous value), restoring it afterwards, e.g. withSetting(setNativeKernels, false, f). */
export function withSetting(set, value, f) {
  const was = set(value);
  try {
    return f();
  } finally {
    set(was);
  }
}
