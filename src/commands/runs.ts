import {resolve} from 'node:path';
import {Args, Flags} from '@oclif/core';
import {UserError} from '../util/errors.js';
import {findRuns, fmt, isDir, loadRun, runRow, textTable, type RunRow} from '../sweep/runs.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Runs extends BaseCommand {
  static override description = `List the runs under a directory (runs, a sweep directory, ...): name, status, config hash, seed, final accuracy, compression of the last hidden layer, start time

Compression is max - final I(X;T) of the last hidden layer, from report/summary.json; the table shows mi.bin (or the first estimator) and --json has every estimator.`;
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
        const est = (r: RunRow) => ('mi.bin' in r.compression ? 'mi.bin' : Object.keys(r.compression)[0]);
        this.log(
          textTable(
            ['run', 'name', 'status', 'config', 'seed', 'act', 'train acc', 'test acc', 'compression (last hidden)', 'started'],
            rows.map((r) => [
              r.dir,
              r.name,
              r.status,
              r.configHash.slice(0, 12),
              String(r.seed),
              r.activation ?? '-',
              fmt(r.trainAcc),
              fmt(r.testAcc),
              r.lastHidden && est(r) ? `${r.lastHidden} ${est(r)} ${fmt(r.compression[est(r)!])}` : '-',
              r.startedAt.replace('T', ' ').slice(0, 19),
            ]),
          ),
        );
      }
    }
    return {dir: resolve(dir), runs: rows};
  }
}
