import {inflateRawSync} from 'node:zlib';
import {UserError} from '../util/errors.js';

/** One file of a zip archive. */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/**
 * Minimal zip reader (what `.npz` needs): central directory, stored (0) and deflated (8)
 * entries, zip64 sizes/offsets (NumPy writes with `force_zip64`). No encryption, no multi-disk.
 */
export function readZip(bytes: Uint8Array, source = 'zip'): ZipEntry[] {
  try {
    return readZipUnchecked(bytes, source);
  } catch (err) {
    if (err instanceof RangeError) throw new UserError(`${source}: not a readable zip/.npz file (truncated or corrupt: ${err.message})`);
    throw err;
  }
}

function readZipUnchecked(bytes: Uint8Array, source: string): ZipEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (what: string): never => {
    throw new UserError(`${source}: not a readable zip/.npz file (${what})`);
  };
  // end of central directory: scan back over a possible comment (<= 65535 bytes)
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 65535); p--) {
    if (dv.getUint32(p, true) === 0x06054b50) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) bad('no end-of-central-directory record');
  let count = dv.getUint16(eocd + 10, true);
  let cdOffset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || dv.getUint32(loc, true) !== 0x07064b50) bad('zip64 locator missing');
    const rec = Number(dv.getBigUint64(loc + 8, true));
    if (dv.getUint32(rec, true) !== 0x06064b50) bad('zip64 end record missing');
    count = Number(dv.getBigUint64(rec + 32, true));
    cdOffset = Number(dv.getBigUint64(rec + 48, true));
  }
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || dv.getUint32(p, true) !== 0x02014b50) bad('bad central directory entry');
    const flags = dv.getUint16(p + 8, true);
    const method = dv.getUint16(p + 10, true);
    let csize = dv.getUint32(p + 20, true);
    let usize = dv.getUint32(p + 24, true);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    let localOff = dv.getUint32(p + 42, true);
    const name = new TextDecoder('utf-8').decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // zip64 extended information: present fields in order usize, csize, offset (only those that are 0xFFFFFFFF)
    let q = p + 46 + nameLen;
    const extraEnd = q + extraLen;
    while (q + 4 <= extraEnd) {
      const id = dv.getUint16(q, true);
      const len = dv.getUint16(q + 2, true);
      if (id === 0x0001) {
        let f = q + 4;
        if (usize === 0xffffffff) (usize = Number(dv.getBigUint64(f, true))), (f += 8);
        if (csize === 0xffffffff) (csize = Number(dv.getBigUint64(f, true))), (f += 8);
        if (localOff === 0xffffffff) localOff = Number(dv.getBigUint64(f, true));
      }
      q += 4 + len;
    }
    if (flags & 1) bad(`${name} is encrypted`);
    if (dv.getUint32(localOff, true) !== 0x04034b50) bad(`bad local header of ${name}`);
    const start = localOff + 30 + dv.getUint16(localOff + 26, true) + dv.getUint16(localOff + 28, true);
    const raw = bytes.subarray(start, start + csize);
    if (raw.length !== csize) bad(`${name} is truncated`);
    let data: Uint8Array;
    if (method === 0) data = raw;
    else if (method === 8) {
      try {
        data = new Uint8Array(inflateRawSync(raw));
      } catch (err) {
        return bad(`${name}: ${(err as Error).message}`);
      }
    } else return bad(`${name} uses compression method ${method} (only stored and deflate are supported)`);
    if (data.length !== usize) bad(`${name}: ${data.length} bytes after decompression, expected ${usize}`);
    if (crc32(data) !== dv.getUint32(p + 16, true)) bad(`${name}: CRC mismatch (corrupt file)`);
    entries.push({name, data});
    p = extraEnd + commentLen;
  }
  return entries;
}

/**
 * Builds a zip archive of stored (method 0) or deflated (method 8) entries; for tests and for
 * writing `.npz` files (with `encodeNpy` entries named `W0.npy`, ...).
 */
export function writeZip(entries: ZipEntry[], deflate?: (b: Uint8Array) => Uint8Array): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  for (const e of entries) {
    const name = enc.encode(e.name);
    const packed = deflate ? deflate(e.data) : e.data;
    const m = deflate ? 8 : 0;
    const crc = crc32(e.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, m, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, packed.length, true);
    lv.setUint32(22, e.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, m, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, packed.length, true);
    cv.setUint32(24, e.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local, packed);
    centrals.push(central);
    offset += local.length + packed.length;
  }
  const cdSize = centrals.reduce((s, c) => s + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + cdSize + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (IEEE) of bytes, as zip stores it. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
