import {existsSync, readdirSync, readFileSync, rmSync} from 'node:fs';
import {join} from 'node:path';
import {writeFileAtomic, writeJsonAtomic} from '../io/atomic.js';
import {pngAvailable, pngName, svgToPng} from '../io/png.js';
import {readMetricRows, readTrainingRows} from '../io/tables.js';
import {buildReport} from '../report/index.js';
import {readExamples} from '../run/predictions.js';
import type {LayerInfo} from '../types.js';
import type {DatasetInfo} from '../data/types.js';
import {readModelPlan} from '../model/checkpoint.js';
import type {Stage} from './types.js';

/** `report`: one self-contained HTML page (inline SVG), a Markdown report with SVG figures, and summary.json. */
export const reportStage: Stage = {
  name: 'report',
  description: 'write the HTML/Markdown report and summary.json',
  async run(ctx) {
    const {config, paths} = ctx;
    const plan = readModelPlan(paths.model);
    const info = JSON.parse(readFileSync(paths.datasetInfo, 'utf8')) as DatasetInfo;
    const metrics = readMetricRows(paths.metricsArrow);
    const training = readTrainingRows(paths.training);
    const provenance = JSON.parse(readFileSync(paths.provenance, 'utf8')) as {backend: string | null; startedAt: string; resumes?: {argv: string[]}[]; stages: {train?: {info?: {engine?: string; engineKernels?: string}}}};
    const trainInfo = provenance.stages.train?.info;
    const layers: LayerInfo[] = plan.layers.map(({index, name, width, activation, kind}) => ({index, name, width, activation, kind}));
    const out = buildReport({
      title: config.report.title ?? config.name,
      runId: ctx.runId,
      configHash: ctx.configHash,
      // a fused run loads no tensor backend: name the engine instead
      backend: provenance.backend ?? (trainInfo?.engine === 'fused' ? `fused engine (${trainInfo.engineKernels?.replace(/sha256 (\w{12})\w*/, '$1')})` : 'unknown'),
      seed: config.seed,
      command: ctx.command,
      laterCommands: (provenance.resumes ?? []).map((r) => ['tdlab', ...r.argv].join(' ')),
      createdAt: provenance.startedAt,
      layers,
      metrics,
      training,
      snapshotEpochs: [...new Set(metrics.map((r) => r.epoch))].sort((a, b) => a - b),
      epochs: config.train.epochs,
      dataset: {name: info.name, n: info.n, nTrain: info.nTrain, nTest: info.nTest, entropyY: typeof info.facts.entropyY === 'number' ? info.facts.entropyY : undefined},
      configYaml: readFileSync(paths.config, 'utf8'),
      epochAxis: config.report.epochAxis,
      shareEstimatorAxes: config.report.shareEstimatorAxes,
      ...(existsSync(paths.examples) ? {examples: readExamples(paths.examples)} : {}),
    });
    // every figure as a standalone SVG and a PNG (twice the SVG's size) for papers and slides
    const png = pngAvailable();
    // figures of an earlier rendering that this one does not make (e.g. renamed files) are removed
    const keep = new Set(out.figures.flatMap((f) => [f.file, pngName(f.file)]));
    const figDir = join(paths.reportDir, 'figures');
    if (existsSync(figDir)) for (const f of readdirSync(figDir)) if (/\.(svg|png)$/.test(f) && !keep.has(f)) rmSync(join(figDir, f), {force: true});
    for (const f of out.figures) {
      writeFileAtomic(join(paths.reportDir, 'figures', f.file), f.svg);
      if (png) writeFileAtomic(join(paths.reportDir, 'figures', pngName(f.file)), svgToPng(f.svg));
    }
    if (!png) ctx.note('no PNG figures: @resvg/resvg-js has no binary for this platform (the SVGs are written)');
    writeFileAtomic(paths.reportMd, out.markdown);
    writeJsonAtomic(paths.reportSummary, out.summary);
    writeFileAtomic(paths.reportHtml, out.html); // last: its presence means the report is complete
    for (const w of out.summary.warnings) ctx.note(`${w.kind}: ${w.message}`);
    return {outputs: ['report/index.html', 'report/report.md', 'report/summary.json', ...out.figures.flatMap((f) => [`report/figures/${f.file}`, ...(png ? [`report/figures/${pngName(f.file)}`] : [])])]};
  },
};
