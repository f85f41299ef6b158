/**
 * Which engine each node of a Swarm run lives on, decided before anything starts (a pure function of the graph).
 *  - spread: balanced round-robin over the engines, in the graph's node order;
 *  - first: every node on the first (seed 000's agents all start on its central server);
 *  - partition: one part per engine, balanced within PARTITION_IMBALANCE, with few edges between parts, since
 *    every such edge is a link that crosses hosts (VXLAN encapsulation, the data-path's latency).
 *
 * Why not a library: graphology-communities-louvain finds communities, not k parts of equal size (Kdl gives
 * dozens of uneven communities), and npm's k-way partitioners are bindings to METIS (native builds) or
 * unmaintained. Greedy growth followed by Kernighan–Lin/Fiduccia–Mattheyses refinement (boundary moves that cut
 * fewer edges, under a balance bound) is the textbook method and fits in this file.
 */
import type { Topology } from '../topology/index.js';
import { pushAll } from '../util/extremes.js';

export const PLACEMENTS = ['spread', 'partition', 'first'] as const;
export type PlacementPolicy = (typeof PLACEMENTS)[number];

/** The first placements other than `placement`: what a refusal of it suggests instead. */
export function otherPlacements(placement: string): string[] {
  return PLACEMENTS.filter((other) => other !== placement);
}

/** A part may exceed its fair share (nodes / engines) by this fraction, so refinement has room to move nodes. */
export const PARTITION_IMBALANCE = 0.05;
const MAX_REFINEMENT_PASSES = 30;

export interface EnginePlacement {
  /** Each node's engine index (0-based, engine-(index+1)). */
  readonly engineOf: ReadonlyMap<string, number>;
  /** Edges whose two ends sit on different engines. */
  readonly crossEngineEdges: number;
}

export function placeNodes(graph: Topology, engines: number, policy: PlacementPolicy): EnginePlacement {
  const engineOf = policy === 'partition' ? partition(graph, engines) : spread(graph.nodes(), policy === 'first' ? 1 : engines);
  return { engineOf, crossEngineEdges: crossEdges(graph, engineOf) };
}

/**
 * The engine for a node that joins a running run, by the same policy, from each engine's live nodes and the
 * engines of its neighbours:
 *  - spread: the engine with fewest live nodes (the lowest on a tie), as dealing out in turn keeps them level;
 *  - first: the first;
 *  - partition: among the engines with room under the balance bound, the one holding most of its neighbours (the
 *    fewest new links across engines), fewest live nodes on a tie.
 */
export function placeJoiner(policy: PlacementPolicy, live: readonly number[], neighbourEngines: readonly number[]): number {
  const engines = live.map((_count, index) => index);
  const fewestLive = (candidates: readonly number[]): number => candidates.reduce((best, engine) => (live[engine]! < live[best]! ? engine : best));
  if (policy === 'first') return 0;
  if (policy === 'spread') return fewestLive(engines);
  const nodes = live.reduce((sum, count) => sum + count, 0) + 1;
  const bound = Math.floor(Math.ceil(nodes / live.length) * (1 + PARTITION_IMBALANCE));
  // Never empty: the least loaded engine holds at most (nodes - 1) / engines, below the fair share.
  const withRoom = engines.filter((engine) => live[engine]! < bound);
  const neighboursOn = (engine: number): number => neighbourEngines.filter((other) => other === engine).length;
  const most = Math.max(...withRoom.map(neighboursOn));
  return fewestLive(withRoom.filter((engine) => neighboursOn(engine) === most));
}

function spread(nodes: readonly string[], engines: number): Map<string, number> {
  return new Map(nodes.map((id, index) => [id, index % engines]));
}

export function crossEdges(graph: Topology, engineOf: ReadonlyMap<string, number>): number {
  let crossing = 0;
  graph.forEachEdge((_edge, _attributes, source, target) => {
    if (engineOf.get(source) !== engineOf.get(target)) crossing += 1;
  });
  return crossing;
}

/** Greedy growth (each part grown breadth-first from an unplaced node to its fair share), then refinement. */
function partition(graph: Topology, engines: number): Map<string, number> {
  const nodes = graph.nodes();
  const fair = Math.ceil(nodes.length / engines);
  const engineOf = new Map<string, number>();
  const sizes = new Array<number>(engines).fill(0);
  let next = 0;
  for (let part = 0; part < engines; part++) {
    const queue: string[] = [];
    while (sizes[part]! < fair && engineOf.size < nodes.length) {
      if (queue.length === 0) {
        while (engineOf.has(nodes[next]!)) next += 1;
        queue.push(nodes[next]!);
      }
      const id = queue.shift()!;
      if (engineOf.has(id)) continue;
      engineOf.set(id, part);
      sizes[part]! += 1;
      // Lowest-degree neighbours first keeps the frontier (the future cut) small.
      const unplaced = graph.neighbors(id).filter((neighbour) => !engineOf.has(neighbour));
      pushAll(queue, unplaced.sort((a, b) => graph.degree(a) - graph.degree(b)));
    }
  }
  refine(graph, engineOf, sizes, Math.floor(fair * (1 + PARTITION_IMBALANCE)));
  return engineOf;
}

/** Moves a node to the part most of its neighbours are in while that cuts edges and the part stays under `cap`. */
function refine(graph: Topology, engineOf: Map<string, number>, sizes: number[], cap: number): void {
  const floor = Math.max(1, Math.ceil(graph.order / sizes.length) - (cap - Math.ceil(graph.order / sizes.length)));
  for (let pass = 0; pass < MAX_REFINEMENT_PASSES; pass++) {
    let moved = 0;
    for (const id of graph.nodes()) {
      const from = engineOf.get(id)!;
      if (sizes[from]! <= floor) continue;
      const linksTo = new Array<number>(sizes.length).fill(0);
      for (const neighbour of graph.neighbors(id)) linksTo[engineOf.get(neighbour)!]! += 1;
      let best = from;
      for (let part = 0; part < sizes.length; part++) {
        if (part !== from && sizes[part]! < cap && linksTo[part]! > linksTo[best]!) best = part;
      }
      if (best === from) continue;
      engineOf.set(id, best);
      sizes[from]! -= 1;
      sizes[best]! += 1;
      moved += 1;
    }
    if (moved === 0) return;
  }
}
