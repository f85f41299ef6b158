/**
 * Selectors resolved against the run's graph. Every choice is deterministic: rankings break ties by the smaller
 * node id, and random choices draw from the run's seed, the fault's number and the occurrence, so the same run
 * hits the same nodes in Docker and in the simulator.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { betweenness as betweennessCentrality } from 'graphology-metrics/centrality/index.js';
import type { Topology } from '../topology/index.js';
import { createRandom } from '../util/random.js';
import { faultError, type EdgeSelector, type FaultSpec, type NodeSelector, type Selector } from './spec.js';
import { maxOf, pushAll } from '../util/extremes.js';
import { readCsv } from '../util/files.js';
import { compareNodeIds } from '../util/node-ids.js';

export interface SelectorContext {
  readonly graph: Topology;
  readonly seed: number | string;
  /** A run with groups: each role's nodes (for `role:NAME`). */
  readonly roles?: ReadonlyMap<string, readonly string[]>;
  /** Nodes already gone (killed or stopped by an earlier event), which a random choice skips. */
  readonly gone?: ReadonlySet<string>;
  /** Which occurrence of a repeated fault this is (0 for the first): each draws anew. */
  readonly occurrence?: number;
}

/**
 * What a selector picks: nodes; the leader of an election, named only (the runtime resolves it when the event
 * fires); or undirected edges, each as [from, to] so that `oneway` takes down from → to only.
 */
export type Target =
  | { readonly kind: 'nodes'; readonly nodes: readonly string[] }
  | { readonly kind: 'leader'; readonly election: string }
  | { readonly kind: 'edges'; readonly edges: ReadonlyArray<readonly [string, string]> };

type Fault = Pick<FaultSpec, 'index' | 'name' | 'text'>;

export function resolveTarget(fault: Fault, selector: Selector, context: SelectorContext): Target {
  if (selector.kind === 'leader') return { kind: 'leader', election: selector.election };
  if (isEdgeSelector(selector)) return { kind: 'edges', edges: resolveEdges(fault, selector, context) };
  return { kind: 'nodes', nodes: resolveNodes(fault, selector, context) };
}

function isEdgeSelector(selector: Selector): selector is EdgeSelector {
  return ['mincut', 'bridges', 'random-edges', 'heavier-than', 'edges', 'high-risk'].includes(selector.kind);
}

export function resolveNodes(fault: Fault, selector: Exclude<NodeSelector, { kind: 'leader' }>, context: SelectorContext): string[] {
  const { graph } = context;
  const fail = (why: string, hint?: string): never => {
    throw faultError(fault, why, hint);
  };
  const enough = (count: number, of: number, what: string): void => {
    if (count > of) fail(`${selector.kind}:${count} asks for ${count} node${count === 1 ? '' : 's'}, but the graph has ${of}${what}`, `ask for at most ${of}`);
  };
  switch (selector.kind) {
    case 'top-degree':
      enough(selector.count, graph.order, '');
      return topBy(graph.nodes(), (id) => graph.degree(id), selector.count);
    case 'top-betweenness': {
      enough(selector.count, graph.order, '');
      const scores = betweennessCentrality(graph);
      return topBy(graph.nodes(), (id) => scores[id] ?? 0, selector.count);
    }
    case 'random':
    case 'random-share': {
      const alive = graph.nodes().filter((id) => !context.gone?.has(id)).sort(compareNodeIds);
      const count = selector.kind === 'random' ? selector.count : Math.round((selector.percent / 100) * alive.length);
      if (selector.kind === 'random' && context.gone?.size && count > alive.length) {
        fail(`random:${count} asks for ${count} node${count === 1 ? '' : 's'}, but only ${alive.length} are still up after the earlier occurrences`, 'lengthen every=, or end the repetition sooner with until=');
      }
      if (selector.kind === 'random') enough(count, alive.length, '');
      else if (count === 0) fail(`random:${selector.percent}% of ${alive.length} nodes is none`, 'raise the share, or use random:1');
      return createRandom(context.seed, 'fault', fault.index, context.occurrence ?? 0).shuffle(alive).slice(0, count);
    }
    case 'ids': {
      const missing = selector.ids.filter((id) => !graph.hasNode(id));
      if (missing.length > 0) fail(`no node ${missing.join(', ')} in the graph`, `nodes are ${describeIds(graph)}`);
      return [...selector.ids];
    }
    case 'region': {
      const placed = graph.filterNodes((_id, attributes) => attributes.latitude !== undefined && attributes.longitude !== undefined);
      if (placed.length === 0) fail('region needs node coordinates, and this graph has none', 'use a map with Latitude/Longitude (e.g. topologies/zoo/*.graphml), or select by ids: or top-degree:');
      const [south, north] = [Math.min(selector.lat1, selector.lat2), Math.max(selector.lat1, selector.lat2)];
      const [west, east] = [Math.min(selector.lon1, selector.lon2), Math.max(selector.lon1, selector.lon2)];
      const inside = placed.filter((id) => {
        const { latitude, longitude } = graph.getNodeAttributes(id);
        return latitude! >= south && latitude! <= north && longitude! >= west && longitude! <= east;
      });
      if (inside.length === 0) fail(`no node lies in the region ${selector.lat1},${selector.lon1},${selector.lat2},${selector.lon2}`, 'widen the box (LAT1,LON1,LAT2,LON2 in degrees)');
      return inside.sort(compareNodeIds);
    }
    case 'role': {
      const roles = context.roles;
      if (!roles || roles.size === 0) return fail(`role:${selector.role} needs a run with groups`, 'define groups: in an experiment file, or select nodes another way');
      const nodes = roles.get(selector.role);
      if (!nodes) return fail(`no role ${selector.role}`, `the roles are ${[...roles.keys()].join(', ')}`);
      return [...nodes];
    }
  }
}

/** The `count` ids with the highest score; equal scores go to the smaller id, so the choice is reproducible. */
function topBy(ids: readonly string[], score: (id: string) => number, count: number): string[] {
  return [...ids].sort((a, b) => score(b) - score(a) || compareNodeIds(a, b)).slice(0, count);
}

function describeIds(graph: Topology): string {
  const ids = graph.nodes().sort(compareNodeIds);
  return ids.length <= 6 ? ids.join(', ') : `${ids[0]} … ${ids[ids.length - 1]}`;
}

export function resolveEdges(fault: Fault, selector: EdgeSelector, context: SelectorContext): Array<[string, string]> {
  const { graph } = context;
  const fail = (why: string, hint?: string): never => {
    throw faultError(fault, why, hint);
  };
  const all = sortedEdges(graph);
  let edges: Array<[string, string]>;
  switch (selector.kind) {
    case 'edges': {
      const missing = selector.pairs.filter(([u, v]) => !graph.hasNode(u) || !graph.hasNode(v) || !graph.hasEdge(u, v));
      if (missing.length > 0) fail(`no edge ${missing.map(([u, v]) => `${u}-${v}`).join(', ')} in the graph`, 'name edges of the topology (see edges.csv of a run, or `peerlab topology show`)');
      return selector.pairs.map(([u, v]) => [u, v]);
    }
    case 'heavier-than':
      edges = all.filter(([u, v]) => graph.getEdgeAttribute(u, v, 'weight') > selector.weight);
      if (edges.length === 0) fail(`no edge weighs more than ${selector.weight}`, `the heaviest weighs ${maxOf(all.map(([u, v]) => graph.getEdgeAttribute(u, v, 'weight')))}`);
      return edges;
    case 'random-edges': {
      const count = Math.round((selector.percent / 100) * all.length);
      if (count === 0) fail(`random-edges:${selector.percent}% of ${all.length} edges is none`, 'raise the share');
      return createRandom(context.seed, 'fault', fault.index, context.occurrence ?? 0).shuffle(all).slice(0, count);
    }
    case 'bridges':
      edges = bridges(graph);
      if (edges.length === 0) fail('the graph has no bridges (every edge lies on a cycle)', 'cut edges another way, e.g. mincut:2');
      return edges;
    case 'mincut': {
      if (selector.parts > graph.order) fail(`mincut:${selector.parts} asks for ${selector.parts} parts, but the graph has ${graph.order} nodes`, `ask for at most ${graph.order}`);
      return edgesBetween(graph, minCutPartition(graph, selector.parts));
    }
    case 'high-risk':
      return highRiskEdges(fault, selector.folder, graph);
  }
}

/** Every edge once, as [smaller id, larger id], in id order. */
function sortedEdges(graph: Topology): Array<[string, string]> {
  return graph
    .mapEdges((_edge, _attributes, source, target): [string, string] => (compareNodeIds(source, target) <= 0 ? [source, target] : [target, source]))
    .sort((a, b) => compareNodeIds(a[0], b[0]) || compareNodeIds(a[1], b[1]));
}

/**
 * The edges whose ends lie in different parts, each as [from, to] with `from` in the earlier part: parts are
 * ordered as given (for a node selector: the selected nodes first), so `oneway` cuts the earlier → later way.
 */
export function edgesBetween(graph: Topology, parts: ReadonlyArray<readonly string[]>): Array<[string, string]> {
  const partOf = new Map<string, number>();
  parts.forEach((part, index) => part.forEach((id) => partOf.set(id, index)));
  const rest = parts.length;
  const edges: Array<[string, string]> = [];
  for (const [u, v] of sortedEdges(graph)) {
    const [a, b] = [partOf.get(u) ?? rest, partOf.get(v) ?? rest];
    if (a !== b) edges.push(a < b ? [u, v] : [v, u]);
  }
  return edges;
}

/**
 * Bridges by Tarjan's low-link, iteratively (a recursive walk overflows the stack on long paths). graphology has
 * no bridge finder (graphology-components gives components only), so it is written here.
 */
export function bridges(graph: Topology): Array<[string, string]> {
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const found: Array<[string, string]> = [];
  let counter = 0;
  for (const start of graph.nodes().sort(compareNodeIds)) {
    if (order.has(start)) continue;
    order.set(start, counter);
    low.set(start, counter++);
    // Each frame: the node, the edge it was reached by (so its reverse is not a back edge), its neighbours to visit.
    const stack: Array<{ node: string; viaEdge: string | null; next: Array<[string, string]> }> = [
      { node: start, viaEdge: null, next: graph.mapEdges(start, (edge, _a, source, target) => [edge, source === start ? target : source]) },
    ];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const step = frame.next.pop();
      if (step) {
        const [edge, neighbour] = step;
        if (edge === frame.viaEdge) continue;
        if (order.has(neighbour)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, order.get(neighbour)!));
        } else {
          order.set(neighbour, counter);
          low.set(neighbour, counter++);
          stack.push({ node: neighbour, viaEdge: edge, next: graph.mapEdges(neighbour, (e, _a, source, target) => [e, source === neighbour ? target : source]) });
        }
        continue;
      }
      stack.pop();
      const parent = stack[stack.length - 1];
      if (!parent) continue;
      low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node)! > order.get(parent.node)!) found.push(compareNodeIds(parent.node, frame.node) <= 0 ? [parent.node, frame.node] : [frame.node, parent.node]);
    }
  }
  return found.sort((a, b) => compareNodeIds(a[0], b[0]) || compareNodeIds(a[1], b[1]));
}

/**
 * The graph split into `parts` parts by minimum edge cuts, each edge counting 1 (the cut is the number of links
 * that go down; edge weights are the algorithms' costs, not capacities). Two parts: the global minimum cut, by
 * Stoer–Wagner. More: repeatedly the part whose own minimum cut is smallest is split (greedy, so not the
 * optimal K-way cut, which is NP-hard for K given). Parts are returned ordered by their smallest id.
 *
 * Written here because npm has no maintained min-cut or graph-partitioning package for graphology (checked:
 * no stoer-wagner, no metis binding that builds offline).
 *
 * Note: a minimum cut often isolates one low-degree node (a leaf of a map, a degree-m node of BA): that is the
 * cheapest split, and the literal meaning of "minimum edge cut".
 */
export function minCutPartition(graph: Topology, parts: number): string[][] {
  const result: Array<{ nodes: string[]; cut: { weight: number; side: string[] } | null }> = [{ nodes: graph.nodes().sort(compareNodeIds), cut: null }];
  while (result.length < parts) {
    for (const part of result) if (part.nodes.length > 1 && part.cut === null) part.cut = stoerWagner(graph, part.nodes);
    const splittable = result.filter((part) => part.cut !== null);
    const cheapest = splittable.reduce((best, part) => (part.cut!.weight < best.cut!.weight ? part : best));
    const side = new Set(cheapest.cut!.side);
    result.splice(result.indexOf(cheapest), 1, { nodes: cheapest.nodes.filter((id) => side.has(id)), cut: null }, { nodes: cheapest.nodes.filter((id) => !side.has(id)), cut: null });
  }
  return result.map((part) => part.nodes).sort((a, b) => compareNodeIds(a[0]!, b[0]!));
}

/**
 * Stoer–Wagner global minimum cut of the subgraph on `nodes` (≥ 2): its weight and one side. Each phase orders
 * the vertices by maximum adjacency with a lazy binary heap over sparse adjacency maps: O(V·E·log V) overall,
 * about 1 s on a 1,000-node BA graph, where the adjacency-matrix form took ~6 s.
 */
export function stoerWagner(graph: Topology, nodes: readonly string[]): { weight: number; side: string[] } {
  const n = nodes.length;
  const index = new Map(nodes.map((id, i) => [id, i]));
  const adjacency = nodes.map(() => new Map<number, number>());
  graph.forEachEdge((_edge, _attributes, source, target) => {
    const [a, b] = [index.get(source), index.get(target)];
    if (a === undefined || b === undefined) return;
    adjacency[a]!.set(b, (adjacency[a]!.get(b) ?? 0) + 1);
    adjacency[b]!.set(a, (adjacency[b]!.get(a) ?? 0) + 1);
  });
  const members: number[][] = nodes.map((_id, i) => [i]);
  let active = nodes.map((_id, i) => i);
  let best = { weight: Infinity, side: [] as number[] };
  const key = new Float64Array(n);
  const added = new Uint8Array(n);
  while (active.length > 1) {
    const heap = new MaxHeap();
    for (const v of active) {
      key[v] = 0;
      added[v] = 0;
      heap.push(0, v);
    }
    let previous = -1;
    let last = -1;
    for (let step = 0; step < active.length; step++) {
      let chosen = heap.pop();
      while (added[chosen[1]] || chosen[0] !== key[chosen[1]]) chosen = heap.pop();
      const v = chosen[1];
      added[v] = 1;
      previous = last;
      last = v;
      for (const [u, weight] of adjacency[v]!) {
        if (added[u]) continue;
        key[u]! += weight;
        heap.push(key[u]!, u);
      }
    }
    // The cut of the phase separates the last-added vertex (with everything merged into it) from the rest.
    if (key[last]! < best.weight) best = { weight: key[last]!, side: [...members[last]!] };
    pushAll(members[previous]!, members[last]!);
    for (const [u, weight] of adjacency[last]!) {
      adjacency[u]!.delete(last);
      if (u === previous) continue;
      const merged = (adjacency[previous]!.get(u) ?? 0) + weight;
      adjacency[previous]!.set(u, merged);
      adjacency[u]!.set(previous, merged);
    }
    adjacency[previous]!.delete(last);
    adjacency[last]!.clear();
    active = active.filter((v) => v !== last);
  }
  return { weight: best.weight, side: best.side.map((i) => nodes[i]!).sort(compareNodeIds) };
}

/** A binary max-heap of [key, vertex], equal keys to the smaller vertex, so every phase orders alike. */
class MaxHeap {
  private readonly items: Array<[number, number]> = [];

  push(key: number, vertex: number): void {
    const items = this.items;
    items.push([key, vertex]);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.above(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): [number, number] {
    const items = this.items;
    const top = items[0]!;
    const end = items.pop()!;
    if (items.length > 0) {
      items[0] = end;
      for (let i = 0; ; ) {
        const [left, right] = [2 * i + 1, 2 * i + 2];
        let largest = i;
        if (left < items.length && this.above(items[left]!, items[largest]!)) largest = left;
        if (right < items.length && this.above(items[right]!, items[largest]!)) largest = right;
        if (largest === i) break;
        [items[i], items[largest]] = [items[largest]!, items[i]!];
        i = largest;
      }
    }
    return top;
  }

  private above(a: [number, number], b: [number, number]): boolean {
    return a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
  }
}

/**
 * The high-risk edges a previous run of `high-risk-edges` reported: each node's result lists the neighbours it
 * shares a high-risk edge with (results/<run>/nodes.csv, or .csv.gz, column `result`). The edges must exist in
 * this run's graph: cutting them is meant for the same topology and seed.
 */
export function highRiskEdges(fault: Fault, folder: string, graph: Topology): Array<[string, string]> {
  const fail = (why: string, hint?: string): never => {
    throw faultError(fault, why, hint);
  };
  const run = readRunJson(folder);
  if (run === undefined) fail(`${folder} is not a run's results folder (no run.json)`, 'name the results folder of a high-risk-edges run, e.g. high-risk:results/high-risk-edges-…');
  if (run!.algorithm?.name !== 'high-risk-edges') fail(`${folder} is a run of ${run!.algorithm?.name ?? 'groups'}, not of high-risk-edges`, 'name the results folder of a high-risk-edges run');
  const rows = readCsv(path.join(folder, 'nodes.csv'));
  if (!rows) return fail(`${folder} has no nodes.csv`, 'the run did not finish writing its results: run high-risk-edges again');
  const edges = new Map<string, [string, string]>();
  for (const row of rows) {
    if (!row.result) continue;
    const listed = (JSON.parse(row.result) as { highRiskEdges?: unknown }).highRiskEdges;
    if (!Array.isArray(listed)) continue;
    for (const other of listed.map(String)) {
      const id = row.id!;
      if (!graph.hasNode(id) || !graph.hasNode(other) || !graph.hasEdge(id, other)) {
        fail(`${folder} flags edge ${id}-${other}, which this graph does not have`, `run on the topology and seed of that run (${run!.topology?.spec ?? 'see its run.json'})`);
      }
      const pair: [string, string] = compareNodeIds(id, other) <= 0 ? [id, other] : [other, id];
      edges.set(pair.join('-'), pair);
    }
  }
  if (edges.size === 0) fail(`${folder} flagged no high-risk edge`, 'nothing to cut: choose another run, or another selector');
  return [...edges.values()].sort((a, b) => compareNodeIds(a[0], b[0]) || compareNodeIds(a[1], b[1]));
}

function readRunJson(folder: string): { algorithm?: { name: string }; topology?: { spec: string } } | undefined {
  const file = path.join(folder, 'run.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { algorithm?: { name: string }; topology?: { spec: string } }) : undefined;
}
