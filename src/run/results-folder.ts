import type { RuntimeKind } from '../runtime/types.js';
import path from 'node:path';
import type { Json } from '../sdk/types.js';
import type { HostFacts } from '../util/host.js';
import type { NodeReport } from '../coordination/protocol.js';
import { exportTopology, type EdgeAttributes, type Topology } from '../topology/index.js';
import type { Verdict } from '../verify/index.js';
import { GZIP_ABOVE_BYTES, writeCsvRows, writeJson, writeJsonFile } from '../util/files.js';
import type { EdgeLink } from '../links/model.js';
import type { NodeTraffic } from './node-traffic.js';

/** Everything needed to rerun a run, as written to run.json. */
export interface RunRecord {
  readonly runId: string;
  readonly peerlab: { version: string; commit: string | undefined };
  readonly command: string[];
  /** The command that reruns this run (bit-identically in the simulator). */
  readonly replay: string;
  /** What every node ran (a run of one algorithm). */
  readonly algorithm?: { name: string; source: string; params: Json };
  /** A run with groups instead: each role's algorithm, parameters and nodes. */
  readonly groups?: Array<{ role: string; algorithm: string; source: string; params: Json; nodes: string[] }>;
  /** What judged the run: a built-in oracle's name, or `<file>#check` for an algorithm file's own; null: unchecked. */
  readonly check?: string | null;
  /** When the run ended: once every node had a result, or (quiescent) once no message was in flight either. */
  readonly until?: 'results' | 'quiescent';
  /**
   * `links`: the --links spec, `file` when only the file's attributes shaped edges, `none` when nothing did;
   * `linksLayer`: where they were applied (Docker's message or packet layer, or the simulator's model).
   */
  readonly topology: { spec: string; seed: number; weights: string; links: string; linksLayer: 'message' | 'packet' | 'model'; nodes: number; edges: number; notes: string[] };
  readonly runtime: RuntimeKind;
  /** Images for Docker; delay model, virtual time and event count for the simulator. */
  readonly runtimeFacts: Record<string, Json>;
  readonly host: HostFacts;
  readonly timings: Record<string, number>;
  readonly startedAt: string;
  /**
   * The verdict in brief, as verify.json has it: what `peerlab results list` shows, without reading verify.json,
   * which a 10⁶-node GHS fills with both trees (87 MB of JSON, 2.7 s of the listing). Written with the results.
   */
  readonly verdict?: Pick<Verdict, 'outcome' | 'summary'>;
}

export interface RunOutput {
  readonly record: RunRecord;
  readonly graph: Topology;
  /** Each node's role (a run of one algorithm has one role, named after the algorithm). */
  readonly roles: ReadonlyMap<string, string>;
  readonly results: ReadonlyMap<string, Json | undefined>;
  readonly reports: ReadonlyMap<string, NodeReport>;
  /** What each node and edge carried, gathered from `reports` over `graph`'s nodes. */
  readonly traffic: NodeTraffic;
  readonly verdict: Verdict;
  /** Nodes a fault killed or stopped before they had a result, and how: nodes.csv says so in a `departed` column. */
  readonly departed?: ReadonlyMap<string, string>;
  /** Nodes that joined during the run, when and to whom: nodes.csv says so in a `joined` column. */
  readonly joined?: ReadonlyMap<string, string>;
}

/** Writes results/<run-id>/: run.json, topology.json, nodes.csv, edges.csv and verify.json (all but run.json .gz when large). */
export async function writeRunResults(dir: string, output: RunOutput): Promise<void> {
  const { record, graph, roles, results, reports, traffic, verdict } = output;
  const departed = output.departed ?? new Map<string, string>();
  const joined = output.joined ?? new Map<string, string>();
  // One report at a time: the simulator's reports are decoded as they are read, and a 10⁶-node run's do not fit
  // the heap all at once.
  const metricNameSet = new Set<string>();
  for (const report of reports.values()) for (const name of Object.keys(report.metrics)) metricNameSet.add(name);
  const metricNames = [...metricNameSet].sort();
  const nodeRows = function* () {
    for (const { node: id, attributes } of graph.nodeEntries()) yield nodeRow(id, attributes.label);
  };
  const metricColumns = metricNames.map((name) => `metric_${name}`);
  // Built property by property, not from spreads: every row then has one shape, made without an object of
  // entries per row (a 10⁶-node run writes 10⁶ rows).
  const nodeRow = (id: string, label: string | undefined) => {
    const report = reports.get(id);
    const totals = traffic.totals(id);
    const row: Record<string, unknown> = {
      id,
      role: roles.get(id) ?? '',
      label: label ?? '',
      degree: graph.degree(id),
      result: results.has(id) ? JSON.stringify(results.get(id)) : '',
    };
    if (departed.size > 0) row.departed = departed.get(id) ?? '';
    if (joined.size > 0) row.joined = joined.get(id) ?? '';
    row.messages_sent = totals?.messagesSent ?? 0;
    row.messages_received = totals?.messagesReceived ?? 0;
    row.bytes_sent = totals?.bytesSent ?? 0;
    row.registered_ms = report?.startup.registeredMs ?? '';
    row.connected_ms = report?.startup.connectedMs ?? '';
    row.start_lag_ms = report?.startup.startLagMs ?? '';
    for (let metric = 0; metric < metricNames.length; metric++) row[metricColumns[metric]!] = report?.metrics[metricNames[metric]!] ?? '';
    return row;
  };
  const edgeRows = function* () {
    for (const { attributes, source, target } of graph.edgeEntries()) yield edgeRow(attributes, source, target);
  };
  const edgeRow = (attributes: EdgeAttributes, source: string, target: string) => {
    const forward = traffic.get(source, target);
    const backward = traffic.get(target, source);
    return {
      source,
      target,
      weight: attributes.weight,
      messages_forward: forward?.messages ?? 0,
      bytes_forward: forward?.bytes ?? 0,
      messages_backward: backward?.messages ?? 0,
      bytes_backward: backward?.bytes ?? 0,
      ...(attributes.link ? linkColumns(attributes.link) : {}),
    };
  };
  // One file after another, each one's rows and text made only as it is written, a batch at a time: at 10⁶ nodes
  // they did not all fit the main thread’s heap at once (from ba:n=10⁴,m=2, at 10⁶: topology.json ~360 MB of text,
  // GHS nodes.csv ~260 MB).
  const writeRows = (file: string, rows: () => Iterable<Record<string, unknown>>, noRows: string[]) =>
    writeCsvRows(path.join(dir, file), rows(), firstKeys(rows()) ?? noRows, { gzipAbove: GZIP_ABOVE_BYTES });
  await writeJson(path.join(dir, 'run.json'), { ...record, verdict: { outcome: verdict.outcome, summary: verdict.summary } } satisfies RunRecord);
  await writeJsonFile(path.join(dir, 'topology.json'), exportTopology(graph), { gzipAbove: GZIP_ABOVE_BYTES });
  await writeRows('nodes.csv', nodeRows, ['id']);
  await writeRows('edges.csv', edgeRows, ['source', 'target']);
  await writeJsonFile(path.join(dir, 'verify.json'), verdict, { gzipAbove: GZIP_ABOVE_BYTES });
}

/** What each direction of a shaped edge was given; '' for an unlimited rate or the kernel's default queue. */
function linkColumns({ forward, backward }: EdgeLink): Record<string, number | string> {
  const columns: Record<string, number | string> = {};
  for (const [direction, params] of [['forward', forward], ['backward', backward]] as const) {
    columns[`delay_ms_${direction}`] = params.delayMs;
    columns[`jitter_ms_${direction}`] = params.jitterMs;
    columns[`jitter_distribution_${direction}`] = params.jitterDistribution;
    columns[`loss_percent_${direction}`] = params.lossPercent;
    columns[`rate_bps_${direction}`] = params.rateBps ?? '';
    columns[`queue_packets_${direction}`] = params.queuePackets ?? '';
  }
  return columns;
}

/**
 * The columns: the first row's keys. Every node row has the same keys; an edge row has the link columns when its
 * edge was shaped, and the first edge decides, as it always has.
 */
function firstKeys(rows: Iterable<Record<string, unknown>>): string[] | undefined {
  for (const row of rows) return Object.keys(row);
  return undefined;
}
