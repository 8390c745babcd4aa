import {UserError} from '../util/errors.js';
import {readZip} from './zip.js';

/** A numeric array read from a `.npy` file, in C (row-major) order whatever order the file has. */
export interface NpyArray {
  shape: number[];
  dtype: string;
  /** Typed view of the data in its stored type. */
  data: Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
}

const DTYPES: Record<string, {bytes: number; make: (buf: ArrayBuffer, off: number, n: number) => NpyArray['data']}> = {
  f4: {bytes: 4, make: (b, o, n) => new Float32Array(b, o, n)},
  f8: {bytes: 8, make: (b, o, n) => new Float64Array(b, o, n)},
  i1: {bytes: 1, make: (b, o, n) => new Int8Array(b, o, n)},
  u1: {bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n)},
  b1: {bytes: 1, make: (b, o, n) => new Uint8Array(b, o, n)},
  i2: {bytes: 2, make: (b, o, n) => new Int16Array(b, o, n)},
  u2: {bytes: 2, make: (b, o, n) => new Uint16Array(b, o, n)},
  i4: {bytes: 4, make: (b, o, n) => new Int32Array(b, o, n)},
  u4: {bytes: 4, make: (b, o, n) => new Uint32Array(b, o, n)},
  i8: {bytes: 8, make: (b, o, n) => new BigInt64Array(b, o, n)},
  u8: {bytes: 8, make: (b, o, n) => new BigUint64Array(b, o, n)},
};

/**
 * Parses the NumPy `.npy` format (versions 1-3), little-endian numeric dtypes, C or Fortran
 * order (what `np.save(W.T)` of a PyTorch weight writes); Fortran-order data is reordered to C order.
 */
export function parseNpy(bytes: Uint8Array, name: string): NpyArray {
  const magic = String.fromCharCode(...bytes.subarray(1, 6));
  if (bytes[0] !== 0x93 || magic !== 'NUMPY') throw new UserError(`${name}: not a .npy file (bad magic)`);
  const major = bytes[6];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(bytes.subarray(headerStart, headerStart + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new UserError(`${name}: unreadable .npy header`);
  if (descr.startsWith('>')) throw new UserError(`${name}: big-endian dtype ${descr}; convert with a.astype(a.dtype.newbyteorder('<'))`);
  const kind = descr.replace(/^[<|=]/, '');
  const dt = DTYPES[kind];
  if (!dt) throw new UserError(`${name}: dtype ${descr} is not supported (use float32, float64 or an integer type)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = headerStart + headerLen;
  if (bytes.byteLength - offset < count * dt.bytes) throw new UserError(`${name}: file is truncated (${count} values of ${descr} expected)`);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new UserError(`${name}: unreadable .npy shape (${shapeText})`);
  const copy = new Uint8Array(bytes.subarray(offset, offset + count * dt.bytes)); // aligned copy (Buffer.slice would be a view)
  const data = dt.make(copy.buffer, 0, count);
  return {shape, dtype: kind, data: fortran === 'True' && shape.length > 1 ? toCOrder(data, shape) : data};
}

/** Column-major (Fortran) data of `shape` in row-major order. */
function toCOrder<T extends NpyArray['data']>(src: T, shape: number[]): T {
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const k = shape.length;
  // Fortran strides: axis 0 moves fastest
  const fStride = new Array<number>(k);
  fStride[0] = 1;
  for (let a = 1; a < k; a++) fStride[a] = fStride[a - 1] * shape[a - 1];
  const idx = new Array<number>(k).fill(0);
  let f = 0;
  for (let c = 0; c < out.length; c++) {
    out[c] = src[f];
    // next C-order index: the last axis moves fastest
    for (let a = k - 1; a >= 0; a--) {
      idx[a]++;
      f += fStride[a];
      if (idx[a] < shape[a]) break;
      f -= fStride[a] * shape[a];
      idx[a] = 0;
    }
  }
  return out;
}

/** Serialises a float32 matrix or int32 vector as `.npy` (version 1.0). */
export function encodeNpy(data: Float32Array | Int32Array | Float64Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Array.from('NUMPY', (c) => c.charCodeAt(0)), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Array.from(header, (c) => c.charCodeAt(0)), 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** The arrays of an `.npz` archive (np.savez / np.savez_compressed, zip64 included) by name, without `.npy`. */
export async function readNpz(bytes: Uint8Array, source: string): Promise<Map<string, NpyArray>> {
  const arrays = new Map<string, NpyArray>();
  for (const e of await readZip(bytes, source)) arrays.set(e.name.replace(/\.npy$/, ''), parseNpy(e.data, `${source}:${e.name}`));
  return arrays;
}
