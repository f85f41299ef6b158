import type { NeighbourEntry } from '../coordination/protocol.js';
import { neighboursOf } from '../topology/neighbours.js';
import type { Topology } from '../topology/types.js';
import type { LinkParams } from './model.js';

/** What the directed edge `from` → `to` is given, or undefined when the run shapes nothing. */
export function directedLink(graph: Topology, from: string, to: string): LinkParams | undefined {
  const edge = graph.edge(from, to);
  if (edge === undefined) return undefined;
  const link = graph.getEdgeAttribute(edge, 'link');
  if (link === undefined) return undefined;
  return graph.source(edge) === from ? link.forward : link.backward;
}

/** Whether any edge of the graph carries a link model. */
export function hasLinks(graph: Topology): boolean {
  return graph.someEdge((_edge, attributes) => attributes.link !== undefined);
}

/** A node's neighbours as the run publishes them: each with the link model of the edge from this node to it. */
export function neighboursWithLinks(graph: Topology, id: string): NeighbourEntry[] {
  return neighboursOf(graph, id).map((neighbour) => {
    const link = directedLink(graph, id, neighbour.id);
    return link ? { ...neighbour, link } : neighbour;
  });
}
