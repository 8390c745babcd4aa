/**
 * Lock files that survive real clusters (one holder per run or sweep directory, across hosts
 * sharing a file system).
 *
 * - Taking a free lock is atomic: the holder's record (pid, host, token, start time) is written to
 *   a private file first and then hard-linked to the lock name, which fails if the name exists. A
 *   lock file is never seen empty or half-written.
 * - The holder proves it is alive with a heartbeat: a worker thread rewrites the record in place
 *   every `stale / 6`, so a long synchronous computation on the main thread does not stop it.
 *   A lock is stale when its heartbeat is older than `stale` (default 60 s; TDLAB_LOCK_STALE_S),
 *   or at once when its holder is on this host and its process is gone. A dead node's lock
 *   therefore expires; the age is measured against the file system's own clock (a probe file in
 *   the same directory), so clock skew between hosts does not matter.
 * - Taking over a stale lock is atomic too: only the process that creates the marker
 *   `<lock>.takeover-<id of that stale lock>` (hard link: exactly one wins) may replace that lock,
 *   and it re-checks that the lock is still the same stale one before renaming its record over it.
 * - A refusal names the holder: pid, host, what it runs, and how old its heartbeat is.
 */
import {randomBytes} from 'node:crypto';
import {linkSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, type Stats} from 'node:fs';
import {hostname} from 'node:os';
import {dirname, join} from 'node:path';
import {Worker} from 'node:worker_threads';

export interface LockInfo {
  pid: number;
  host: string;
  /** Unique per acquisition. */
  token: string;
  /** What holds it (e.g. `tdlab run`). */
  purpose?: string;
  since?: string;
}

export interface LockState {
  /** The parsed record, or null when the file is empty or unreadable. */
  info: LockInfo | null;
  /** Seconds since the last heartbeat (file modification). */
  ageS: number;
  live: boolean;
  /** Why it is live or stale, for messages. */
  reason: string;
  /** Identity of this exact lock file (token, or inode and mtime for foreign files). */
  id: string;
}

export interface HeldLock {
  file: string;
  info: LockInfo;
  /** Set when the heartbeat found the lock file no longer ours (taken over after a stall). */
  readonly lost: boolean;
  release(): void;
}

const GRACE_MS = 5000;

/** Staleness limit in ms (TDLAB_LOCK_STALE_S seconds, default 60). */
export function staleMs(): number {
  const s = Number(process.env.TDLAB_LOCK_STALE_S);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 60000;
}

export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseRecord(text: string): LockInfo | null {
  const t = text.trim();
  if (!t) return null;
  if (t.startsWith('{')) {
    try {
      const o = JSON.parse(t) as Partial<LockInfo>;
      if (typeof o.pid === 'number' && typeof o.host === 'string') return {pid: o.pid, host: o.host, token: String(o.token ?? ''), purpose: o.purpose, since: o.since};
    } catch {
      return null;
    }
    return null;
  }
  // the earlier format: "pid host"
  const [pid, host] = t.split(/\s+/);
  return Number.isInteger(Number(pid)) && host ? {pid: Number(pid), host, token: ''} : null;
}

/** The file system's current time in ms, read from a probe file next to `file`. */
function fsNow(file: string): number {
  const probe = join(dirname(file), `.lock-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeFileSync(probe, '');
    return statSync(probe).mtimeMs;
  } catch {
    return Date.now();
  } finally {
    rmSync(probe, {force: true});
  }
}

/** The state of a lock file, or null when there is none. */
export function inspectLock(file: string): LockState | null {
  let st: Stats;
  let text: string;
  try {
    st = statSync(file);
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const info = parseRecord(text);
  const here = hostname();
  const limit = staleMs();
  const id = info?.token ? info.token : `ino${st.ino}-${Math.round(st.mtimeMs)}-${st.size}`;
  let ageS = -1;
  const state = (live: boolean, reason: string): LockState => {
    if (ageS < 0) ageS = Math.round(Math.max(0, fsNow(file) - st.mtimeMs) / 100) / 10;
    return {info, ageS, live, reason, id};
  };
  const old = (ms: number) => {
    ageS = Math.round(Math.max(0, fsNow(file) - st.mtimeMs) / 100) / 10;
    return ageS * 1000 >= ms;
  };
  if (!info) return old(GRACE_MS) ? state(false, 'empty or unreadable') : state(true, 'being written');
  if (info.host === here) {
    if (info.pid === process.pid) return state(true, 'held by this process');
    if (!pidAlive(info.pid)) return state(false, `process ${info.pid} is gone`);
    if (!info.token) return state(true, 'process alive'); // earlier format: no heartbeat to judge by
  }
  if (!old(limit)) return state(true, 'heartbeat is recent');
  return state(false, `no heartbeat for ${ageS} s (limit ${limit / 1000} s)`);
}

/** "pid 123 on node7 (tdlab run), last heartbeat 2.5 s ago" */
export function describeHolder(s: LockState): string {
  if (!s.info) return `an unreadable lock file (${s.ageS} s old)`;
  return `pid ${s.info.pid} on ${s.info.host}${s.info.purpose ? ` (${s.info.purpose})` : ''}, last heartbeat ${s.ageS} s ago`;
}

function newRecordFile(file: string, info: LockInfo): string {
  const tmp = `${file}.new-${info.token}`;
  writeFileSync(tmp, JSON.stringify(info) + '\n');
  return tmp;
}

function tryLink(src: string, dst: string): boolean {
  try {
    linkSync(src, dst);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Replaces the stale lock `seen` atomically; false when another process got there first. */
function takeOver(file: string, seen: LockState, tmp: string): boolean {
  const marker = `${file}.takeover-${seen.id.replace(/[^\w.-]/g, '_')}`;
  if (!tryLink(tmp, marker)) {
    // another process is taking this lock over; a marker left by one that died mid-way expires
    try {
      if (Date.now() - statSync(marker).mtimeMs > 30000) rmSync(marker, {force: true});
    } catch {
      // gone meanwhile
    }
    return false;
  }
  try {
    const now = inspectLock(file);
    if (now === null) return tryLink(tmp, file);
    if (now.id !== seen.id || now.live) return false;
    renameSync(tmp, file);
    return true;
  } finally {
    rmSync(marker, {force: true});
  }
}

/** The heartbeat: a worker thread that rewrites the record in place while it is still ours. */
const HEARTBEAT = `
const {parentPort, workerData} = require('node:worker_threads');
const fs = require('node:fs');
const {file, token, intervalMs} = workerData;
const beat = () => {
  let fd;
  try {
    const text = fs.readFileSync(file, 'utf8');
    if (!text.includes(token)) { parentPort.postMessage('lost'); clearInterval(timer); return; }
    fd = fs.openSync(file, 'r+');
    const buf = Buffer.from(text);
    fs.writeSync(fd, buf, 0, buf.length, 0);
  } catch (err) {
    if (err && err.code === 'ENOENT') { parentPort.postMessage('lost'); clearInterval(timer); }
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
};
const timer = setInterval(beat, intervalMs);
`;

/**
 * Takes the lock `file` (creating it), waiting up to `waitMs` for a live holder to let go.
 * Returns the held lock, or the live holder's state when the wait ran out.
 */
export async function acquireLock(file: string, opts: {waitMs?: number; purpose?: string} = {}): Promise<HeldLock | {holder: LockState}> {
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const info: LockInfo = {pid: process.pid, host: hostname(), token: randomBytes(12).toString('hex'), purpose: opts.purpose, since: new Date().toISOString()};
  const tmp = newRecordFile(file, info);
  try {
    for (;;) {
      if (tryLink(tmp, file)) break;
      const seen = inspectLock(file);
      if (seen === null) continue; // released meanwhile
      if (!seen.live) {
        if (takeOver(file, seen, tmp)) break;
        continue;
      }
      if (seen.info?.token === info.token) break;
      if (Date.now() >= deadline) return {holder: seen};
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    rmSync(tmp, {force: true});
  }
  return holdLock(file, info);
}

function holdLock(file: string, info: LockInfo): HeldLock {
  let lost = false;
  let released = false;
  const worker = new Worker(HEARTBEAT, {eval: true, workerData: {file, token: info.token, intervalMs: Math.max(100, Math.floor(staleMs() / 6))}});
  worker.on('message', (m) => {
    if (m === 'lost') lost = true;
  });
  worker.on('error', () => {});
  worker.unref();
  return {
    file,
    info,
    get lost() {
      return lost;
    },
    release() {
      if (released) return;
      released = true;
      void worker.terminate();
      try {
        if (readFileSync(file, 'utf8').includes(info.token)) unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}

/** The live holder of a lock file, or null (no lock, or a stale one). */
export function liveHolder(file: string): LockState | null {
  const s = inspectLock(file);
  return s && s.live ? s : null;
}
