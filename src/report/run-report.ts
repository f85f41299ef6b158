import type { RegistryLog, RuntimeKind } from '../runtime/types.js';
import path from 'node:path';
import type { NodeReport } from '../coordination/protocol.js';
import type { AppliedFault } from '../faults/events.js';
import { renderSvg } from '../experiment/plots.js';
import { GZIP_ABOVE_BYTES, writeCsvRows, writeFileAtomic, writtenAs } from '../util/files.js';
import type { RunRecord } from '../run/results-folder.js';
import type { Json } from '../sdk/types.js';
import type { Topology } from '../topology/index.js';
import type { Verdict } from '../verify/index.js';
import { escapeHtml, formatNumber, REPORT_CSS } from './html.js';
import { readTracedMessages, traceTooLarge } from './messages.js';
import { runSeries, type RunSeries } from './series.js';
import { SPACE_TIME_CSS, SPACE_TIME_SCRIPT, spaceTimeDiagram } from './space-time.js';
import { topologySvg } from './topology-svg.js';

export interface RunReportInput {
  readonly record: RunRecord;
  readonly graph: Topology;
  readonly results: ReadonlyMap<string, Json | undefined>;
  readonly reports: ReadonlyMap<string, NodeReport>;
  readonly verdict: Verdict;
  /** The fault schedule as it went (faults.ndjson): marked on the time charts and listed. */
  readonly faults?: readonly AppliedFault[];
  /** Who was in the registry (registry.ndjson): charted over time when it changed during the run. */
  readonly registry?: RegistryLog;
}

/**
 * The largest topology report.html draws. The picture costs about 730 characters per node (a ba:n=10⁴,m=2
 * report.html is 7.3 MB); past a few thousand nodes without coordinates it is a circle (see nodePositions) whose
 * chords fill it grey, and a ba:n=10⁵,m=2 report.html was a 73 MB page of that, 2 s of the run to draw.
 */
const MAX_DRAWN_NODES = 10_000;

/** Metrics drawn over time beside messages and nodes done; the rest are in timeseries.csv. */
const METRIC_CHARTS = 6;

/**
 * Writes results/<run>/report.html (one self-contained page: verdict, topology, what happened over time and,
 * for a traced run, the message diagram) and timeseries.csv (what each node did per time step).
 */
export async function writeRunReport(dir: string, input: RunReportInput): Promise<void> {
  const series = runSeries(input.reports);
  // Compressed once large, as nodes.csv and edges.csv are: a 10⁵-node GHS's is 24 MB of text.
  if (series.rowCount > 0) await writeCsvRows(path.join(dir, 'timeseries.csv'), series.rows(), series.columns, { gzipAbove: GZIP_ABOVE_BYTES });
  const traceFile = path.join(dir, 'events.ndjson');
  // Each file the page links to under the name it was written as (`.csv.gz` once large).
  const files = ['run.json', 'verify.json', 'nodes.csv', 'edges.csv', 'timeseries.csv', 'topology.json', 'events.ndjson', 'faults.ndjson', 'migrations.ndjson', 'placements.ndjson', 'registry.ndjson']
    .map((file) => writtenAs(path.join(dir, file)))
    .filter((found) => found !== undefined)
    .map((found) => path.basename(found));
  const traced = files.includes('events.ndjson');
  let diagram: string;
  if (!traced) diagram = '<p class="sub">Not traced: run with <code>--trace</code> to see every message here.</p>';
  else if (await traceTooLarge(traceFile)) diagram = '<p class="note">events.ndjson is too large to draw here; open it with <code>peerlab results export --format shiviz</code>.</p>';
  else diagram = spaceTimeDiagram(await readTracedMessages(traceFile), input.graph.nodes());
  await writeFileAtomic(path.join(dir, 'report.html'), renderRunReport(input, { charts: await timeCharts(series, input.record.runtime, input.faults ?? [], input.registry), diagram, files }));
}

/** `parts.files`: the files of the results folder to link to, as written. */
export function renderRunReport(input: RunReportInput, parts: { charts: string[]; diagram: string; files: readonly string[] }): string {
  const { record, graph, verdict, results } = input;
  const name = record.algorithm?.name ?? `groups (${(record.groups ?? []).map((group) => group.role).join(', ')})`;
  const verdictClass = verdict.passed ? 'pass' : 'fail';
  const messages = input.verdict.metrics.messages;
  const facts: Array<[string, string]> = [
    ['topology', `${record.topology.spec} · ${formatNumber(record.topology.nodes)} nodes · ${formatNumber(record.topology.edges)} edges`],
    ['runtime', record.runtime],
    ['seed', String(record.topology.seed)],
    ...(messages === undefined ? [] : [['messages', formatNumber(messages)] as [string, string]]),
    ...Object.entries(record.timings).map(([key, ms]): [string, string] => [key.replace(/Ms$/, ''), `${formatNumber(ms / 1000)} s`]),
    ['started', record.startedAt.replace('T', ' ').slice(0, 19) + ' UTC'],
  ];
  const timeseries = parts.files.find((file) => file.startsWith('timeseries.csv'));
  const picture =
    graph.order > MAX_DRAWN_NODES
      ? `<p class="note">${formatNumber(graph.order)} nodes are too many to draw here (at most ${formatNumber(MAX_DRAWN_NODES)}); topology.json and nodes.csv have them all.</p>`
      : topologyPicture(graph, results);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(name)} · ${escapeHtml(record.runId)} — peerlab run</title>
<style>
  ${REPORT_CSS}
  ul.failures li { color: #9b1c1c; }
  ${SPACE_TIME_CSS}
</style>
</head>
<body>
<main>
<h1>${escapeHtml(name)}</h1>
<p class="sub">run ${escapeHtml(record.runId)}</p>
<div class="verdict ${verdictClass}">${verdict.passed ? '✔ PASS' : '✖ FAIL'} · ${escapeHtml(verdict.summary)}</div>
${verdict.failures.length > 0 ? `<ul class="failures">${verdict.failures.slice(0, 20).map((failure) => `<li>${escapeHtml(failure)}</li>`).join('')}</ul>` : ''}
<dl>${facts.map(([key, value]) => `<dt>${escapeHtml(key)}</dt><dd>${escapeHtml(value)}</dd>`).join('')}</dl>

<h2>Topology</h2>
${picture}

<h2>Over time</h2>
<p class="sub">Time is ${record.runtime === 'sim' ? 'virtual ms since the start of the algorithm' : 'ms since the controller said start, on each node’s clock'}.${timeseries ? ` Every node’s own series is in <a href="${timeseries}">${timeseries}</a>.` : ''}</p>
<div class="plots">${parts.charts.map((chart) => `<figure>${chart}</figure>`).join('\n')}</div>
${faultsSection(input.faults ?? [], record.runtime)}

<h2>Messages</h2>
${parts.diagram}

<h2>Files</h2>
<p>${parts.files.map((file) => `<a href="${escapeHtml(file)}">${escapeHtml(file)}</a>`).join(' · ')}</p>
<p class="sub">Replay: <code>${escapeHtml(record.replay)}</code></p>
</main>
<script>${SPACE_TIME_SCRIPT}</script>
</body>
</html>
`;
}

/** The faults and churn as applied: when, what, on whom, and how late (or why not). */
function topologyPicture(graph: Topology, results: ReadonlyMap<string, Json | undefined>): string {
  const missing = new Set(graph.filterNodes((id) => !results.has(id) || results.get(id) === undefined));
  const picture = topologySvg(graph, {
    colour: (id) => (missing.has(id) ? '#d62728' : '#2a9d4b'),
    describe: (id) => (results.has(id) && results.get(id) !== undefined ? `result ${JSON.stringify(results.get(id)).slice(0, 200)}` : 'no result'),
  });
  const placed = graph.everyNode((_id, a) => a.latitude !== undefined) && graph.order > 0 ? 'placed by the map’s coordinates' : 'placed by a force-directed layout';
  return `<figure>${picture}<figcaption>${placed}; green: the node reported a result, red: it did not. Hover for details.</figcaption></figure>`;
}

function faultsSection(faults: readonly AppliedFault[], runtime: RuntimeKind): string {
  if (faults.length === 0) return '';
  const unit = runtime === 'sim' ? 'virtual ms' : 'ms';
  const rows = faults.map((fault) => {
    const target = fault.leader !== undefined && fault.nodes.length === 0 ? `leader ${fault.leader}` : [...fault.nodes, ...fault.edges.map(([from, to]) => `${from}→${to}`)].join(', ');
    const when = fault.appliedMs === undefined ? '–' : formatNumber(fault.appliedMs);
    const outcome = fault.error ?? (fault.appliedMs === undefined ? 'not applied' : `${formatNumber(fault.appliedMs - fault.atMs)} ${unit} late`);
    return `<tr><td class="num">${escapeHtml(when)}</td><td>${escapeHtml(fault.action)}</td><td>${escapeHtml(target.length > 120 ? `${target.slice(0, 117)}…` : target)}</td><td><code>${escapeHtml(fault.spec)}</code></td><td>${escapeHtml(outcome)}</td></tr>`;
  });
  return `<h3>Faults and churn</h3>
<p class="sub">The dashed lines on the charts above; every event is in <a href="faults.ndjson">faults.ndjson</a>.</p>
<table class="faults"><thead><tr><th>at (${unit})</th><th>action</th><th>on</th><th>fault</th><th>applied</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * Messages per second, nodes done, the nodes in the registry when it changed, and the first metrics (mean, with
 * min–max band), as SVG charts; faults as dashed rules.
 */
async function timeCharts(series: RunSeries, runtime: RuntimeKind, faults: readonly AppliedFault[], registry: RegistryLog | undefined): Promise<string[]> {
  if (series.steps.length === 0) return [];
  const unit = runtime === 'sim' ? 'virtual ms' : 'ms';
  const marks = faults.filter((fault) => fault.appliedMs !== undefined).map((fault) => ({ t: fault.appliedMs!, label: `${fault.action} ${fault.nodes.join(',')}`.trim() }));
  const charts: Array<{ id: string; spec: Record<string, unknown> }> = [
    {
      id: 'messages-per-second',
      spec: timeChart(`messages per second (per ${formatNumber(series.stepMs)} ms step)`, unit, 'messages / s', series.steps.map((step) => ({ t: step.t, value: step.messagesPerSecond })), marks),
    },
    { id: 'nodes-done', spec: timeChart('nodes done', unit, 'nodes with a result', series.steps.map((step) => ({ t: step.t, value: step.done })), marks) },
    ...(registry && registry.changes.length > 0
      ? [{ id: 'registry', spec: timeChart('nodes in the registry', unit, 'registered nodes', registrySteps(registry, series.steps.at(-1)!.t), marks) }]
      : []),
    ...series.metricNames.slice(0, METRIC_CHARTS).map((name, index) => ({
      id: `metric-${index}`,
      spec: timeChart(
        `${name} per node: mean, min–max`,
        unit,
        name,
        series.steps.filter((step) => step.metrics[name]).map((step) => ({ t: step.t, value: step.metrics[name]!.mean, lo: step.metrics[name]!.min, hi: step.metrics[name]!.max })),
        marks,
      ),
    })),
  ];
  return Promise.all(charts.map(({ id, spec }) => renderSvg(spec, id).catch((error: Error) => `<p class="note">could not draw ${escapeHtml(id)}: ${escapeHtml(error.message)}</p>`)));
}

/** The registry's size as a step series: the count at the start, one step per change, held to the run's end. */
function registrySteps(registry: RegistryLog, endMs: number): Array<{ t: number; value: number }> {
  let registered = registry.atStart;
  const steps = [{ t: 0, value: registered }];
  for (const { atMs, change } of registry.changes) steps.push({ t: atMs, value: (registered += change === 'registered' ? 1 : -1) });
  steps.push({ t: Math.max(endMs, steps.at(-1)!.t), value: registered });
  return steps;
}

function timeChart(
  title: string,
  unit: string,
  yTitle: string,
  values: Array<{ t: number; value: number; lo?: number; hi?: number }>,
  marks: ReadonlyArray<{ t: number; label: string }>,
): Record<string, unknown> {
  const x = { field: 't', type: 'quantitative', title: `time (${unit})`, axis: { format: '~s' } };
  const layer: Array<Record<string, unknown>> = [];
  if (values.some((value) => value.lo !== undefined)) {
    layer.push({ mark: { type: 'area', opacity: 0.18, color: '#1f6fb2' }, encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } });
  }
  layer.push({
    mark: { type: 'line', interpolate: 'step-after', color: '#1f6fb2', point: values.length < 40 },
    encoding: { x, y: { field: 'value', type: 'quantitative', title: yTitle, axis: { format: '~s' } } },
  });
  if (marks.length > 0) {
    layer.push({
      data: { values: marks },
      mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3] },
      encoding: { x: { field: 't', type: 'quantitative' }, tooltip: { field: 'label' } },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 460,
    height: 220,
    background: 'white',
    data: { values },
    layer,
    config: { font: 'Helvetica, Arial, sans-serif', axis: { grid: true, gridColor: '#eee' }, view: { stroke: '#ccc' } },
  };
}
