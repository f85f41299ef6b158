import path from 'node:path';
import type { Json } from '../sdk/types.js';
import type { NodeReport } from '../coordination/protocol.js';
import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { writeJson } from '../util/files.js';
import { writeRunResults, type RunRecord } from './results-folder.js';
import { writeRunReport } from '../report/run-report.js';
import { DEFAULT_DELAY_SPEC } from '../runtime/sim/index.js';
import { NodeFailed } from './controller.js';
import { oracleFor, type Verdict } from '../verify/index.js';
import { hostFacts } from '../util/host.js';
import { peerlabVersion } from '../util/version.js';
import type { Deployment } from './docker-deployment.js';
import { deployPrepared, executeOnDocker, type DockerOptions } from './execute-docker.js';
import { executeInSimulator } from './execute-sim.js';
import type { Execution } from './execution.js';
import { prepareRun, type PrepareRequest, type PreparedRun } from './prepare.js';
import type { RunObserver } from './observer.js';
import type { RunId } from '../util/names.js';

export type RuntimeChoice = 'docker' | 'sim' | 'auto';

export interface RunRequest extends DockerOptions, Omit<PrepareRequest, 'onRunId'> {
  readonly timeoutMs: number;
  readonly resultsRoot: string;
  readonly runtime?: RuntimeChoice;
  /** Simulator delay model, e.g. exp:1 (see src/runtime/sim/delay.ts). */
  readonly delay?: string;
  /** Write every message, with Lamport and vector clocks, to events.ndjson. */
  readonly trace?: boolean;
  readonly command?: string[];
  /** How to rerun a run that `peerlab run` cannot repeat (a run with groups is rerun by its experiment). */
  readonly replay?: string;
  /** Called with the run id before anything is created, so an interrupt knows what to remove. */
  readonly onRunId?: (runId: RunId) => void;
  /** Watches the run as it happens (the dashboard). */
  readonly observer?: RunObserver;
  /** A line for people about a choice made for them (e.g. the simulator standing in for Docker). */
  readonly onNotice?: (line: string) => void;
}

export interface RunSummary {
  readonly runId: string;
  readonly algorithm: string;
  readonly runtime: 'docker' | 'sim';
  readonly nodes: number;
  readonly edges: number;
  readonly passed: boolean;
  readonly verdict: string;
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
  const { observer } = request;
  const prepared = await prepareRun({ ...request, liveReportMs: observer?.liveReportMs });
  await observer?.prepared?.(prepared, runtime);
  try {
    return await runPrepared(request, prepared, runtime, began, startedAt);
  } finally {
    await observer?.finished?.();
  }
}

async function runPrepared(request: RunRequest, prepared: PreparedRun, runtime: 'docker' | 'sim', began: number, startedAt: string): Promise<RunSummary> {
  const { observer } = request;
  const resultsDir = path.resolve(request.resultsRoot, prepared.runId);
  const traceFile = request.trace ? path.join(resultsDir, 'events.ndjson') : undefined;
  let execution: Execution;
  try {
    execution =
      runtime === 'sim'
        ? await executeInSimulator(prepared, { delay: request.delay, timeoutMs: request.timeoutMs, traceFile, onEvent: observer?.simulatorEvent })
        : await executeOnDocker(prepared, { ...request, traceFile, followEtcd: observer?.followEtcd });
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
  const verdict = judge(prepared, results, execution.missing);
  const traffic = sumTraffic(execution.reports);
  const metrics = { ...verdict.metrics, messages: traffic.messages, bytes: traffic.bytes };
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
          check: prepared.check ?? null,
        }
      : { algorithm: { name: prepared.name, source: prepared.groups[0]!.source, params: prepared.groups[0]!.params } }),
    topology: {
      spec: prepared.topology.spec,
      seed: request.seed,
      weights: request.weights ?? 'default',
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
  const output = { record, graph, roles, results, reports: execution.reports, verdict: { ...verdict, metrics } };
  await writeRunResults(resultsDir, output);
  await writeRunReport(resultsDir, output);
  if (execution.teardownError !== undefined) throw execution.teardownError;
  return {
    runId: prepared.runId,
    algorithm: prepared.name,
    runtime: execution.runtime,
    nodes: graph.order,
    edges: graph.size,
    passed: verdict.passed,
    verdict: verdict.summary,
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
    node: failure instanceof NodeFailed ? failure.nodeId : null,
    stack: (failure instanceof NodeFailed ? failure.nodeStack : failure.stack) ?? null,
    rerun: replayCommand(request, prepared, { runtime, facts: { delay: request.delay ?? DEFAULT_DELAY_SPEC } }),
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
  for (const param of request.params) parts.push('--param', param);
  parts.push('--runtime', execution.runtime);
  if (execution.runtime === 'sim') parts.push('--delay', String(execution.facts.delay));
  return parts.map(quote).join(' ');
}

function judge(prepared: PreparedRun, results: Map<string, Json | undefined>, missing: string[]): Verdict {
  if (missing.length > 0) {
    return {
      passed: false,
      summary: `timed out: ${missing.length} node(s) reported no result (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''})`,
      expected: null,
      actual: null,
      metrics: { missing: missing.length },
      failures: missing.slice(0, 10).map((id) => `node ${id}: no result before the run ended`),
    };
  }
  const oracle = prepared.check === undefined ? undefined : oracleFor(prepared.check);
  if (!oracle) {
    const why = prepared.hasGroups ? 'no check named for these groups' : `no oracle for ${prepared.name}`;
    return { passed: true, summary: `${why}: results recorded, not checked`, expected: null, actual: null, metrics: {}, failures: [] };
  }
  const groups = prepared.groups.map(({ role, algorithm, params, nodes }) => ({ role, algorithm: algorithm.name, params, nodes }));
  const params = prepared.hasGroups ? {} : (prepared.groups[0]!.params as Record<string, unknown>);
  return oracle({ graph: prepared.topology.graph, results, params, groups });
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
