import type { RuntimeKind } from '../runtime/types.js';
import type { Etcd3 } from 'etcd3';
import type { RunKeys } from '../coordination/keys.js';
import type { LiveReports } from '../coordination/protocol.js';
import type { AppliedFault } from '../faults/events.js';
import type { TraceEvent } from '../runtime/sim/index.js';
import type { PreparedRun } from './prepare.js';

/**
 * Something that watches a run as it happens (the dashboard): an optional hook of `peerlab run`. Each runtime
 * feeds it from what it has, and nothing else in the run depends on it.
 */
export interface RunObserver {
  /**
   * Set to have every container node report its traffic and metrics while the run goes: how often and where to,
   * for a run of `nodes` whose nodes can (or cannot) reach this host at their default gateway.
   */
  liveReports?(nodes: number, nodesReachCliAtGateway: boolean): Promise<LiveReports>;
  /** The run is prepared (id, graph, roles known); nothing has started yet. */
  prepared?(run: PreparedRun, runtime: RuntimeKind): void | Promise<void>;
  /** Docker: the run's etcd, before the first node starts. Returns how to stop following it. */
  followEtcd?(etcd: Etcd3, keys: RunKeys): Promise<() => Promise<void>>;
  /** Docker: each fault or churn event as it is applied (the simulator's are among its events). */
  fault?(applied: AppliedFault): void;
  /** Simulator: each event as it happens. */
  simulatorEvent?(event: TraceEvent): void;
  /** The run is over, whether it passed, failed or broke. */
  finished?(): void | Promise<void>;
}
