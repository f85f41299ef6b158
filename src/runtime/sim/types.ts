import type { Algorithm, Json } from '../../sdk/types.js';
import type { MigrationRecord } from '../../coordination/protocol.js';
import type { PackedReports } from './packed-reports.js';
import type { AppliedFault } from '../../faults/events.js';
import type { Topology } from '../../topology/index.js';
import type { RegistryLog } from '../types.js';
import type { DelayModel } from './delay.js';
import type { SimGraph } from './graph.js';
import type { SimHostsSpec } from './hosts.js';
import type { SimPlacementRequest } from './placement.js';
import type { PlacementRound } from '../../placement/simulate.js';
import type { PlacementPolicy } from '../../sdk/placement.js';

export const DEFAULT_SIM_TIMEOUT_MS = 3_600_000;
/**
 * The event cap's default: a guard against livelock (zero-delay timer loops), not a budget. About 1,000 events
 * per node at 10⁶ nodes; `--max-events` raises it, and a run that reaches it says so.
 */
export const DEFAULT_MAX_EVENTS = 1_000_000_000;

/** One role of a run with groups: its nodes run their own algorithm with their own parameters. */
export interface SimGroup {
  readonly role: string;
  readonly algorithm: Algorithm;
  /** Raw parameters (JSON), parsed with the algorithm's schema for each node. */
  readonly params: Json;
  readonly nodes: readonly string[];
}

/** Every node runs one algorithm, or (groups) each role its own; together the groups hold every node once. */
export type SimulationOptions = SimulationSettings &
  (
    | {
        readonly algorithm: Algorithm;
        /** Raw parameters (JSON); each node validates them with the algorithm's schema, as the node agent does. */
        readonly params: Json;
        readonly groups?: undefined;
      }
    | { readonly groups: readonly SimGroup[]; readonly algorithm?: undefined; readonly params?: undefined }
  );

export interface SimulationSettings {
  /** A graphology topology, or the same already compacted (what the simulation worker receives). */
  readonly graph: Topology | SimGraph;
  readonly seed: number;
  readonly maxPayloadBytes: number;
  /** Per-message delay in virtual ms; default `exp:1` (see DEFAULT_DELAY_SPEC in delay.ts). */
  readonly delay?: DelayModel;
  /**
   * Default true: per directed edge a message is never delivered before an earlier one (delivery time =
   * max(drawn time, last delivery time on that edge); equal times keep send order). False lets messages
   * overtake, which the SDK promises never happens: only for testing that promise.
   */
  readonly fifo?: boolean;
  /** Virtual time limit in ms; default 3,600,000. */
  readonly timeoutMs?: number;
  /**
   * When the run is complete: once every node has a result ('results', the default: messages may still be in
   * flight, and a livelock goes on without them), or once no message is in flight either ('quiescent').
   */
  readonly until?: 'results' | 'quiescent';
  /** Safety valve against livelock (e.g. zero-delay timer loops); hitting it ends the run with endReason 'event-cap'. */
  readonly maxEvents?: number;
  /**
   * Slots shared with a watchdog on another thread (see watchdog-slots.ts): the simulation records which node
   * and handler run, and ends with 'interrupted' when a stop is requested.
   */
  readonly watchdog?: Int32Array;
  /** Every send, delivery, drop, timer, result, barrier opening, log line and failure, in order. */
  readonly trace?: (event: TraceEvent) => void;
  /** Every `node.log()` line; the simulator also keeps each node's last lines for `logTail`. */
  readonly log?: (nodeId: string, line: string, virtualTimeMs: number) => void;
  /** Every line a node's code printed with console.* (default: stderr; never stdout, which carries --json). */
  readonly console?: (nodeId: string, line: string) => void;
  /** Called every PROGRESS_EVERY events and once at the end. */
  readonly progress?: (progress: SimulationProgress) => void;
  /** Hosts of declared capacity, and the host each node starts on (see SimHosts). */
  readonly hosts?: SimHostsSpec;
  /** A placement policy moving nodes between the hosts every `everyMs` of virtual time (see SimPlacement). */
  readonly placement?: SimPlacementRequest & { readonly policy: PlacementPolicy };
}

export interface SimulationProgress {
  readonly virtualTimeMs: number;
  readonly events: number;
  readonly messages: number;
  readonly results: number;
  readonly size: number;
}

/**
 * Why the run ended. `stalled`: nothing was left to happen (no message in flight, no timer, no watch) while
 * some node had no result; reported as timed out, since the Docker controller would wait out its timeout.
 * `timeout`: virtual time ran out (never real time: see threaded.ts). `event-cap`: the
 * livelock guard (maxEvents) was reached, which is not a timeout. `interrupted`: Ctrl-C or SIGTERM.
 * `destroyed`: SimRuntime.destroy() during the run.
 */
export type EndReason = 'complete' | 'failure' | 'timeout' | 'event-cap' | 'stalled' | 'interrupted' | 'destroyed';

export interface SimulationOutcome {
  /** In the order the nodes called result(). */
  readonly results: Map<string, Json>;
  /** Per node still up at the end (not stopped, killed or never started), in graph order; decoded as read. */
  readonly reports: PackedReports;
  /** Nodes still in the run without a result, in graph order. */
  readonly missing: string[];
  /** Nodes a fault killed or stopped before they had a result, and how: the run did not wait for them. */
  readonly departed: Map<string, string>;
  /**
   * The fault events applied, each at its atMs of virtual time (a `migrate` that waited for a handler, and the
   * events that waited for it, later: see Simulation.migrateNode).
   */
  readonly faults: readonly AppliedFault[];
  /** Every move (migrate, restart), in the order made, as Docker's new node records it: migrations.ndjson. */
  readonly migrations: readonly MigrationRecord[];
  /** Each round of the placement policy, if one ran: placements.ndjson. */
  readonly placements?: readonly PlacementRound[];
  /** Every node registers before the start; then each lease that ended, and each node that registered again. */
  readonly registry: RegistryLog;
  /**
   * Messages lost with a node taken out (to or from it): the simulator's own count, which Docker cannot make.
   * Those a link fault or drop-messages dropped on arrival are in the nodes' reports (`dropped`), as in Docker.
   */
  readonly lostWithDeparted: number;
  readonly timedOut: boolean;
  readonly endReason: EndReason;
  readonly failure: { nodeId: string; message: string; stack?: string } | undefined;
  /** The virtual clock at the end (the timeout itself if the run hit it). */
  readonly virtualTimeMs: number;
  /** Real ms from the first event to the last: the event loop alone, not the node reports gathered after it. */
  readonly wallMs: number;
  /**
   * The process's CPU ms over the same span (every thread: in a worker, the main thread beside it only watches).
   * Unlike wallMs it does not grow when other work shares the machine's cores.
   */
  readonly cpuMs: number;
  /** Events that ran code: node starts, deliveries, timers, wake-ups, control actions. */
  readonly events: number;
  /** Messages sent. */
  readonly messages: number;
  /** Messages sent and not delivered (nor dropped at a stopped node) when the run ended. */
  readonly inFlight: number;
}

interface Timed {
  /** Virtual ms. */
  readonly time: number;
}

export type TraceEvent = Timed &
  (
    | { type: 'start'; node: string }
    | {
        type: 'send';
        /** Message number, shared by its deliver or drop event. */
        id: number;
        from: string;
        to: string;
        /** When it will arrive. */
        deliverAt: number;
        bytes: number;
        payload: Json;
      }
    | { type: 'deliver'; id: number; from: string; to: string }
    | { type: 'drop'; id: number; from: string; to: string; reason: string }
    | { type: 'timer'; node: string }
    | { type: 'result'; node: string; value: Json }
    | { type: 'barrier'; name: string }
    | { type: 'log'; node: string; line: string }
    | { type: 'failure'; node: string; message: string }
    | { type: 'control'; action: string; node?: string }
  );
