/**
 * Renders a validation `SuiteResult` as a fixed-width text table (terminal) or as Markdown (for
 * `--out` and for a run report to link): one row per estimator x task with truth, mean, std,
 * bias, relative bias and seconds per estimate; then the pass/fail checks, the task legend and
 * the estimator-task pairs that were not run.
 */
import type {SuiteCheck, SuiteResult, SuiteRow} from './suite.js';

const num = (v: number | null, d = 4) => (v === null ? '' : v.toFixed(d));
/** Signed fixed-point; values that round to zero print as +0 (no "-0.0000"). */
function signed(v: number | null, d = 4, scale = 1, suffix = ''): string {
  if (v === null) return '';
  const t = (v * scale).toFixed(d);
  return Number(t) === 0 ? `+${(0).toFixed(d)}${suffix}` : `${v > 0 ? '+' : ''}${t}${suffix}`;
}
const pct = (v: number | null) => signed(v, 1, 100, '%');
const secs = (v: number | null) => (v === null ? '' : v < 0.01 ? v.toExponential(1) : v.toFixed(3));

function rowCells(r: SuiteRow, notes: Set<string>): string[] {
  const task = notes.has(r.task) ? `${r.task}*` : r.task;
  if (r.status !== 'ok') return [r.estimator, task, num(r.truth), 'n/a', '', '', '', secs(r.seconds), r.reason ?? ''];
  return [r.estimator, task, num(r.truth), num(r.mean), num(r.std), signed(r.bias), pct(r.relBias), secs(r.seconds), ''];
}

const HEAD = ['estimator', 'task', 'truth', 'mean', 'std', 'bias', 'rel.bias', 's/est', ''];
/** Columns aligned right in the text table (numbers). */
const RIGHT = [false, false, true, true, true, true, true, true, false];

function countChecks(checks: SuiteCheck[]) {
  const c = {pass: 0, fail: 0, skip: 0};
  for (const k of checks) c[k.status]++;
  return c;
}

/** Tasks with a note that appear in the table. */
function notedTasks(r: SuiteResult) {
  const shown = new Set(r.rows.map((row) => row.task));
  return r.tasks.filter((t) => t.note && shown.has(t.id));
}

function header(r: SuiteResult): string {
  return (
    `Estimator validation (docs/metrics.md, ground truth): n = ${r.n} rows per sample (discrete tasks: their own size), ${r.seeds} seed${r.seeds === 1 ? '' : 's'}, ` +
    `values in nats; mean and std over seeds, bias = mean - truth, rel.bias = bias / truth, s/est = seconds per estimate`
  );
}

/** One line per skipped group; task lists are spelled out only when short (JSON has them all). */
function skippedLines(r: SuiteResult): string[] {
  return r.skipped.map((s) => {
    const list = s.tasks.length <= 4 ? ` [${s.tasks.join(', ')}]` : ` [${s.tasks.length} tasks]`;
    const colon = s.reason.indexOf(': ');
    return colon > 0 ? `${s.estimator}, ${s.reason.slice(0, colon)}${list}: ${s.reason.slice(colon + 2)}` : `${s.estimator}${list}: ${s.reason}`;
  });
}

/** Fixed-width text for a terminal. */
export function formatText(r: SuiteResult): string {
  const notes = new Set(r.tasks.filter((t) => t.note).map((t) => t.id));
  const table = [HEAD, ...r.rows.map((row) => rowCells(row, notes))];
  const widths = HEAD.map((_, j) => (j === HEAD.length - 1 ? 0 : Math.max(...table.map((cells) => cells[j].length))));
  const line = (cells: string[]) =>
    cells
      .map((c, j) => (j === cells.length - 1 ? c : RIGHT[j] ? c.padStart(widths[j]) : c.padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  const out: string[] = [header(r), ''];
  if (r.rows.length === 0) out.push('(no estimator-task pairs ran)');
  else {
    out.push(line(table[0]));
    out.push(widths.map((w, j) => '-'.repeat(j === HEAD.length - 1 ? 0 : w)).join('  ').trimEnd());
    let prev = '';
    for (let i = 1; i < table.length; i++) {
      if (prev && r.rows[i - 1].estimator !== prev) out.push('');
      prev = r.rows[i - 1].estimator;
      out.push(line(table[i]));
    }
  }
  for (const t of notedTasks(r)) out.push(`* ${t.id}: ${t.note}`);

  const c = countChecks(r.checks);
  out.push('', `Checks: ${c.pass} pass, ${c.fail} fail, ${c.skip} skip${r.checks.length === 0 ? ' (none apply to the selected estimators)' : ''}`);
  const idW = Math.max(0, ...r.checks.map((k) => k.id.length));
  const estW = Math.max(0, ...r.checks.map((k) => k.estimator.length));
  for (const k of r.checks) out.push(`${k.status.toUpperCase().padEnd(4)}  ${k.id.padEnd(idW)}  ${k.estimator.padEnd(estW)}  ${k.description}\n      ${' '.repeat(idW + estW + 4)}${k.detail}`);

  const sk = skippedLines(r);
  if (sk.length) out.push('', 'Not run:', ...sk.map((s) => `  ${s}`));
  out.push('', `${r.passed ? 'All checks passed' : 'SOME CHECKS FAILED'} (${r.seconds.toFixed(1)} s)`);
  return out.join('\n');
}

const md = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** Markdown (GitHub tables) for a report or `--out`. */
export function formatMarkdown(r: SuiteResult): string {
  const notes = new Set(r.tasks.filter((t) => t.note).map((t) => t.id));
  const out: string[] = ['# Estimator validation', '', md(header(r)) + '.', ''];
  out.push('| estimator | task | truth | mean | std | bias | rel. bias | s/est | note |', '|---|---|--:|--:|--:|--:|--:|--:|---|');
  for (const row of r.rows) out.push(`| ${rowCells(row, notes).map(md).join(' | ')} |`);
  if (r.rows.length === 0) out.push('| (none) | | | | | | | | |');
  for (const t of notedTasks(r)) out.push('', `\\* ${t.id}: ${md(t.note!)}`);

  const c = countChecks(r.checks);
  out.push('', '## Checks', '', `${c.pass} pass, ${c.fail} fail, ${c.skip} skip.`, '');
  if (r.checks.length) {
    out.push('| status | check | estimator | description | result |', '|---|---|---|---|---|');
    for (const k of r.checks) out.push(`| ${k.status === 'fail' ? '**FAIL**' : k.status.toUpperCase()} | ${md(k.id)} | ${md(k.estimator)} | ${md(k.description)} | ${md(k.detail)} |`);
  }

  out.push('', '## Tasks', '', '| task | truth (nats) | dim X | dim Y | quantity | n | description |', '|---|--:|--:|--:|---|--:|---|');
  for (const t of r.tasks) out.push(`| ${md(t.id)} | ${t.truthNats.toFixed(6)} | ${t.dimX} | ${t.dimY} | ${t.quantity} | ${t.n} | ${md(t.description)} |`);

  if (r.estimators.length) {
    out.push('', '## Estimators', '', '| estimator | role | entropy tasks | parameters |', '|---|---|---|---|');
    for (const e of r.estimators) out.push(`| ${md(e.name)} | ${e.role}${e.probeError ? ` (probe failed: ${md(e.probeError)})` : ''} | ${e.entropy ? 'yes' : 'no'} | ${md(e.params)} |`);
  }
  const sk = skippedLines(r);
  if (sk.length) out.push('', '## Not run', '', ...sk.map((s) => `- ${md(s)}`));
  out.push('', `${r.passed ? 'All checks passed' : '**Some checks failed**'} (${r.seconds.toFixed(1)} s).`, '');
  return out.join('\n');
}
