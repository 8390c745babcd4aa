import {Args} from '@oclif/core';
import {rerenderReport} from '../stages/recompute.js';
import {BaseCommand} from '../cli/base-command.js';

export default class Report extends BaseCommand {
  static override description = `Render a run's report again from its files (metrics, training log, model): report/index.html, report.md, summary.json and figures/*.svg, *.png

tdlab metrics re-renders the report by itself; use this after upgrading tdlab or to refresh a report whose stage failed.`;
  static override enableJsonFlag = true;
  static override examples = ['<%= config.bin %> report runs/tishby/20261122-171630-bd5982eb'];
  static override args = {run: Args.string({description: 'run directory (runs/<name>/<run-id>)', required: true})};

  async run(): Promise<{runDir: string; report: string; status: string}> {
    const {args} = await this.parse(Report);
    const result = await rerenderReport(args.run, [this.id ?? 'report', ...this.argv]);
    if (!this.jsonEnabled()) this.log(result.report);
    return result;
  }
}
