import {Args, Flags} from '@oclif/core';
import {BACKEND_CHOICES} from '../backend/tf.js';
import {runPipeline, type RunOutcome} from '../run/pipeline.js';
import {runFromSweep} from '../sweep/worker.js';
import {UserError} from '../util/errors.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Run extends BaseCommand {
  static override description = 'Run the stages a config declares (data, train, metrics, report) into a new run directory';
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> run configs/tishby.yaml',
    '<%= config.bin %> run configs/tishby.yaml --set train.epochs=2000 --set model.activation=relu',
    '<%= config.bin %> run configs/tishby.yaml --seed 3 --out /tmp/runs --json',
    '<%= config.bin %> run --resume runs/tishby/20261122-171200-1a2b3c4d',
    '<%= config.bin %> run --from-sweep runs/sweeps/saxe --index 3',
  ];
  static override args = {
    config: Args.string({description: 'YAML config file', required: false}),
  };
  static override flags = {
    set: Flags.string({description: 'override a config value: key.path=value (YAML-typed), repeatable', multiple: true, default: []}),
    seed: Flags.integer({description: 'seed (overrides the config seed)', min: 0}),
    out: Flags.string({description: 'directory that holds the runs', default: 'runs'}),
    backend: Flags.option({options: BACKEND_CHOICES, default: 'auto', description: 'tensor backend (auto: native TensorFlow if installed, then a hardware WebGPU adapter for models of >= 10 MFLOP per step, else WASM)'})(),
    resume: Flags.string({description: 'continue an existing run directory: keep stages that are done, run the rest'}),
    'from-sweep': Flags.string({description: 'run one point of a sweep directory (written by tdlab sweep) in its run directory; with --index', dependsOn: ['index'], exclusive: ['resume', 'seed']}),
    index: Flags.integer({description: 'the point of --from-sweep to run (0-based, as in sweep.json)', min: 0, dependsOn: ['from-sweep']}),
  };

  async run(): Promise<Omit<RunOutcome, 'exitCode'>> {
    const {args, flags} = await this.parse(Run);
    if (flags['from-sweep'] !== undefined && (args.config || flags.set.length)) throw new UserError('--from-sweep takes no config file or --set: the sweep directory describes the run');
    const outcome = flags['from-sweep'] !== undefined
      ? await runFromSweep(flags['from-sweep'], flags.index!, {backend: flags.backend, argv: [this.id ?? 'run', ...this.argv]})
      : await runPipeline({
      configFile: args.config,
      set: flags.set,
      seed: flags.seed,
      out: flags.out,
      backend: flags.backend,
      resume: flags.resume,
      argv: [this.id ?? 'run', ...this.argv],
    });
    const {exitCode, ...result} = outcome;
    if (!this.jsonEnabled()) {
      this.log(outcome.runDir);
      if (outcome.error) process.stderr.write(`Error: ${outcome.error}\n`);
    }
    if (exitCode !== 0) process.exitCode = exitCode;
    return result;
  }
}
