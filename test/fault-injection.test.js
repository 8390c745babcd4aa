// Issue 11.9, fault injection: the default study (configs/tishby.yaml at test scale) is SIGKILLed
// at seeded random points in train, metrics and report, resumed, and every artifact compared byte
// for byte with an uninterrupted run (test/fault-lib.js; more points: bench/fault-injection.mjs).
import assert from 'node:assert/strict';
import {rmSync} from 'node:fs';
import {tempDir} from './helpers.js';
import {killPlan, prepareTemplate, referenceRun, runCases} from './fault-lib.js';

describe('issue 11.9: SIGKILL at random points, resume, byte-identical artifacts', function () {
  this.timeout(600000);
  let base;
  let results;

  before(async function () {
    base = tempDir('tdlab-fault-');
    const template = await prepareTemplate(base);
    const ref = await referenceRun(base, template);
    const plan = killPlan(ref, {perStage: {train: 4, metrics: 2, report: 2}, timed: 3, double: 1, seed: 11});
    results = await runCases(base, template, ref, plan, 2);
  });

  after(() => base && rmSync(base, {recursive: true, force: true}));

  it('at least 10 kill points, every stage of train, metrics and report hit', function () {
    const killed = results.filter((r) => r.hit !== 'finished before the kill');
    assert.ok(killed.length >= 10, `${killed.length} kills: ${results.map((r) => r.hit).join(', ')}`);
    for (const stage of ['train', 'metrics', 'report']) assert.ok(killed.some((r) => r.hit === stage), `no kill in ${stage}: ${results.map((r) => r.hit).join(', ')}`);
  });

  it('every killed run resumes to done with every artifact byte-identical and no temp file left', function () {
    const bad = results.filter((r) => r.diffs.length > 0);
    assert.deepEqual(bad.map((r) => `${r.point.where} (${r.point.resumeWith}): ${r.diffs.join('; ')}`), []);
  });

  it('a run killed in training after its first snapshots continues from a checkpoint (resumedFromEpoch)', function () {
    const trained = results.filter((r) => r.hit === 'train' && r.point.kind === 'write' && !r.point.again);
    assert.ok(trained.some((r) => Number.isInteger(r.resumedFrom) && r.resumedFrom > 0), JSON.stringify(trained.map((r) => [r.point.where, r.resumedFrom])));
    assert.ok(results.some((r) => r.tempFilesAtKill > 0), 'some kill left a temp file behind (then removed by the resume)');
  });
});
