import { bfsFromNode } from 'graphology-traversal';
import { z } from 'zod';
import { MAX_LISTED_FAILURES, parseResults, type Oracle } from './types.js';

const floodResult = z.object({ distance: z.number().int().nonnegative(), parent: z.string().nullable() });

/**
 * Flooding reports the hops of the first token to arrive, which real timing may route over a longer path.
 * So the ground truth is the BFS distance as a lower bound, plus a consistent tree: every node reached, the
 * root at 0, and each parent an overlay neighbour exactly one hop closer. How many nodes got the exact BFS
 * distance is reported as `exactDistanceShare` (1 under synchronous delivery).
 */
export const verifyFlood: Oracle = ({ graph, results, params }) => {
  const root = String(params.root ?? '0');
  const bfs = new Map<string, number>();
  bfsFromNode(graph, root, (node, _attributes, depth) => {
    bfs.set(node, depth);
  });

  const { reported, failures } = parseResults(graph, results, floodResult, '{distance, parent}');

  let exact = 0;
  for (const [id, { distance, parent }] of reported) {
    const shortest = bfs.get(id);
    if (shortest === undefined) failures.push(`node ${id}: reported distance ${distance} but is unreachable from ${root}`);
    else if (distance < shortest) failures.push(`node ${id}: distance ${distance} is below the BFS distance ${shortest}`);
    else if (distance === shortest) exact += 1;

    if (id === root) {
      if (distance !== 0 || parent !== null) failures.push(`root ${id}: expected distance 0 and no parent`);
      continue;
    }
    if (parent === null || !graph.hasEdge(id, parent)) {
      failures.push(`node ${id}: parent ${parent} is not an overlay neighbour`);
    } else if (reported.get(parent)?.distance !== distance - 1) {
      failures.push(`node ${id}: parent ${parent} is not one hop closer to the root`);
    }
  }

  const passed = failures.length === 0;
  const exactDistanceShare = reported.size === 0 ? 0 : exact / reported.size;
  return {
    passed,
    summary: passed
      ? `flood reached all ${graph.order} nodes along a valid tree; ${(exactDistanceShare * 100).toFixed(1)}% at exact BFS distance`
      : `flood failed on ${failures.length} node(s): ${failures[0]}`,
    expected: { root, bfsDistance: Object.fromEntries(bfs) },
    actual: Object.fromEntries(reported),
    metrics: {
      reached: reported.size,
      exactDistanceShare,
      eccentricity: Math.max(0, ...[...reported.values()].map((r) => r.distance)),
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};
