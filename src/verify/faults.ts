import type { FaultEvent } from '../faults/events.js';
import type { Topology } from '../topology/index.js';

/**
 * What the faults of a run did, as far as an oracle's guarantees go. An oracle given it checks what its
 * algorithm still guarantees among the survivors, rather than the fault-free answer.
 */
export interface FaultsSeen {
  /** Nodes killed or stopped (and not restarted since) by the end of the run: they owe no result. */
  readonly removedNodes: readonly string[];
}

/**
 * The nodes gone at the end of a schedule: killed or stopped, unless restarted later. Events on a leader must
 * carry the node they hit (the runtime fills `nodes` when it resolves the leader) to count.
 */
export function removedNodesOf(events: readonly FaultEvent[]): string[] {
  const removed = new Set<string>();
  for (const event of [...events].sort((a, b) => a.atMs - b.atMs)) {
    for (const id of event.nodes) {
      if (event.action === 'kill' || event.action === 'stop') removed.add(id);
      else if (event.action === 'restart') removed.delete(id);
    }
  }
  return [...removed];
}

/** The graph without the removed nodes (and their edges): a copy, the run's graph is left alone. */
export function survivingGraph(graph: Topology, faults: FaultsSeen): Topology {
  const survivors = graph.copy();
  for (const id of faults.removedNodes) if (survivors.hasNode(id)) survivors.dropNode(id);
  return survivors;
}
