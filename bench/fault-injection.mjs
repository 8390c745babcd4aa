#!/usr/bin/env node
// Fault injection at scale (issue 11.9): SIGKILL the default study (configs/tishby.yaml at test
// scale, see test/fault-lib.js) at many seeded random points in train, metrics and report, resume
// each, and compare every artifact byte for byte with an uninterrupted run.
//
//   node bench/fault-injection.mjs [--points 60] [--timed 10] [--double 5] [--seed 1] [--jobs 2] [--keep]
//
// --points: write-indexed kills, spread over train : metrics : report as 3 : 1 : 1 (all writes of a
// stage are candidates); --timed: kills after a random delay; --double: killed again while
// resuming. Prints one line per case and a summary; exits 1 when any case differs.
import {rmSync} from 'node:fs';
import {parseArgs} from 'node:util';
import {tempDir} from '../test/helpers.js';
import {killPlan, prepareTemplate, referenceRun, runCases} from '../test/fault-lib.js';

const {values} = parseArgs({
  options: {
    points: {type: 'string', default: '60'},
    timed: {type: 'string', default: '10'},
    double: {type: 'string', default: '5'},
    seed: {type: 'string', default: '1'},
    jobs: {type: 'string', default: '2'},
    keep: {type: 'boolean', default: false},
  },
});
const points = Number(values.points);
const perStage = {train: Math.round((points * 3) / 5), metrics: Math.round(points / 5), report: points - Math.round((points * 3) / 5) - Math.round(points / 5)};
const base = tempDir('tdlab-fault-bench-');
const t0 = Date.now();
try {
  const template = await prepareTemplate(base);
  const ref = await referenceRun(base, template);
  const byStage = ref.writes.reduce((a, w) => ((a[w.stage] = (a[w.stage] ?? 0) + 1), a), {});
  console.log(`reference run: ${ref.writes.length} atomic writes (${JSON.stringify(byStage)}), ${(ref.ms / 1000).toFixed(1)} s`);
  const plan = killPlan(ref, {perStage, timed: Number(values.timed), double: Number(values.double), seed: Number(values.seed)});
  const results = await runCases(base, template, ref, plan, Number(values.jobs), (r) =>
    console.log(`${r.diffs.length ? 'FAIL' : 'ok  '} #${r.point.id} ${r.point.where} -> hit ${r.hit}, resumed with ${r.point.resumeWith}${r.resumedFrom !== null ? ` from epoch ${r.resumedFrom}` : ''}${r.diffs.length ? `: ${r.diffs.join('; ')}` : ''}`),
  );
  const killed = results.filter((r) => r.hit !== 'finished before the kill');
  const hits = killed.reduce((a, r) => ((a[r.hit] = (a[r.hit] ?? 0) + 1), a), {});
  const failed = results.filter((r) => r.diffs.length > 0);
  console.log(`\n${killed.length} runs killed (${JSON.stringify(hits)}; ${results.filter((r) => r.point.again).length} of them killed twice), ${results.length - killed.length} finished before their kill, ${failed.length} failures; ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  process.exitCode = failed.length ? 1 : 0;
} finally {
  if (!values.keep) rmSync(base, {recursive: true, force: true});
  else console.log(`kept ${base}`);
}
