import {resolve} from 'node:path';
import {Args, Flags} from '@oclif/core';
import {UserError} from '../util/errors.js';
import {findRuns, fmt, isDir, loadRun, runRow, textTable, warningSummary, type RunRow} from '../sweep/runs.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Runs extends BaseCommand {
  static override description = `List the runs under a directory (runs, a sweep directory, ...): name, status, config hash, seed, final accuracy, compression of the last hidden layer, start time

Compression is max - final I(X;T) of the last hidden layer, from report/summary.json. The table shows the headline estimator: the first of mi.bin, mi.binwidth, mi.ebab, mi.kde, ... without a validity warning on that layer (docs/metrics.md, "Validity warnings"); --json has every estimator. The warnings column lists the report's warnings by kind: range (fixed-range bins on values outside the range), scale (KDE noise far from the activation scale), ceiling, chance, dead.`;
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs runs/sweeps/saxe --status failed', '<%= config.bin %> runs runs/sweeps/saxe --json'];
  static override args = {
    dir: Args.string({description: 'directory to search for run directories (default runs)', required: false}),
  };
  static override flags = {
    status: Flags.option({options: ['running', 'done', 'failed', 'interrupted'] as const, description: 'only runs with this status'})(),
  };

  async run(): Promise<{dir: string; runs: RunRow[]}> {
    const {args, flags} = await this.parse(Runs);
    const dir = args.dir ?? 'runs';
    if (!isDir(dir)) throw new UserError(`${dir}: no such directory (give a directory holding runs, e.g. runs or runs/sweeps/<name>)`);
    const rows = findRuns(dir)
      .map((d) => loadRun(d))
      .filter((r) => r !== null)
      .map((r) => runRow(r!, dir))
      .filter((r) => !flags.status || r.status === flags.status)
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.dir.localeCompare(b.dir));
    if (!this.jsonEnabled()) {
      if (rows.length === 0) this.log(`no runs under ${dir}`);
      else {
        const headline = (r: RunRow) => {
          if (!r.lastHidden) return '-';
          if (!r.headline) return Object.keys(r.compression).length ? `${r.lastHidden} - (every estimator flagged)` : '-';
          return `${r.lastHidden} ${r.headline.estimator} ${fmt(r.headline.compression)}`;
        };
        this.log(
          textTable(
            ['run', 'name', 'status', 'config', 'seed', 'act', 'train acc', 'test acc', 'compression (last hidden)', 'started', 'warnings'],
            rows.map((r) => [
              r.dir,
              r.name,
              r.status,
              r.configHash.slice(0, 12),
              String(r.seed),
              r.activation ?? '-',
              fmt(r.trainAcc),
              fmt(r.testAcc),
              headline(r),
              r.startedAt.replace('T', ' ').slice(0, 19),
              warningSummary(r.warnings).join('; ') || '-',
            ]),
          ),
        );
      }
    }
    return {dir: resolve(dir), runs: rows};
  }
}
