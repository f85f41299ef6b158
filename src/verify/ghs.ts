import { z } from 'zod';
import type { Json } from '../sdk/types.js';
import type { Topology } from '../topology/index.js';
import { survivingGraph, withoutNodes } from './faults.js';
import { MAX_LISTED_FAILURES, parseResults, type CheckResult, type Oracle, type OracleInput } from './types.js';
import { maxOf } from '../util/extremes.js';

const ghsResult = z.object({
  branches: z.array(z.string()),
  level: z.number().int().nonnegative().optional(),
  /** Messages this node sent, all kinds. */
  messages: z.number().int().nonnegative().optional(),
  /** The same by kind (Connect, Initiate, Test, Accept, Reject, Report, ChangeRoot, Done). */
  sent: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** false: the node aborted when a neighbour went down (algorithms/ghs.ts, Faults); absent in older results. */
  terminated: z.boolean().optional(),
});

/** An undirected edge as [smaller id, larger id, weight], ids compared as numbers. */
export type WeightedEdge = [string, string, number];

/**
 * GHS (algorithms/ghs.ts): every node reports its MST branch edges. The ground truth is Kruskal's minimum
 * spanning forest with GHS's tie rule: edges ordered by (weight, smaller id, larger id), ids as numbers, so
 * the MST is unique even when weights repeat. The union of the reported branches must be exactly that edge
 * set, each branch must be reported by both its ends, and the weights must add up to the same total.
 *
 * Metrics: mstWeight, reportedWeight, mstEdges, reportedEdges; from the per-node `messages`/`sent` counts,
 * messages (all), ghsMessages (without the n − 2 Done messages of the termination broadcast), the paper's
 * bound 5·N·log2(N) + 2·E and boundRatio = ghsMessages / bound; maxLevel (GHS keeps it ≤ log2 N).
 *
 * Under faults, what GHS still guarantees depends on when the nodes were lost, which the results tell:
 *  - every node, the lost ones too, terminated: the faults came after GHS had finished, and it is judged as
 *    fault-free, on the whole graph;
 *  - every survivor terminated: the nodes were lost before GHS reached them, and the truth is the minimum
 *    spanning forest of the survivors, judged exactly as above on the graph without the removed nodes (a branch
 *    to a removed node is then a failure: it names an edge that no longer exists);
 *  - otherwise GHS did not terminate (survivors aborted when a neighbour went down): the verdict says so, and
 *    checks what was built: every survivor reported, and every reported branch is an edge of the MST of the
 *    graph GHS started on. Such edges between survivors are also edges of the survivors' minimum spanning forest
 *    (an edge lightest across a cut stays lightest when nodes go), so what was built is a forest of its
 *    fragments; the metrics say how much of it.
 *
 * Nodes that join mid-run (churn's join=) are not in the graph GHS runs on: its members know their edges from
 * the start, and GHS, a static algorithm, takes no edge that comes later (algorithms/ghs.ts ignores what a
 * joiner sends). So what it owes is the above on the graph the run started with, and nothing to a joiner.
 */
export const verifyGhs: Oracle = (input) => {
  const joined = input.faults?.joinedNodes ?? [];
  if (joined.length === 0) return verifyStaticGhs(input);
  const removed = input.faults!.removedNodes.filter((id) => !joined.includes(id));
  const verdict = verifyStaticGhs({ ...input, graph: withoutNodes(input.graph, joined), faults: removed.length > 0 ? { removedNodes: removed } : undefined });
  return {
    ...verdict,
    summary: `${verdict.summary}; ${joined.length} node(s) joined mid-run, outside the graph GHS ran on, and are owed nothing`,
    metrics: { ...verdict.metrics, joinedNodes: joined.length },
  };
};

/** GHS judged on the graph it ran on (no joins), under the faults that removed nodes, as above. */
const verifyStaticGhs: Oracle = (input) => {
  const { graph, results, faults } = input;
  if (!faults || faults.removedNodes.length === 0) return verifySpanningForest(input);
  const terminated = (id: string) => ghsResult.safeParse(results.get(id)).data?.terminated !== false && results.get(id) !== undefined;
  const removed = new Set(faults.removedNodes);
  if (graph.everyNode((id) => terminated(id))) {
    const verdict = verifySpanningForest({ ...input, faults: undefined });
    return { ...verdict, summary: verdict.passed ? `${verdict.summary}; it terminated before the faults removed ${removed.size} node(s)` : verdict.summary };
  }
  if (graph.everyNode((id) => removed.has(id) || terminated(id))) return verifySpanningForest(input);
  return verifyUnterminated(graph, results, removed);
};

/** The MST (or, under faults, the survivors' minimum spanning forest) exactly, as the comment above says. */
const verifySpanningForest: Oracle = ({ graph: whole, results, faults }) => {
  const graph = faults ? survivingGraph(whole, faults) : whole;
  const removed = new Set(faults?.removedNodes ?? []);
  const expected = minimumSpanningForest(graph);
  const expectedKeys = new Set(expected.map(([u, v]) => edgeName(u, v)));

  const { reported, failures } = parseResults(graph, results, ghsResult, '{branches: string[], …}');

  // Every listed branch must be an overlay edge and be listed by its other end too.
  const claimed = new Map<string, WeightedEdge>();
  const lists = listsBranch();
  for (const [id, { branches }] of reported) {
    if (new Set(branches).size !== branches.length) failures.push(`node ${id}: lists a branch twice`);
    for (const other of branches) {
      if (removed.has(other)) {
        failures.push(`node ${id}: branch ${other} was removed by a fault`);
        continue;
      }
      if (other === id || !graph.hasNode(other) || !graph.hasEdge(id, other)) {
        failures.push(`node ${id}: branch ${other} is not an overlay neighbour`);
        continue;
      }
      const counterpart = reported.get(other);
      if (counterpart && !lists(other, counterpart.branches, id)) {
        failures.push(`edge ${id}–${other}: node ${id} lists it as a branch but node ${other} does not`);
      }
      const [u, v] = ordered(id, other);
      // Claimed by both ends, the same edge: its weight is looked up once.
      const name = edgeName(u, v);
      if (!claimed.has(name)) claimed.set(name, [u, v, graph.getEdgeAttribute(u, v, 'weight')]);
    }
  }

  for (const [u, v, w] of expected) {
    if (!claimed.has(edgeName(u, v))) failures.push(`MST edge ${u}–${v} (weight ${w}) is missing from the reported branches`);
  }
  for (const [name, [u, v, w]] of claimed) {
    if (!expectedKeys.has(name)) failures.push(`edge ${u}–${v} (weight ${w}) is reported as a branch but is not in the MST`);
  }

  const mstWeight = sum(expected.map(([, , w]) => w));
  const reportedEdges = [...claimed.values()].sort(compareEdges);
  const reportedWeight = sum(reportedEdges.map(([, , w]) => w));
  if (Math.abs(reportedWeight - mstWeight) > 1e-9 * Math.max(1, Math.abs(mstWeight))) {
    failures.push(`reported tree weighs ${reportedWeight}, the MST ${mstWeight}`);
  }

  const N = graph.order;
  const E = graph.size;
  const bound = N > 1 ? 5 * N * Math.log2(N) + 2 * E : 0;
  const metrics: Record<string, number> = {
    mstWeight,
    reportedWeight,
    mstEdges: expected.length,
    reportedEdges: reportedEdges.length,
    messageBound: bound,
    ...(faults ? { removedNodes: removed.size } : {}),
  };
  const everyone = [...reported.values()];
  if (everyone.length > 0 && everyone.every((r) => r.messages !== undefined)) {
    const messages = sum(everyone.map((r) => r.messages!));
    // Done and Abort are peerlab's, not the paper's (algorithms/ghs.ts, Termination and Faults).
    const done = sum(everyone.map((r) => (r.sent?.['Done'] ?? 0) + (r.sent?.['Abort'] ?? 0)));
    metrics['messages'] = messages;
    metrics['ghsMessages'] = messages - done;
    metrics['boundRatio'] = bound > 0 ? (messages - done) / bound : 0;
  }
  if (everyone.length > 0 && everyone.every((r) => r.level !== undefined)) {
    const maxLevel = maxOf(everyone.map((r) => r.level!));
    metrics['maxLevel'] = maxLevel;
    // A fragment of level L has at least 2^L nodes.
    if (N > 0 && 2 ** maxLevel > N) failures.push(`a node reports level ${maxLevel}, impossible with ${N} nodes (2^level ≤ N)`);
  }

  const passed = failures.length === 0;
  return {
    passed,
    summary: passed
      ? `GHS found the ${faults ? `minimum spanning forest of the ${graph.order} survivors (${removed.size} removed by faults)` : 'MST'}: ${expected.length} edges, weight ${formatWeight(mstWeight)}` +
        (metrics['boundRatio'] !== undefined ? `, ${metrics['ghsMessages']} messages (${(metrics['boundRatio'] * 100).toFixed(1)}% of 5N·log2N + 2E)` : '')
      : `GHS failed: ${failures[0]}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''}`,
    expected: expected as Json,
    actual: reportedEdges as Json,
    metrics,
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

/** GHS stopped when nodes died: every survivor must have reported, and every branch must be an MST edge. */
function verifyUnterminated(whole: Topology, results: OracleInput['results'], removed: ReadonlySet<string>): CheckResult {
  const mst = new Set(minimumSpanningForest(whole).map(([u, v]) => edgeName(u, v)));
  const survivors = whole.copy();
  for (const id of removed) survivors.dropNode(id);
  const forest = new Set(minimumSpanningForest(survivors).map(([u, v]) => edgeName(u, v)));
  const { reported, failures } = parseResults(survivors, results, ghsResult, '{branches: string[], …}');
  const built = new Map<string, WeightedEdge>();
  for (const [id, { branches }] of reported) {
    for (const other of branches) {
      if (other === id || !whole.hasNode(other) || !whole.hasEdge(id, other)) {
        failures.push(`node ${id}: branch ${other} is not an overlay neighbour`);
        continue;
      }
      const [u, v] = ordered(id, other);
      const weight = whole.getEdgeAttribute(u, v, 'weight');
      if (!mst.has(edgeName(u, v))) failures.push(`edge ${u}–${v} (weight ${weight}) is reported as a branch but is not in the MST of the graph GHS started on`);
      else if (!removed.has(other)) built.set(edgeName(u, v), [u, v, weight]);
    }
  }
  const aborted = [...reported.values()].filter((result) => result.terminated === false).length;
  const fragments = survivors.order - built.size;
  const inForest = [...built.keys()].filter((name) => forest.has(name)).length;
  const metrics = { terminated: 0, removedNodes: removed.size, survivors: survivors.order, aborted, builtEdges: built.size, fragments, forestEdges: forest.size, forestEdgesBuilt: inForest };
  const passed = failures.length === 0;
  return {
    passed,
    summary: passed
      ? `GHS did not terminate: ${aborted} of the ${survivors.order} survivors aborted when a neighbour went down (${removed.size} node(s) removed by faults); ` +
        `what it built checks: ${built.size} MST edges among survivors in ${fragments} fragment(s), ${inForest} of the ${forest.size} edges of the survivors' minimum spanning forest`
      : `GHS did not terminate, and what it built is wrong: ${failures[0]}${failures.length > 1 ? ` (and ${failures.length - 1} more)` : ''}`,
    expected: [...forest] as Json,
    actual: [...built.values()].sort(compareEdges) as Json,
    metrics,
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
}

/**
 * Kruskal with a union-find (union by size, path halving): the minimum spanning forest, edges sorted by
 * (weight, smaller id, larger id) — GHS's order, which makes the answer unique. Nodes by index and edges in typed
 * arrays, ids turned into numbers once: with an array per edge and Maps keyed by id, the forest of ba:n=10⁶,m=2
 * took 9.9–11.4 s, and 5.1–7.3 s so.
 */
export function minimumSpanningForest(graph: Topology): WeightedEdge[] {
  const ids = graph.nodes();
  const indexOf = new Map(ids.map((id, index) => [id, index]));
  const numberOf = Float64Array.from(ids, Number);
  const from = new Uint32Array(graph.size);
  const to = new Uint32Array(graph.size);
  const weight = new Float64Array(graph.size);
  let count = 0;
  graph.forEachEdge((_edge, attributes, source, target) => {
    const [u, v] = ordered(source, target);
    from[count] = indexOf.get(u)!;
    to[count] = indexOf.get(v)!;
    weight[count++] = attributes.weight;
  });
  // GHS's order on the edges' places, stably, as the edges themselves were sorted: ties keep the graph's order.
  const order = Array.from({ length: count }, (_, edge) => edge).sort((a, b) =>
    compareByWeightThenIds(weight[a]!, numberOf[from[a]!]!, numberOf[to[a]!]!, weight[b]!, numberOf[from[b]!]!, numberOf[to[b]!]!),
  );

  const parent = Uint32Array.from(ids, (_, index) => index);
  const size = new Uint32Array(ids.length).fill(1);
  const find = (x: number): number => {
    let node = x;
    while (parent[node] !== node) {
      const grandparent = parent[parent[node]!]!;
      parent[node] = grandparent;
      node = grandparent;
    }
    return node;
  };

  const forest: WeightedEdge[] = [];
  for (const edge of order) {
    let a = find(from[edge]!);
    let b = find(to[edge]!);
    if (a === b) continue;
    if (size[a]! < size[b]!) [a, b] = [b, a];
    parent[b] = a;
    size[a]! += size[b]!;
    forest.push([ids[from[edge]!]!, ids[to[edge]!]!, weight[edge]!]);
    if (forest.length === graph.order - 1) break;
  }
  return forest;
}

/**
 * Whether `node`'s branches include `other`: a scan of a short list, a set made once for a long one. A hub of a
 * Barabási–Albert graph has thousands of branches, and each of its neighbours asks it: scanning took about 4 s of
 * a 10⁶-node run's oracle.
 */
function listsBranch(): (node: string, branches: readonly string[], other: string) => boolean {
  const sets = new Map<string, Set<string>>();
  return (node, branches, other) => {
    if (branches.length <= 16) return branches.includes(other);
    let set = sets.get(node);
    if (set === undefined) sets.set(node, (set = new Set(branches)));
    return set.has(other);
  };
}

function ordered(a: string, b: string): [string, string] {
  return Number(a) <= Number(b) ? [a, b] : [b, a];
}

function compareEdges(a: WeightedEdge, b: WeightedEdge): number {
  return compareByWeightThenIds(a[2], Number(a[0]), Number(a[1]), b[2], Number(b[0]), Number(b[1]));
}

/** GHS's order: by weight, then smaller id, then larger id, ids as numbers (the ids given already as numbers). */
function compareByWeightThenIds(weightA: number, smallerA: number, largerA: number, weightB: number, smallerB: number, largerB: number): number {
  return weightA - weightB || smallerA - smallerB || largerA - largerB;
}

function edgeName(u: string, v: string): string {
  return `${u}-${v}`;
}

function sum(values: number[]): number {
  let total = 0;
  for (const value of values) total += value;
  return total;
}

function formatWeight(weight: number): string {
  return Number.isInteger(weight) ? String(weight) : weight.toFixed(3);
}
