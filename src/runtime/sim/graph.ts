/**
 * The topology as the simulator holds it: node ids in graph order and each node's neighbours, sorted as
 * neighboursOf() sorts them, in compressed sparse rows (typed arrays). It is what crosses into the simulation
 * worker (the arrays are transferred, not copied), and it costs about 12 bytes per edge end where a graphology
 * graph costs hundreds.
 */
import { neighboursOf, type Topology } from '../../topology/index.js';
import type { Neighbour } from '../../sdk/types.js';

export interface SimGraph {
  /** Node ids, in graph order. */
  readonly ids: readonly string[];
  /** Node i's neighbours are targets[offsets[i]] … targets[offsets[i + 1] - 1]. */
  readonly offsets: Int32Array;
  /** Neighbour indices into `ids`. */
  readonly targets: Int32Array;
  /** The weight of the edge to targets[k]. */
  readonly weights: Float64Array;
}

export function isSimGraph(graph: Topology | SimGraph): graph is SimGraph {
  return (graph as SimGraph).offsets instanceof Int32Array;
}

export function toSimGraph(graph: Topology): SimGraph {
  const ids = graph.nodes();
  const index = new Map(ids.map((id, i) => [id, i]));
  const offsets = new Int32Array(ids.length + 1);
  const targets = new Int32Array(graph.size * 2);
  const weights = new Float64Array(graph.size * 2);
  let end = 0;
  for (let i = 0; i < ids.length; i++) {
    for (const { id, weight } of neighboursOf(graph, ids[i]!)) {
      targets[end] = index.get(id)!;
      weights[end] = weight;
      end += 1;
    }
    offsets[i + 1] = end;
  }
  return { ids, offsets, targets, weights };
}

/** Node `node`'s neighbours as the SDK hands them to the algorithm. */
export function neighboursAt(graph: SimGraph, node: number): Neighbour[] {
  const first = graph.offsets[node]!;
  // Made at its length: grown by push, the array of a node of degree 4 kept room for 17 (about 100 bytes a node).
  const neighbours = new Array<Neighbour>(graph.offsets[node + 1]! - first);
  for (let i = 0; i < neighbours.length; i++) neighbours[i] = { id: graph.ids[graph.targets[first + i]!]!, weight: graph.weights[first + i]! };
  return neighbours;
}

/** The weight of edge from–to (both indices), which must exist. */
export function edgeWeight(graph: SimGraph, from: number, to: number): number {
  for (let k = graph.offsets[from]!; k < graph.offsets[from + 1]!; k++) {
    if (graph.targets[k] === to) return graph.weights[k]!;
  }
  throw new RangeError(`no edge ${graph.ids[from]}–${graph.ids[to]}`);
}
