import type { Json } from '../sdk/types.js';
import type { TimelineJson } from '../host/timeline.js';

/** What the controller tells every node, under the `config` key. */
export interface RunConfig {
  readonly runId: string;
  /** What the nodes run, one group per role; a run of one algorithm is one group, named after the algorithm. */
  readonly groups: readonly GroupConfig[];
  readonly seed: number;
  readonly size: number;
  readonly maxPayloadBytes: number;
  /** Set when a dashboard watches the run: each node writes a LiveReport this often (ms). */
  readonly liveReportMs?: number;
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
}

/** The registry value of a live node. */
export interface Registration {
  readonly id: string;
  readonly role: string;
  readonly address: string;
  readonly port: number;
  readonly registeredAt: number;
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
  /** Milliseconds from process start to registered, and to all neighbour channels connected. */
  readonly startup: { registeredMs: number; connectedMs: number };
  /** Messages and metrics over the run's time (see host/timeline.ts). */
  readonly timeline?: TimelineJson;
}

/**
 * What a node writes every `liveReportMs` while a dashboard watches the run: its traffic so far (messages per
 * neighbour) and its metrics.
 */
export interface LiveReport {
  readonly sent: Record<string, number>;
  readonly metrics: Record<string, number>;
}

export interface NodeFailure {
  readonly message: string;
  readonly stack: string | undefined;
}

/**
 * The lease that holds a node's registry entries (its address, the services it offers). Long enough that a node
 * starved of CPU while hundreds of others start does not drop out; a dead node's entries go when it runs out.
 */
export const REGISTRATION_TTL_SECONDS = 20;

/** How long bring-up may take, on both sides of the protocol: it grows with the run, as start-up is CPU-bound. */
export function startupTimeoutMs(size: number): number {
  return Math.max(120_000, size * 1000);
}
