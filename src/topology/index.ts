import { planLinks } from '../links/plan.js';
import { buildTopology } from './build.js';
import { isTopologyFile, loadTopologyFile } from './files.js';
import { generateTopology } from './generators.js';
import { checkTopology } from './validate.js';
import { chooseWeights } from './weights.js';
import type { LoadedTopology, Topology, TopologyOptions } from './types.js';

export type { EdgeAttributes, LoadedTopology, NodeAttributes, Topology, TopologyOptions, TopologyStats } from './types.js';
export { describeTopology } from './stats.js';
export { neighboursOf, type NeighbourEdge } from './neighbours.js';

/**
 * A generator spec (`ring:n=10`, `ba:n=100,m=2`, …) or a topology file, as a simple connected
 * weighted graph with nodes "0".."n-1". The same spec and seed always give the same graph.
 */
export async function loadTopology(spec: string, options: TopologyOptions): Promise<LoadedTopology> {
  const kind = isTopologyFile(spec) ? 'file' : 'generated';
  const draft = kind === 'file' ? await loadTopologyFile(spec) : generateTopology(spec, options.seed);
  const { weights, notes: weightNotes } = chooseWeights(draft, options.weights, options.seed, spec);
  const { links, notes: linkNotes } = planLinks(draft, weights, options.links, options.seed, spec);
  const graph = buildTopology(draft, weights, links);
  const checkNotes = checkTopology(graph, spec, options.allowDisconnected ?? false);
  return { graph, spec, kind, notes: [...draft.notes, ...weightNotes, ...linkNotes, ...checkNotes] };
}

/** graphology's `Graph.export()` form, which `loadTopology` reads back from a .json file. */
export function exportTopology(graph: Topology): object {
  return graph.export();
}
