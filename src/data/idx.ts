import {readFileSync} from 'node:fs';
import {gunzipSync} from 'node:zlib';
import {UserError} from '../util/errors.js';

/** An IDX array (LeCun's MNIST format): shape and values in row-major order. */
export interface IdxArray {
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, {name: string; bytes: number; read: (v: DataView, o: number) => number; make: (n: number) => IdxArray['data']}> = {
  0x08: {name: 'ubyte', bytes: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n)},
  0x09: {name: 'byte', bytes: 1, read: (v, o) => v.getInt8(o), make: (n) => new Int8Array(n)},
  0x0b: {name: 'short', bytes: 2, read: (v, o) => v.getInt16(o, false), make: (n) => new Int16Array(n)},
  0x0c: {name: 'int', bytes: 4, read: (v, o) => v.getInt32(o, false), make: (n) => new Int32Array(n)},
  0x0d: {name: 'float', bytes: 4, read: (v, o) => v.getFloat32(o, false), make: (n) => new Float32Array(n)},
  0x0e: {name: 'double', bytes: 8, read: (v, o) => v.getFloat64(o, false), make: (n) => new Float64Array(n)},
};

/**
 * Parses an IDX file: magic 0x00 0x00 <type> <ndim>, ndim big-endian uint32 dimensions, then
 * big-endian values. Gzip-compressed input (the `.gz` files as distributed) is detected by its
 * magic bytes and inflated first.
 */
export function parseIdx(bytes: Uint8Array, file = 'IDX'): IdxArray {
  const {shape, start, type, buf} = idxLayout(bytes, file);
  const count = shape.reduce((a, b) => a * b, 1);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let data: IdxArray['data'];
  if (type.bytes === 1) {
    data = type.make(count);
    (data as Uint8Array).set(buf.subarray(start, start + count));
  } else {
    data = type.make(count);
    for (let i = 0; i < count; i++) data[i] = type.read(view, start + i * type.bytes);
  }
  return {shape, data};
}

/** The shape of an IDX file, checked against its size, without converting the values. */
export function readIdxShape(file: string): number[] {
  return idxLayout(readBytes(file), file).shape;
}

function idxLayout(bytes: Uint8Array, file: string) {
  let buf = bytes;
  if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new UserError(`${file}: not a readable gzip file (${(err as Error).message.split('\n')[0]})`);
    }
  }
  if (buf.length < 4 || buf[0] !== 0 || buf[1] !== 0) throw new UserError(`${file}: not an IDX file (bad magic number)`);
  const type = TYPES[buf[2]];
  if (!type) throw new UserError(`${file}: unknown IDX data type 0x${buf[2].toString(16)}`);
  const ndim = buf[3];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 4 + 4 * ndim) throw new UserError(`${file}: truncated IDX header`);
  const shape = Array.from({length: ndim}, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * ndim;
  if (buf.length < start + count * type.bytes) throw new UserError(`${file}: truncated IDX data (${buf.length - start} bytes for ${count} ${type.name} values)`);
  return {shape, start, type, buf};
}

function readBytes(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch {
    throw new UserError(`${file}: file not found`);
  }
}

export function readIdx(file: string): IdxArray {
  return parseIdx(readBytes(file), file);
}

/** Encodes an IDX array (uncompressed); for tests and for exporting data in the MNIST format. */
export function encodeIdx(arr: IdxArray): Uint8Array {
  const code = arr.data instanceof Uint8Array ? 0x08 : arr.data instanceof Int8Array ? 0x09 : arr.data instanceof Int16Array ? 0x0b : arr.data instanceof Int32Array ? 0x0c : arr.data instanceof Float32Array ? 0x0d : 0x0e;
  const type = TYPES[code];
  const start = 4 + 4 * arr.shape.length;
  const out = new Uint8Array(start + arr.data.length * type.bytes);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = arr.shape.length;
  arr.shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < arr.data.length; i++) {
    const o = start + i * type.bytes;
    const v = arr.data[i];
    if (code === 0x08) view.setUint8(o, v);
    else if (code === 0x09) view.setInt8(o, v);
    else if (code === 0x0b) view.setInt16(o, v, false);
    else if (code === 0x0c) view.setInt32(o, v, false);
    else if (code === 0x0d) view.setFloat32(o, v, false);
    else view.setFloat64(o, v, false);
  }
  return out;
}
