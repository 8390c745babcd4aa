import {Args, Flags} from '@oclif/core';
import {EXPORT_PARTS, exportRun, type ExportIndex, type ExportPart} from '../exchange/export.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Export extends BaseCommand {
  static override description = `Write a run's data as files NumPy reads without pyarrow (np.load, np.loadtxt), in the layout tdlab import reads

--format npy: labels.npy (int32), x.npy (float32, N x input shape), split.npy (1 = training row), layers.txt ("name activation" per line), epoch_<N>/<layer>.npy (float32, N x layer shape) and epoch_<N>/weights.npz (W0, b0, W1, b1, ... input-by-output for dense networks, <layer>.<param> otherwise). --format csv writes the same arrays as CSV (epoch_<N>/<layer>.csv, one row per sample). Tables are CSV in both: training.csv (epoch,layer,quantity,value) and metrics.csv (the run's tidy metrics). DIR/index.json lists every file with its shape and dtype. The values equal the run's Arrow data bit for bit, and tdlab import DIR turns an npy export back into a run.`;
  static override enableJsonFlag = true;
  static override examples = [
    '<%= config.bin %> export runs/tishby/20261122-171630-bd5982eb --format npy --out exported/',
    '<%= config.bin %> export runs/tishby/20261122-171630-bd5982eb --format csv --out tables/ --what training --what metrics',
  ];
  static override args = {run: Args.string({description: 'run directory (runs/<name>/<run-id>)', required: true})};
  static override flags = {
    format: Flags.option({options: ['npy', 'csv'] as const, description: 'file format of the arrays (tables are always CSV)', required: true})(),
    out: Flags.string({description: 'output directory (new or empty)', required: true}),
    what: Flags.option({options: EXPORT_PARTS, description: 'what to write (repeatable; default: everything the run has)', multiple: true})(),
  };

  async run(): Promise<ExportIndex> {
    const {args, flags} = await this.parse(Export);
    const index = await exportRun({runDir: args.run, format: flags.format, out: flags.out, what: flags.what as ExportPart[] | undefined});
    if (!this.jsonEnabled()) this.log(`${flags.out}: ${index.files.length} files (${index.what.join(', ')}); index.json lists them`);
    return index;
  }
}
