import {Args, Flags} from '@oclif/core';
import {recomputeMetrics, type RecomputeResult} from '../stages/recompute.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Metrics extends BaseCommand {
  static override description = 'Compute estimators on an existing run without retraining; values are added beside earlier ones (never silently overwritten)';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> metrics runs/tishby/20261122-171630-bd5982eb --estimator mi.bin --param bins=10,30,100',
    '<%= config.bin %> metrics runs/tishby/20261122-171630-bd5982eb --estimator mi.kde --param noiseVariance=1e-4,1e-3,1e-2 --every 4',
  ];
  static override args = {run: Args.string({description: 'run directory (runs/<name>/<run-id>)', required: true})};
  static override flags = {
    estimator: Flags.string({description: 'estimator name (repeatable); default: the run config\'s estimators', multiple: true, default: []}),
    param: Flags.string({description: 'estimator parameter name=value or name=v1,v2,... (sweep), repeatable', multiple: true, default: []}),
    subset: Flags.string({description: 'rows: all, train or test (repeatable)', multiple: true, default: []}),
    every: Flags.integer({description: 'compute on every k-th snapshot epoch only (first and last always)', min: 1}),
    'max-rows': Flags.integer({description: 'seeded subsample of at most N rows (same rows at every epoch)', min: 1}),
    force: Flags.boolean({description: 'replace values already computed with identical parameters', default: false}),
    'no-report': Flags.boolean({description: 'do not re-render the report', default: false}),
    threads: Flags.integer({description: 'worker threads computing snapshots side by side (default: the config\'s metrics.threads, else one per core); the values do not depend on it', min: 1}),
  };

  async run(): Promise<RecomputeResult> {
    const {args, flags} = await this.parse(Metrics);
    let last = 0;
    const progress = (line: string) => {
      const now = Date.now();
      if (now - last >= (process.stderr.isTTY ? 200 : 10000)) {
        last = now;
        process.stderr.write(`${line}\n`);
      }
    };
    const result = await recomputeMetrics({
      runDir: args.run,
      estimators: flags.estimator,
      params: flags.param,
      subsets: flags.subset,
      every: flags.every,
      maxRows: flags['max-rows'],
      force: flags.force,
      report: !flags['no-report'],
      threads: flags.threads,
      argv: ['metrics', ...this.argv],
      progress,
    });
    this.log(`${args.run}: ${result.added} values added, ${result.replaced} replaced, ${result.kept} already present (kept; --force to replace)`);
    return result;
  }
}
