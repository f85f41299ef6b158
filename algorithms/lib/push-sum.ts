/**
 * Push-Sum (Kempe, Dobra & Gehrke, "Gossip-based computation of aggregate information", FOCS 2003), run as
 * in thesis §5.2–5.3: repeated iterations, each started from one random seed node and separated by a
 * barrier key in the shared store.
 *
 * One iteration, at node i holding the values x_i (a vector: several averages ride on the same messages):
 *
 *   joining: the first node to arrive creates the barrier key <tag>/<k>, its value a random seed node;
 *            all nodes meet at a store barrier, then read the seed from the key and watch the key
 *   the seed node starts with s = x_i, w = 1; every other node joins the gossip when the first pair reaches
 *   it, with s = x_i + Σ ŝ, w = 1 + Σ ŵ (§5.3: a node takes part once it has received a pair)
 *   every round (roundMs of node time), an active node
 *     adds the pairs received since the last round:  s += Σ ŝ,  w += Σ ŵ
 *     estimate := s / w; if the first value's estimate moved by less than `tolerance`, count it, else reset
 *     when counted `stableRounds` times in a row (thesis: 1e-9, three times) it has converged
 *     keeps (s/2, w/2) and sends (s/2, w/2) to a neighbour chosen uniformly at random
 *   release (thesis): a node that converges deletes the barrier key, and every node watching the key leaves
 *            the iteration; pairs still in flight are dropped (they carry the iteration number)
 *   release 'all' (variant): a node that converges arrives at a barrier and keeps gossiping until every node
 *            has converged, so every node ends with a converged estimate
 *   a node that reaches maxRounds gives up: it deletes the key ('first') or arrives at the barrier ('all')
 *
 * Only rounds in which a pair arrived count toward convergence: a node that hears nothing keeps half of s and
 * half of w, so its estimate does not move, and counting that as stability would let idle nodes (the seed
 * itself, in its first rounds) "converge" on their own value.
 *
 * Why the barrier needs a store barrier too: the store has no compare-and-swap, so "create the key if it is
 * absent" is a get then a put, and two nodes arriving together may both put. Waiting for all nodes
 * (node.barrier) after the put makes the last write final, so every node reads the same seed; and no node can
 * converge (and delete the key) before every node has joined. A node so slow that the key is already gone
 * when it reads it has missed the iteration and records no estimate. With etcd, a transaction on the key's
 * create revision would replace the get-put and the extra barrier.
 *
 * Tolerance is absolute, as in the thesis: for values above ~1e6 double precision cannot resolve 1e-9, so
 * scale such values down or raise the tolerance.
 */
import type { Json, Node } from 'peerlab';

export interface PushSumOptions {
  /** Prefix of the barrier keys and barrier names. */
  readonly tag: string;
  readonly iterations: number;
  readonly roundMs: number;
  readonly tolerance: number;
  readonly stableRounds: number;
  readonly maxRounds: number;
  readonly release: 'first' | 'all';
}

export interface PushSumPayload {
  readonly type: 'push-sum';
  readonly iteration: number;
  readonly s: number[];
  readonly w: number;
}

/** One node's push-sum variables across iterations; keep it in the node's state. */
export interface PushSumState {
  /** The iteration this node is in: pairs of earlier iterations are dropped, later ones kept. */
  iteration: number;
  /** Pairs received and not yet added, per iteration. */
  readonly inbox: Map<number, { s: number[]; w: number; pairs: number }>;
}

/** One node's account of one iteration. */
export type PushSumIteration = {
  /** The iteration's seed node; null if the iteration was over before this node could read it. */
  seed: string | null;
  /** s/w per aggregated value when the node left the iteration; null if no pair ever reached it. */
  estimate: number[] | null;
  converged: boolean;
  /** The round at which the estimate had been stable `stableRounds` times. */
  convergedRound: number | null;
  rounds: number;
  /** Push-sum messages sent and received in this iteration. */
  sent: number;
  received: number;
};

type PushSumNode = Pick<Node<unknown, unknown, Json>, 'id' | 'size' | 'neighbours' | 'random' | 'send' | 'sleep' | 'store' | 'barrier'>;

export function newPushSumState(): PushSumState {
  return { iteration: 0, inbox: new Map() };
}

export function isPushSumPayload(payload: Json): payload is Json & PushSumPayload {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload) && payload.type === 'push-sum';
}

/** On receiving a pair: keep it for the round loop of its iteration (drop it if that iteration is over). */
export function onPushSumPair(state: PushSumState, pair: PushSumPayload): void {
  if (pair.iteration < state.iteration) return;
  const held = state.inbox.get(pair.iteration);
  if (!held) {
    state.inbox.set(pair.iteration, { s: [...pair.s], w: pair.w, pairs: 1 });
    return;
  }
  for (let v = 0; v < held.s.length; v++) held.s[v]! += pair.s[v]!;
  held.w += pair.w;
  held.pairs += 1;
}

/** Runs all iterations on `values` (the same at every iteration: the caller's snapshot). */
export async function runPushSum(
  node: PushSumNode,
  state: PushSumState,
  values: readonly number[],
  options: PushSumOptions,
): Promise<PushSumIteration[]> {
  const iterations: PushSumIteration[] = [];
  for (let k = 0; k < options.iterations; k++) iterations.push(await runIteration(node, state, values, options, k));
  return iterations;
}

async function runIteration(
  node: PushSumNode,
  state: PushSumState,
  x: readonly number[],
  options: PushSumOptions,
  k: number,
): Promise<PushSumIteration> {
  const { store } = node;
  const key = `${options.tag}/${k}`;
  state.iteration = k;
  for (const old of state.inbox.keys()) if (old < k) state.inbox.delete(old);

  // Joining: the first to arrive creates the barrier key, naming a random seed node (peerlab numbers nodes 0..n-1).
  if ((await store.get(key)) === undefined) await store.put(key, String(node.random.int(node.size)));
  await node.barrier(`${key}/joined`);
  const seed = (await store.get(key)) ?? null;
  if (seed === null) return { seed, estimate: null, converged: false, convergedRound: null, rounds: 0, sent: 0, received: 0 };

  let released = false;
  const releasedByKey = options.release === 'first' ? store.waitForDelete(key).then(() => void (released = true)) : undefined;
  let releasedByBarrier: Promise<void> | undefined;
  const leave = async (): Promise<void> => {
    if (options.release === 'first') {
      await store.delete(key);
    } else if (!releasedByBarrier) {
      releasedByBarrier = node.barrier(`${key}/converged`).then(() => void (released = true));
    }
  };

  let active = node.id === seed;
  let s = active ? [...x] : x.map(() => 0);
  let w = active ? 1 : 0;
  let estimate: number[] | null = active ? [...x] : null;
  let stable = 0;
  let converged = false;
  let convergedRound: number | null = null;
  let sent = 0;
  let received = 0;
  let round = 0;
  if (active && node.neighbours.length === 0) {
    converged = true;
    convergedRound = 0;
    await leave();
  }

  while (!released && round < options.maxRounds) {
    const pairs = state.inbox.get(k);
    state.inbox.delete(k);
    if (pairs) {
      if (!active) {
        active = true;
        s = [...x];
        w = 1;
      }
      for (let v = 0; v < s.length; v++) s[v]! += pairs.s[v]!;
      w += pairs.w;
      received += pairs.pairs;
      const next = s.map((value) => value / w);
      stable = estimate !== null && Math.abs(next[0]! - estimate[0]!) < options.tolerance ? stable + 1 : 0;
      estimate = next;
      if (!converged && stable >= options.stableRounds) {
        converged = true;
        convergedRound = round;
        await leave();
      }
    }
    if (active && node.neighbours.length > 0) {
      s = s.map((value) => value / 2);
      w /= 2;
      node.send(node.random.pick(node.neighbours).id, { type: 'push-sum', iteration: k, s, w });
      sent += 1;
    }
    round += 1;
    await node.sleep(options.roundMs);
  }
  if (!released) {
    await leave(); // maxRounds: give up, and release the others ('first') or stop waiting for ourselves ('all')
    await (releasedByKey ?? releasedByBarrier);
  }
  if (options.release === 'all') await store.delete(key);
  return { seed, estimate, converged, convergedRound, rounds: round, sent, received };
}
