/**
 * The Markdown report (GitHub flavour): header, tables, warnings, and links to the figure files
 * that the report stage writes next to it under `figures/`.
 */
import {LAYER_TABLE_NOTE, LOCAL_RANK_TABLE_NOTE, MI_TABLE_NOTE, layerTable, localRankTable, miTable, runFacts, type Table} from './tables.js';
import type {ReportFigure, ReportInput, ReportSummary} from './types.js';

/** Escapes a table cell: pipes would end the cell, newlines the row. */
function cell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** Escapes inline Markdown punctuation in free text. */
function inline(s: string): string {
  return s.replace(/([\\`*_[\]<>|])/g, '\\$1');
}

/** A code fence longer than any backtick run in the content. */
function fence(content: string, lang = ''): string {
  const longest = Math.max(0, ...(content.match(/`+/g) ?? []).map((m) => m.length));
  const f = '`'.repeat(Math.max(3, longest + 1));
  return `${f}${lang}\n${content.replace(/\n$/, '')}\n${f}`;
}

function renderTable(t: Table): string {
  const lines = [
    `| ${t.header.map(cell).join(' | ')} |`,
    `|${t.header.map(() => ' --- ').join('|')}|`,
    ...t.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
  return lines.join('\n');
}

export function renderMarkdown(input: ReportInput, summary: ReportSummary, figures: readonly ReportFigure[]): string {
  const mi = miTable(summary);
  const localRank = localRankTable(summary);
  const out: string[] = [
    `# tdlab report: ${inline(summary.title)}`,
    '',
    ...runFacts(input, summary).map(([k, v]) => `- **${k}:** ${inline(v)}`),
    '- **Command:**',
    '',
    fence(input.command, 'sh'),
    '',
    ...((input.laterCommands ?? []).length ? ['- **Later commands:**', '', fence(input.laterCommands!.join('\n'), 'sh'), ''] : []),
    '## Warnings',
    '',
    ...(summary.warnings.length ? summary.warnings.map((w) => `- **${w.kind}**: ${inline(w.message)}`) : ['No warnings.']),
    '',
    '## Information plane per layer',
    '',
    mi.rows.length ? renderTable(mi) : 'No mutual-information metrics in this run.',
    '',
    `_${inline(MI_TABLE_NOTE)}_`,
    '',
    '## Gradient phases and unit health per layer',
    '',
    renderTable(layerTable(summary)),
    '',
    `_${inline(LAYER_TABLE_NOTE)}_`,
    '',
    ...(localRank.rows.length
      ? ['## Local rank per layer', '', renderTable(localRank), '', `_${inline(LOCAL_RANK_TABLE_NOTE)}_`, '']
      : []),
    '## Figures',
    '',
  ];
  figures.forEach((f, i) => {
    out.push(`![${inline(f.title)}](figures/${encodeURI(f.file)})`, '', `**Figure ${i + 1}. ${inline(f.title)}.** ${inline(f.caption)}`, '');
  });
  out.push('## Configuration', '', '<details><summary>Resolved config</summary>', '', fence(input.configYaml, 'yaml'), '', '</details>', '');
  return out.join('\n');
}
