/**
 * The self-contained HTML report: inline CSS, inline SVG figures, no scripts, no external URLs.
 */
import {escapeXml as esc} from './svg.js';
import {LAYER_TABLE_NOTE, LOCAL_RANK_TABLE_NOTE, MI_TABLE_NOTE, layerTable, localRankTable, miTable, runFacts, type Table} from './tables.js';
import type {ReportFigure, ReportInput, ReportSummary} from './types.js';

const CSS = `
body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:1216px;margin:24px auto;padding:0 24px;line-height:1.45}
h1{font-size:24px;margin:0 0 12px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #d0d0d0;padding:3px 8px;text-align:left}
th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.facts th{width:150px}
code,pre{font-family:Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#f6f6f6;border:1px solid #e0e0e0;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.note{font-size:12.5px;color:#555;margin:2px 0 10px}
.warnings{border:1px solid #e0b252;background:#fff8e6;padding:8px 14px;margin:8px 0}
.warnings.ok{border-color:#9cc79c;background:#f1f9f1}
.warnings ul{margin:4px 0;padding-left:20px}
figure{margin:18px 0 28px}
figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:13px;color:#333;max-width:1000px;margin-top:6px}
details summary{cursor:pointer;font-weight:bold}
`;

/** Cells that are numbers or dashes are right-aligned. */
const NUMERIC = /^(−|–|-)?[0-9.]+$|^–$/;

function renderTable(t: Table, className?: string): string {
  const head = `<tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const body = t.rows
    .map((r) => `<tr>${r.map((c) => (NUMERIC.test(c) ? `<td class="num">${esc(c)}</td>` : `<td>${esc(c)}</td>`)).join('')}</tr>`)
    .join('\n');
  return `<table${className ? ` class="${className}"` : ''}>\n${head}\n${body}\n</table>`;
}

function renderWarnings(warnings: ReportSummary['warnings']): string {
  if (warnings.length === 0) return '<div class="warnings ok">No warnings.</div>';
  return `<div class="warnings"><ul>\n${warnings.map((w) => `<li><strong>${esc(w.kind)}</strong>: ${esc(w.message)}</li>`).join('\n')}\n</ul></div>`;
}

function renderFigureBlock(f: ReportFigure, n: number): string {
  return `<figure>\n${f.svg}\n<figcaption><strong>Figure ${n}. ${esc(f.title)}.</strong> ${esc(f.caption)} <code>figures/${esc(f.file)}</code></figcaption>\n</figure>`;
}

export function renderHtml(input: ReportInput, summary: ReportSummary, figures: readonly ReportFigure[]): string {
  const facts = runFacts(input, summary);
  const factRows = facts.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n');
  const mi = miTable(summary);
  const localRank = localRankTable(summary);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(`tdlab report: ${summary.title} (${summary.runId})`)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>tdlab report: ${esc(summary.title)}</h1>`,
    `<table class="facts">\n${factRows}\n<tr><th>Command</th><td><code>${esc(input.command)}</code></td></tr>${(input.laterCommands ?? []).length ? `\n<tr><th>Later commands</th><td>${input.laterCommands!.map((c) => `<code>${esc(c)}</code>`).join('<br>')}</td></tr>` : ''}\n</table>`,
    '<h2>Warnings</h2>',
    renderWarnings(summary.warnings),
    '<h2>Information plane per layer</h2>',
    mi.rows.length ? renderTable(mi) : '<p>No mutual-information metrics in this run.</p>',
    `<p class="note">${esc(MI_TABLE_NOTE)}</p>`,
    '<h2>Gradient phases and unit health per layer</h2>',
    renderTable(layerTable(summary)),
    `<p class="note">${esc(LAYER_TABLE_NOTE)}</p>`,
    ...(localRank.rows.length
      ? ['<h2>Local rank per layer</h2>', renderTable(localRank), `<p class="note">${esc(LOCAL_RANK_TABLE_NOTE)}</p>`]
      : []),
    '<h2>Figures</h2>',
    ...figures.map((f, i) => renderFigureBlock(f, i + 1)),
    '<h2>Configuration</h2>',
    `<details><summary>Resolved config (hash ${esc(summary.configHash)})</summary>\n<pre>${esc(input.configYaml)}</pre>\n</details>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
