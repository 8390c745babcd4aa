import {spawnSync} from 'node:child_process';
import {existsSync, readFileSync} from 'node:fs';
import {cpus, hostname, totalmem, platform, release, arch} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {spectralKernelsId} from '../native/spectral.js';
import type {AdapterRecord} from '../backend/webgpu.js';
import {fusedKernelsId, fusedUnavailable} from '../native/train.js';
import type {StageName} from './stage-names.js';

export type StageStatus = 'pending' | 'running' | 'done' | 'failed' | 'interrupted' | 'skipped';

export interface StageRecord {
  status: StageStatus;
  startedAt?: string;
  endedAt?: string;
  seconds?: number;
  outputs?: string[];
  error?: string;
  info?: Record<string, unknown>;
  /** train: the snapshot epoch whose checkpoint it continued from when the run was resumed. */
  resumedFromEpoch?: number;
  notes?: string[];
}

export interface Provenance {
  tdlab: string;
  runId: string;
  name: string;
  configHash: string;
  seed: number;
  backend: string | null;
  backendSkipped: string[];
  /** The WebGPU adapter (vendor, architecture, device, driver description, Dawn backend), when the backend is webgpu. */
  adapter?: AdapterRecord;
  status: 'running' | 'done' | 'failed' | 'interrupted';
  startedAt: string;
  endedAt: string | null;
  /** The command line that started the run (kept on resume; see `resumes`). */
  argv: string[];
  /** Every continuation of the run: when, by which command, what it redid. */
  resumes?: Array<{at: string; argv: string[]; redo: string[]; reason: string | null; trainFrom: number | null}>;
  cwd: string;
  node: string;
  os: {platform: string; release: string; arch: string};
  host: {hostname: string; cpu: string; cores: number; memoryGiB: number};
  packages: Record<string, string>;
  git: {commit: string; dirty: boolean; root: string} | null;
  stages: Partial<Record<StageName, StageRecord>>;
}

const PACKAGES = [
  '@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-webgpu', 'webgpu', 'apache-arrow', '@oclif/core', 'listr2', 'yaml', 'zod',
];

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, '..', '..');

export function tdlabVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {version: string}).version;
}

/** Versions of the packages that can change numbers, as resolved from node_modules (absent ones omitted). */
export function packageVersions(): Record<string, string> {
  // read package.json files directly: some packages (apache-arrow) do not export them
  const out: Record<string, string> = {};
  for (const name of PACKAGES) {
    const file = join(packageRoot, 'node_modules', name, 'package.json');
    if (existsSync(file)) out[name] = (JSON.parse(readFileSync(file, 'utf8')) as {version: string}).version;
  }
  // tdlab's own WebAssembly kernels for the spectral metrics (or the TypeScript fallback)
  out['tdlab/spectral-kernels'] = spectralKernelsId();
  // the fused training engine's module (the train stage's info says whether it ran)
  const noFused = fusedUnavailable();
  out['tdlab/train-kernels'] = noFused ? `unavailable: ${noFused}` : fusedKernelsId();
  return out;
}

/** Commit and dirty flag of the git repository containing `dir`, or null if it is not in one. */
export function gitState(dir: string): Provenance['git'] {
  const git = (...args: string[]) => spawnSync('git', args, {cwd: dir, encoding: 'utf8'});
  const root = git('rev-parse', '--show-toplevel');
  if (root.status !== 0) return null;
  const head = git('rev-parse', 'HEAD');
  const status = git('status', '--porcelain', '--untracked-files=no');
  return {commit: head.status === 0 ? head.stdout.trim() : 'none', dirty: status.stdout.trim().length > 0, root: root.stdout.trim()};
}

export function newProvenance(fields: {runId: string; name: string; configHash: string; seed: number; argv: string[]}): Provenance {
  const cpu = cpus();
  return {
    tdlab: tdlabVersion(),
    ...fields,
    backend: null,
    backendSkipped: [],
    status: 'running',
    startedAt: new Date().toISOString(),
    endedAt: null,
    cwd: process.cwd(),
    node: process.version,
    os: {platform: platform(), release: release(), arch: arch()},
    host: {hostname: hostname(), cpu: cpu[0]?.model ?? 'unknown', cores: cpu.length, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10},
    packages: packageVersions(),
    git: gitState(process.cwd()),
    stages: {},
  };
}
