import type { Json } from '../sdk/types.js';
import type { TimelineJson } from '../host/timeline.js';
import type { LinkParams } from '../links/model.js';

/** What the controller tells every node, under the `config` key. */
export interface RunConfig {
  readonly runId: string;
  /** What the nodes run, one group per role; a run of one algorithm is one group, named after the algorithm. */
  readonly groups: readonly GroupConfig[];
  readonly seed: number;
  readonly size: number;
  readonly maxPayloadBytes: number;
  /**
   * Set when the run ends quiescent, or may end quiet under faults: nodes answer the controller's quiescence
   * waves (see keys.countWave).
   */
  readonly quiescence?: boolean;
  /** Set when a dashboard watches the run: how often each node reports its traffic and metrics, and where to. */
  readonly liveReports?: LiveReports;
  /** Set when a placement policy runs (`--policy`): each node writes its NodeLoad this often (ms), under its lease. */
  readonly loadReportMs?: number;
  /** The hosts' capacity units one CPU does (`--hosts`: the same on every host): what node.demand's units cost. */
  readonly capacityPerCpu?: number;
}

/**
 * A node's load over its last report interval, as its process measured it: the share of one CPU it used (the
 * container's one process, the agent with its algorithm) and the messages it handled per second. Under the node's
 * lease, so a node that is gone has none (seed 004's Roaming NAT table holds its nodes' load the same way).
 */
export interface NodeLoad {
  readonly cpuShare: number;
  /**
   * The share of one CPU that the work it declared with node.demand did (CpuDemand.workMs over the interval),
   * only if it declared any: what a placement policy weighs it by then (src/placement/live.ts).
   */
  readonly workShare?: number;
  readonly messagesPerSecond: number;
  /** Epoch ms at the end of the interval. */
  readonly at: number;
}

/** A node's answer to a quiescence wave: its message totals so far, over all its edges. */
export interface MessageTotals {
  readonly sent: number;
  readonly received: number;
  /**
   * The same per neighbour, [sent to it, received from it]: under faults the controller counts only the edges
   * between nodes still alive, since a message to or from a node that died is lost, not in flight.
   */
  readonly byNeighbour?: Record<string, readonly [number, number]>;
  /** Timers the node has pending: a node waiting on a timer is not idle, whatever is in flight. */
  readonly timersPending?: number;
}

/** A role of the run: its nodes (each told its role when started) run `algorithm` with `params`. */
export interface GroupConfig {
  readonly role: string;
  readonly algorithm: string;
  readonly params: Json;
  /** Its node ids, `first-last` (a role takes consecutive ids). */
  readonly nodes: string;
}

export interface NeighbourEntry {
  readonly id: string;
  readonly weight: number;
  /** The link model of the edge from this node to the neighbour (src/links), when the run shapes links. */
  readonly link?: LinkParams;
}

/** The registry value of a live node. */
export interface Registration {
  readonly id: string;
  readonly role: string;
  readonly address: string;
  readonly port: number;
  readonly registeredAt: number;
  /**
   * Set when the node leaves gracefully (SIGTERM, `docker stop`): written just before it revokes its lease, so
   * that whoever watches the registry tells a leave from a crash when the key goes.
   */
  readonly leaving?: true;
}

export interface EdgeCount {
  messages: number;
  bytes: number;
}

/** A node's final account of itself, written after the controller says stop. */
export interface NodeReport {
  readonly metrics: Record<string, number>;
  readonly sent: Record<string, EdgeCount>;
  readonly received: Record<string, EdgeCount>;
  /** Messages that arrived on a link a fault had taken down, and were dropped, by sender (absent if none). */
  readonly dropped?: Record<string, number>;
  /**
   * Milliseconds from process start to registered, and to all neighbour channels connected; and how late the
   * node began the algorithm after the run's start moment (0 when it was waiting for it, as it should be).
   */
  readonly startup: { registeredMs: number; connectedMs: number; startLagMs: number };
  /** Messages and metrics over the run's time (see host/timeline.ts). */
  readonly timeline?: TimelineJson;
}

/**
 * What a node reports every `liveReports.everyMs` while a dashboard watches the run: its traffic so far (messages
 * per neighbour) and its metrics. Running totals, so a report lost or late costs the dashboard only one interval.
 */
export interface LiveReport {
  readonly sent: Record<string, number>;
  readonly metrics: Record<string, number>;
}

/**
 * Where and how often the nodes report live. A node on the CLI's own host sends each report as a UDP datagram to
 * its default gateway (the run network's bridge, i.e. that host), where the dashboard listens on `udpPort`; the
 * token proves the datagram comes from a node of this run. Nodes that may live elsewhere (a Swarm's other engines)
 * write their report to etcd instead (keys.live): a put, a raft entry and a watch event, some 6 ms of CPU on a
 * 2-core host against a fraction of a millisecond for a datagram (README, "Seeing a run").
 */
export interface LiveReports {
  readonly everyMs: number;
  readonly to: { readonly udpPort: number; readonly token: string } | 'etcd';
}

/**
 * One live report as a datagram. A node with so many neighbours that its report would not fit one datagram sends
 * it in parts of the same `seq`, each with part of `sent` (totals per neighbour stand alone); an older `seq` than
 * one already seen is stale and dropped. `seq` is the host clock's ms when the report was made (strictly rising
 * within a process), so that the container that takes over a moved or restarted node goes on from where the old
 * one's reports were rather than starting again at 1, below them.
 */
export interface LiveDatagram extends LiveReport {
  readonly token: string;
  readonly node: string;
  readonly seq: number;
}

/** The steps of a node's start-up, in order (see NodeStartup). */
export const STARTUP_STEPS = ['loaded', 'configured', 'listening', 'registered', 'connected'] as const;
export type StartupStep = (typeof STARTUP_STEPS)[number];

/**
 * How a node came up, written with its ready key: when its process started (epoch ms, on the host's clock, which
 * every container shares), and for each step the ms from that start and the CPU ms (user and system) the process
 * had used by then. The start-up bench splits bring-up with it. The steps: `loaded` the agent's code is parsed
 * and run up to main(); `configured` the run's config and the node's neighbour list are read from etcd;
 * `listening` its algorithm is loaded and its gRPC server listens; `registered` its address is in the registry,
 * under its lease; `connected` every neighbour's registration is read and a channel to each is connected.
 */
export interface NodeStartup {
  readonly processStartedAt: number;
  readonly steps: Readonly<Record<StartupStep, { readonly ms: number; readonly cpuMs: number }>>;
}

export interface NodeFailure {
  readonly message: string;
  readonly stack: string | undefined;
  /** Set when the failure is the link to this neighbour breaking: most likely that neighbour died. */
  readonly brokenLink?: string;
}

/**
 * The lease that holds a node's registry entries (its address, the services it offers). Long enough that a node
 * starved of CPU while hundreds of others start does not drop out; a dead node's entries go when it runs out.
 */
export const REGISTRATION_TTL_SECONDS = 20;

/**
 * How long a node may take to connect to a neighbour, and a joining node to become ready: it grows with the run,
 * as start-up is CPU-bound. Bring-up as a whole has no total budget, only STARTUP_STALL_MS.
 */
export function startupTimeoutMs(size: number): number {
  return Math.max(120_000, size * 1000);
}

/** Bring-up fails when no node has become ready for this long (RunController.waitReady says why not a total). */
export const STARTUP_STALL_MS = 120_000;

/**
 * What the CLI writes under `control/migrations/<id>` to move node `id` (or restart it) to a new container:
 *  - `prepare`: the node answers under migrations/<id>/<migration>/prepared whether a snapshot can carry it;
 *  - `freeze`: the old node stops handling and its neighbours send it a flush marker and turn to `target`;
 *  - `takeover` (restart): the old node is gone; its neighbours turn to `target`, which starts afresh.
 * A migration's fate is its MigrationDecision, not a phase here: the new node writes it, where nodes may write.
 */
export interface MigrationControl {
  readonly migration: string;
  readonly phase: 'prepare' | 'freeze' | 'takeover';
  readonly target?: { readonly address: string; readonly port: number };
  /** takeover: when the old container was removed (epoch ms), from which the new node's downtime counts. */
  readonly goneAt?: number;
}

/**
 * A migration's fate after its freeze, under migrations/<id>/<migration>/decided, created once by whoever comes
 * first: `committed` by the new node, once it has the snapshot and before it handles anything (the old node ends
 * its links and exits), or `aborted` by the CLI, for a new container that died first (the old node goes on, its
 * neighbours send it again what they sent the new one).
 */
export type MigrationDecision = 'committed' | 'aborted';

/** The old node's answer to `prepare`: undefined refusal means it can move. */
export interface MigrationPrepared {
  readonly refusal?: string;
}

/**
 * How long the CLI waits for a moved node to resume in its new container before it gives up on the move
 * (src/migration/move.ts); the simulator's move waits as long, in virtual time, for a handler under way to return.
 */
export const MOVE_DONE_TIMEOUT_MS = 60_000;

/**
 * What the new node of a migration writes once it has resumed: one line of migrations.ndjson. The simulator
 * writes the same record for each of its moves (Simulation.migrateNode and restartNode).
 */
export interface MigrationRecord {
  readonly node: string;
  readonly migration: string;
  readonly kind: 'migrate' | 'restart';
  /**
   * Epoch ms (one host clock): the old node stopped handling, and the new one resumed. In the simulator, virtual
   * ms since the run started, as faults.ndjson's appliedMs.
   */
  readonly frozenAt?: number;
  readonly resumedAt: number;
  /**
   * resumedAt − frozenAt: how long the node handled nothing (a restart: since its old container was removed). In
   * the simulator, whose moves take no virtual time, 0 unless the move waited for a handler under way.
   */
  readonly downtimeMs: number;
  /**
   * Where a move's downtime went, in ms: waiting for the neighbours' flush markers, making the snapshot, letting
   * the old node's sends drain, the transfer to the new container, and restoring there. Absent for a restart.
   */
  readonly phasesMs?: { readonly markers: number; readonly snapshot: number; readonly drain: number; readonly transfer: number; readonly restore: number };
  /** The snapshot's size as sent (JSON, UTF-8). */
  readonly snapshotBytes: number;
  /** Messages that had arrived at the old node and were not yet handled: carried in the snapshot. */
  readonly carried: number;
  /**
   * Messages the neighbours sent to the new node while it was restoring: held, then handed over in order. In the
   * simulator, those held while the node waited for its handler and those in flight to its old host at the move,
   * passed on to the new one (counted until the run ends).
   */
  readonly replayed: number;
  /** The old and the new container's addresses; absent in the simulator, which has no addresses. */
  readonly from?: string;
  readonly to?: string;
  /**
   * Why the move failed, for one aborted after the freeze (its new container died before it committed): the node
   * went on in its old container, and `downtimeMs` is its pause there. The CLI writes such a record.
   */
  readonly failed?: string;
  /** How long the move waited for another move of the run to finish before it began (one move at a time). */
  readonly waitedMs?: number;
}
