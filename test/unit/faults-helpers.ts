import { UndirectedGraph } from 'graphology';
import { expect } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import type { NodeAttributes, EdgeAttributes, Topology } from '../../src/topology/index.js';

/** A topology with nodes "0".."n-1" and the given edges (weight 1 unless given), as buildTopology makes them. */
export function graphOf(n: number, edges: ReadonlyArray<readonly [number, number, number?]>, nodes: NodeAttributes[] = []): Topology {
  const graph = new UndirectedGraph<NodeAttributes, EdgeAttributes>({ allowSelfLoops: false });
  for (let i = 0; i < n; i++) graph.addNode(String(i), { ...(nodes[i] ?? {}) });
  edges.forEach(([u, v, w], index) => graph.addEdgeWithKey(String(index), String(u), String(v), { weight: w ?? 1 }));
  return graph;
}

/** The one-line form of the PeerlabError `action` throws; fails the test when it throws none or spans lines. */
export function errorLine(action: () => unknown): string {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(PeerlabError);
  const line = (caught as PeerlabError).line;
  expect(line).not.toContain('\n');
  return line;
}
