import {Args, Flags} from '@oclif/core';
import {importSnapshots, type ImportOutcome} from '../exchange/import.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Import extends BaseCommand {
  static override description = `Turn a directory of snapshots written by another program (e.g. a PyTorch training loop) into a run directory, then compute its metrics and report

The directory holds labels.npy (N class ids, or N x C one-hot; required), one snapshot per epoch as epoch_<N>/<layer>.npy or epoch_<N>.npz (one array per layer, N rows each), and optionally x.npy (inputs), split.npy (1 = training row), layers.txt (one "name [activation]" per line, in network order; default: layer names in natural order), epoch_<N>/weights.npz (W0, b0, W1, b1, ... input-by-output, for geom.local_rank and weights.features) and training.csv (columns epoch,quantity,value). scripts/export_snapshots.py writes this layout from a training loop.

The run gets data/, model.json, activations/, training.arrow (and checkpoints/ with weights), like a trained run; provenance.json records the source directory and the sha256 of every file read. Then the metrics (the default estimators: mi.bin, mi.binwidth, act.stats) and the report run; add others with tdlab metrics <run> --estimator NAME. See docs/metrics.md.`;
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> import snapshots/',
    '<%= config.bin %> import snapshots/ --name mlp-relu --out runs --json',
  ];
  static override args = {
    dir: Args.string({description: 'directory with labels.npy and epoch_<N>/ or epoch_<N>.npz snapshots', required: true}),
  };
  static override flags = {
    name: Flags.string({description: 'run name (default: the directory name); the run goes to <out>/<name>/<run-id>'}),
    out: Flags.string({description: 'directory that holds the runs', default: 'runs'}),
  };

  async run(): Promise<Omit<ImportOutcome, 'exitCode' | 'runId'>> {
    const {args, flags} = await this.parse(Import);
    const outcome = await importSnapshots({dir: args.dir, name: flags.name, out: flags.out, argv: [this.id ?? 'import', ...this.argv]});
    const {exitCode, runId: _runId, ...result} = outcome;
    if (!this.jsonEnabled()) {
      this.log(outcome.runDir);
      if (outcome.error) process.stderr.write(`Error: ${outcome.error}\n`);
    }
    if (exitCode !== 0) process.exitCode = exitCode;
    return result;
  }
}
