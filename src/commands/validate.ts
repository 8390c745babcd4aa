import {Args, Flags} from '@oclif/core';
import {loadConfig} from '../config/load.js';
import {snapshotEpochs} from '../train/schedule.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Validate extends BaseCommand {
  static override description = 'Check a config against the schema without running it (exit 2 with one line per problem)';
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> validate configs/tishby.yaml', '<%= config.bin %> validate configs/tishby.yaml --set model.activation=relu'];
  static override args = {config: Args.string({description: 'YAML config file', required: true})};
  static override flags = {
    set: Flags.string({description: 'override a config value: key.path=value, repeatable', multiple: true, default: []}),
    seed: Flags.integer({description: 'seed (overrides the config seed)', min: 0}),
  };

  async run(): Promise<{valid: true; configHash: string; snapshots: number; config: unknown}> {
    const {args, flags} = await this.parse(Validate);
    const {config, hash} = loadConfig(args.config, {set: flags.set, seed: flags.seed});
    const snapshots = snapshotEpochs(config.train.snapshots, config.train.epochs).length;
    this.log(`${args.config}: valid (sha256 ${hash.slice(0, 12)}, ${config.stages.join(' -> ')}, ${snapshots} snapshot epochs)`);
    return {valid: true, configHash: hash, snapshots, config};
  }
}
