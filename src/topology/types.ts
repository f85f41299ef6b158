import type { UndirectedGraph } from 'graphology';
import type { EdgeLink } from '../links/model.js';

export interface NodeAttributes {
  label?: string;
  latitude?: number;
  longitude?: number;
}

export interface EdgeAttributes {
  weight: number;
  /** What each direction of the edge is given (see src/links); absent on an unshaped run. */
  link?: EdgeLink;
}

export type Topology = UndirectedGraph<NodeAttributes, EdgeAttributes>;

export interface TopologyOptions {
  /** Every random choice (generator and weights) derives from it. */
  seed: number | string;
  /**
   * 'unique' | 'uniform:a..b' | 'geo' | 'attr:NAME'. Left out: a file whose every edge has a numeric
   * `weight` keeps those weights (so `topology generate` output loads back unchanged), anything else
   * gets 'unique'.
   */
  weights?: string;
  /** A `--links` spec (see src/links/spec.ts); left out, the file's own link attributes, if any. */
  links?: string;
  /** Default false: a disconnected graph is a PeerlabError. */
  allowDisconnected?: boolean;
}

export interface LoadedTopology {
  graph: Topology;
  /** What the user typed: a generator spec or a file path. */
  spec: string;
  kind: 'generated' | 'file';
  /** What was done to the input, for the user to check. */
  notes: string[];
}

export interface TopologyStats {
  nodes: number;
  edges: number;
  degree: { min: number; mean: number; max: number; histogram: Array<{ degree: number; count: number }> };
  components: number;
  /** Hop count; null when disconnected. */
  diameter: number | null;
  /** Average local clustering coefficient, nodes of degree < 2 counting as 0. */
  clustering: number;
  weights: { min: number; max: number; distinct: boolean };
}

/**
 * The neutral form every source (generator or file) is reduced to before weights are chosen:
 * nodes are numbered 0..n-1 by position, edges are simple, and edge attributes from a file are
 * kept so `attr:NAME` weights can read them.
 */
export interface TopologyDraft {
  nodes: NodeAttributes[];
  edges: DraftEdge[];
  notes: string[];
}

export interface DraftEdge {
  source: number;
  target: number;
  attributes: Record<string, unknown>;
}
