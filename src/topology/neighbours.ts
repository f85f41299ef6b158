import type { Topology } from './types.js';

export interface NeighbourEdge {
  readonly id: string;
  readonly weight: number;
}

/** A node's neighbours with edge weights, sorted by id: all a node learns of the topology, in every runtime. */
export function neighboursOf(graph: Topology, id: string): NeighbourEdge[] {
  const entries = graph.mapEdges(id, (_edge, attributes, source, target) => ({
    id: source === id ? target : source,
    weight: attributes.weight,
  }));
  return entries.sort((a, b) => Number(a.id) - Number(b.id));
}
