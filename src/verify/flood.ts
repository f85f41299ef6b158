import { DirectedGraph } from 'graphology';
import { dijkstra } from 'graphology-shortest-path';
import { bfsFromNode } from 'graphology-traversal';
import { directedLink, hasLinks } from '../links/edges.js';
import { UNSHAPED } from '../links/model.js';
import type { Topology } from '../topology/index.js';
import { z } from 'zod';
import { survivingGraph, withoutNodes } from './faults.js';
import { MAX_LISTED_FAILURES, parseResults, type CheckResult, type Oracle } from './types.js';
import type { Json } from '../sdk/types.js';
import { maxOf } from '../util/extremes.js';

const floodResult = z.object({ distance: z.number().int().nonnegative(), parent: z.string().nullable(), time: z.number().optional() });

/**
 * Flooding reports the hops of the first token to arrive, which real timing may route over a longer path.
 * So the ground truth is the BFS distance as a lower bound, plus a consistent tree: every node reached, the
 * root at 0, and each parent an overlay neighbour exactly one hop closer. How many nodes got the exact BFS
 * distance is reported as `exactDistanceShare` (1 under synchronous delivery).
 *
 * Under faults, flood guarantees only the root's surviving component: the nodes still reachable from the root
 * once the removed nodes are gone, over the links not down at the end. Those must all be reached along a
 * consistent tree; a parent outside it (removed, or cut off later) may have forwarded the token before, so its
 * one-hop check is skipped; the removed nodes and the survivors cut off from the root owe nothing. Arrival
 * times are not checked, since paths changed.
 *
 * Under churn, flood is one wave from the root at the start: it owes a result to the members of the start (of
 * the root's surviving component among them), not to a node that joined later, which the wave may have passed
 * before it came. A joined node that did report is held to the same tree: a neighbour for a parent, one hop
 * closer when that parent reported too.
 */
export const verifyFlood: Oracle = ({ graph, results, params, faults }): CheckResult => {
  const root = String(params.root ?? '0');
  const bfs = new Map<string, number>();
  bfsFromNode(graph, root, (node, _attributes, depth) => {
    bfs.set(node, depth);
  });
  const removed = new Set(faults?.removedNodes ?? []);
  if (removed.has(root)) {
    return {
      passed: false,
      summary: `flood guarantees nothing here: its root ${root} was removed by a fault`,
      expected: { root, removedNodes: [...removed] } as Json,
      actual: {},
      metrics: { removedNodes: removed.size },
      failures: [`root ${root}: removed by a fault (choose a root the faults spare, -p root=…)`],
    };
  }
  const joined = faults?.joinedNodes ?? [];
  const judged = faults ? rootComponent(withoutNodes(survivingGraph(graph, faults), joined), root, faults.downLinks ?? []) : graph;

  const { reported, failures } = parseResults(judged, results, floodResult, '{distance, parent}');
  for (const id of joined) {
    if (results.get(id) === undefined) continue;
    const parsed = floodResult.safeParse(results.get(id));
    if (parsed.success) reported.set(id, parsed.data);
    else failures.push(`node ${id} (joined): result is not {distance, parent}`);
  }

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
    } else if ((judged.hasNode(parent) || reported.has(parent)) && reported.get(parent)?.distance !== distance - 1) {
      failures.push(`node ${id}: parent ${parent} is not one hop closer to the root`);
    }
  }

  const arrivals = hasLinks(graph) && !faults ? checkArrivals(graph, root, reported, failures) : undefined;
  const passed = failures.length === 0;
  const exactDistanceShare = reported.size === 0 ? 0 : exact / reported.size;
  const removedMembers = [...removed].filter((id) => !joined.includes(id)).length;
  const cutOff = graph.order - joined.length - removedMembers - judged.order;
  const joinedReached = joined.filter((id) => reported.has(id)).length;
  const joins = joined.length > 0 ? `; of ${joined.length} node(s) that joined later, ${joinedReached} reached, and owed nothing` : '';
  const scope = faults
    ? `all ${judged.order} nodes of the root's surviving component (${removedMembers} removed by faults, ${cutOff} cut off from the root)${joins}`
    : `all ${graph.order} nodes`;
  return {
    passed,
    summary: passed
      ? `flood reached ${scope} along a valid tree; ${(exactDistanceShare * 100).toFixed(1)}% at exact BFS distance${arrivals ? `; arrival times within ${arrivals.metrics.arrivalWorstErrorMs.toFixed(3)} ms of the shortest-delay paths` : ''}`
      : `flood failed on ${failures.length} node(s): ${failures[0]}`,
    expected: { root, bfsDistance: Object.fromEntries(bfs), ...(arrivals ? { delayDistanceMs: arrivals.expected } : {}), ...(faults ? { survivingComponent: judged.nodes() } : {}) },
    actual: Object.fromEntries(reported),
    metrics: {
      reached: reported.size,
      exactDistanceShare,
      eccentricity: maxOf([...reported.values()].map((r) => r.distance), 0),
      ...(arrivals?.metrics ?? {}),
      ...(faults ? { removedNodes: removedMembers, cutOffNodes: cutOff } : {}),
      ...(joined.length > 0 && { joinedNodes: joined.length, joinedReached }),
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

/** The subgraph of the nodes the token can reach from `root`, over links not down (each direction on its own). */
function rootComponent(graph: Topology, root: string, downLinks: ReadonlyArray<readonly [string, string]>): Topology {
  const down = new Set(downLinks.map(([from, to]) => `${from}>${to}`));
  const reachable = new Set<string>([root]);
  const queue = [root];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const neighbour of graph.neighbors(next)) {
      if (reachable.has(neighbour) || down.has(`${next}>${neighbour}`)) continue;
      reachable.add(neighbour);
      queue.push(neighbour);
    }
  }
  const component = graph.copy();
  for (const id of graph.nodes()) if (!reachable.has(id)) component.dropNode(id);
  return component;
}

/** How far an arrival may stray from its shortest-delay distance: max(5 ms, 10 %), plus the path's jitter. */
export const ARRIVAL_TOLERANCE = { floorMs: 5, share: 0.1 };

/**
 * On shaped links the token's first arrival follows the shortest-delay path, so each node's arrival time (since
 * the root sent) must lie within ARRIVAL_TOLERANCE of its distance along directed one-way delays, computed here
 * centrally. Uniform jitter widens the bound by the jitter of each edge on the path, exponential by 3 means.
 */
function checkArrivals(graph: Topology, root: string, reported: ReadonlyMap<string, { time?: number | undefined }>, failures: string[]) {
  const directed = new DirectedGraph();
  for (const id of graph.nodes()) directed.addNode(id);
  graph.forEachEdge((_edge, _attributes, source, target) => {
    for (const [from, to] of [[source, target], [target, source]] as const) {
      const link = directedLink(graph, from, to) ?? UNSHAPED;
      directed.addDirectedEdge(from, to, { delay: link.delayMs, jitter: link.jitterMs * (link.jitterDistribution === 'uniform' ? 1 : 3) });
    }
  });
  const paths = dijkstra.singleSource(directed, root, 'delay');
  const rootTime = reported.get(root)?.time;
  const expected: Record<string, number> = {};
  let worst = 0;
  let timed = 0;
  for (const [id, path] of Object.entries(paths)) {
    let distance = 0;
    let jitter = 0;
    for (let hop = 1; hop < path.length; hop++) {
      const attributes = directed.getEdgeAttributes(path[hop - 1]!, path[hop]!);
      distance += attributes.delay as number;
      jitter += attributes.jitter as number;
    }
    expected[id] = distance;
    const time = reported.get(id)?.time;
    if (time === undefined || rootTime === undefined) {
      if (reported.has(id)) failures.push(`node ${id}: reported no arrival time (the links are shaped, so the oracle checks it)`);
      continue;
    }
    timed += 1;
    const error = time - rootTime - distance;
    worst = Math.max(worst, Math.abs(error));
    const tolerance = Math.max(ARRIVAL_TOLERANCE.floorMs, ARRIVAL_TOLERANCE.share * distance) + jitter;
    if (Math.abs(error) > tolerance) {
      failures.push(`node ${id}: token arrived ${(time - rootTime).toFixed(3)} ms after the root sent it, its shortest-delay distance is ${distance.toFixed(3)} ms (± ${tolerance.toFixed(3)})`);
    }
  }
  return { expected, metrics: { arrivalWorstErrorMs: worst, arrivalsTimed: timed } };
}
