/**
 * The one seam between a run and where its nodes live. Docker and the simulator each implement `RunRuntime`
 * (src/run/runtimes.ts holds the table, keyed by RuntimeKind); `runAlgorithm`, experiments and benches go through
 * it and never name a runtime. A run is: deploy (bring every node up, registered and connected, waiting) → start
 * (the algorithm's clock starts, and with it the fault schedule) → collect (results and reports of every node
 * still alive) → tear down (nothing left behind).
 */
import type { Etcd3 } from 'etcd3';
import type { RunKeys } from '../coordination/keys.js';
import type { AppliedFault, FaultEvent } from '../faults/events.js';
import type { TraceEvent } from '../runtime/sim/types.js';
import type { RuntimeKind } from '../runtime/types.js';
import type { HostsRequest } from '../runtime/emulated-hosts.js';
import type { LivePlacementRequest } from '../placement/live.js';
import type Docker from 'dockerode';
import type { RunId } from '../util/names.js';
import type { Deployment, Stage } from './docker-deployment.js';
import type { DockerOptions } from './execute-docker.js';
import type { Execution } from './execution.js';
import type { PreparedRun } from './prepare.js';
import type { PlacementPolicy } from './swarm-placement.js';

/** What a run asks of its runtime. Every runtime reads what concerns it; the tuning knobs of the others it ignores. */
export interface ExecutionOptions extends RuntimeTuning {
  /** How long the algorithm may take: real ms in containers, virtual ms (and the watchdog's real deadline) in the simulator. */
  readonly timeoutMs: number;
  /** Once every node has a result, or once no message is in flight either. */
  readonly until: 'results' | 'quiescent';
  /** Where each node's log goes (results/<run>/logs); without it the logs are not kept. */
  readonly logsDir?: string;
  /** Write every message to this NDJSON trace. */
  readonly traceFile?: string;
  /** The resolved fault schedule, on the run's one clock (ms since the algorithm's start). */
  readonly faults?: readonly FaultEvent[];
  /** Aborted on Ctrl-C: nothing further is created, and the run ends. */
  readonly signal?: AbortSignal;
  /** A placement policy applied while the run goes (`--policy`, on a runtime with hosts). */
  readonly livePlacement?: LivePlacementRequest;
  readonly onStage?: (stage: Stage, detail?: string) => void;
  /** Docker: follow the run's etcd (the dashboard's live feed). */
  readonly followEtcd?: (etcd: Etcd3, keys: RunKeys) => Promise<() => Promise<void>>;
  /** Docker: each fault or churn event as it is applied (the dashboard's live feed). */
  readonly onFault?: (applied: AppliedFault) => void;
  /** Simulator: each trace event, once the simulation is over (the dashboard's replay). */
  readonly onSimulatorEvent?: (event: TraceEvent) => void;
}

/** Knobs that only some runtimes have, named once here so that a request can carry them whatever runs it. */
export interface RuntimeTuning {
  /** Containers: each node's memory limit in bytes. */
  readonly nodeMemoryLimit?: number;
  /** Containers: how many are created and started at once. */
  readonly concurrency?: number;
  readonly etcdImage?: string;
  readonly etcdPort?: number;
  /** Containers: an external etcd cluster instead of one per run. */
  readonly etcdEndpoints?: string[];
  /**
   * Docker: the run's own etcd with authentication (the default, see etcd/auth.ts). Turned off only by `bench
   * startup --auth-cost`, which measures what authentication adds to bring-up, side by side.
   */
  readonly etcdAuth?: boolean;
  readonly baseImage?: string;
  readonly onStarted?: (started: number, total: number) => void;
  readonly onReady?: (ready: number, total: number) => void;
  /** Swarm and `hosts`: how nodes are assigned to engines or hosts (spread, or partition: few edges across them). */
  readonly placement?: PlacementPolicy;
  /** Docker: hosts of their own CPU quota on the one engine (`--hosts`, src/runtime/emulated-hosts.ts). */
  readonly hosts?: HostsRequest;
  /** Simulator: the event cap (default DEFAULT_MAX_EVENTS). */
  readonly maxEvents?: number;
}

/** A runtime: where a run's nodes live. One entry per RuntimeKind in src/run/runtimes.ts. */
export interface RunRuntime {
  readonly kind: RuntimeKind;
  /**
   * Whether a run here creates objects on a Docker engine, each labelled with the run's id: what is left of an
   * interrupted run is then found by that label and removed (`sweepInterruptedRun`). A simulation creates none.
   */
  readonly engineObjects: boolean;
  /**
   * Whether it can give a run hosts of their own capacity (`--hosts`): Docker enforces them with CPU quotas, the
   * simulator models them (src/runtime/sim/hosts.ts). The Swarm's hosts are its engines: it refuses the flag
   * rather than ignore it.
   */
  readonly emulatesHosts: boolean;
  /** Whether its hosts are CPU quotas, which `--host-cpus` sizes: the simulator's have no CPU, and refuse it. */
  readonly hostsHaveCpus: boolean;
  /**
   * Whether its hosts can be far apart (hosts with latitude and longitude): the simulator delays messages between
   * them by their distance. Docker's hosts are groups on one engine's bridge, which would ignore it, so it refuses.
   */
  readonly hostsHaveDistances: boolean;
  /** Whether its nodes spread over engines of their own (the Swarm), which `--placement` assigns without `--hosts`. */
  readonly placesOnEngines: boolean;
  /**
   * Whether every node is a container on this host's engine, on a bridge whose gateway is this host: a node then
   * reaches the CLI at its default gateway, and the dashboard's live reports come to it as datagrams instead of
   * through etcd (see LiveReports). A Swarm's nodes may be on other machines.
   */
  readonly nodesReachCliAtGateway: boolean;
  /**
   * Whether it can trace every message (`--trace`): the simulator records them itself, Docker's nodes write them
   * into a folder this host shares with them. A Swarm's nodes may be on engines that cannot see that folder.
   */
  readonly tracesMessages: boolean;
  /** Why this runtime cannot take a run here and now (e.g. no Docker engine answers), or undefined when it can. */
  unavailable(): Promise<string | undefined>;
  /** Where the run's links are applied, for run.json: the agents' outboxes, the packet layer, or the simulator's model. */
  linksLayer(prepared: PreparedRun): 'message' | 'packet' | 'model';
  /** The flags beyond the common ones that rerun this run on this runtime (e.g. `--max-events`, `--node-memory`). */
  replayFlags(prepared: PreparedRun, tuning: RuntimeTuning): string[];
  /** Brings every node up, registered and connected, waiting for start. On failure, nothing is left behind. */
  deploy(prepared: PreparedRun, options: ExecutionOptions): Promise<RunDeployment>;
  /**
   * Container runtimes: brings the run up and leaves its nodes standing, for `peerlab up` and `bench startup`.
   * Absent where nodes do not outlive the process (the simulator).
   */
  readonly standUp?: (prepared: PreparedRun, options: DockerOptions) => Promise<Deployment>;
  /**
   * Container runtimes: the fastest plain way to start the same node containers without peerlab, idling instead
   * of running the agent: `bench startup`'s baseline. Absent where nodes are not containers.
   */
  readonly plainStart?: (request: PlainStartRequest) => Promise<PlainStart>;
}

export interface PlainStartRequest {
  /** Labels everything it creates, so an interrupt can sweep it. */
  readonly runId: RunId;
  /** The node image peerlab's run would use (built beforehand). */
  readonly image: string;
  readonly nodes: number;
  /** Containers started at once, where the runtime starts them one by one (Docker). */
  readonly concurrency: number;
  readonly memoryLimit: number;
  /** Aborted on Ctrl-C: nothing further is started, and what was is removed. */
  readonly signal?: AbortSignal;
}

/** The containers of a plain start, all running; `remove` takes them away. */
export interface PlainStart {
  /** What was run, for the report: e.g. `300 × docker run -d, 8 at a time`. */
  readonly command: string;
  /** From the first call until every container runs, the network's creation included. */
  readonly startedMs: number;
  readonly networkMs: number;
  /** Per container: from its request until it ran. */
  readonly perContainerMs: readonly number[];
  /** The engines its containers live on (where their CPU is read). */
  readonly engines: readonly Docker[];
  /** Removes every object it created. Safe to call twice. */
  remove(): Promise<void>;
}

/** A run brought up by its runtime, waiting for `start`. */
export interface RunDeployment {
  /** Starts the algorithm on every node: time 0 of the run's clock, from which each fault fires at its atMs. */
  start(): Promise<void>;
  /**
   * Waits until every node still alive has a result (a node a fault killed or stopped is not waited for), or the
   * timeout; then gathers the nodes' reports. Throws ExecutionFailed when a node failed or died unintended.
   */
  collect(): Promise<Execution>;
  /** Saves what must outlive the run (the nodes' logs) and removes everything. Safe to call twice. */
  tearDown(failure?: unknown): Promise<void>;
}

/** deploy → start → collect → tear down, on any runtime. A teardown that fails after a good run is returned, not thrown. */
export async function executeOn(runtime: RunRuntime, prepared: PreparedRun, options: ExecutionOptions): Promise<Execution> {
  const deployment = await runtime.deploy(prepared, options);
  let execution: Execution;
  try {
    await deployment.start();
    execution = await deployment.collect();
  } catch (error) {
    await deployment.tearDown(error).catch(() => {});
    throw error;
  }
  const teardownError = await deployment.tearDown().then(
    () => undefined,
    (error: unknown) => error ?? new Error('teardown failed'),
  );
  return teardownError === undefined ? execution : { ...execution, teardownError };
}
