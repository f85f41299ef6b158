import { NODE_AGGREGATIONS, nodeMetricColumn } from '../run/node-metrics.js';
import type { PlotField } from './schema.js';
import { shortColumn } from './expand.js';
import { aggregate, onRunClock, resolveColumn, type Point, type Row, type SummaryTable } from './summary.js';

/** A plot to draw: the columns resolved, the series made of zero or more input columns. */
export interface PlotDefinition {
  readonly id: string;
  readonly title: string;
  readonly x: string;
  readonly y: string;
  readonly series: readonly string[];
  readonly log?: 'x' | 'y' | 'xy';
  readonly reference?: ReadonlyArray<{ x: number | string; y: number; label?: string }>;
}

export interface Plot {
  readonly id: string;
  readonly title: string;
  /** The Vega-Lite spec (undefined when the plot could not be made; see note). */
  readonly spec?: Record<string, unknown>;
  readonly note?: string;
}

export interface RenderedPlot extends Plot {
  readonly svg?: string;
}

const METRIC_PLOTS = 4;
const SKIPPED_METRICS = new Set(['metric.bytes', 'metric.missing']);
const SIZE_COLUMNS = /^(topology$|topology\.(n|rows|cols|r|h)$)/;

/**
 * The plots of an experiment without a `plots:` list: each main metric against the number of nodes (or the
 * swept input when the size does not change), with error bars over the repetitions, then the run time.
 */
export function defaultPlots(table: SummaryTable, swept: readonly string[]): PlotDefinition[] {
  const finished = table.rows.filter((row) => row.status !== 'error');
  const sizes = new Set(finished.map((row) => row.nodes));
  const x = sizes.size > 1 || swept.length === 0 ? 'nodes' : swept[0]!;
  const series = seriesFor(x, swept);
  const metrics = table.columns.filter((column) => column.startsWith('metric.') && !SKIPPED_METRICS.has(column));
  const ordered = [...metrics.filter((column) => column === 'metric.messages'), ...metrics.filter((column) => column !== 'metric.messages')];
  const over = x === 'nodes' ? 'N' : shortColumn(x);
  const plots: PlotDefinition[] = ordered.slice(0, METRIC_PLOTS).map((y) => ({
    id: slug(`${shortColumn(y)}-vs-${shortColumn(x)}`),
    title: `${shortColumn(y)} vs ${over}`,
    x,
    y,
    series,
  }));
  plots.push({ id: slug(`run-time-vs-${shortColumn(x)}`), title: `run time (s) vs ${over}`, x, y: 'duration_s', series });
  if (table.columns.includes('timing.algorithmMs')) {
    const y = onRunClock(table, 'timing.algorithmMs');
    const unit = y === 'timing.virtualTimeMs' ? 'virtual ms' : 'ms';
    plots.push({ id: slug(`algorithm-time-vs-${shortColumn(x)}`), title: `algorithm time (${unit}) vs ${over}`, x, y, series });
  }
  return plots;
}

/**
 * One line per combination of the swept inputs other than x, so that different cells are never averaged
 * together (when x is the node count, the inputs that set the size do not count).
 */
export function seriesFor(x: string, swept: readonly string[]): string[] {
  return swept.filter((column) => column !== x && !(x === 'nodes' && SIZE_COLUMNS.test(column)));
}

/**
 * The plots an experiment file lists, with their columns resolved against the summary (x: n → topology.n).
 * Without `series`, the lines are split by the other swept inputs; `series: none` averages over them.
 */
export function listedPlots(fields: readonly PlotField[], table: SummaryTable, swept: readonly string[] = []): Array<PlotDefinition | Plot> {
  return fields.map((field, index) => {
    const y = field.aggregate ? nodeMetricColumn(field.y, field.aggregate) : field.y;
    const title = field.title ?? `${field.aggregate ? `${field.y} (${field.aggregate} over nodes)` : field.y} vs ${field.x}`;
    const id = slug(`${index + 1}-${title}`);
    const named = field.series !== undefined && field.series !== 'none' ? [field.series] : [];
    const missing = [field.x, y, ...named].filter((name) => !resolveColumn(table.columns, name));
    if (missing.length > 0) {
      const perNode = !field.aggregate && table.columns.includes(nodeMetricColumn(field.y, 'mean'));
      const why = perNode
        ? `${field.y} is a per-node metric: say how to make it one number per run, e.g. aggregate: mean (${NODE_AGGREGATIONS.join(', ')})`
        : `no column ${missing.map((name) => `"${name}"`).join(', ')} in summary.csv (there are ${table.columns.join(', ')})`;
      return { id, title, note: why };
    }
    const x = resolveColumn(table.columns, field.x)!;
    return {
      id,
      title,
      x,
      y: onRunClock(table, resolveColumn(table.columns, y)!),
      series: field.series === 'none' ? [] : named.length > 0 ? [resolveColumn(table.columns, named[0]!)!] : seriesFor(x, swept),
      log: field.log,
      reference: field.reference,
    };
  });
}

/** The Vega-Lite spec of one plot: mean ± sd per x (and series), and the reference points, dashed. */
export function plotSpec(definition: PlotDefinition, rows: readonly Row[]): Plot {
  // One series column: its values name the lines (the legend's title names the column).
  const seriesOf = (row: Row) =>
    definition.series.length === 1
      ? String(row[definition.series[0]!])
      : definition.series.map((column) => `${shortColumn(column)}=${String(row[column])}`).join(' · ');
  // Beside reference points, a single measured line still needs a name in the legend.
  const single = definition.reference && definition.reference.length > 0 ? () => 'measured' : undefined;
  const points = aggregate(rows, definition.x, definition.y, definition.series.length > 0 ? seriesOf : single);
  if (points.length === 0) return { id: definition.id, title: definition.title, note: `no finished run has a value for ${definition.y}` };

  const logX = definition.log === 'x' || definition.log === 'xy';
  const logY = definition.log === 'y' || definition.log === 'xy';
  const references = (definition.reference ?? []).map((point) => ({ x: point.x, mean: point.y, series: point.label ?? 'reference' }));
  const numericX = [...points, ...references].every((point) => typeof point.x === 'number');
  const bars = points.map((point) => errorBar(point, logY));
  const repetitions = Math.max(...points.map((point) => point.n));
  const coloured = definition.series.length > 0 || references.length > 0;
  const color = coloured
    ? { field: 'series', type: 'nominal', title: definition.series.map(shortColumn).join(' · ') || null, legend: { orient: 'bottom' } }
    : { value: '#1f6fb2' };
  const xEncoding = {
    field: 'x',
    type: numericX ? 'quantitative' : 'ordinal',
    title: axisTitle(definition.x),
    // Numbers as people write them (12,345; 0.25), not d3's default precision for a one-point domain (192.000000).
    axis: { format: numericX ? ',~r' : undefined },
    ...(numericX ? { scale: { zero: false, padding: 14, ...(logX ? { type: 'log' } : {}) } } : {}),
  };
  const yScale = logY ? { type: 'log' } : { zero: false };
  const layer: Record<string, unknown>[] = [
    {
      data: { values: bars },
      mark: { type: 'rule', strokeWidth: 1.5 },
      encoding: { x: xEncoding, y: { field: 'lo', type: 'quantitative', scale: yScale, title: axisTitle(definition.y), axis: { format: ',~r' } }, y2: { field: 'hi' }, color },
    },
    {
      data: { values: points.map((point) => ({ ...point, x: point.x })) },
      mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2 },
      encoding: { x: xEncoding, y: { field: 'mean', type: 'quantitative', scale: yScale }, color },
    },
  ];
  if (references.length > 0) {
    layer.push({
      data: { values: references },
      mark: { type: 'line', strokeDash: [5, 4], strokeWidth: 1.5, point: { shape: 'diamond', size: 70, filled: true } },
      encoding: { x: xEncoding, y: { field: 'mean', type: 'quantitative', scale: yScale }, color },
    });
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: definition.title,
      subtitle: repetitions > 1 ? `mean ± sd over up to ${repetitions} repetitions` : 'one run per point',
    },
    width: 460,
    height: 270,
    background: 'white',
    layer,
    config: { font: 'Helvetica, Arial, sans-serif', axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' }, view: { stroke: '#ccc' } },
  };
  return { id: definition.id, title: definition.title, spec };
}

/** Renders a Vega-Lite spec to SVG in Node, without a browser or a canvas. */
export async function renderSvg(spec: Record<string, unknown>, idPrefix: string): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile(spec as unknown as Parameters<typeof vegaLite.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return uniqueIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

/** Renders every plot; a plot that fails to render keeps a note instead of an SVG. */
export async function renderPlots(plots: readonly Plot[]): Promise<RenderedPlot[]> {
  const rendered: RenderedPlot[] = [];
  for (const plot of plots) {
    if (!plot.spec) {
      rendered.push(plot);
      continue;
    }
    try {
      rendered.push({ ...plot, svg: await renderSvg(plot.spec, plot.id) });
    } catch (error) {
      rendered.push({ ...plot, note: `could not render: ${(error as Error).message}` });
    }
  }
  return rendered;
}

/**
 * All plots of a summary: the listed ones, or the defaults. A default plot whose x axis has a single value would
 * be one point on an axis labelled with that value: it is left out, and the report's tables say it instead.
 */
export function experimentPlots(table: SummaryTable, swept: readonly string[], listed: readonly PlotField[] | undefined): Plot[] {
  const isListed = listed !== undefined && listed.length > 0;
  const definitions = isListed ? listedPlots(listed, table, swept) : defaultPlots(table, swept).filter((definition) => distinctX(definition, table) > 1);
  return definitions.map((definition) => ('x' in definition ? plotSpec(definition, table.rows) : definition));
}

function distinctX(definition: PlotDefinition, table: SummaryTable): number {
  return new Set(table.rows.filter((row) => row.status !== 'error' && row[definition.y] !== undefined).map((row) => String(row[definition.x]))).size;
}

function errorBar(point: Point, log: boolean): { x: Point['x']; series: string; lo: number; hi: number } {
  let lo = point.mean - point.sd;
  if (log && lo <= 0) lo = point.min;
  return { x: point.x, series: point.series, lo, hi: point.mean + point.sd };
}

function axisTitle(column: string): string {
  if (column === 'duration_s') return 'run time (s)';
  if (column === 'timing.virtualTimeMs') return 'algorithm time (virtual ms)';
  if (column === 'nodes') return 'nodes (N)';
  const perNode = /^node\.(.+)\.([a-z]+)$/.exec(column);
  if (perNode) return `${perNode[1]} (${perNode[2]} over nodes)`;
  const short = shortColumn(column);
  return column.startsWith('timing.') && short.endsWith('Ms') ? `${short.slice(0, -2)} (ms)` : short;
}

/** SVGs inlined in one page share an id space: prefix the ids (clip paths) of each. */
function uniqueIds(svg: string, prefix: string): string {
  const ids = new Set([...svg.matchAll(/\bid="([^"]+)"/g)].map((match) => match[1]!));
  let out = svg;
  for (const id of ids) {
    const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    out = out
      .replace(new RegExp(`\\bid="${escaped}"`, 'g'), `id="${prefix}-${id}"`)
      .replace(new RegExp(`url\\(#${escaped}\\)`, 'g'), `url(#${prefix}-${id})`)
      .replace(new RegExp(`href="#${escaped}"`, 'g'), `href="#${prefix}-${id}"`);
  }
  return out;
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60) || 'plot';
}
