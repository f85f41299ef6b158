import { PeerlabError } from '../errors.js';
import type { Stage } from '../run/docker-deployment.js';
import type { RunRequest, RunSummary } from '../run/run.js';
import { resolveRunFaults } from '../faults/index.js';
import { paramAssignments, type Plan, type PlannedRun } from './expand.js';
import { isFinished, type ExperimentFolder, type RunOutcome } from './store.js';
import type { RunId } from '../util/names.js';

/** What runs one run: runAlgorithm, or a fake in tests. */
export type Runner = (request: RunRequest) => Promise<RunSummary>;

/** The parts of every request that come from the command line, not from the experiment file. */
export type BaseRequest = Pick<RunRequest, 'resultsRoot'> &
  Partial<Pick<RunRequest, 'nodeMemoryLimit' | 'concurrency' | 'etcdImage' | 'etcdPort' | 'etcdEndpoints' | 'baseImage' | 'maxPayloadBytes' | 'signal'>>;

/** The stage of the current run, as the progress line names it. */
export type StageName = 'creating' | 'starting' | 'registered' | 'running' | 'verifying' | 'tearing down';

export function describeStage(stage: Stage): StageName {
  switch (stage) {
    case 'images':
    case 'network':
    case 'etcd':
      return 'creating';
    case 'starting':
      return 'starting';
    case 'registering':
    case 'shaping':
      return 'registered';
    case 'running':
      return 'running';
    case 'collecting':
      return 'verifying';
    case 'tearing down':
      return 'tearing down';
    default:
      return stage satisfies never;
  }
}

export interface ExecuteHooks {
  /** A run is skipped because the progress log has it finished (resume). */
  onSkip?(run: PlannedRun, outcome: RunOutcome): void;
  onRunStart?(run: PlannedRun): void;
  onRunId?(run: PlannedRun, runId: RunId): void;
  /** A choice made for the user, e.g. the simulator standing in for Docker under runtime auto. */
  onNotice?(run: PlannedRun, line: string): void;
  onStage?(run: PlannedRun, stage: StageName, detail?: string): void;
  onStarted?(run: PlannedRun, started: number, total: number): void;
  onReady?(run: PlannedRun, ready: number, total: number): void;
  onRunEnd?(run: PlannedRun, outcome: RunOutcome): void;
}

export interface ExecuteOptions {
  readonly plan: Plan;
  readonly folder: ExperimentFolder;
  readonly runner: Runner;
  readonly base: BaseRequest;
  readonly hooks?: ExecuteHooks;
  /** Checked before each run: true stops the sweep (the runs done so far are kept). */
  readonly shouldStop?: () => boolean;
  /** After each recorded run (e.g. rewrite summary.csv). */
  readonly afterEach?: (outcomes: ReadonlyMap<string, RunOutcome>) => Promise<void>;
  readonly clock?: () => number;
}

export interface ExecuteResult {
  /** The latest outcome of every run of the plan that has one. */
  readonly outcomes: Map<string, RunOutcome>;
  readonly executed: number;
  readonly skipped: number;
  readonly stopped: boolean;
}

/**
 * Runs every run of the plan that the folder's progress log does not have as finished, one at a time, and
 * records each outcome before starting the next. A run that throws is recorded as an error and the sweep goes on.
 */
export async function executePlan(options: ExecuteOptions): Promise<ExecuteResult> {
  const { plan, folder, runner, base, hooks = {} } = options;
  const clock = options.clock ?? Date.now;
  const outcomes = folder.recorded();
  let executed = 0;
  let skipped = 0;
  let stopped = false;
  for (const run of plan.runs) {
    const previous = outcomes.get(run.key);
    if (previous && isFinished(previous)) {
      skipped++;
      hooks.onSkip?.(run, previous);
      continue;
    }
    if (options.shouldStop?.()) {
      stopped = true;
      break;
    }
    hooks.onRunStart?.(run);
    let runId: RunId | undefined;
    let marking: Promise<void> | undefined;
    const began = clock();
    const startedAt = new Date(began).toISOString();
    const request: RunRequest = {
      ...requestFor(plan, run, base),
      onRunId: (id) => {
        runId = id;
        marking = folder.markInFlight({ key: run.key, runId: id });
        hooks.onRunId?.(run, id);
      },
      onNotice: (line) => hooks.onNotice?.(run, line),
      onStage: (stage, detail) => hooks.onStage?.(run, describeStage(stage), detail),
      onStarted: (started, total) => hooks.onStarted?.(run, started, total),
      onReady: (ready, total) => hooks.onReady?.(run, ready, total),
    };
    let outcome: RunOutcome;
    try {
      // Each run's faults resolved on its own graph and seed (random selectors differ per seed), as `peerlab run` does.
      const faults = await resolveRunFaults({
        faults: run.cell.faults,
        topology: run.cell.topology,
        seed: run.seed,
        weights: run.cell.weights,
        allowDisconnected: plan.allowDisconnected,
        timeoutMs: plan.timeoutS * 1000,
        roles: plan.roles,
      });
      // A spread, not a property, so this compiles before RunRequest gains `faults` (the seam branch adds it).
      const summary = await runner({ ...request, ...{ faults } });
      outcome = {
        key: run.key,
        cell: run.cell.id,
        repetition: run.repetition,
        seed: run.seed,
        status: statusOf(summary),
        verdict: summary.outcome === 'unchecked' && summary.failed ? `unchecked, and the experiment has requireCheck: ${summary.verdict}` : summary.verdict,
        runId: summary.runId,
        resultsDir: summary.resultsDir,
        runtime: summary.runtime,
        replay: summary.replay,
        nodes: summary.nodes,
        edges: summary.edges,
        metrics: summary.metrics,
        nodeMetrics: summary.nodeMetrics,
        timings: summary.timings,
        startedAt,
        durationMs: clock() - began,
      };
    } catch (error) {
      const message = error instanceof PeerlabError ? error.line : error instanceof Error ? error.message : String(error);
      outcome = {
        key: run.key,
        cell: run.cell.id,
        repetition: run.repetition,
        seed: run.seed,
        status: 'error',
        verdict: message.split('\n')[0]!,
        runId,
        runtime: plan.runtime,
        metrics: {},
        timings: {},
        startedAt,
        durationMs: clock() - began,
      };
    }
    executed++;
    outcomes.set(run.key, outcome);
    await folder.record(outcome);
    await marking;
    await folder.clearInFlight();
    hooks.onRunEnd?.(run, outcome);
    await options.afterEach?.(outcomes);
  }
  return { outcomes, executed, skipped, stopped };
}

/** A run's status in the experiment: failed when its verdict fails it (an unchecked one too, under requireCheck). */
function statusOf(summary: RunSummary): RunOutcome['status'] {
  if (summary.failed) return 'failed';
  return summary.outcome === 'pass' ? 'passed' : summary.outcome === 'fail' ? 'failed' : summary.outcome;
}

/**
 * The request for one run, without the progress callbacks. Its run.json records the experiment command that
 * ran it (command) and the single `peerlab run` that repeats it (replay); `peerlab run` takes one algorithm,
 * so a run with groups is repeated by its experiment.
 */
export function requestFor(plan: Plan, run: PlannedRun, base: BaseRequest): RunRequest {
  return {
    ...base,
    algorithm: run.cell.algorithm,
    params: paramAssignments(run.cell.params),
    topology: run.cell.topology,
    seed: run.seed,
    weights: run.cell.weights,
    allowDisconnected: plan.allowDisconnected,
    requireCheck: plan.requireCheck,
    timeoutMs: plan.timeoutS * 1000,
    nodeMemoryLimit: plan.nodeMemoryMiB !== undefined ? plan.nodeMemoryMiB * 1024 * 1024 : base.nodeMemoryLimit,
    runtime: plan.runtime,
    delay: run.cell.delay,
    links: run.cell.links,
    ...(plan.hosts && { hosts: plan.hosts }),
    ...(plan.placement && { placement: plan.placement }),
    ...(run.cell.livePlacement && { livePlacement: run.cell.livePlacement }),
    ...(plan.roles && {
      groups: plan.roles,
      name: plan.name,
      check: plan.check,
      replay: `peerlab experiment run ${plan.source ?? `<the ${plan.name} experiment file>`} --runtime ${plan.runtime}`,
    }),
  };
}
