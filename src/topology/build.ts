import { UndirectedGraph } from 'graphology';
import type { EdgeLink } from '../links/model.js';
import type { EdgeAttributes, NodeAttributes, Topology, TopologyDraft } from './types.js';

/**
 * The graphology graph of a draft. Edge keys are given ("0".."E-1") rather than left to graphology,
 * whose generated keys differ between runs and would make exports of the same seed differ.
 */
export function buildTopology(draft: TopologyDraft, weights: readonly number[], links?: readonly EdgeLink[]): Topology {
  const graph = new UndirectedGraph<NodeAttributes, EdgeAttributes>({ allowSelfLoops: false });
  draft.nodes.forEach((attributes, index) => graph.addNode(String(index), { ...attributes }));
  draft.edges.forEach((edge, index) =>
    graph.addEdgeWithKey(String(index), String(edge.source), String(edge.target), links ? { weight: weights[index]!, link: links[index]! } : { weight: weights[index]! }),
  );
  return graph;
}
