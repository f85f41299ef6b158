import path from 'node:path';
import { escapeHtml, REPORT_CSS } from '../report/html.js';
import type { HostFacts } from '../util/host.js';
import type { RenderedPlot } from './plots.js';
import { cellSummaries, counts, describeTally, type Row, type SummaryCell, type SummaryTable } from './summary.js';
import { formatDuration } from './format.js';

export interface ReportInput {
  readonly name: string;
  readonly description?: string;
  /** The experiment folder: links to run folders are made relative to it. */
  readonly folder: string;
  readonly source?: string;
  readonly createdAt: string;
  readonly generatedAt: string;
  readonly runtime: string;
  readonly plannedRuns: number;
  readonly repetitions: number;
  readonly cells: readonly SummaryCell[];
  readonly table: SummaryTable;
  readonly plots: readonly RenderedPlot[];
  readonly host: HostFacts & { readonly docker?: string };
  readonly peerlab: { version: string; commit?: string };
  readonly notes?: readonly string[];
  /** experiment.yaml as written, shown at the end. */
  readonly resolvedYaml?: string;
}

const RUN_COLUMNS = ['key', 'label', 'repetition', 'seed', 'nodes', 'edges', 'status', 'verdict', 'metric.messages', 'timing.algorithmMs', 'duration_s'];

/** report.html: one self-contained page (inline CSS and SVG, no script, nothing fetched). */
export function renderReport(input: ReportInput): string {
  const { table } = input;
  const tally = counts(table.rows);
  const missing = input.plannedRuns - table.rows.length;
  // Only runs a check passed make a green verdict: unchecked (and reproduced) runs are counted apart, never as passed.
  const verdict = tally.failed + tally.errors > 0 ? 'fail' : missing > 0 || tally.unchecked + tally.reproduced > 0 ? 'partial' : 'pass';
  const verdictText = describeTally(tally, input.plannedRuns);
  const totalSeconds = table.rows.reduce((total, row) => total + (typeof row.duration_s === 'number' ? row.duration_s : 0), 0);

  const cells = cellSummaries(input.cells, table);
  const metricColumns = table.columns.filter((column) => column.startsWith('metric.') && column !== 'metric.bytes').slice(0, 5);
  const cellColumns = [...metricColumns, ...(table.columns.includes('timing.algorithmMs') ? ['timing.algorithmMs'] : []), 'duration_s'];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.name)} — peerlab experiment</title>
<style>
  ${REPORT_CSS}
  .facts { display: flex; flex-wrap: wrap; gap: 6px 22px; color: #444; margin: 6px 0; }
  .facts b { color: #222; font-weight: 600; }
  table { width: 100%; }
  th { position: sticky; top: 0; }
  tr.failed td { background: #fdf0f0; }
  tr.error td { background: #fff6e0; }
  .ok { color: #17692b; font-weight: 600; } .bad { color: #9b1c1c; font-weight: 600; } .warn { color: #8a5a00; font-weight: 600; }
  td.nowrap { white-space: nowrap; }
  ul.problems { margin: 6px 0 0; padding-left: 20px; } ul.problems li { margin: 2px 0; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(input.name)}</h1>
${input.description ? `<p class="sub">${escapeHtml(input.description)}</p>` : ''}
<div class="verdict ${verdict}">${verdict === 'pass' ? '✔' : verdict === 'fail' ? '✖' : missing > 0 ? '…' : '?'} ${escapeHtml(verdictText)}</div>
<div class="facts">
  <span><b>${table.rows.length}</b> of ${input.plannedRuns} runs</span>
  <span><b>${input.cells.length}</b> cell${input.cells.length === 1 ? '' : 's'} × <b>${input.repetitions}</b> repetition${input.repetitions === 1 ? '' : 's'}</span>
  <span>runtime <b>${escapeHtml(input.runtime)}</b></span>
  <span>started <b>${escapeHtml(formatTime(input.createdAt))}</b></span>
  <span>total run time <b>${escapeHtml(formatDuration(totalSeconds))}</b></span>
  ${input.source ? `<span>file <b>${escapeHtml(input.source)}</b></span>` : ''}
</div>
${problems(table.rows)}
${(input.notes ?? []).map((note) => `<div class="note">${escapeHtml(note)}</div>`).join('\n')}

<h2>Plots</h2>
${input.plots.length === 0 ? '<p class="sub">Every swept input has one value here, so there is nothing to plot against: the tables below hold every figure.</p>' : ''}
<div class="plots">
${input.plots
  .map((plot) =>
    plot.svg
      ? `<figure id="plot-${escapeHtml(plot.id)}">${plot.svg}</figure>`
      : `<figure id="plot-${escapeHtml(plot.id)}"><figcaption><b>${escapeHtml(plot.title)}</b></figcaption><div class="note">${escapeHtml(plot.note ?? 'no plot')}</div></figure>`,
  )
  .join('\n')}
</div>

<h2>Cells</h2>
<table>
<thead><tr><th>cell</th><th>inputs</th><th>nodes</th><th>verdicts</th>${cellColumns.map((column) => `<th>${escapeHtml(columnTitle(column))}<br><small>mean ± sd</small></th>`).join('')}</tr></thead>
<tbody>
${cells
  .map(
    (cell) => `<tr class="${cell.failed > 0 ? 'failed' : cell.errors > 0 ? 'error' : ''}"><td>${escapeHtml(cell.cell.id)}</td><td>${escapeHtml(cell.cell.label)}</td><td class="num">${cell.nodes ?? ''}</td><td>${verdictCounts(cell)}</td>${cellColumns
      .map((column) => {
        const value = cell.means[column];
        return `<td class="num">${value ? `${formatNumber(value.mean)}${value.n > 1 ? ` ± ${formatNumber(value.sd)}` : ''}` : ''}</td>`;
      })
      .join('')}</tr>`,
  )
  .join('\n')}
</tbody>
</table>

<h2>Runs</h2>
<table>
<thead><tr>${RUN_COLUMNS.filter((column) => table.columns.includes(column))
    .map((column) => `<th>${escapeHtml(columnTitle(column))}</th>`)
    .join('')}<th>run</th></tr></thead>
<tbody>
${table.rows.map((row) => runRow(row, table.columns, input.folder)).join('\n')}
</tbody>
</table>
<p class="sub">Every column of every run is in <a href="summary.csv">summary.csv</a>; each run's own files are in its run folder.</p>

<h2>Host</h2>
<dl>
  <dt>host</dt><dd>${escapeHtml(input.host.hostname)} · ${escapeHtml(input.host.platform)}</dd>
  <dt>CPUs</dt><dd>${input.host.cpus}${input.host.cpuModel ? ` × ${escapeHtml(input.host.cpuModel)}` : ''}</dd>
  <dt>memory</dt><dd>${(input.host.memoryBytes / 2 ** 30).toFixed(1)} GiB</dd>
  <dt>Node.js</dt><dd>${escapeHtml(input.host.node)}</dd>
  ${input.host.docker ? `<dt>Docker</dt><dd>${escapeHtml(input.host.docker)}</dd>` : ''}
  <dt>peerlab</dt><dd>${escapeHtml(input.peerlab.version)}${input.peerlab.commit ? ` (${escapeHtml(input.peerlab.commit.slice(0, 12))})` : ''}</dd>
  <dt>report</dt><dd>generated ${escapeHtml(input.generatedAt)}</dd>
</dl>

${input.resolvedYaml ? `<h2>Experiment</h2>\n<details><summary>experiment.yaml (resolved: every list expanded into cells, every seed listed)</summary>\n<pre>${escapeHtml(input.resolvedYaml)}</pre>\n</details>` : ''}
</main>
</body>
</html>
`;
}

function runRow(row: Row, columns: readonly string[], folder: string): string {
  const cells = RUN_COLUMNS.filter((column) => columns.includes(column)).map((column) => {
    const value = row[column];
    if (column === 'status') {
      const cls = value === 'passed' ? 'ok' : value === 'failed' ? 'bad' : 'warn';
      const mark = STATUS_MARK[String(value)] ?? '⚠ error';
      return `<td class="${cls} nowrap">${mark}</td>`;
    }
    if (typeof value === 'number') return `<td class="num">${formatNumber(value)}</td>`;
    return `<td${column === 'key' || column === 'label' ? ' class="nowrap"' : ''}>${escapeHtml(value === undefined ? '' : String(value))}</td>`;
  });
  const runId = typeof row.run_id === 'string' ? row.run_id : '';
  const dir = typeof row.results_dir === 'string' ? row.results_dir : '';
  const link = dir
    ? `<a href="${escapeHtml(encodeURI(path.relative(folder, path.join(dir, 'run.json')).split(path.sep).join('/')))}">${escapeHtml(runId)}</a>`
    : escapeHtml(runId);
  return `<tr class="${row.status === 'passed' ? '' : String(row.status)}">${cells.join('')}<td>${link}</td></tr>`;
}

/** The runs that failed or did not finish, listed under the verdict (at most 20). */
function problems(rows: readonly Row[]): string {
  const bad = rows.filter((row) => row.status !== 'passed');
  if (bad.length === 0) return '';
  const what: Record<string, string> = { error: 'did not finish', failed: 'failed', unchecked: 'unchecked', reproduced: 'reproduced' };
  const items = bad
    .slice(0, 20)
    .map((row) => `<li><b>${escapeHtml(String(row.key))}</b> ${escapeHtml(String(row.label ?? ''))}, seed ${escapeHtml(String(row.seed))}: ${what[String(row.status)] ?? 'did not finish'} — ${escapeHtml(String(row.verdict ?? ''))}</li>`);
  return `<ul class="problems">${items.join('')}${bad.length > 20 ? `<li>… and ${bad.length - 20} more</li>` : ''}</ul>`;
}

function formatTime(iso: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(iso) ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso;
}

const STATUS_MARK: Record<string, string> = { passed: '✔ pass', failed: '✖ fail', unchecked: '? unchecked', reproduced: '≈ reproduced', error: '⚠ error' };

function verdictCounts(cell: { passed: number; failed: number; unchecked: number; reproduced: number; errors: number }): string {
  return [
    cell.passed > 0 ? `<span class="ok">✔ ${cell.passed}</span>` : '',
    cell.failed > 0 ? `<span class="bad">✖ ${cell.failed}</span>` : '',
    cell.reproduced > 0 ? `<span class="warn" title="reproduced an inexact method">≈ ${cell.reproduced}</span>` : '',
    cell.unchecked > 0 ? `<span class="warn" title="no check">? ${cell.unchecked}</span>` : '',
    cell.errors > 0 ? `<span class="warn">⚠ ${cell.errors}</span>` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

function columnTitle(column: string): string {
  if (column === 'duration_s') return 'run time (s)';
  if (column === 'timing.algorithmMs') return 'algorithm (ms)';
  return column.replace(/^(metric|timing|topology|param)\./, '');
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  return magnitude >= 100 ? value.toFixed(0) : magnitude >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

