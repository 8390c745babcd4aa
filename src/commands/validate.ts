import {Args, Flags} from '@oclif/core';
import {loadConfig} from '../config/load.js';
import {preflight, type PreflightResult} from '../run/preflight.js';
import {snapshotEpochs} from '../train/schedule.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Validate extends BaseCommand {
  static override description = `Check a config without running it: the schema, every file it names (table, labels, IDX), the model on the dataset's shape, and the memory of every estimator at the dataset's size (exit 2 with one line naming the file and field)

Relative data paths in a config are relative to the config file's directory. The memory a run may use is the machine's (or the cgroup's) memory, or TDLAB_MEMORY_GB.`;
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> validate configs/tishby.yaml', '<%= config.bin %> validate configs/tishby.yaml --set model.activation=relu'];
  static override args = {config: Args.string({description: 'YAML config file', required: true})};
  static override flags = {
    set: Flags.string({description: 'override a config value: key.path=value, repeatable', multiple: true, default: []}),
    seed: Flags.integer({description: 'seed (overrides the config seed)', min: 0}),
  };

  async run(): Promise<{valid: true; configHash: string; snapshots: number; rows: number | null; memory: PreflightResult['memory']; config: unknown}> {
    const {args, flags} = await this.parse(Validate);
    const loaded = loadConfig(args.config, {set: flags.set, seed: flags.seed});
    const {config, hash} = loaded;
    const snapshots = snapshotEpochs(config.train.snapshots, config.train.epochs).length;
    const checked = await preflight(loaded, {stages: config.stages});
    const mem = checked.memory ? `, metrics need ~${Math.ceil(checked.memory.peakBytes / 2 ** 20)} MiB of ${Math.round(checked.memory.budgetBytes / 2 ** 30)} GiB` : '';
    const rows = checked.dataset ? `, ${checked.dataset.n} rows` : '';
    this.log(`${args.config}: valid (sha256 ${hash.slice(0, 12)}, ${config.stages.join(' -> ')}, ${snapshots} snapshot epochs${rows}${mem})`);
    return {valid: true, configHash: hash, snapshots, rows: checked.dataset?.n ?? null, memory: checked.memory, config};
  }
}
