/**
 * Random-walk traffic (thesis §5.1, after Noh & Rieger's random-walk centrality): every node launches walkers;
 * a walker waits `hopDelayMs` at a node, then moves to a neighbour chosen uniformly at random, P_ij = A_ij / K_i.
 * Each node counts the walkers that arrive (visits) and the walk messages sent and received on each adjacent
 * edge (traffic). Time averages of the visits tend to V_i = K_i / 2N (N = number of edges).
 *
 * The thesis lets walkers hop forever; here a walker stops after `hops` hops or once the clock of the node it
 * reaches passes `durationMs`, so the counts settle. Termination detection uses the shared store: the node
 * where a walker stops writes `<tag>/end/<origin>/<index>` = hops made; each origin waits for the keys of
 * its own walkers, then all nodes meet at a barrier, after which no walker is in flight and the counts are final.
 *
 * Shared by algorithms/random-walk.ts and algorithms/high-risk-edges.ts; all state lives in a `WalkState`
 * held in the node's own state.
 */
import type { Json, Node } from 'peerlab';

export interface WalkPlan {
  /** Walkers launched by every node. */
  readonly walkers: number;
  /** Hops per walker; 0 = no hop limit (then `durationMs` must be set). */
  readonly hops: number;
  /** Walkers stop at the first node whose clock has reached this; 0 = no time limit. */
  readonly durationMs: number;
  /** How long a walker rests at a node before hopping on. */
  readonly hopDelayMs: number;
  /** Prefix of the store keys and barrier names, so several walk phases cannot meet. */
  readonly tag: string;
}

/** A type alias, not an interface, so it counts as Json. */
export type EdgeTraffic = {
  sent: number;
  received: number;
};

export interface WalkState {
  visits: number;
  /** Walk messages per adjacent edge, by neighbour id. */
  readonly edges: Record<string, EdgeTraffic>;
}

/** The walk messages' payload: `hops` counts the hop that delivered it. */
export interface WalkPayload {
  readonly type: 'walk';
  readonly origin: string;
  readonly index: number;
  readonly hops: number;
}

export type WalkReport = {
  /** Walkers that arrived here (one per hop ending here). */
  readonly visits: number;
  /** Walk messages sent plus received here: the thesis's per-node traffic x_i. */
  readonly traffic: number;
  readonly edges: Record<string, EdgeTraffic>;
  /** Hops made by each walker this node launched, by index. */
  readonly walkLengths: number[];
};

type WalkNode = Pick<Node<unknown, unknown, Json>, 'id' | 'neighbours' | 'random' | 'send' | 'setTimer' | 'now' | 'store' | 'barrier'>;

export function newWalkState(neighbours: Node['neighbours']): WalkState {
  const edges: Record<string, EdgeTraffic> = {};
  for (const { id } of neighbours) edges[id] = { sent: 0, received: 0 };
  return { visits: 0, edges };
}

export function isWalkPayload(payload: Json): payload is Json & WalkPayload {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) && payload.type === 'walk';
}

/** Every node: start `walkers` walkers here, each hopping after the first rest. */
export function launchWalkers(node: WalkNode, walk: WalkState, plan: WalkPlan): void {
  for (let index = 0; index < plan.walkers; index++) {
    rest(node, walk, plan, { type: 'walk', origin: node.id, index, hops: 0 });
  }
}

/** On receiving a walker: count the visit and the edge, then let it rest and hop on, or stop it here. */
export function onWalker(node: WalkNode, walk: WalkState, plan: WalkPlan, from: string, walker: WalkPayload): void {
  walk.visits += 1;
  edgeTo(walk, from).received += 1;
  rest(node, walk, plan, walker);
}

function rest(node: WalkNode, walk: WalkState, plan: WalkPlan, walker: WalkPayload): void {
  if (stops(node, plan, walker)) {
    void node.store.put(endKey(plan, walker.origin, walker.index), String(walker.hops));
    return;
  }
  node.setTimer(plan.hopDelayMs, () => {
    const next = node.random.pick(node.neighbours).id;
    edgeTo(walk, next).sent += 1;
    node.send(next, { ...walker, hops: walker.hops + 1 });
  });
}

/**
 * The counts of the edge to `neighbour`. node.neighbours is live: a node that joins mid-run (churn) is a neighbour
 * the walk state, made at init, did not have, and a walker may hop to it or arrive from it; its edge counts from then.
 */
function edgeTo(walk: WalkState, neighbour: string): EdgeTraffic {
  return (walk.edges[neighbour] ??= { sent: 0, received: 0 });
}

function stops(node: WalkNode, plan: WalkPlan, walker: WalkPayload): boolean {
  return (
    node.neighbours.length === 0 ||
    (plan.hops > 0 && walker.hops >= plan.hops) ||
    (plan.durationMs > 0 && node.now() >= plan.durationMs)
  );
}

function endKey(plan: WalkPlan, origin: string, index: number): string {
  return `${plan.tag}/end/${origin}/${index}`;
}

/**
 * Waits until this node's walkers have stopped, then until every node's have: afterwards no walker is in
 * flight anywhere and the counts are final. Returns this node's account.
 */
export async function finishWalks(node: WalkNode, walk: WalkState, plan: WalkPlan): Promise<WalkReport> {
  const walkLengths: number[] = [];
  for (let index = 0; index < plan.walkers; index++) {
    walkLengths.push(Number(await node.store.waitFor(endKey(plan, node.id, index))));
  }
  await node.barrier(`${plan.tag}/walks-ended`);
  for (let index = 0; index < plan.walkers; index++) await node.store.delete(endKey(plan, node.id, index));
  return { visits: walk.visits, traffic: trafficOf(walk), edges: walk.edges, walkLengths };
}

export function trafficOf(walk: WalkState): number {
  let total = 0;
  for (const { sent, received } of Object.values(walk.edges)) total += sent + received;
  return total;
}
