import type { AppliedFault } from '../faults/events.js';
import type { Topology } from '../topology/index.js';

/**
 * What the faults of a run did, as far as an oracle's guarantees go. An oracle given it checks what its
 * algorithm still guarantees among the survivors, rather than the fault-free answer.
 */
export interface FaultsSeen {
  /** Nodes killed or stopped (and not restarted since) by the end of the run: they owe no result. */
  readonly removedNodes: readonly string[];
  /** Directed links still down at the end of the run, as [from, to]: flood does not count on them. */
  readonly downLinks?: ReadonlyArray<readonly [string, string]>;
  /**
   * Nodes that joined during the run (churn's `join=`), whether still there or not: they are in the graph the
   * oracle gets, with their edges, but they were not members at the start, so what an algorithm owes them is
   * the oracle's to say. An oracle that does not say must not pass a run with joins (see joinsUnjudged).
   */
  readonly joinedNodes?: readonly string[];
  /** Messages the receivers dropped on arrival, on a link that was down or under drop-messages: lost, not late. */
  readonly droppedMessages?: number;
  /**
   * Each node moved to a new container (`migrate`: with its state; `restart`: afresh), in the order of the
   * schedule: when it was due and, for an applied event, when the move had completed (the same in the
   * simulator). A case study of moves (verify/roaming.ts) judges the time around each.
   */
  readonly moves?: readonly NodeMove[];
}

export interface NodeMove {
  readonly node: string;
  readonly action: 'migrate' | 'restart';
  readonly atMs: number;
  readonly appliedMs?: number;
}

/**
 * What a schedule leaves at its end: the nodes killed or stopped (unless restarted later), and the directed
 * links down (unless brought up later). Events on a leader must carry the node they hit (the runtime fills
 * `nodes` when it resolves the leader) to count. Give it the events that were applied, when the run ended early.
 */
export function faultsSeenOf(events: readonly AppliedFault[]): FaultsSeen {
  const removed = new Set<string>();
  const down = new Map<string, readonly [string, string]>();
  const joined: string[] = [];
  const moves: NodeMove[] = [];
  for (const event of [...events].sort((a, b) => a.atMs - b.atMs)) {
    for (const id of event.nodes) {
      if (event.action === 'kill' || event.action === 'stop') removed.add(id);
      else if (event.action === 'restart') removed.delete(id);
      else if (event.action === 'join') joined.push(id);
      if (event.action === 'migrate' || event.action === 'restart') {
        const { appliedMs } = event;
        moves.push({ node: id, action: event.action, atMs: event.atMs, ...(appliedMs !== undefined && { appliedMs }) });
      }
    }
    for (const [from, to] of event.edges) {
      if (event.action === 'link-down') down.set(`${from}>${to}`, [from, to]);
      else if (event.action === 'link-up') down.delete(`${from}>${to}`);
    }
  }
  return { removedNodes: [...removed], downLinks: [...down.values()], ...(joined.length > 0 && { joinedNodes: joined }), ...(moves.length > 0 && { moves }) };
}

/** The graph without the removed nodes (and their edges): a copy, the run's graph is left alone. */
export function survivingGraph(graph: Topology, faults: FaultsSeen): Topology {
  return withoutNodes(graph, faults.removedNodes);
}

/**
 * A copy of `graph` without `ids` (and their edges). Without the joined nodes it is the graph the run started
 * with, since a join adds only the joining node's own edges.
 */
export function withoutNodes(graph: Topology, ids: readonly string[]): Topology {
  const kept = graph.copy();
  for (const id of ids) if (kept.hasNode(id)) kept.dropNode(id);
  return kept;
}
