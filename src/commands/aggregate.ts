import {join} from 'node:path';
import {Args, Flags} from '@oclif/core';
import {buildAggregate} from '../aggregate/index.js';
import {differingKeys, flattenConfig} from '../aggregate/group.js';
import type {AggregateJson} from '../aggregate/render.js';
import {declaredChecks} from '../aggregate/checks.js';
import {findRuns, loadRun} from '../aggregate/runs.js';
import {readSweepIndex} from '../sweep/store.js';
import {existsSync} from 'node:fs';
import {writeFileAtomic, writeJsonAtomic} from '../io/atomic.js';
import {pngAvailable, pngName, svgToPng} from '../io/png.js';
import {UserError} from '../util/errors.js';
import {BaseCommand} from '../cli/base-command.js';

function timestamp(d = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export type AggregateCommandResult = AggregateJson & {files: {dir: string; html: string; markdown: string; json: string; csv: string | null; figures: string[]}};

export default class Aggregate extends BaseCommand {
  static override description = `One report across runs: information planes as mean and spread over seeds, compression per seed, and the checks the sweep and configs declare

Reads each run's resolved config.yaml and metrics/metrics.arrow, groups the runs by the swept config keys (default: every key whose value differs between runs, except seed; choose with --group-by) and, per group, layer and MI estimator/parameter set, reports:
  - information-plane trajectories: mean over seeds (thick), each seed (thin), and a band (--band std: mean ± sample std; --band range: min..max) in the I-vs-epoch figures;
  - compression C = max over snapshots of I(X;T) - I(X;T) at the last snapshot, per seed, with mean and sample std;
  - the checks declared under checks: in the sweep file (sweep.json) and in the runs' configs, each on every group whose runs match its where: - pass/fail with value, threshold and definition, or n/a with the reason (docs/metrics.md, "Checks"; configs/tishby.yaml and configs/sweeps/*.yaml ship the 12-bit, Saxe and Chelombiev checks).

Writes <out>/aggregate/index.html (self-contained), aggregate.md (+ figures/*.svg), aggregate.json and, with --csv, compression.csv (one row per group x run x layer x estimator; also printed on stdout unless --json). Default <out>: the sweep directory, or runs/aggregate-<time> when run directories are listed.`;
  static override enableJsonFlag = true;
  static override strict = false;
  static override examples = [
    '<%= config.bin %> aggregate runs/sweeps/saxe',
    '<%= config.bin %> aggregate runs/sweeps/saxe --group-by model.activation --band range --json',
    '<%= config.bin %> aggregate runs/tishby/RUN_A runs/tishby/RUN_B --out /tmp/agg --csv > compression.csv',
  ];
  static override args = {dirs: Args.string({description: 'sweep directory (with sweep.json, or any directory of runs), or run directories', required: true})};
  static override flags = {
    'group-by': Flags.string({description: 'config key path to group runs by (repeatable); default: every key that differs between runs except seed', multiple: true, multipleNonGreedy: true}),
    out: Flags.string({description: 'output directory (files go to <out>/aggregate/)'}),
    band: Flags.string({description: 'spread band around the mean over seeds', options: ['std', 'range'], default: 'std'}),
    csv: Flags.boolean({description: 'also write compression.csv (tidy per-seed compression) and print it on stdout', default: false}),
  };

  async run(): Promise<AggregateCommandResult> {
    const {argv, flags} = await this.parse(Aggregate);
    const found = findRuns(argv as string[]);
    if (found.runDirs.length === 0) throw new UserError(`no finished runs found (${found.skipped.map((s) => `${s.runDir}: ${s.reason}`).join('; ')})`);
    const runs = found.runDirs.map((d) => {
      const r = loadRun(d);
      return {runDir: r.runDir, runId: r.runId, seed: r.seed, config: r.config, layers: r.layers, metrics: r.metrics, training: r.training()};
    });
    const groupBy = flags['group-by']?.flatMap((k) => k.split(',')).map((k) => k.trim()).filter((k) => k !== '');
    if (groupBy && groupBy.length) {
      const known = new Set(runs.flatMap((r) => [...flattenConfig(r.config).keys()]));
      for (const k of groupBy) {
        const prefix = `${k}.`;
        if (!known.has(k) && ![...known].some((x) => x.startsWith(prefix))) {
          const diff = differingKeys(runs.map((r) => r.config));
          throw new UserError(`--group-by ${k}: no such config key in these runs (keys that differ: ${diff.length ? diff.join(', ') : 'none'})`);
        }
      }
    }
    const sweepChecks = found.sweepDir && existsSync(join(found.sweepDir, 'sweep.json')) ? (readSweepIndex(found.sweepDir).checks ?? []) : [];
    const declared = declaredChecks(sweepChecks, runs.map((r) => r.config));
    const out = buildAggregate(runs, {groupBy: groupBy && groupBy.length ? groupBy : undefined, band: flags.band as 'std' | 'range', skipped: found.skipped, checks: declared.checks});
    out.json.warnings.push(...declared.warnings);

    const base = flags.out ?? found.sweepDir ?? join('runs', `aggregate-${timestamp()}`);
    const dir = join(base, 'aggregate');
    const png = pngAvailable();
    const figures = out.figures.map((f) => {
      const p = join(dir, 'figures', f.file);
      writeFileAtomic(p, f.svg);
      if (png) writeFileAtomic(join(dir, 'figures', pngName(f.file)), svgToPng(f.svg));
      return p;
    });
    const files = {dir, html: join(dir, 'index.html'), markdown: join(dir, 'aggregate.md'), json: join(dir, 'aggregate.json'), csv: flags.csv ? join(dir, 'compression.csv') : null, figures};
    writeFileAtomic(files.markdown, out.markdown);
    writeJsonAtomic(files.json, out.json);
    if (files.csv) writeFileAtomic(files.csv, out.csv);
    writeFileAtomic(files.html, out.html); // last: its presence means the aggregate is complete

    if (!this.jsonEnabled()) {
      if (flags.csv) {
        process.stdout.write(out.csv);
        process.stderr.write(`${this.summary(out.json)}\nwrote ${files.html}, ${files.markdown}, ${files.json}, ${files.csv}\n`);
      } else {
        this.log(this.summary(out.json));
        this.log(`wrote ${files.html}, ${files.markdown}, ${files.json}`);
      }
    }
    return {...out.json, files};
  }

  private summary(j: AggregateJson): string {
    const lines = [`${j.runs} runs, ${j.groups.length} group(s) by ${j.groupBy.length ? j.groupBy.join(', ') : '(none)'}:`];
    for (const g of j.groups) lines.push(`  ${g.label}: ${g.runs.length} run(s), seeds ${g.seeds.join(', ')}`);
    for (const s of j.skipped) lines.push(`  skipped ${s.runDir}: ${s.reason}`);
    lines.push(j.checks.length ? 'checks (declared in the sweep file and configs; docs/metrics.md):' : 'checks: none declared (add checks: to the config or sweep file; docs/metrics.md)');
    const defined = new Set<string>();
    for (const c of j.checks) {
      if (!defined.has(c.id)) {
        defined.add(c.id);
        lines.push(`  ${c.id}: ${c.description === c.definition ? c.definition : `${c.description} (${c.definition})`}`);
      }
      const v = c.value === null ? '' : ` ${c.value.toFixed(3)} ${c.op} ${c.threshold}`;
      lines.push(`    ${c.status.toUpperCase().padEnd(4)}${c.group ? ` [${c.group}]` : ''}${v}${c.note ? ` (${c.note})` : ''}`);
    }
    for (const w of j.warnings) lines.push(`warning: ${w}`);
    return lines.join('\n');
  }
}
