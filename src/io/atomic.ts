import {appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync} from 'node:fs';
import {dirname, basename, join} from 'node:path';

/**
 * Durable atomic writes. The bytes go to a hidden temp file in the same directory
 * (`.<name>.<pid>.tmp`), which is flushed to disk (fsync) and then renamed over the target; the
 * directory is fsynced after the rename so that the new name survives a power loss. A crash
 * leaves either the old file or the new one - never a partial one - plus, at worst, a temp file,
 * which `removeTempFiles` deletes when the run is resumed.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, {recursive: true});
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    faultPoint(path);
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, {force: true});
    throw err;
  }
  syncDir(dir);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}

/** fsync of a directory (its entries), where the platform allows it. */
export function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // some platforms and file systems cannot fsync a directory; the rename itself is still atomic
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Names of the temp files `writeFileAtomic` leaves behind when its process is killed. */
export const TEMP_FILE = /^\..+\.\d+\.tmp$/;

/**
 * Removes leftover temp files of killed writers in `dir` and (with `depth` > 0) its
 * subdirectories. Only for directories whose writers are known to be gone (a run directory whose
 * lock this process holds). Returns the removed paths.
 */
export function removeTempFiles(dir: string, depth = 2): string[] {
  const removed: string[] = [];
  let entries;
  try {
    entries = readdirSync(dir, {withFileTypes: true});
  } catch {
    return removed;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isFile() && TEMP_FILE.test(e.name)) {
      rmSync(p, {force: true});
      removed.push(p);
    } else if (e.isDirectory() && depth > 0) removed.push(...removeTempFiles(p, depth - 1));
  }
  return removed;
}

// ------------------------------------------------------------------------------------------
// Fault injection for the crash tests (test/fault-injection.test.js, bench/fault-injection.mjs):
// TDLAB_TEST_WRITE_LOG=<file> appends "<n>\t<path>" for every atomic write, and
// TDLAB_TEST_KILL_AT_WRITE=<n> makes the process SIGKILL itself at its n-th atomic write, after the
// temp file is on disk and before the rename - the worst moment for a crash.

let writeCount = 0;

function faultPoint(path: string): void {
  const log = process.env.TDLAB_TEST_WRITE_LOG;
  const killAt = process.env.TDLAB_TEST_KILL_AT_WRITE;
  if (!log && !killAt) return;
  writeCount++;
  if (log) appendFileSync(log, `${writeCount}\t${path}\n`);
  if (killAt && Number(killAt) === writeCount) process.kill(process.pid, 'SIGKILL');
}
