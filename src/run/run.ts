import path from 'node:path';
import type { Json } from '../sdk/types.js';
import type { NodeReport } from '../coordination/protocol.js';
import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { writeJson } from '../util/files.js';
import { writeRunResults, type RunRecord } from './results-folder.js';
import { hasLinks } from '../links/edges.js';
import { DEFAULT_MAX_EVENTS } from '../runtime/sim/index.js';
import { NodeFailed } from './controller.js';
import { NodeCrashed } from './run-watch.js';
import { outcomeFails, uncheckedVerdict, verdictOf, type Outcome, type Verdict } from '../verify/index.js';
import { hostFacts } from '../util/host.js';
import { peerlabVersion } from '../util/version.js';
import type { Deployment } from './docker-deployment.js';
import { deployPrepared, executeOnDocker, type DockerOptions } from './execute-docker.js';
import { executeInSimulator } from './execute-sim.js';
import type { Execution } from './execution.js';
import { prepareRun, type PrepareRequest, type PreparedRun } from './prepare.js';
import type { RunId } from '../util/names.js';

export type RuntimeChoice = 'docker' | 'sim' | 'auto';

export interface RunRequest extends DockerOptions, Omit<PrepareRequest, 'onRunId'> {
  readonly timeoutMs: number;
  readonly resultsRoot: string;
  readonly runtime?: RuntimeChoice;
  /** The simulator's event cap (default DEFAULT_MAX_EVENTS in src/runtime/sim/types.ts). */
  readonly maxEvents?: number;
  /** Write the message trace to events.ndjson (simulator). */
  readonly trace?: boolean;
  readonly command?: string[];
  /** How to rerun a run that `peerlab run` cannot repeat (a run with groups is rerun by its experiment). */
  readonly replay?: string;
  /** Called with the run id before anything is created, so an interrupt knows what to remove. */
  readonly onRunId?: (runId: RunId) => void;
  /** A line for people about a choice made for them (e.g. the simulator standing in for Docker). */
  readonly onNotice?: (line: string) => void;
  /** An unchecked run (no oracle, no check in the algorithm file) fails instead of being reported and let pass. */
  readonly requireCheck?: boolean;
}

export type { RunUntil } from './prepare.js';

export interface RunSummary {
  readonly runId: string;
  readonly algorithm: string;
  readonly runtime: 'docker' | 'sim';
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
  readonly timings: Record<string, number>;
  readonly resultsDir: string;
  readonly missing: string[];
  /** The command that reruns this run; in the simulator it replays it bit for bit. */
  readonly replay: string;
}

/** `peerlab up`: prepare and bring up on Docker, leaving the nodes registered, connected and waiting. */
export async function bringUp(request: RunRequest): Promise<PreparedRun & { deployment: Deployment }> {
  const prepared = await prepareRun(request);
  return { ...prepared, deployment: await deployPrepared(prepared, request) };
}

/** `peerlab run`: prepare, execute on the chosen runtime, verify against the oracle, write results/<run-id>/. */
export async function runAlgorithm(request: RunRequest): Promise<RunSummary> {
  const began = Date.now();
  const startedAt = new Date().toISOString();
  const runtime = await chooseRuntime(request.runtime ?? 'docker', request.onNotice);
  if (request.trace && runtime !== 'sim') {
    throw new PeerlabError('--trace records messages in the simulator only', { hint: 'add --runtime sim, or drop --trace' });
  }
  const prepared = await prepareRun(request);
  const resultsDir = path.resolve(request.resultsRoot, prepared.runId);
  let execution: Execution;
  try {
    execution =
      runtime === 'sim'
        ? await executeInSimulator(prepared, {
            timeoutMs: request.timeoutMs,
            until: request.until ?? 'results',
            maxEvents: request.maxEvents,
            traceFile: request.trace ? path.join(resultsDir, 'events.ndjson') : undefined,
            signal: request.signal,
            onStage: request.onStage,
          })
        : await executeOnDocker(prepared, request);
  } catch (error) {
    const errorFile = path.join(resultsDir, 'error.json');
    await writeJson(errorFile, describeFailure(error, request, prepared, runtime));
    if (error instanceof NodeFailed) {
      throw new PeerlabError(error.message, { hint: `its stack trace is in ${path.relative(process.cwd(), errorFile)}`, cause: error });
    }
    throw error;
  }

  const graph = prepared.topology.graph;
  const results = new Map<string, Json | undefined>(graph.nodes().map((id) => [id, execution.results.get(id)]));
  const verdict = judge(prepared, results, execution.missing, request.until === 'quiescent' ? execution.inFlight : 0, execution.endedEarly);
  const traffic = sumTraffic(execution.reports);
  const metrics = { ...verdict.metrics, messages: traffic.messages, bytes: traffic.bytes, messagesInFlight: execution.inFlight };
  const timings = { ...execution.timings, totalMs: Date.now() - began };
  const replay = replayCommand(request, prepared, execution);
  const record: RunRecord = {
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
      linksLayer: runtime === 'sim' ? 'model' : prepared.linksLayer,
      nodes: graph.order,
      edges: graph.size,
      notes: prepared.topology.notes,
    },
    runtime: execution.runtime,
    runtimeFacts: execution.facts,
    host: hostFacts(),
    timings,
    startedAt,
  };
  const roles = new Map(prepared.groups.flatMap(({ role, nodes }) => nodes.map((id) => [id, role] as const)));
  await writeRunResults(resultsDir, { record, graph, roles, results, reports: execution.reports, verdict: { ...verdict, metrics } });
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
    timings,
    resultsDir,
    missing: execution.missing,
    replay,
  };
}

/** What error.json holds when a run fails before it can be verified: enough to see why and to rerun it. */
function describeFailure(error: unknown, request: RunRequest, prepared: PreparedRun, runtime: 'docker' | 'sim'): Json {
  const failure = error instanceof Error ? error : new Error(String(error));
  return {
    runId: prepared.runId,
    message: failure.message,
    hint: failure instanceof PeerlabError ? (failure.hint ?? null) : null,
    node: failure instanceof NodeFailed || failure instanceof NodeCrashed ? failure.nodeId : null,
    stack: (failure instanceof NodeFailed ? failure.nodeStack : failure.stack) ?? null,
    rerun: replayCommand(request, prepared, { runtime, facts: {} }),
  };
}

/** `auto` takes Docker when its engine answers, else the simulator, and says so. */
async function chooseRuntime(choice: RuntimeChoice, onNotice?: (line: string) => void): Promise<'docker' | 'sim'> {
  if (choice !== 'auto') return choice;
  try {
    await connectDocker();
    return 'docker';
  } catch (error) {
    if (!(error instanceof PeerlabError)) throw error;
    onNotice?.(`runtime: the simulator (${error.message}); pass --runtime docker to insist on containers`);
    return 'sim';
  }
}

function replayCommand(request: RunRequest, prepared: PreparedRun, execution: Pick<Execution, 'runtime' | 'facts'>): string {
  if (request.replay !== undefined) return request.replay;
  const quote = (value: string) => (/^[\w.,:=/@+-]+$/.test(value) ? value : `'${value.replaceAll("'", "'\\''")}'`);
  const parts = ['peerlab', 'run', request.algorithm, '--topology', prepared.topology.spec, '--seed', String(request.seed)];
  if (request.weights) parts.push('--weights', request.weights);
  if (prepared.links !== undefined) parts.push('--links', prepared.links);
  if (prepared.linksLayer === 'packet' && execution.runtime === 'docker') parts.push('--links-mode', 'packet');
  for (const param of request.params) parts.push('--param', param);
  if (request.until === 'quiescent') parts.push('--until', 'quiescent');
  parts.push('--runtime', execution.runtime);
  if (execution.runtime === 'sim' && request.maxEvents !== undefined && request.maxEvents !== DEFAULT_MAX_EVENTS) parts.push('--max-events', String(request.maxEvents));
  return parts.map(quote).join(' ');
}

/**
 * `stillInFlight`: messages in flight at the end of a run asked to end quiescent (it timed out waiting);
 * `endedEarly`: why the run ended before every node had a result when it was not a timeout (the event cap).
 */
function judge(prepared: PreparedRun, results: Map<string, Json | undefined>, missing: string[], stillInFlight: number, endedEarly: string | undefined): Verdict {
  if (missing.length > 0) {
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
  return verdictOf(prepared.check.oracle({ graph: prepared.topology.graph, results, params, groups }));
}

function sumTraffic(reports: ReadonlyMap<string, NodeReport>): { messages: number; bytes: number } {
  let messages = 0;
  let bytes = 0;
  for (const report of reports.values()) {
    for (const count of Object.values(report.sent)) {
      messages += count.messages;
      bytes += count.bytes;
    }
  }
  return { messages, bytes };
}
