import {readFileSync} from 'node:fs';
import {extname} from 'node:path';
import {FixedSizeList, type Table} from 'apache-arrow';
import {parse as parseCsvText} from 'csv-parse/sync';
import type {Matrix} from '../types.js';
import {UserError} from '../util/errors.js';
import {numberColumn, readArrowFile, tensorColumn} from './arrow.js';
import {parseNpy, readNpz, type NpyArray} from './npy.js';

/**
 * Readers for activations, inputs and labels that tdlab did not produce: `.npy` (C or Fortran
 * order), `.npz` (one array, or the one `column` names), `.arrow` (a FixedSizeList column or
 * numeric columns) and `.csv` (see `parseNumericCsv` for the rules). Values are read as they are;
 * non-finite values are left to the estimator boundary, which names the first one.
 */

function readBytes(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(code === 'EISDIR' ? `${file}: is a directory, not a file` : code === 'EACCES' ? `${file}: not readable (permission denied)` : `${file}: file not found`);
  }
}

type Kind = 'npy' | 'npz' | 'arrow' | 'csv';

function kindOf(file: string): Kind {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return 'npy';
  if (ext === '.npz') return 'npz';
  if (ext === '.arrow' || ext === '.ipc' || ext === '.feather') return 'arrow';
  if (ext === '.csv') return 'csv';
  throw new UserError(`${file}: unsupported file type '${ext}' (use .npy, .npz, .arrow or .csv)`);
}

/** The file extensions the readers take. */
export const MATRIX_EXTENSIONS = ['.npy', '.npz', '.arrow', '.ipc', '.feather', '.csv'];

export interface NumericCsv {
  header: string[] | null;
  /** Row-major values, rows x cols. */
  data: Float64Array;
  rows: number;
  cols: number;
}

const NON_FINITE: Record<string, number> = {nan: NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity};

/** A cell as a number: decimal/scientific notation, or nan/inf (any case); undefined otherwise. */
function cellNumber(cell: string): number | undefined {
  const t = cell.trim();
  if (t === '') return undefined;
  const special = NON_FINITE[t.toLowerCase()];
  if (special !== undefined) return special;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/**
 * A numeric CSV, parsed by csv-parse (RFC 4180: quoted cells may hold commas, quotes and line
 * breaks). The rules:
 * - blank lines and lines starting with `#` (NumPy's `savetxt` header) are skipped;
 * - header: the first record is a header when none of its cells is a number, and data when all
 *   of them are; a first record mixing names and numbers is an error (which one is meant?);
 * - every record has as many cells as the first, and every cell is a number (decimal or
 *   scientific; nan and inf are read as such); an empty cell is an error naming line and column.
 */
export function parseNumericCsv(text: string, file: string): NumericCsv {
  let records: Array<{record: string[]; info: {lines: number}}>;
  try {
    records = parseCsvText(text, {comment: '#', comment_no_infix: true, skip_empty_lines: true, info: true, bom: true, trim: true}) as never;
  } catch (err) {
    const e = err as {message?: string; lines?: number};
    throw new UserError(`${file}${e.lines ? `:${e.lines}` : ''}: not a readable CSV (${String(e.message).split('\n')[0]})`);
  }
  if (records.length === 0) throw new UserError(`${file}: empty CSV (no rows)`);
  const first = records[0].record;
  const numeric = first.map((c) => cellNumber(c) !== undefined);
  let header: string[] | null = null;
  if (numeric.every((x) => !x)) {
    header = first.map((c) => c.trim());
    const empty = header.findIndex((h) => h === '');
    if (empty >= 0) throw new UserError(`${file}:${records[0].info.lines}: header column ${empty + 1} has no name (give every column a name, or write no header)`);
    const dup = header.findIndex((h, i) => header!.indexOf(h) !== i);
    if (dup >= 0) throw new UserError(`${file}:${records[0].info.lines}: header name '${header[dup]}' appears twice (columns ${header.indexOf(header[dup]) + 1} and ${dup + 1})`);
  } else if (!numeric.every((x) => x)) {
    const j = numeric.findIndex((x) => !x);
    throw new UserError(`${file}:${records[0].info.lines}: the first row mixes numbers and names (column ${j + 1}: '${first[j]}'); a header row must hold only names, a data row only numbers`);
  }
  const body = header ? records.slice(1) : records;
  const cols = first.length;
  const data = new Float64Array(body.length * cols);
  body.forEach(({record, info}, i) => {
    for (let j = 0; j < cols; j++) {
      const cell = record[j];
      const where = `${file}:${info.lines}: row ${i + 1}, column ${j + 1}${header ? ` ('${header[j]}')` : ''}`;
      if (cell.trim() === '') throw new UserError(`${where}: empty cell (every cell must hold a number)`);
      const v = cellNumber(cell);
      if (v === undefined) throw new UserError(`${where}: '${cell}' is not a number`);
      data[i * cols + j] = v;
    }
  });
  return {header, data, rows: body.length, cols};
}

/** Rows x (everything else) of an array: float32 and float64 kept, integers as float64. */
function npyMatrix(a: NpyArray, file: string): Matrix {
  if (a.shape.length === 0) throw new UserError(`${file}: expected an array of rows, got a scalar`);
  // rows x (everything else): conv activations (N, C, H, W) are flattened per row
  const rows = a.shape[0];
  const cols = a.shape.slice(1).reduce((x, y) => x * y, 1);
  const data = a.data instanceof Float32Array || a.data instanceof Float64Array ? a.data : Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
  return {data, rows, cols};
}

function toFloat32(m: Matrix): Matrix<Float32Array> {
  return m.data instanceof Float32Array ? (m as Matrix<Float32Array>) : {data: Float32Array.from(m.data), rows: m.rows, cols: m.cols};
}

/** The array of an .npz that `column` names, or its only array. */
async function npzArray(file: string, column?: string): Promise<NpyArray> {
  const arrays = await readNpz(readBytes(file), file);
  const names = [...arrays.keys()];
  if (column !== undefined) {
    const a = arrays.get(column);
    if (!a) throw new UserError(`${file}: no array '${column}' (arrays: ${names.join(', ') || 'none'})`);
    return a;
  }
  if (names.length !== 1) throw new UserError(`${file}: ${names.length} arrays (${names.join(', ') || 'none'}); pick one with --column`);
  return arrays.get(names[0])!;
}

/** An N x d float32 matrix. `column` picks an Arrow/CSV column (FixedSizeList in Arrow) or an .npz array; `exclude` drops label columns. */
export async function readMatrix(file: string, opts: {column?: string; exclude?: string[]} = {}): Promise<Matrix<Float32Array>> {
  return toFloat32(await readMatrixExact(file, opts));
}

/**
 * As `readMatrix`, but values stay float64 where the file holds more than float32: `.npy`/`.npz`
 * arrays of float64 or integers, and `.csv` (parsed as float64). Float32 sources and Arrow columns
 * stay float32. For metrics whose checks are exact (CKA, curvature, neural collapse in `tdlab measure`).
 */
export async function readMatrixExact(file: string, opts: {column?: string; exclude?: string[]} = {}): Promise<Matrix> {
  const kind = kindOf(file);
  if (kind === 'npy') return npyMatrix(parseNpy(readBytes(file), file), file);
  if (kind === 'npz') return npyMatrix(await npzArray(file, opts.column), file);
  if (kind === 'arrow') return arrowMatrix(readArrowFile(file), file, opts);
  const csv = parseNumericCsv(readBytes(file).toString('utf8'), file);
  let idx = Array.from({length: csv.cols}, (_, j) => j);
  if (opts.column) {
    const j = csv.header?.indexOf(opts.column) ?? -1;
    if (j < 0) throw new UserError(`${file}: no column '${opts.column}' (columns: ${csv.header?.join(', ') ?? 'no header row'})`);
    idx = [j];
  } else if (csv.header && opts.exclude) {
    idx = idx.filter((j) => !opts.exclude!.includes(csv.header![j]));
  }
  const data = new Float64Array(csv.rows * idx.length);
  for (let i = 0; i < csv.rows; i++) idx.forEach((j, k) => (data[i * idx.length + k] = csv.data[i * csv.cols + j]));
  return {data, rows: csv.rows, cols: idx.length};
}

function arrowMatrix(t: Table, file: string, opts: {column?: string; exclude?: string[]}): Matrix<Float32Array> {
  const fields = t.schema.fields;
  if (opts.column) {
    const f = fields.find((x) => x.name === opts.column);
    if (!f) throw new UserError(`${file}: no column '${opts.column}' (columns: ${fields.map((x) => x.name).join(', ')})`);
    if (f.type instanceof FixedSizeList) return tensorColumn(t, f.name);
    return {data: Float32Array.from(numberColumn(t, f.name)), rows: t.numRows, cols: 1};
  }
  const fsl = fields.filter((x) => x.type instanceof FixedSizeList);
  if (fsl.length === 1) return tensorColumn(t, fsl[0].name);
  if (fsl.length > 1) throw new UserError(`${file}: several tensor columns (${fsl.map((x) => x.name).join(', ')}); pick one with --column`);
  const skip = new Set([...(opts.exclude ?? []), 'sample', 'split']);
  const numeric = fields.filter((x) => !skip.has(x.name) && /^(Float|Int|Uint)/.test(String(x.type)));
  if (numeric.length === 0) throw new UserError(`${file}: no numeric columns`);
  const cols = numeric.map((f) => numberColumn(t, f.name));
  const data = new Float32Array(t.numRows * cols.length);
  for (let i = 0; i < t.numRows; i++) for (let j = 0; j < cols.length; j++) data[i * cols.length + j] = cols[j][i];
  return {data, rows: t.numRows, cols: cols.length};
}

/**
 * Class ids of label rows. One value per row: it must be an integer (the id). Several per row
 * (n x K): each distinct row is one class; when every row is one-hot (Keras, IDNNs) the id is
 * the position of its 1, else ids number the distinct rows in order of first appearance.
 */
export function labelRows(m: Matrix<Float32Array | Float64Array>, file: string): Int32Array {
  const {data, rows, cols} = m;
  const out = new Int32Array(rows);
  const where = (i: number, j: number) => `${file}: label row ${i + 1}${cols > 1 ? `, column ${j + 1}` : ''}`;
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) throw new UserError(`${where(Math.floor(k / cols), k % cols)}: ${data[k]} is not a finite number`);
  }
  if (cols === 1) {
    for (let i = 0; i < rows; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw new UserError(`${where(i, 0)}: ${v} is not an integer class id`);
      out[i] = v;
    }
    return out;
  }
  if (cols === 0) throw new UserError(`${file}: label rows have no columns`);
  let oneHot = true;
  for (let i = 0; i < rows && oneHot; i++) {
    let ones = 0;
    for (let j = 0; j < cols; j++) {
      const v = data[i * cols + j];
      if (v === 1) (ones++, (out[i] = j));
      else if (v !== 0) oneHot = false;
    }
    if (ones !== 1) oneHot = false;
  }
  if (oneHot) return out;
  const ids = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    let key = '';
    for (let j = 0; j < cols; j++) key += `${data[i * cols + j] + 0},`; // + 0: -0 and 0 are one value
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    out[i] = id;
  }
  return out;
}

/**
 * Integer labels, one per row, from 1-D ids or 2-D label rows (see `labelRows`).
 * Arrow/CSV: `column`, else `label`, else `y`, else the only column; a CSV or Arrow file with
 * several numeric columns and none of these is read as label rows. `.npz`: `column` or the only array.
 */
export async function readLabels(file: string, column?: string): Promise<Int32Array> {
  const kind = kindOf(file);
  if (kind === 'arrow') {
    const t = readArrowFile(file);
    const names = t.schema.fields.map((f) => f.name);
    const name = column ?? ['label', 'y'].find((n) => names.includes(n));
    if (column && !names.includes(column)) throw new UserError(`${file}: no label column '${column}' (columns: ${names.join(', ')})`);
    return labelRows(arrowMatrix(t, file, name ? {column: name} : {}), file);
  }
  if (kind === 'csv') {
    const csv = parseNumericCsv(readBytes(file).toString('utf8'), file);
    const name = column ?? ['label', 'y'].find((n) => csv.header?.includes(n));
    if (name !== undefined) {
      const j = csv.header?.indexOf(name) ?? -1;
      if (j < 0) throw new UserError(`${file}: no label column '${name}' (columns: ${csv.header?.join(', ') ?? 'no header row'})`);
      return labelRows({data: Float64Array.from({length: csv.rows}, (_, i) => csv.data[i * csv.cols + j]), rows: csv.rows, cols: 1}, file);
    }
    return labelRows({data: csv.data, rows: csv.rows, cols: csv.cols}, file);
  }
  const a = kind === 'npy' ? parseNpy(readBytes(file), file) : await npzArray(file, column);
  if (a.shape.length === 0 || a.shape.length > 2) throw new UserError(`${file}: labels must be a 1-D array of class ids or a 2-D array of label rows, got shape (${a.shape.join(', ')})`);
  const rows = a.shape[0];
  const cols = a.shape.length === 2 ? a.shape[1] : 1;
  const data = a.data instanceof Float64Array ? a.data : Float64Array.from(a.data as ArrayLike<number | bigint>, Number);
  return labelRows({data, rows, cols}, file);
}
