import type { Scalar } from './expand.js';
import { NODE_AGGREGATIONS, nodeMetricColumn } from '../run/node-metrics.js';
import type { RunOutcome } from './store.js';

/** What the summary needs to know about a cell (a Plan's cell, or one read back from experiment.yaml). */
export interface SummaryCell {
  readonly id: string;
  readonly label: string;
  readonly inputs: Readonly<Record<string, Scalar>>;
}

export type Row = Record<string, Scalar | undefined>;

export interface SummaryTable {
  readonly columns: string[];
  /** One per recorded run, in cell order then repetition. */
  readonly rows: Row[];
}

/** The rows of summary.csv: the inputs, the outcome, the metrics (`metric.*`) and timings (`timing.*`) of each run. */
export function summaryTable(cells: readonly SummaryCell[], outcomes: ReadonlyMap<string, RunOutcome>): SummaryTable {
  const byId = new Map(cells.map((cell) => [cell.id, cell]));
  const order = new Map(cells.map((cell, index) => [cell.id, index]));
  const sorted = [...outcomes.values()].sort(
    (a, b) => (order.get(a.cell) ?? Infinity) - (order.get(b.cell) ?? Infinity) || a.repetition - b.repetition,
  );
  const inputColumns = unique(cells.flatMap((cell) => Object.keys(cell.inputs)));
  const metricColumns = unique(sorted.flatMap((outcome) => Object.keys(outcome.metrics))).sort();
  const timingColumns = unique(sorted.flatMap((outcome) => Object.keys(outcome.timings)));
  const nodeMetricNames = unique(sorted.flatMap((outcome) => Object.keys(outcome.nodeMetrics ?? {}))).sort();
  const nodeColumns = nodeMetricNames.flatMap((name) => NODE_AGGREGATIONS.map((aggregation) => ({ name, aggregation, column: nodeMetricColumn(name, aggregation) })));
  const columns = [
    'key',
    'cell',
    'label',
    'repetition',
    'seed',
    ...inputColumns,
    'runtime',
    'nodes',
    'edges',
    'status',
    'passed',
    'verdict',
    'duration_s',
    ...metricColumns.map((name) => `metric.${name}`),
    ...timingColumns.map((name) => `timing.${name}`),
    ...nodeColumns.map(({ column }) => column),
    'run_id',
    'results_dir',
    'replay',
  ];
  const rows = sorted.map((outcome): Row => {
    const cell = byId.get(outcome.cell);
    return {
      key: outcome.key,
      cell: outcome.cell,
      label: cell?.label,
      repetition: outcome.repetition,
      seed: outcome.seed,
      ...cell?.inputs,
      runtime: outcome.runtime,
      nodes: outcome.nodes,
      edges: outcome.edges,
      status: outcome.status,
      passed: outcome.status === 'passed' ? 'true' : 'false',
      verdict: outcome.verdict,
      duration_s: round(outcome.durationMs / 1000, 3),
      ...Object.fromEntries(metricColumns.map((name) => [`metric.${name}`, outcome.metrics[name]])),
      ...Object.fromEntries(timingColumns.map((name) => [`timing.${name}`, outcome.timings[name]])),
      ...Object.fromEntries(nodeColumns.map(({ name, aggregation, column }) => [column, outcome.nodeMetrics?.[name]?.[aggregation]])),
      run_id: outcome.runId,
      results_dir: outcome.resultsDir,
      replay: outcome.replay,
    };
  });
  return { columns, rows };
}

/** Finds the column a plot names: exactly, or without its prefix (`n` for `topology.n`, `messages` for `metric.messages`). */
export function resolveColumn(columns: readonly string[], name: string): string | undefined {
  if (columns.includes(name)) return name;
  return ['topology.', 'param.', 'faults.', 'metric.', 'timing.'].map((prefix) => prefix + name).find((column) => columns.includes(column));
}

/**
 * The column a plot of the algorithm's time reads: its time on the run's clock. A run on a virtual clock (the
 * simulator's, the runs that record `timing.virtualTimeMs`) has as `timing.algorithmMs` the wall time the simulation
 * took, which measures the simulator and the host, not the algorithm; its time is `timing.virtualTimeMs`, the clock
 * its faults and its report's time lines are on.
 */
export function onRunClock(table: SummaryTable, column: string): string {
  if (column !== 'timing.algorithmMs' || !table.columns.includes('timing.virtualTimeMs')) return column;
  const finished = table.rows.filter((row) => row.status !== 'error');
  return finished.length > 0 && finished.every((row) => typeof row['timing.virtualTimeMs'] === 'number') ? 'timing.virtualTimeMs' : column;
}

export interface Point {
  readonly x: Scalar;
  readonly series: string;
  readonly mean: number;
  /** Sample standard deviation (0 for a single run). */
  readonly sd: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Mean and spread of `y` over the repetitions at each `x` (and series); runs that did not finish are left out. */
export function aggregate(rows: readonly Row[], x: string, y: string, series?: (row: Row) => string): Point[] {
  const groups = new Map<string, { x: Scalar; series: string; values: number[] }>();
  for (const row of rows) {
    if (row.status === 'error') continue;
    const xv = row[x];
    const yv = toNumber(row[y]);
    if (xv === undefined || xv === '' || yv === undefined) continue;
    const name = series?.(row) ?? '';
    const key = `${String(xv)}\u0000${name}`;
    const group = groups.get(key) ?? { x: xv, series: name, values: [] };
    group.values.push(yv);
    groups.set(key, group);
  }
  const points = [...groups.values()].map(({ x: xv, series: name, values }) => ({ x: xv, series: name, ...stats(values) }));
  const numeric = points.every((point) => typeof point.x === 'number');
  return points.sort((a, b) =>
    a.series < b.series ? -1 : a.series > b.series ? 1 : numeric ? (a.x as number) - (b.x as number) : String(a.x).localeCompare(String(b.x)),
  );
}

export function stats(values: readonly number[]): { mean: number; sd: number; min: number; max: number; n: number } {
  const n = values.length;
  const mean = n === 0 ? NaN : values.reduce((total, value) => total + value, 0) / n;
  const variance = n < 2 ? 0 : values.reduce((total, value) => total + (value - mean) ** 2, 0) / (n - 1);
  return { mean, sd: Math.sqrt(variance), min: Math.min(...values), max: Math.max(...values), n };
}

export interface CellSummary {
  readonly cell: SummaryCell;
  readonly nodes: number | undefined;
  readonly runs: number;
  readonly passed: number;
  readonly failed: number;
  readonly unchecked: number;
  readonly reproduced: number;
  readonly errors: number;
  /** Column → mean, sd over the finished runs, for every numeric metric and timing column. */
  readonly means: Record<string, { mean: number; sd: number; n: number }>;
}

/** Per cell: how many runs passed, and the mean of every numeric result column. */
export function cellSummaries(cells: readonly SummaryCell[], table: SummaryTable): CellSummary[] {
  const numericColumns = table.columns.filter((column) => column === 'duration_s' || column.startsWith('metric.') || column.startsWith('timing.'));
  return cells.map((cell) => {
    const rows = table.rows.filter((row) => row.cell === cell.id);
    const finished = rows.filter((row) => row.status !== 'error');
    const means: CellSummary['means'] = {};
    for (const column of numericColumns) {
      const values = finished.map((row) => toNumber(row[column])).filter((value): value is number => value !== undefined);
      if (values.length > 0) {
        const { mean, sd, n } = stats(values);
        means[column] = { mean, sd, n };
      }
    }
    return {
      cell,
      nodes: toNumber(rows.find((row) => row.nodes !== undefined)?.nodes),
      runs: rows.length,
      passed: rows.filter((row) => row.status === 'passed').length,
      failed: rows.filter((row) => row.status === 'failed').length,
      unchecked: rows.filter((row) => row.status === 'unchecked').length,
      reproduced: rows.filter((row) => row.status === 'reproduced').length,
      errors: rows.filter((row) => row.status === 'error').length,
      means,
    };
  });
}

export interface Tally {
  readonly passed: number;
  readonly failed: number;
  readonly unchecked: number;
  readonly reproduced: number;
  readonly errors: number;
}

export function counts(outcomes: Iterable<{ readonly status?: RunOutcome['status'] | Scalar }>): Tally {
  const tally = { passed: 0, failed: 0, unchecked: 0, reproduced: 0, errors: 0 };
  for (const { status } of outcomes) {
    if (status === 'passed') tally.passed++;
    else if (status === 'failed') tally.failed++;
    else if (status === 'unchecked') tally.unchecked++;
    else if (status === 'reproduced') tally.reproduced++;
    else tally.errors++;
  }
  return tally;
}

/**
 * One line for a sweep's runs: "all 9 runs passed" only when every planned run was checked and passed;
 * otherwise each kind counted, e.g. "6 passed · 3 unchecked".
 */
export function describeTally(tally: Tally, planned: number, separator = ' · '): string {
  const recorded = tally.passed + tally.failed + tally.unchecked + tally.reproduced + tally.errors;
  if (tally.passed === recorded && recorded >= planned) return `all ${tally.passed} runs passed`;
  return [
    tally.passed > 0 || tally.failed + tally.unchecked + tally.reproduced === 0 ? `${tally.passed} passed` : '',
    tally.failed > 0 ? `${tally.failed} failed` : '',
    tally.reproduced > 0 ? `${tally.reproduced} reproduced` : '',
    tally.unchecked > 0 ? `${tally.unchecked} unchecked` : '',
    tally.errors > 0 ? `${tally.errors} did not finish` : '',
    planned > recorded ? `${planned - recorded} not run yet` : '',
  ]
    .filter(Boolean)
    .join(separator);
}

export function toNumber(value: Scalar | undefined): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
