import path from 'node:path';
import { sampleCorrelation } from 'simple-statistics';
import { PeerlabError } from '../errors.js';
import { shortColumn } from '../experiment/expand.js';
import { cellSummaries, type SummaryCell } from '../experiment/summary.js';
import { readCsv } from '../util/files.js';
import { readExperimentDetails, readRunDetails, type ExperimentEntry, type ResultEntry, type RunEntry } from './catalog.js';

export interface ComparedValue {
  /** The cell both sides share (experiments), e.g. `n=20`; empty for two runs. */
  readonly cell: string;
  readonly metric: string;
  readonly a: number | undefined;
  readonly b: number | undefined;
  /** b / a, when both are there and a is not 0. */
  readonly ratio: number | undefined;
}

export interface Comparison {
  readonly kind: 'run' | 'experiment';
  readonly a: string;
  readonly b: string;
  /** Settings that differ between the two as a whole, e.g. `algorithm: flood → ghs`. */
  readonly differences: string[];
  readonly values: ComparedValue[];
  /** Cells only one side has. */
  readonly unmatched: { a: string[]; b: string[] };
  /** Two runs: each numeric field of the nodes' results that both report, node by node (empty for experiments). */
  readonly perNode: NodeFieldComparison[];
}

/**
 * One field of the nodes' results (flood's `time`, push-sum's `estimate`) in two runs of the same graph, e.g.
 * the same run in Docker and in the simulator: how closely the two agree, node by node.
 */
export interface NodeFieldComparison {
  readonly field: string;
  readonly pairs: Array<{ id: string; a: number; b: number }>;
  /** Pearson's r over the pairs; undefined when either side does not vary. */
  readonly correlation: number | undefined;
  readonly maxAbsDifference: number;
  readonly meanAbsDifference: number;
}

/** Metrics of two runs, or of two experiments cell by cell, side by side with the ratio b/a. */
export async function compareResults(a: ResultEntry, b: ResultEntry): Promise<Comparison> {
  if (a.kind !== b.kind) {
    throw new PeerlabError(`cannot compare ${a.kind} ${a.id} with ${b.kind} ${b.id}`, { hint: 'compare two runs, or two experiments' });
  }
  return a.kind === 'run' ? compareRuns(a, b as RunEntry) : compareExperiments(a, b as ExperimentEntry);
}

async function compareRuns(a: RunEntry, b: RunEntry): Promise<Comparison> {
  const [da, db] = await Promise.all([readRunDetails(a), readRunDetails(b)]);
  const numbers = (details: typeof da): Record<string, number> => ({
    nodes: details.record.topology?.nodes ?? NaN,
    edges: details.record.topology?.edges ?? NaN,
    ...details.verify?.metrics,
    ...Object.fromEntries(Object.entries(details.record.timings ?? {}).map(([name, value]) => [`timing.${name}`, value])),
  });
  const na = numbers(da);
  const nb = numbers(db);
  const names = [...new Set([...Object.keys(na), ...Object.keys(nb)])];
  const differences: string[] = [];
  const differ = (label: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) differences.push(`${label}: ${describe(x)} → ${describe(y)}`);
  };
  differ('algorithm', da.record.algorithm?.name, db.record.algorithm?.name);
  differ('params', da.record.algorithm?.params, db.record.algorithm?.params);
  differ('groups', da.record.groups, db.record.groups);
  differ('topology', da.record.topology?.spec, db.record.topology?.spec);
  differ('seed', da.record.topology?.seed, db.record.topology?.seed);
  differ('weights', da.record.topology?.weights, db.record.topology?.weights);
  differ('runtime', da.record.runtime, db.record.runtime);
  differ('verdict', a.outcome, b.outcome);
  return {
    kind: 'run',
    a: a.id,
    b: b.id,
    differences,
    values: names.map((metric) => compared('', metric, finite(na[metric]), finite(nb[metric]))),
    unmatched: { a: [], b: [] },
    perNode: compareNodeResults(nodeResults(a.dir), nodeResults(b.dir)),
  };
}

/** Each node's result from results/<run>/nodes.csv (column `result`, JSON); nodes without one are left out. */
function nodeResults(dir: string): Map<string, Record<string, unknown>> {
  const results = new Map<string, Record<string, unknown>>();
  for (const row of readCsv(path.join(dir, 'nodes.csv')) ?? []) {
    if (!row.result) continue;
    const result = JSON.parse(row.result) as unknown;
    if (result !== null && typeof result === 'object' && !Array.isArray(result)) results.set(row.id!, result as Record<string, unknown>);
  }
  return results;
}

/** Every top-level numeric field that at least two nodes report in both runs. */
export function compareNodeResults(a: ReadonlyMap<string, Record<string, unknown>>, b: ReadonlyMap<string, Record<string, unknown>>): NodeFieldComparison[] {
  const pairsByField = new Map<string, Array<{ id: string; a: number; b: number }>>();
  for (const [id, left] of a) {
    const right = b.get(id);
    if (!right) continue;
    for (const [field, value] of Object.entries(left)) {
      const other = right[field];
      if (typeof value !== 'number' || typeof other !== 'number' || !Number.isFinite(value) || !Number.isFinite(other)) continue;
      (pairsByField.get(field) ?? pairsByField.set(field, []).get(field)!).push({ id, a: value, b: other });
    }
  }
  return [...pairsByField]
    .filter(([, pairs]) => pairs.length >= 2)
    .map(([field, pairs]) => {
      const differences = pairs.map((pair) => Math.abs(pair.b - pair.a));
      return {
        field,
        pairs,
        correlation: pearson(pairs),
        maxAbsDifference: Math.max(...differences),
        meanAbsDifference: differences.reduce((sum, difference) => sum + difference, 0) / differences.length,
      };
    });
}

/** Pearson's r, from simple-statistics; undefined where it is not defined (a side that does not vary). */
function pearson(pairs: ReadonlyArray<{ a: number; b: number }>): number | undefined {
  const r = sampleCorrelation(pairs.map((pair) => pair.a), pairs.map((pair) => pair.b));
  return Number.isFinite(r) ? r : undefined;
}

/**
 * Cells are matched on the inputs that vary within either experiment; an input constant on each side (the
 * algorithm of two otherwise equal sweeps, say) is what is being compared, and is listed as a difference.
 */
async function compareExperiments(a: ExperimentEntry, b: ExperimentEntry): Promise<Comparison> {
  const [da, db] = await Promise.all([readExperimentDetails(a.dir), readExperimentDetails(b.dir)]);
  const columns = [...new Set([...da.cells, ...db.cells].flatMap((cell) => Object.keys(cell.inputs)))];
  const constant = (cells: readonly SummaryCell[], column: string) => new Set(cells.map((cell) => String(cell.inputs[column]))).size <= 1;
  const differences: string[] = [];
  const keyColumns = columns.filter((column) => {
    if (constant(da.cells, column) && constant(db.cells, column)) {
      const va = da.cells[0]?.inputs[column];
      const vb = db.cells[0]?.inputs[column];
      if (String(va) !== String(vb)) differences.push(`${shortColumn(column)}: ${describe(va)} → ${describe(vb)}`);
      return false;
    }
    return true;
  });
  // The topology spec repeats its parameters: keep it out of the key when they are there.
  const key = (cell: SummaryCell) =>
    keyColumns
      .filter((column) => column !== 'topology' || !keyColumns.some((other) => other.startsWith('topology.')))
      .map((column) => `${shortColumn(column)}=${String(cell.inputs[column])}`)
      .join(' · ') || 'all';

  const summaries = (details: typeof da) => new Map(cellSummaries(details.cells, details.table).map((summary) => [key(summary.cell), summary]));
  const sa = summaries(da);
  const sb = summaries(db);
  const metrics = [...new Set([...sa.values(), ...sb.values()].flatMap((summary) => Object.keys(summary.means)))].sort(metricOrder);
  const values: ComparedValue[] = [];
  for (const [cell, left] of sa) {
    const right = sb.get(cell);
    if (!right) continue;
    for (const metric of metrics) values.push(compared(cell, shortName(metric), left.means[metric]?.mean, right.means[metric]?.mean));
  }
  return {
    kind: 'experiment',
    a: a.id,
    b: b.id,
    differences,
    values,
    unmatched: { a: [...sa.keys()].filter((cell) => !sb.has(cell)), b: [...sb.keys()].filter((cell) => !sa.has(cell)) },
    perNode: [],
  };
}

function compared(cell: string, metric: string, a: number | undefined, b: number | undefined): ComparedValue {
  return { cell, metric, a, b, ratio: a !== undefined && b !== undefined && a !== 0 ? b / a : undefined };
}

function shortName(column: string): string {
  return column.startsWith('metric.') ? column.slice('metric.'.length) : column;
}

/** Metrics first (messages leading), then the run time, then the timings. */
function metricOrder(x: string, y: string): number {
  const rank = (column: string) => (column === 'metric.messages' ? 0 : column.startsWith('metric.') ? 1 : column === 'duration_s' ? 2 : 3);
  return rank(x) - rank(y) || x.localeCompare(y);
}

function finite(value: number | undefined): number | undefined {
  return value !== undefined && Number.isFinite(value) ? value : undefined;
}

function describe(value: unknown): string {
  return value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value);
}
