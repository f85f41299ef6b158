import { connectedComponents } from 'graphology-components';
import { diameter as graphDiameter } from 'graphology-metrics/graph/index.js';
import type { Topology, TopologyStats } from './types.js';

export function describeTopology(graph: Topology): TopologyStats {
  const n = graph.order;
  const position = new Map(graph.nodes().map((key, index) => [key, index]));
  const adjacency = graph.nodes().map((key) => graph.neighbors(key).map((neighbour) => position.get(neighbour)!));
  const degrees = adjacency.map((neighbours) => neighbours.length);

  const counts = new Map<number, number>();
  for (const degree of degrees) counts.set(degree, (counts.get(degree) ?? 0) + 1);
  const histogram = [...counts].sort(([a], [b]) => a - b).map(([degree, count]) => ({ degree, count }));

  const weights = graph.mapEdges((_edge, attributes) => attributes.weight);
  const components = connectedComponents(graph).length;
  const degreeRange = extent(degrees);
  const weightRange = extent(weights);
  return {
    nodes: n,
    edges: graph.size,
    degree: {
      min: degreeRange.min,
      mean: n === 0 ? 0 : (2 * graph.size) / n,
      max: degreeRange.max,
      histogram,
    },
    components,
    // Exact, by a breadth-first search from every node (O(n·m)): `topology show` only, fine for thousands.
    diameter: components !== 1 ? null : graph.size === 0 ? 0 : graphDiameter(graph),
    clustering: n === 0 ? 0 : clusteringSum(adjacency) / n,
    weights: {
      ...weightRange,
      distinct: new Set(weights).size === weights.length,
    },
  };
}

/** Min and max without spreading (which overflows the stack on large arrays); 0 and 0 when empty. */
function extent(values: readonly number[]): { min: number; max: number } {
  if (values.length === 0) return { min: 0, max: 0 };
  return values.reduce((range, value) => ({ min: Math.min(range.min, value), max: Math.max(range.max, value) }), {
    min: Infinity,
    max: -Infinity,
  });
}

/** Sum over nodes of the local clustering coefficient (links among neighbours / possible links). */
function clusteringSum(adjacency: number[][]): number {
  const neighbourSets = adjacency.map((neighbours) => new Set(neighbours));
  let sum = 0;
  adjacency.forEach((neighbours, node) => {
    const d = neighbours.length;
    if (d < 2) return;
    let links = 0;
    for (const u of neighbours) for (const w of adjacency[u]!) if (neighbourSets[node]!.has(w)) links++;
    // Each link among the neighbours was seen from both of its ends.
    sum += links / (d * (d - 1));
  });
  return sum;
}
