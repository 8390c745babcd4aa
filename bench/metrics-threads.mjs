// The metrics stage of the default study on one and on two threads, interleaved rounds:
//   node bench/metrics-threads.mjs [--run DIR] [--rounds 5] [--threads 1,2]
// Each round runs `tdlab metrics DIR --force --no-report --threads T` for every T (the order
// alternates between rounds) and checks that metrics/metrics.arrow has the same bytes after every
// command. Without --run, it first makes one with `tdlab run configs/tishby.yaml` in a temporary
// directory (removed at the end). Prints one JSON line per command (wall seconds, 1-minute load
// before it) and the medians and their ratio.
import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {loadavg, tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {median, opt} from './lib.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'run.js');
const rounds = Number(opt('rounds', '5'));
const threads = opt('threads', '1,2').split(',').map(Number);

function tdlab(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], {encoding: 'utf8', maxBuffer: 1 << 26});
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`tdlab ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return {s, stdout: r.stdout};
}

let tmp;
let run = opt('run', undefined);
if (!run) {
  tmp = mkdtempSync(join(tmpdir(), 'tdlab-bench-metrics-'));
  process.stderr.write('making a default-study run (tdlab run configs/tishby.yaml) ...\n');
  run = JSON.parse(tdlab(['run', join(ROOT, 'configs', 'tishby.yaml'), '--out', tmp, '--json']).stdout).runDir;
}
try {
  const file = join(run, 'metrics', 'metrics.arrow');
  const reference = readFileSync(file);
  const times = Object.fromEntries(threads.map((t) => [t, []]));
  for (let r = 1; r <= rounds; r++) {
    for (const t of r % 2 ? threads : [...threads].reverse()) {
      const load = loadavg()[0];
      const {s} = tdlab(['metrics', run, '--force', '--no-report', '--threads', String(t)]);
      const same = readFileSync(file).equals(reference);
      times[t].push(s);
      console.log(JSON.stringify({round: r, threads: t, seconds: +s.toFixed(2), load: +load.toFixed(2), sameBytes: same}));
      if (!same) throw new Error(`metrics.arrow changed with --threads ${t}`);
    }
  }
  const med = Object.fromEntries(threads.map((t) => [t, +median(times[t]).toFixed(2)]));
  console.log(JSON.stringify({run, rounds, medianSeconds: med, ratio: +(med[threads[0]] / med[threads[threads.length - 1]]).toFixed(2)}));
} finally {
  if (tmp) rmSync(tmp, {recursive: true, force: true});
}
