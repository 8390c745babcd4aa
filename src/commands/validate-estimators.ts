import {Flags} from '@oclif/core';
import {writeFileAtomic} from '../io/atomic.js';
import {UserError} from '../util/errors.js';
import {formatMarkdown, formatText} from '../validation/format.js';
import {runSuite, suiteEstimatorNames, type SuiteResult} from '../validation/suite.js';
import {taskIds} from '../validation/tasks.js';
import {BaseCommand} from '../cli/base-command.js';

export default class ValidateEstimators extends BaseCommand {
  static override description =
    'Validate every registered MI/entropy estimator against closed-form ground truth (docs/metrics.md, ground truth: normals, ' +
    'uniform and transformed normals, additive uniform noise, Student-t, the 12-bit task; KDE limits K1-K6, binning ' +
    'S1-S3, EBAB/KSG invariance under monotone maps, KSG tolerances) and print bias and spread per estimator ' +
    'and task. Progress goes to stderr. Exit 0 when every check passes, 1 when a check fails, 2 for bad input ' +
    '(e.g. an unknown estimator or task).';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> validate-estimators',
    '<%= config.bin %> validate-estimators --n 2000 --seeds 3 --estimator mi.ksg --task normal-1x1 --task dense-2x2',
    '<%= config.bin %> validate-estimators --out validation.md --json',
  ];
  static override flags = {
    n: Flags.integer({description: 'rows per sample of the continuous tasks', default: 5000, min: 10}),
    seeds: Flags.integer({description: 'independent samples per task', default: 10, min: 1}),
    estimator: Flags.string({description: 'validate only this estimator (repeatable; default: every registered one)', multiple: true}),
    task: Flags.string({description: 'run only this task (repeatable; default: all)', multiple: true}),
    out: Flags.string({description: 'also write the table as Markdown to this file (atomically)'}),
  };

  async run(): Promise<SuiteResult> {
    const {flags} = await this.parse(ValidateEstimators);
    // check names before any work
    const knownEst = suiteEstimatorNames();
    const badEst = (flags.estimator ?? []).filter((e) => !knownEst.includes(e));
    if (badEst.length) throw new UserError(`--estimator: unknown estimator ${badEst.map((e) => `'${e}'`).join(', ')} (known: ${knownEst.join(', ')})`);
    const knownTasks = taskIds();
    const badTask = (flags.task ?? []).filter((t) => !knownTasks.includes(t));
    if (badTask.length) throw new UserError(`--task: unknown task ${badTask.map((t) => `'${t}'`).join(', ')} (known: ${knownTasks.join(', ')})`);

    const result = runSuite({
      n: flags.n,
      seeds: flags.seeds,
      estimators: flags.estimator,
      tasks: flags.task,
      onProgress: (p) => process.stderr.write(p.phase === 'task' ? `[${p.done}/${p.total}] ${p.message}\n` : `${p.message}\n`),
    });
    if (flags.out) writeFileAtomic(flags.out, formatMarkdown(result));
    this.log(formatText(result));
    if (!result.passed) process.exitCode = 1;
    return result;
  }
}
