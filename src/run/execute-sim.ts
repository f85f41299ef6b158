import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { NodeFailed } from './controller.js';
import { directedLinks, hasLinks } from '../links/edges.js';
import {
  DEFAULT_DELAY_SPEC,
  DEFAULT_MAX_EVENTS,
  NodeCodeStuck,
  simulateInWorker,
  toSimGraph,
  type SimulationOutcome,
  type SimulationProgress,
  type TraceEvent,
} from '../runtime/sim/index.js';
import { ExecutionFailed, type Execution } from './execution.js';
import { hostsFacts, hostsPlacementReplayFlags, hostsWithNodes } from './host-placement.js';
import { bundlePolicy } from '../plugins/bundle.js';
import { formatRate } from '../util/rates.js';
import type { PreparedRun } from './prepare.js';
import type { ExecutionOptions, RunRuntime } from './deployment.js';

/**
 * The deterministic simulator: the same plugin code, no Docker. The same topology, seed, parameters, links and
 * fault schedule give a bit-identical outcome, so the run's own command is its replay. Shaped edges take their
 * link model (the Docker agent's own); a run without any takes the simulator's default delay, exp:1. The
 * simulation runs in a worker thread, so that a node whose code never returns cannot hang the command: its
 * nodes are built there, so deploy only gets the job ready and start sets it going.
 */
export const simulatorRuntime: RunRuntime = {
  kind: 'sim',
  engineObjects: false,
  emulatesHosts: true,
  hostsHaveCpus: false,
  hostsHaveDistances: true,
  placesOnEngines: false,
  nodesReachCliAtGateway: false,
  tracesMessages: true,
  unavailable: async () => undefined,
  linksLayer: () => 'model',
  replayFlags: (_prepared, tuning) => [
    ...(tuning.maxEvents !== undefined && tuning.maxEvents !== DEFAULT_MAX_EVENTS ? ['--max-events', String(tuning.maxEvents)] : []),
    ...hostsPlacementReplayFlags(tuning),
  ],
  deploy: async (prepared, options) => {
    let running: Promise<Execution> | undefined;
    return {
      start: async () => {
        running = simulateRun(prepared, options);
        // Observed by collect(); a run torn down without collect() must not leave an unhandled rejection.
        running.catch(() => {});
      },
      collect: () => running ?? Promise.reject(new Error('the simulation was collected before it was started')),
      // Nothing outlives the worker thread: its trace and logs are already written, and the thread is gone.
      tearDown: async () => {},
    };
  },
};

export async function simulateRun(prepared: PreparedRun, options: ExecutionOptions): Promise<Execution> {
  const graph = prepared.topology.graph;
  // Declared capacities, without the CPU quotas that enforce them on Docker: the simulator models them (SimHosts).
  const hosts = options.hosts && hostsWithNodes(graph, options.hosts.list.map(({ cpus: _cpus, ...declared }) => declared), options.placement ?? 'spread');
  // Bundled here, loaded in the simulation thread, where the rounds run at their virtual times.
  const policy = options.livePlacement && (await bundlePolicy(options.livePlacement.policySource, path.join(prepared.bundleDir, 'policy')));
  const links = hasLinks(graph) ? { spec: prepared.links ?? 'file', directed: directedLinks(graph) } : undefined;
  const delaySpec = links ? `links ${links.spec}` : DEFAULT_DELAY_SPEC;
  const maxEvents = options.maxEvents ?? DEFAULT_MAX_EVENTS;
  // An observer gets the events after the run, from the trace the worker writes (a temporary one if no trace
  // was asked for): posting each event across threads as it happens would cost more than the simulation.
  const onEvent = options.onSimulatorEvent;
  const traceFile = options.traceFile ?? (onEvent ? path.join(prepared.bundleDir, 'events.ndjson') : undefined);
  if (traceFile) await mkdir(path.dirname(traceFile), { recursive: true });
  const progress = options.onStage && new ProgressLines(options.timeoutMs, (line) => options.onStage?.('running', line));
  let outcome: SimulationOutcome;
  try {
    outcome = await simulateInWorker(
      {
        graph: toSimGraph(graph),
        groups: prepared.groups.map(({ role, bundleFile, params, nodes }) => ({ role, bundleFile, params, nodes })),
        seed: prepared.config.seed,
        maxPayloadBytes: prepared.config.maxPayloadBytes,
        delay: DEFAULT_DELAY_SPEC,
        links,
        timeoutMs: options.timeoutMs,
        until: options.until,
        maxEvents,
        traceFile,
        logsDir: options.logsDir,
        faults: options.faults ?? [],
        ...(hosts && { hosts: { list: hosts.list, hostOf: Object.fromEntries(hosts.hostOf) } }),
        ...(policy &&
          options.livePlacement && {
            placement: { everyMs: options.livePlacement.everyMs, hold: options.livePlacement.hold, settings: options.livePlacement.settings, policyFile: policy.file, shown: options.livePlacement.policy },
          }),
      },
      {
        handlerLimitMs: options.timeoutMs,
        signal: options.signal,
        onRunning: (setupMs) => {
          progress?.running();
          options.onStage?.('running', `${graph.order} simulated nodes built in ${(setupMs / 1000).toFixed(1)} s`);
        },
        ...(progress && { progress: { everyMs: PROGRESS_LINE_EVERY_MS, report: progress.report } }),
      },
    );
  } catch (error) {
    if (error instanceof NodeCodeStuck) throw new NodeFailed(error.nodeId, error.detail, undefined);
    throw error;
  }
  if (onEvent && traceFile) await replayTrace(traceFile, onEvent);
  if (outcome.endReason === 'interrupted') {
    throw new PeerlabError(`interrupted after ${outcome.events} events, at ${outcome.virtualTimeMs.toFixed(1)} virtual ms`, {
      hint: 'nothing was verified; rerun it to the end',
    });
  }
  if (outcome.failure) {
    const { nodeId, message, stack } = outcome.failure;
    throw new ExecutionFailed(new NodeFailed(nodeId, message, stack), { results: outcome.results, reports: outcome.reports });
  }
  return {
    runtime: 'sim',
    results: outcome.results,
    reports: outcome.reports,
    missing: outcome.missing,
    departed: outcome.departed,
    faults: outcome.faults,
    ...(outcome.migrations.length > 0 && { migrations: outcome.migrations }),
    ...(outcome.placements?.length && { placements: outcome.placements }),
    registry: outcome.registry,
    inFlight: outcome.inFlight,
    endedEarly: outcome.endReason === 'event-cap' ? eventCapReached(outcome.events) : undefined,
    timings: { algorithmMs: outcome.wallMs, algorithmCpuMs: outcome.cpuMs, virtualTimeMs: outcome.virtualTimeMs },
    facts: {
      delay: delaySpec,
      endReason: outcome.endReason,
      events: outcome.events,
      maxEvents,
      messagesInFlight: outcome.inFlight,
      virtualTimeMs: outcome.virtualTimeMs,
      ...(hosts && { hosts: hostsFacts(hosts) }),
      ...(outcome.lostWithDeparted > 0 && { messagesLostWithDepartedNodes: outcome.lostWithDeparted }),
    },
  };
}

/**
 * How often a simulated run says how far it has got. A 10⁵-node push-sum simulates for minutes and a 10⁶-node one
 * for hours; without a line now and then the command looks hung.
 */
const PROGRESS_LINE_EVERY_MS = 30_000;

/** The lines of a running simulation: each with the pace since the one before (or since the first event). */
export class ProgressLines {
  private last;

  constructor(
    private readonly timeoutMs: number,
    private readonly say: (line: string) => void,
    private readonly clockMs: () => number = () => performance.now(),
  ) {
    this.last = { atMs: clockMs(), events: 0 };
  }

  /** The first event is about to run: the pace counts from here, not from the building of the nodes. */
  running(): void {
    this.last = { atMs: this.clockMs(), events: 0 };
  }

  readonly report = (progress: SimulationProgress): void => {
    const atMs = this.clockMs();
    const eventsPerSecond = (progress.events - this.last.events) / ((atMs - this.last.atMs) / 1000);
    this.last = { atMs, events: progress.events };
    this.say(describeProgress(progress, eventsPerSecond, this.timeoutMs));
  };
}

/** "41,943,040 events (152 k/s), 27,962,027 messages, 1,398.6 of at most 300,000 virtual ms, 0 of 1,000,000 nodes with a result". */
export function describeProgress({ events, messages, virtualTimeMs, results, size }: SimulationProgress, eventsPerSecond: number, timeoutMs: number): string {
  const count = (value: number): string => value.toLocaleString('en');
  return (
    `${count(events)} events (${formatRate(eventsPerSecond)}/s), ${count(messages)} messages, ` +
    `${virtualTimeMs.toLocaleString('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} of at most ${count(timeoutMs)} virtual ms, ` +
    `${count(results)} of ${count(size)} nodes with a result`
  );
}

async function replayTrace(file: string, onEvent: (event: TraceEvent) => void): Promise<void> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line !== '') onEvent(JSON.parse(line) as TraceEvent);
}

function eventCapReached(events: number): string {
  return `cut short by the simulator's event cap of ${events.toLocaleString('en')} events (raise it with --max-events)`;
}
