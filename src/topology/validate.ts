import { connectedComponents } from 'graphology-components';
import { PeerlabError } from '../errors.js';
import { count, listSome } from './raw-graph.js';
import type { Topology } from './types.js';

/** Refuses what no run can use; returns a note when a disconnected graph is let through on purpose. */
export function checkTopology(graph: Topology, spec: string, allowDisconnected: boolean): string[] {
  if (graph.order === 0) throw new PeerlabError(`topology "${spec}" has no nodes`, { hint: 'give a topology with at least one node' });
  const components = connectedComponents(graph);
  if (components.length === 1) return [];
  const sizes = components.map((component) => component.length).sort((a, b) => b - a);
  const summary = `${count(components.length, 'connected component')} (sizes ${listSome(sizes.map(String))})`;
  if (!allowDisconnected) {
    throw new PeerlabError(`topology "${spec}" is disconnected: ${summary}`, { hint: 'pass --allow-disconnected to run it anyway' });
  }
  return [`disconnected, allowed: ${summary}`];
}
