/**
 * The run's graph as churn grows it: every node that joined, with the edges it attached by. A joined node stays
 * in it after it leaves or crashes, as every original node does: the graph holds every member that ever took
 * part, and the fault record says who left (verify/faults.ts).
 */
import type { Topology } from '../topology/index.js';
import type { FaultEvent } from './events.js';

/** A join as it grows the graph: the new node and its weighted edges. */
export interface Join {
  readonly node: string;
  readonly attach: ReadonlyArray<{ readonly id: string; readonly weight: number }>;
}

/** The join an event makes, or undefined for any other event. */
export function joinOf(event: FaultEvent): Join | undefined {
  return event.action === 'join' ? { node: event.nodes[0]!, attach: event.attach ?? [] } : undefined;
}

/** Adds the join to `graph` in place (what a runtime does as it applies one). */
export function addJoin(graph: Topology, { node, attach }: Join): void {
  graph.addNode(node);
  for (const { id, weight } of attach) graph.addEdge(node, id, { weight });
}

/**
 * A copy of `graph` grown by the joins among `events` that took effect (an event with an error did not), in
 * order; `graph` itself is left alone. The same graph, without a copy, when nothing joined.
 */
export function grownGraph(graph: Topology, events: readonly (FaultEvent & { readonly error?: string })[]): Topology {
  const joins = events.filter((event) => event.error === undefined).flatMap((event) => joinOf(event) ?? []);
  if (joins.length === 0) return graph;
  const grown = graph.copy();
  for (const join of joins) addJoin(grown, join);
  return grown;
}
