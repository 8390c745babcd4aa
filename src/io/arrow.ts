import {readFileSync} from 'node:fs';
import {
  Bool, Field, FixedSizeList, List, Float32, Float64, Int32, makeData, RecordBatch, RecordBatchFileWriter, Schema, Struct,
  Table, tableFromIPC, Utf8, vectorFromArray, type DataType, type Data,
} from 'apache-arrow';
import {UserError} from '../util/errors.js';
import {writeFileAtomic} from './atomic.js';

/**
 * Arrow IPC *file* format helpers. Tensors are stored as FixedSizeList<Float32>[d] columns
 * (one list of d values per row), built zero-copy from a Float32Array; scalars as plain columns.
 */

export type ColumnValues =
  | {kind: 'int32'; values: Int32Array}
  | {kind: 'float64'; values: Float64Array}
  | {kind: 'float32'; values: Float32Array}
  | {kind: 'bool'; values: boolean[]}
  | {kind: 'utf8'; values: string[]}
  | {kind: 'tensor'; values: Float32Array; width: number}
  /** Variable-length float32 lists: row i is values[offsets[i] .. offsets[i+1]). */
  | {kind: 'list'; values: Float32Array; offsets: Int32Array};

export interface ColumnSpec {
  name: string;
  column: ColumnValues;
  /** Field-level metadata (e.g. shape, unit, activation). */
  metadata?: Record<string, string>;
}

/**
 * Encoded string columns by array identity: a run writes the same `split` column into every
 * snapshot file, and encoding 4096 strings costs more than the rest of a 12-bit snapshot.
 * Callers never modify a string array after handing it to a writer.
 */
const utf8Encoded = new WeakMap<string[], Data>();

function toData(c: ColumnValues, rows: number): {type: DataType; data: Data} {
  switch (c.kind) {
    case 'int32':
      return {type: new Int32(), data: makeData({type: new Int32(), length: rows, data: c.values})};
    case 'float64':
      return {type: new Float64(), data: makeData({type: new Float64(), length: rows, data: c.values})};
    case 'float32':
      return {type: new Float32(), data: makeData({type: new Float32(), length: rows, data: c.values})};
    case 'bool': {
      const v = vectorFromArray(c.values, new Bool());
      return {type: new Bool(), data: v.data[0]};
    }
    case 'utf8': {
      let data = utf8Encoded.get(c.values);
      if (!data) {
        data = vectorFromArray(c.values, new Utf8()).data[0];
        utf8Encoded.set(c.values, data);
      }
      return {type: new Utf8(), data};
    }
    case 'tensor': {
      const type = new FixedSizeList(c.width, new Field('item', new Float32(), false));
      const child = makeData({type: new Float32(), length: rows * c.width, data: c.values});
      return {type, data: makeData({type, length: rows, nullCount: 0, child})};
    }
    case 'list': {
      const type = new List(new Field('item', new Float32(), false));
      const child = makeData({type: new Float32(), length: c.values.length, data: c.values});
      return {type, data: makeData({type, length: rows, nullCount: 0, valueOffsets: c.offsets, child})};
    }
  }
}

/** Serialises columns of equal length as one record batch in an Arrow IPC file. */
export function encodeArrowFile(columns: ColumnSpec[], rows: number, metadata: Record<string, string> = {}): Uint8Array {
  const fields: Field[] = [];
  const children: Data[] = [];
  for (const col of columns) {
    const {type, data} = toData(col.column, rows);
    if (data.length !== rows) throw new Error(`column ${col.name}: ${data.length} rows, expected ${rows}`);
    fields.push(new Field(col.name, type, false, new Map(Object.entries(col.metadata ?? {}))));
    children.push(data);
  }
  const schema = new Schema(fields, new Map(Object.entries(metadata)));
  const batch = new RecordBatch(schema, makeData({type: new Struct(schema.fields), length: rows, nullCount: 0, children}));
  const writer = RecordBatchFileWriter.writeAll(new Table(schema, [batch]));
  return writer.toUint8Array(true);
}

export function writeArrowFile(path: string, columns: ColumnSpec[], rows: number, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeArrowFile(columns, rows, metadata));
}

export function readArrowFile(path: string): Table {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new UserError(`${path}: file not found (was the stage that writes it run?)`);
  }
  try {
    return tableFromIPC(bytes);
  } catch (err) {
    throw new UserError(`${path}: not a readable Arrow IPC file (${(err as Error).message.split('\n')[0]})`);
  }
}

/** Row-major float32 matrix of a FixedSizeList<Float32> column (copied across record batches). */
export function tensorColumn(table: Table, name: string): {data: Float32Array; rows: number; cols: number} {
  const col = table.getChild(name);
  if (!col) throw new UserError(`Arrow table has no column '${name}' (columns: ${table.schema.fields.map((f) => f.name).join(', ')})`);
  const type = col.type as unknown as FixedSizeList;
  const width = type.listSize;
  const out = new Float32Array(table.numRows * width);
  let row = 0;
  for (const d of col.data) {
    const child = d.children[0];
    const base = child.offset + d.offset * width;
    out.set((child.values as Float32Array).subarray(base, base + d.length * width), row * width);
    row += d.length;
  }
  return {data: out, rows: table.numRows, cols: width};
}

/** Row `i` of a List<Float32> column as a Float32Array. */
export function listColumn(table: Table, name: string): Float32Array[] {
  const col = table.getChild(name);
  if (!col) throw new UserError(`Arrow table has no column '${name}'`);
  return Array.from(col as Iterable<{toArray(): Float32Array}>, (v) => Float32Array.from(v.toArray()));
}

/** A numeric column as Float64Array (int, float or bool). */
export function numberColumn(table: Table, name: string): Float64Array {
  const col = table.getChild(name);
  if (!col) throw new UserError(`Arrow table has no column '${name}'`);
  const out = new Float64Array(table.numRows);
  let i = 0;
  for (const v of col) out[i++] = Number(v);
  return out;
}

export function stringColumn(table: Table, name: string): string[] {
  const col = table.getChild(name);
  if (!col) throw new UserError(`Arrow table has no column '${name}'`);
  return Array.from(col as Iterable<string>, (v) => String(v));
}

export function schemaMetadata(table: Table): Record<string, string> {
  return Object.fromEntries(table.schema.metadata);
}
