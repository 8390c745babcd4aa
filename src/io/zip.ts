import {crc32} from 'node:zlib';
import yauzl from 'yauzl';
import yazl from 'yazl';
import {UserError} from '../util/errors.js';

/** One file of a zip archive. */
export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

/**
 * Reads every file of a zip archive (what `.npz` needs) with yauzl: stored and deflated entries,
 * zip64 sizes and offsets (NumPy writes zip64 local headers), entry sizes and CRC-32 checked.
 * Any defect is a UserError naming `source`.
 */
export async function readZip(bytes: Uint8Array, source = 'zip'): Promise<ZipEntry[]> {
  const bad = (what: string) => new UserError(`${source}: not a readable zip/.npz file (${what})`);
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {lazyEntries: true});
  } catch (err) {
    throw bad(firstLine(err));
  }
  const entries: ZipEntry[] = [];
  try {
    for (;;) {
      const entry = await nextEntry(zip);
      if (!entry) break;
      if (entry.fileName.endsWith('/')) continue; // a directory
      if (entry.isEncrypted()) throw bad(`${entry.fileName} is encrypted`);
      if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8) throw bad(`${entry.fileName} uses compression method ${entry.compressionMethod} (only stored and deflate are supported)`);
      const data = await readEntry(zip, entry);
      if (data.length !== entry.uncompressedSize) throw bad(`${entry.fileName}: ${data.length} bytes after decompression, expected ${entry.uncompressedSize}`);
      if (crc32(data) !== entry.crc32) throw bad(`${entry.fileName}: CRC mismatch (corrupt file)`);
      entries.push({name: entry.fileName, data});
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw bad(firstLine(err));
  } finally {
    zip.close();
  }
  return entries;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}

function nextEntry(zip: yauzl.ZipFile): Promise<yauzl.Entry | null> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      zip.off('entry', onEntry);
      zip.off('end', onEnd);
      zip.off('error', onError);
    };
    const onEntry = (e: yauzl.Entry) => (cleanup(), resolve(e));
    const onEnd = () => (cleanup(), resolve(null));
    const onError = (err: Error) => (cleanup(), reject(err));
    zip.on('entry', onEntry);
    zip.on('end', onEnd);
    zip.on('error', onError);
    zip.readEntry();
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(err ?? new Error('no stream'));
      const parts: Buffer[] = [];
      stream.on('data', (b: Buffer) => parts.push(b));
      stream.on('error', reject);
      stream.on('end', () => resolve(new Uint8Array(Buffer.concat(parts))));
    });
  });
}

/**
 * Builds a zip archive with yazl (for `.npz` files: `encodeNpy` entries named `W0.npy`, ...):
 * stored entries unless `deflate`; `zip64` forces the zip64 records even for small files.
 */
export function writeZip(entries: ZipEntry[], opts: {deflate?: boolean; zip64?: boolean} = {}): Promise<Uint8Array> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    zip.addBuffer(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength), e.name, {compress: opts.deflate ?? false, forceZip64Format: opts.zip64 ?? false, mtime: new Date(2000, 0, 1)});
  }
  zip.end({forceZip64Format: opts.zip64 ?? false, comment: ''});
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    zip.outputStream.on('data', (b: Buffer) => parts.push(b));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(new Uint8Array(Buffer.concat(parts))));
  });
}
