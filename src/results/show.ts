import { readdir } from 'node:fs/promises';
import { shortColumn } from '../experiment/expand.js';
import { formatDuration, formatTable } from '../experiment/format.js';
import { formatNumber } from '../experiment/report.js';
import { cellSummaries } from '../experiment/summary.js';
import { readExperimentDetails, readRunDetails, type ExperimentEntry, type ResultEntry, type RunEntry } from './catalog.js';
import type { Comparison } from './compare.js';
import { OUTCOME_MARK, outcomeOfFile, type Outcome } from '../verify/index.js';

export interface RunShown {
  readonly kind: 'run';
  readonly entry: RunEntry;
  /** The files in the run folder, as they are named there (a large nodes.csv is nodes.csv.gz). */
  readonly files: string[];
  readonly record: unknown;
  readonly verify: { outcome?: Outcome; passed?: boolean; summary?: string; metrics?: Record<string, number>; failures?: string[] } | undefined;
}

export interface ExperimentShown {
  readonly kind: 'experiment';
  readonly entry: ExperimentEntry;
  readonly description: string | undefined;
  readonly report: string | undefined;
  readonly cells: Array<{ cell: string; label: string; nodes: number | undefined; runs: number; passed: number; failed: number; errors: number; means: Record<string, number> }>;
}

export type Shown = RunShown | ExperimentShown;

/** One run (run.json and verify.json in short) or one experiment (its cells, means and verdicts). */
export async function showResult(entry: ResultEntry): Promise<Shown> {
  if (entry.kind === 'run') {
    const { record, verify } = await readRunDetails(entry);
    const files = (await readdir(entry.dir).catch(() => [])).sort();
    return { kind: 'run', entry, files, record, verify: verify && { outcome: outcomeOfFile(verify), passed: verify.passed, summary: verify.summary, metrics: verify.metrics, failures: verify.failures } };
  }
  const details = await readExperimentDetails(entry.dir);
  const cells = cellSummaries(details.cells, details.table).map((summary) => ({
    cell: summary.cell.id,
    label: summary.cell.label,
    nodes: summary.nodes,
    runs: summary.runs,
    passed: summary.passed,
    failed: summary.failed,
    errors: summary.errors,
    means: Object.fromEntries(Object.entries(summary.means).map(([column, value]) => [column, value.mean])),
  }));
  return {
    kind: 'experiment',
    entry,
    description: typeof details.resolved.description === 'string' ? details.resolved.description : undefined,
    report: details.report,
    cells,
  };
}

export function formatList(entries: readonly ResultEntry[]): string {
  if (entries.length === 0) return 'no results yet';
  return formatTable(
    ['id', 'kind', 'algorithm', 'nodes', 'verdict', 'started', 'time'],
    entries.map((entry) => [
      entry.id,
      entry.kind,
      entry.algorithm,
      entry.kind === 'run' ? String(entry.nodes ?? '?') : entry.nodes,
      entry.kind === 'run' ? `${entry.outcome === undefined ? '?' : OUTCOME_MARK[entry.outcome].split(' ')[0]} ${truncate(entry.verdict, 60)}` : `${entry.failed + entry.errors > 0 ? '✖' : entry.recorded < entry.planned ? '…' : '✔'} ${entry.verdict}`,
      (entry.startedAt ?? '').replace('T', ' ').slice(0, 19),
      entry.totalMs === undefined ? '' : formatDuration(entry.totalMs / 1000),
    ]),
  );
}

export function formatShown(shown: Shown): string {
  if (shown.kind === 'run') {
    const record = shown.record as {
      algorithm?: { name?: string; params?: unknown };
      groups?: Array<{ role?: string; algorithm?: string; params?: unknown; nodes?: string[] }>;
      check?: string | null;
      topology?: { spec?: string; seed?: number; weights?: string; nodes?: number; edges?: number };
      runtime?: string;
      timings?: Record<string, number>;
      startedAt?: string;
      replay?: string;
    };
    const lines = [
      `${shown.verify?.outcome ? OUTCOME_MARK[shown.verify.outcome] : '? no verdict'}  ${shown.entry.id}`,
      `  ${shown.verify?.summary ?? 'no verify.json'}`,
      ...(record.groups
        ? [
            ...record.groups.map((group) => `  role      ${group.role ?? '?'} ×${group.nodes?.length ?? '?'}: ${group.algorithm ?? '?'} ${JSON.stringify(group.params ?? {})}`),
          ]
        : [`  algorithm ${record.algorithm?.name ?? '?'} ${JSON.stringify(record.algorithm?.params ?? {})}`]),
      `  check     ${record.check ?? 'none (unchecked)'}`,
      `  topology  ${record.topology?.spec ?? '?'} (seed ${record.topology?.seed ?? '?'}, weights ${record.topology?.weights ?? '?'}): ${record.topology?.nodes ?? '?'} nodes, ${record.topology?.edges ?? '?'} edges`,
      `  runtime   ${record.runtime ?? '?'} · started ${record.startedAt ?? '?'}`,
      `  timings   ${Object.entries(record.timings ?? {})
        .map(([name, value]) => `${name} ${formatNumber(value)}`)
        .join(' · ')}`,
      `  metrics   ${Object.entries(shown.verify?.metrics ?? {})
        .map(([name, value]) => `${name} ${formatNumber(value)}`)
        .join(' · ')}`,
      ...(shown.verify?.failures ?? []).slice(0, 5).map((failure) => `  ✖ ${failure}`),
      ...(record.replay ? [`  replay    ${record.replay}`] : []),
      `  folder    ${shown.entry.dir}`,
      `  files     ${shown.files.join(', ')}`,
    ];
    return lines.join('\n');
  }
  const { entry } = shown;
  const columns = [...new Set(shown.cells.flatMap((cell) => Object.keys(cell.means)))]
    .filter((column) => column === 'metric.messages' || column === 'duration_s' || column === 'timing.algorithmMs' || column.startsWith('metric.'))
    .filter((column) => column !== 'metric.bytes')
    .slice(0, 6);
  const table = formatTable(
    ['cell', 'inputs', 'nodes', 'runs', 'passed', ...columns.map((column) => (column === 'duration_s' ? 'run s' : shortColumn(column)))],
    shown.cells.map((cell) => [
      cell.cell,
      cell.label,
      cell.nodes ?? '',
      cell.runs,
      `${cell.passed}/${cell.runs}`,
      ...columns.map((column) => (cell.means[column] === undefined ? '' : formatNumber(cell.means[column]!))),
    ]),
  );
  return [
    `${entry.failed + entry.errors > 0 ? '✖' : entry.recorded < entry.planned ? '…' : '✔'} ${entry.id}: ${entry.verdict}`,
    ...(shown.description ? [`  ${shown.description}`] : []),
    `  ${entry.cells} cells, ${entry.recorded}/${entry.planned} runs recorded, runtime ${entry.runtime ?? '?'}, started ${entry.startedAt ?? '?'}, run time ${formatDuration(entry.totalMs / 1000)}`,
    '',
    table,
    '',
    `  folder ${entry.dir}`,
    ...(shown.report ? [`  report ${shown.report}`] : []),
  ].join('\n');
}

export function formatComparison(comparison: Comparison): string {
  const lines = [`compare ${comparison.kind}s  a = ${comparison.a}  b = ${comparison.b}`];
  for (const difference of comparison.differences) lines.push(`  ${difference}`);
  lines.push('');
  const rows = comparison.values.map((value) => [
    ...(comparison.kind === 'experiment' ? [value.cell] : []),
    value.metric,
    value.a === undefined ? '—' : formatNumber(value.a),
    value.b === undefined ? '—' : formatNumber(value.b),
    value.ratio === undefined ? '—' : `×${value.ratio.toFixed(3)}`,
  ]);
  lines.push(formatTable([...(comparison.kind === 'experiment' ? ['cell'] : []), 'metric', 'a', 'b', 'b/a'], rows));
  if (comparison.kind === 'experiment' && comparison.values.length === 0) lines.push('no cell in common');
  if (comparison.unmatched.a.length > 0) lines.push(`only in a: ${comparison.unmatched.a.join(', ')}`);
  if (comparison.unmatched.b.length > 0) lines.push(`only in b: ${comparison.unmatched.b.join(', ')}`);
  if (comparison.perNode.length > 0) {
    lines.push('', 'node by node (fields of the nodes\' results that both runs report):');
    const fieldRows = comparison.perNode.map((field) => [
      field.field,
      String(field.pairs.length),
      field.correlation === undefined ? '—' : field.correlation.toFixed(4),
      formatNumber(field.maxAbsDifference),
      formatNumber(field.meanAbsDifference),
    ]);
    lines.push(formatTable(['field', 'nodes', 'r', 'max |b−a|', 'mean |b−a|'], fieldRows));
  }
  return lines.join('\n');
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
