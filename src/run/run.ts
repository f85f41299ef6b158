import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Json } from '../sdk/types.js';
import type { MigrationRecord, NodeReport } from '../coordination/protocol.js';
import { percentiles } from '../bench/percentiles.js';
import { PeerlabError } from '../errors.js';
import { writeJson, writeNdjson } from '../util/files.js';
import { maxOf } from '../util/extremes.js';
import { scheduleAsItWent, type AppliedFault, type FaultEvent } from '../faults/events.js';
import { grownGraph } from '../faults/joins.js';
import type { Topology } from '../topology/index.js';
import { NodeTraffic } from './node-traffic.js';
import { writeRunResults, type RunRecord } from './results-folder.js';
import { hasLinks } from '../links/edges.js';
import { writeRunReport } from '../report/run-report.js';
import { NodeFailed } from './controller.js';
import { NodeCrashed } from './run-watch.js';
import { LOGS_FOLDER } from '../util/node-logs.js';
import { faultsSeenOf, outcomeFails, uncheckedVerdict, verdictOf, type FaultsSeen, type Outcome, type PlacementSeen, type Verdict } from '../verify/index.js';
import { hostFacts } from '../util/host.js';
import { peerlabVersion } from '../util/version.js';
import type { Deployment } from './docker-deployment.js';
import type { DockerOptions } from './execute-docker.js';
import { executeOn, type RunRuntime } from './deployment.js';
import { chooseRuntime, runtimesWith } from './runtimes.js';
import type { RuntimeChoice, RuntimeKind } from '../runtime/types.js';
import { ExecutionFailed, type Execution } from './execution.js';
import { prepareRun, type PrepareRequest, type PreparedRun } from './prepare.js';
import { aggregateNodeMetrics, type NodeMetricAggregates } from './node-metrics.js';
import type { RunObserver } from './observer.js';
import type { RunId } from '../util/names.js';
import { runStateDir } from './state.js';
import { capacityPerCpu } from '../runtime/emulated-hosts.js';
import { livePlacementReplayFlags, type LivePlacementRequest } from '../placement/live.js';
import { FLAG_TERMS, refusal } from './runtime-can.js';
import { otherPlacements } from './swarm-placement.js';
import { overfilledAtStart } from './host-placement.js';

export type { RuntimeChoice };

export interface RunRequest extends DockerOptions, Omit<PrepareRequest, 'onRunId'> {
  readonly timeoutMs: number;
  readonly resultsRoot: string;
  readonly runtime?: RuntimeChoice;
  /**
   * The resolved fault schedule (src/faults/events.ts), applied on the run's clock in either runtime; every event
   * as applied goes to results/<run>/faults.ndjson.
   */
  readonly faults?: readonly FaultEvent[];
  /** Write every message, with Lamport and vector clocks, to events.ndjson. */
  readonly trace?: boolean;
  readonly command?: string[];
  /** How to rerun a run that `peerlab run` cannot repeat (a run with groups is rerun by its experiment). */
  readonly replay?: string;
  /** Called with the run id before anything is created, so an interrupt knows what to remove. */
  readonly onRunId?: (runId: RunId) => void;
  /** Called with the runtime chosen (for `--runtime auto`, the one that answered), before the run id. */
  readonly onRuntime?: (runtime: Pick<RunRuntime, 'kind' | 'engineObjects'>) => void;
  /** Watches the run as it happens (the dashboard). */
  readonly observer?: RunObserver;
  /** A line for people about a choice made for them (e.g. the simulator standing in for Docker). */
  readonly onNotice?: (line: string) => void;
  /** An unchecked run (no oracle, no check in the algorithm file) fails instead of being reported and let pass. */
  readonly requireCheck?: boolean;
  /** A placement policy applied while the run goes (`--policy`): needs hosts (`--hosts`). */
  readonly livePlacement?: LivePlacementRequest;
}

export type { RunUntil } from './prepare.js';

export interface RunSummary {
  readonly runId: string;
  readonly algorithm: string;
  readonly runtime: RuntimeKind;
  readonly nodes: number;
  readonly edges: number;
  /** What the verdict says: pass, fail, unchecked or reproduced. */
  readonly outcome: Outcome;
  /** True only for outcome pass. */
  readonly passed: boolean;
  /** The run counts as failed: its check failed, or it was unchecked and a check was required. */
  readonly failed: boolean;
  readonly verdict: string;
  /** Messages sent but not yet delivered when the run ended. */
  readonly inFlight: number;
  readonly metrics: Record<string, number>;
  /** The algorithm's own per-node metrics (`node.metric`), each aggregated over the nodes. */
  readonly nodeMetrics: NodeMetricAggregates;
  readonly timings: Record<string, number>;
  readonly resultsDir: string;
  readonly missing: string[];
  /** Nodes a fault killed or stopped before they had a result, and how: not waited for, not missing. */
  readonly departed: ReadonlyMap<string, string>;
  /** The fault schedule as applied (also in faults.ndjson). */
  readonly faults: readonly AppliedFault[];
  /** The command that reruns this run; in the simulator it replays it bit for bit. */
  readonly replay: string;
  /** Where the links were applied, and what the runtime recorded (run.json's `topology.linksLayer`, `runtimeFacts`). */
  readonly linksLayer: RunRecord['topology']['linksLayer'];
  readonly runtimeFacts: RunRecord['runtimeFacts'];
}

/**
 * `peerlab up`: prepare and bring up on a container runtime (Docker unless the request names another), leaving
 * the nodes registered, connected and waiting.
 */
export async function bringUp(request: RunRequest): Promise<PreparedRun & { deployment: Deployment }> {
  const runtime = await chooseRuntime(request.runtime ?? 'docker', request.onNotice);
  if (!runtime.standUp) {
    throw new PeerlabError(`--runtime ${runtime.kind} keeps no nodes standing: they live only while a run goes on`, {
      hint: `take --runtime ${runtimesWith('standUp').join(' or ')}; peerlab run takes any runtime`,
    });
  }
  checkRuntimeCan(runtime, request);
  request.onRuntime?.(runtime);
  const prepared = await prepareRun({ ...request, ...(request.hosts && { capacityPerCpu: capacityPerCpu(request.hosts) }) });
  return { ...prepared, deployment: await runtime.standUp(prepared, request) };
}

/** Nodes report their load a few times a round, at most once a second: a round reads the last report of each. */
function loadReportMs({ everyMs }: LivePlacementRequest): number {
  return Math.min(1000, everyMs / 4);
}

/** The hosts' maxNodes hold the run's first placement, refused before anything is started or written. */
function checkStartRoom(prepared: PreparedRun, request: RunRequest): void {
  if (!request.hosts) return;
  const placement = request.placement ?? 'spread';
  const overfilled = overfilledAtStart(prepared.topology.graph, request.hosts.list, placement);
  if (overfilled === undefined) return;
  const { name, nodes, maxNodes } = overfilled;
  throw new PeerlabError(`--placement ${placement}: host ${name} would start with ${nodes} nodes, over its maxNodes of ${maxNodes}`, {
    hint: `raise ${name}'s maxNodes in the hosts file, place the nodes otherwise (${otherPlacements(placement).map((other) => `--placement ${other}`).join(' or ')}), or run fewer`,
  });
}

/** `--hold` names nodes of the run. */
function checkHeld(prepared: PreparedRun, request: RunRequest): void {
  const unknown = request.livePlacement?.hold.find((id) => !prepared.topology.graph.hasNode(id));
  if (unknown !== undefined) throw new PeerlabError(`--hold ${request.livePlacement!.hold.join(',')}: the run has no node ${unknown}`, { hint: 'hold node ids of the topology (peerlab topology show lists them)' });
}

/** What the run asks of its runtime that this one cannot do (`--hosts`, a placement) is refused, not ignored. */
function checkRuntimeCan(runtime: RunRuntime, request: RunRequest): void {
  const ask = { hosts: request.hosts, trace: request.trace, policy: request.livePlacement?.policy, placement: request.placement };
  const refused = refusal(runtime, ask, FLAG_TERMS);
  if (refused) throw new PeerlabError(refused.subject === undefined ? refused.message : `${refused.subject}: ${refused.message}`, { hint: refused.hint });
}

/** `peerlab run`: prepare, execute on the chosen runtime, verify against the oracle, write results/<run-id>/. */
export async function runAlgorithm(request: RunRequest): Promise<RunSummary> {
  const began = Date.now();
  const startedAt = new Date().toISOString();
  const runtime = await chooseRuntime(request.runtime ?? 'docker', request.onNotice);
  checkRuntimeCan(runtime, request);
  request.onRuntime?.(runtime);
  const { observer } = request;
  const prepared = await prepareRun({
    ...request,
    ...(observer?.liveReports && { liveReports: (nodes: number) => observer.liveReports!(nodes, runtime.nodesReachCliAtGateway) }),
    ...(request.livePlacement && { loadReportMs: loadReportMs(request.livePlacement) }),
    ...(request.hosts && { capacityPerCpu: capacityPerCpu(request.hosts) }),
  });
  try {
    checkHeld(prepared, request);
    checkStartRoom(prepared, request);
    await observer?.prepared?.(prepared, runtime.kind);
    try {
      return await runPrepared(request, prepared, runtime, began, startedAt);
    } finally {
      await observer?.finished?.();
    }
  } finally {
    // The run's local state (its bundles): a container runtime's teardown removes it with the run, but a simulation,
    // or a run refused before it deployed, would leave it in the state folder.
    await rm(runStateDir(prepared.runId), { recursive: true, force: true });
  }
}

async function runPrepared(request: RunRequest, prepared: PreparedRun, runtime: RunRuntime, began: number, startedAt: string): Promise<RunSummary> {
  const { observer } = request;
  const resultsDir = path.resolve(request.resultsRoot, prepared.runId);
  const traceFile = request.trace ? path.join(resultsDir, 'events.ndjson') : undefined;
  const graph = prepared.topology.graph;
  const roles = new Map(prepared.groups.flatMap(({ role, nodes }) => nodes.map((id) => [id, role] as const)));
  const recordOf = (execution: Pick<Execution, 'runtime' | 'facts' | 'timings'>, replay: string): RunRecord => ({
    runId: prepared.runId,
    peerlab: peerlabVersion,
    command: request.command ?? process.argv.slice(2),
    replay,
    ...(prepared.hasGroups
      ? {
          groups: prepared.groups.map(({ role, algorithm, source, params, nodes }) => ({ role, algorithm: algorithm.name, source, params, nodes: [...nodes] })),
        }
      : { algorithm: { name: prepared.name, source: prepared.groups[0]!.source, params: prepared.groups[0]!.params } }),
    check: prepared.check?.name ?? null,
    until: request.until ?? 'results',
    topology: {
      spec: prepared.topology.spec,
      seed: request.seed,
      weights: request.weights ?? 'default',
      links: prepared.links ?? (hasLinks(graph) ? 'file' : 'none'),
      linksLayer: runtime.linksLayer(prepared),
      nodes: graph.order,
      edges: graph.size,
      notes: prepared.topology.notes,
    },
    runtime: execution.runtime,
    runtimeFacts: execution.facts,
    host: hostFacts(),
    timings: { ...execution.timings, totalMs: Date.now() - began },
    startedAt,
  });
  // Made before any node starts, so `peerlab logs <run> <node> -f` finds the run as soon as its id is announced.
  await mkdir(path.join(resultsDir, LOGS_FOLDER), { recursive: true });
  let execution: Execution;
  try {
    execution = await executeOn(runtime, prepared, {
      ...request,
      until: request.until ?? 'results',
      traceFile,
      logsDir: path.join(resultsDir, LOGS_FOLDER),
      followEtcd: observer?.followEtcd,
      onFault: observer?.fault,
      onSimulatorEvent: observer?.simulatorEvent,
    });
  } catch (error) {
    const failure = error instanceof ExecutionFailed ? error.reason : error;
    const errorFile = path.join(resultsDir, 'error.json');
    const facts: Pick<Execution, 'runtime' | 'facts'> = { runtime: runtime.kind, facts: {} };
    const rerun = replayCommand(request, prepared, runtime);
    await writeJson(errorFile, describeFailure(failure, prepared, rerun));
    // A run that failed after its nodes started is a failed run, not a missing one: what the nodes had
    // reported is written beside error.json, and `results list` shows it with its error.
    if (error instanceof ExecutionFailed) {
      const { results, reports } = error.collected;
      await writeRunResults(resultsDir, {
        record: recordOf({ ...facts, timings: {} }, rerun),
        graph,
        roles,
        results: new Map(graph.nodes().map((id) => [id, results.get(id)])),
        reports,
        ...failedVerdict(failure, graph, reports),
      });
    }
    if (failure instanceof NodeFailed) {
      const shown = (file: string) => (path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file));
      throw new PeerlabError(failure.message, {
        hint: `its log is ${shown(path.join(resultsDir, LOGS_FOLDER, `${failure.nodeId}.log`))}, its stack trace ${shown(errorFile)}`,
        cause: failure,
      });
    }
    throw failure;
  }

  // Under faults the oracle judges what the algorithm still guarantees among the survivors: what was applied counts.
  const faults = scheduleAsItWent(request.faults ?? [], execution.faults);
  // Every member that ever took part: the nodes that joined, with their edges, are in the results and the oracle's graph.
  const members = grownGraph(graph, faults);
  const results = new Map<string, Json | undefined>(members.nodes().map((id) => [id, execution.results.get(id)]));
  const totals = reportTotals(members, execution.reports);
  const dropped = totals.droppedOnArrival;
  const faultsSeen = faults.length > 0 ? { ...faultsSeenOf(faults.filter((fault) => fault.error === undefined)), droppedMessages: dropped } : undefined;
  const placement = request.livePlacement && { policy: request.livePlacement.policy, rounds: execution.placements ?? [] };
  const verdict = judge(prepared, members, results, execution.missing, request.until === 'quiescent' ? execution.inFlight : 0, execution.endedEarly, faultsSeen, placement);
  const metrics = {
    ...verdict.metrics,
    messages: totals.messages,
    bytes: totals.bytes,
    messagesInFlight: execution.inFlight,
    ...(dropped > 0 && { messagesDroppedOnArrival: dropped }),
    ...migrationMetrics(execution.migrations ?? []),
  };
  const replay = replayCommand(request, prepared, runtime);
  const record = recordOf(execution, replay);
  const timings = record.timings;
  const joins = faults.filter((fault) => fault.action === 'join' && fault.error === undefined);
  const joined = new Map(joins.map((join) => [join.nodes[0]!, `at ${join.atMs} ms, attached to ${(join.attach ?? []).map(({ id }) => id).join(' ')}`]));
  // A run with joins has one algorithm (src/faults refuses joins with groups): its role is the joined nodes' too.
  for (const id of joined.keys()) roles.set(id, prepared.groups[0]!.role);
  const output = { record, graph: members, roles, results, reports: execution.reports, traffic: totals.traffic, verdict: { ...verdict, metrics }, departed: execution.departed, joined };
  await writeRunResults(resultsDir, output);
  // The run's event records, one JSON line each, written only when there was something to record:
  // faults.ndjson, each fault event as applied, with its intended and actual time on the run's clock;
  if (faults.length > 0) await writeNdjson(path.join(resultsDir, 'faults.ndjson'), faults);
  // migrations.ndjson, each node that moved to a new container (migrate, restart), as its new node recorded it;
  if (execution.migrations?.length) await writeNdjson(path.join(resultsDir, 'migrations.ndjson'), execution.migrations);
  // placements.ndjson, each round of the placement policy: the loads it saw, the placement it chose, the moves made;
  if (execution.placements?.length) await writeNdjson(path.join(resultsDir, 'placements.ndjson'), execution.placements);
  // registry.ndjson, how many nodes were registered at the start, then one line per change after it.
  const { atStart, changes } = execution.registry;
  if (changes.length > 0) await writeNdjson(path.join(resultsDir, 'registry.ndjson'), [{ atMs: 0, registered: atStart }, ...changes]);
  await writeRunReport(resultsDir, { ...output, faults, registry: execution.registry });
  if (execution.teardownError !== undefined) throw execution.teardownError;
  return {
    runId: prepared.runId,
    algorithm: prepared.name,
    runtime: execution.runtime,
    nodes: graph.order,
    edges: graph.size,
    outcome: verdict.outcome,
    passed: verdict.passed,
    failed: outcomeFails(verdict.outcome, request.requireCheck ?? false),
    verdict: verdict.summary,
    inFlight: execution.inFlight,
    metrics,
    nodeMetrics: totals.nodeMetrics,
    timings,
    resultsDir,
    missing: execution.missing,
    departed: execution.departed,
    faults,
    replay,
    linksLayer: record.topology.linksLayer,
    runtimeFacts: record.runtimeFacts,
  };
}

/** What error.json holds when a run fails before it can be verified: enough to see why and to rerun it. */
function describeFailure(error: unknown, prepared: PreparedRun, rerun: string): Json {
  const failure = error instanceof Error ? error : new Error(String(error));
  return {
    runId: prepared.runId,
    message: failure.message,
    hint: failure instanceof PeerlabError ? (failure.hint ?? null) : null,
    node: failure instanceof NodeFailed || failure instanceof NodeCrashed ? failure.nodeId : null,
    stack: (failure instanceof NodeFailed ? failure.nodeStack : failure.stack) ?? null,
    rerun,
  };
}

/** The verdict of a run that failed before it could be judged: it names the error, and nothing was checked. */
function failedVerdict(error: unknown, graph: Topology, reports: ReadonlyMap<string, NodeReport>): { verdict: Verdict; traffic: NodeTraffic } {
  const message = error instanceof Error ? error.message : String(error);
  const { traffic, messages, bytes } = reportTotals(graph, reports);
  return { verdict: { outcome: 'fail', passed: false, summary: `failed: ${message.split('\n')[0]}`, expected: null, actual: null, metrics: { messages, bytes }, failures: [message] }, traffic };
}

/**
 * The run's moves in its metrics: how many, their downtime (p50, p95, max) and their largest snapshot. A move
 * aborted after the freeze (its node stayed) counts apart, in `migrationsFailed`.
 */
function migrationMetrics(records: readonly MigrationRecord[]): Record<string, number> {
  const migrations = records.filter((move) => move.failed === undefined);
  const failed = records.length - migrations.length;
  const moved = migrations.filter((move) => move.kind === 'migrate');
  if (moved.length === 0) return { ...(migrations.length > 0 && { restarts: migrations.length }), ...(failed > 0 && { migrationsFailed: failed }) };
  const downtime = percentiles(moved.map((move) => move.downtimeMs));
  return {
    migrations: moved.length,
    ...(failed > 0 && { migrationsFailed: failed }),
    ...(migrations.length > moved.length && { restarts: migrations.length - moved.length }),
    migrationDowntimeP50Ms: downtime.p50,
    migrationDowntimeP95Ms: downtime.p95,
    migrationDowntimeMaxMs: downtime.max,
    migrationSnapshotMaxBytes: maxOf(moved.map((move) => move.snapshotBytes)),
    migrationMessagesReplayed: moved.reduce((sum, move) => sum + move.replayed + move.carried, 0),
  };
}

/**
 * The command that reruns the run: every flag that can change its outcome (topology and what shapes it,
 * links, parameters, runtime, timeout, and a container's memory limit), none that only changes how it
 * is shown.
 */
function replayCommand(request: RunRequest, prepared: PreparedRun, runtime: RunRuntime): string {
  if (request.replay !== undefined) return request.replay;
  const quote = (value: string) => (/^[\w.,:=/@+-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);
  const parts = ['peerlab', 'run', request.algorithm, '--topology', prepared.topology.spec, '--seed', String(request.seed)];
  if (request.weights) parts.push('--weights', request.weights);
  if (request.allowDisconnected) parts.push('--allow-disconnected');
  if (prepared.links !== undefined) parts.push('--links', prepared.links);
  // The parameters the algorithm derived from the graph, then the user's (a replay must not depend on the
  // algorithm file deriving the same values again).
  for (const param of [...(request.groups ? [] : prepared.groups[0]!.derivedParams), ...request.params]) parts.push('--param', param);
  if (request.until === 'quiescent') parts.push('--until', 'quiescent');
  parts.push(...faultFlags(request.faults ?? []));
  if (request.livePlacement) parts.push(...livePlacementReplayFlags(request.livePlacement));
  parts.push('--runtime', runtime.kind);
  parts.push('--timeout', String(request.timeoutMs / 1000));
  parts.push(...runtime.replayFlags(prepared, request));
  return parts.map(quote).join(' ');
}

/** The --fault and --churn flags a schedule was made from, in the order they were given (events carry their text). */
function faultFlags(events: readonly FaultEvent[]): string[] {
  const texts = new Map<number, string[]>();
  for (const event of events) {
    if (texts.has(event.fault)) continue;
    const churn = /^churn \w+: (.*)$/.exec(event.spec);
    texts.set(event.fault, churn ? ['--churn', churn[1]!] : ['--fault', event.spec]);
  }
  return [...texts.entries()].sort(([a], [b]) => a - b).flatMap(([, flags]) => flags);
}

/**
 * `stillInFlight`: messages in flight at the end of a run asked to end quiescent (it timed out waiting);
 * `endedEarly`: why the run ended before every node had a result when it was not a timeout (the event cap).
 */
function judge(
  prepared: PreparedRun,
  graph: Topology,
  results: Map<string, Json | undefined>,
  missing: string[],
  stillInFlight: number,
  endedEarly: string | undefined,
  faults: FaultsSeen | undefined,
  placement: PlacementSeen | undefined,
): Verdict {
  // Under faults a survivor may owe no result (cut off from the root, say): its oracle says which ones do.
  if (missing.length > 0 && !(faults && prepared.check)) {
    return {
      outcome: 'fail',
      passed: false,
      summary: `${endedEarly ?? 'timed out'}: ${missing.length} node(s) reported no result (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''})`,
      expected: null,
      actual: null,
      metrics: { missing: missing.length },
      failures: missing.slice(0, 10).map((id) => `node ${id}: no result before the run ended`),
    };
  }
  if (stillInFlight > 0) {
    const summary = `timed out: every node has a result, but ${stillInFlight} message(s) were still in flight (--until quiescent)`;
    return { outcome: 'fail', passed: false, summary, expected: null, actual: null, metrics: {}, failures: [summary] };
  }
  if (!prepared.check) return uncheckedVerdict(prepared.hasGroups ? 'no check named for these groups' : `no oracle for ${prepared.name}`);
  const groups = prepared.groups.map(({ role, algorithm, params, nodes }) => ({ role, algorithm: algorithm.name, params, nodes }));
  const params = prepared.hasGroups ? {} : (prepared.groups[0]!.params as Record<string, unknown>);
  const joined = faults?.joinedNodes?.length ?? 0;
  const joinsUnjudged = joined > 0 ? prepared.check.joinsUnjudged(params) : undefined;
  if (joinsUnjudged) return uncheckedVerdict(`${joined} node(s) joined, and ${joinsUnjudged}`);
  return verdictOf(prepared.check.oracle({ graph, results, params, groups, ...(faults && { faults }), ...(placement && { placement }) }));
}

/**
 * The run's totals from the nodes' reports, in one pass (the simulator's reports are decoded as they are read, a
 * second or so a pass at 10⁵ nodes): messages and bytes sent, the per-node metrics' aggregates, and the messages
 * the receivers dropped on arrival (those on a downed link and those a drop-messages fault took, counted alike by
 * the host in both runtimes).
 */
function reportTotals(graph: Topology, reports: ReadonlyMap<string, NodeReport>): { traffic: NodeTraffic; messages: number; bytes: number; droppedOnArrival: number; nodeMetrics: NodeMetricAggregates } {
  // One pass over the reports (the simulator's are decoded as they are read) for the totals and the results files.
  const traffic = new NodeTraffic(graph.nodes());
  let droppedOnArrival = 0;
  const counted = function* () {
    for (const [id, report] of reports) {
      traffic.add(id, report);
      for (const count of Object.values(report.dropped ?? {})) droppedOnArrival += count;
      yield report;
    }
  };
  const nodeMetrics = aggregateNodeMetrics(counted());
  const { messages, bytes } = traffic.sentInAll();
  return { traffic, messages, bytes, droppedOnArrival, nodeMetrics };
}
