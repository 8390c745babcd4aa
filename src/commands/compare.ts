import {resolve} from 'node:path';
import {Args} from '@oclif/core';
import {UserError} from '../util/errors.js';
import {configDiff, fmt, loadRun, metricTable, textTable, type MetricRow} from '../sweep/runs.js';
import {BaseCommand} from '../cli/base-command.js';

interface CompareResult {
  runs: Array<{dir: string; runId: string; name: string; status: string; configHash: string; seed: number; hasSummary: boolean}>;
  configDiff: Array<{key: string; values: unknown[]}>;
  metrics: MetricRow[];
}

export default class Compare extends BaseCommand {
  static override description = `Compare runs side by side: the config keys that differ (dotted paths), final loss and accuracy, and per layer and estimator the max and final I(X;T), compression and final I(T;Y) (from report/summary.json)`;
  static override enableJsonFlag = true;
  static override strict = false;
  static override examples = [
    '<%= config.bin %> compare runs/sweeps/saxe/runs/1a2b3c4d5e6f runs/sweeps/saxe/runs/6f5e4d3c2b1a',
    '<%= config.bin %> compare runs/tishby/* --json',
  ];
  static override args = {
    runs: Args.string({description: 'two or more run directories', required: true}),
  };

  async run(): Promise<CompareResult> {
    const {argv} = await this.parse(Compare);
    const dirs = (argv as string[]).filter((a) => a !== '--json');
    if (dirs.length < 2) throw new UserError('give at least two run directories to compare');
    const loaded = dirs.map((d) => {
      const r = loadRun(d);
      if (!r) throw new UserError(`${d}: not a run directory (no readable provenance.json)`);
      return r;
    });
    const result: CompareResult = {
      runs: loaded.map((r) => ({dir: resolve(r.dir), runId: r.prov.runId, name: r.prov.name, status: r.prov.status, configHash: r.prov.configHash, seed: r.prov.seed, hasSummary: r.summary !== null})),
      configDiff: configDiff(loaded.map((r) => r.config)),
      metrics: metricTable(loaded.map((r) => r.summary)),
    };
    if (!this.jsonEnabled()) {
      const head = ['', ...loaded.map((_, i) => `run ${String.fromCharCode(65 + (i % 26))}${i >= 26 ? Math.floor(i / 26) : ''}`)];
      this.log(loaded.map((r, i) => `${head[i + 1]}: ${r.dir} (${r.prov.status}, config ${r.prov.configHash.slice(0, 12)})`).join('\n'));
      this.log('\nconfig differences');
      this.log(result.configDiff.length ? textTable(['key', ...head.slice(1)], result.configDiff.map((d) => [d.key, ...d.values.map(fmt)])) : '  (none: same config)');
      this.log('\nmetrics');
      this.log(textTable(['metric', ...head.slice(1)], result.metrics.map((m) => [m.key, ...m.values.map(fmt)])));
      const missing = loaded.filter((r) => !r.summary);
      if (missing.length) process.stderr.write(`note: no report/summary.json in ${missing.map((r) => r.dir).join(', ')} (run not finished?)\n`);
    }
    return result;
  }
}
