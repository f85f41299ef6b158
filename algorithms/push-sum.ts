/**
 * Push-Sum averaging (Kempe, Dobra & Gehrke, "Gossip-based computation of aggregate information", FOCS 2003):
 * every node ends with the mean of the values x_i, to a stated relative tolerance.
 *
 * variant 'kempe' (default), in synchronous rounds of `roundMs` node time:
 *
 *   s_i := x_i, w_i := 1                                   (every node takes part from round 0)
 *   each round:
 *     s_i += Σ received ŝ,  w_i += Σ received ŵ          (pairs that arrived since the last round)
 *     P := the pushes that arrived since the last round
 *     split (s_i, w_i) into |P| + 2 equal shares: keep one, push one to a neighbour chosen uniformly at random,
 *       and answer each push in P with one (one message per pusher, with a share per push it made)
 *     (no push to a neighbour that has `window` pushes of this node unanswered: then |P| + 1 shares)
 *   after `rounds` rounds, and once every node has done as many (a barrier; meanwhile it keeps gossiping):
 *   s_i / w_i, with the pairs of the last round added, is the estimate of the mean
 *
 * Sums and weights only move between nodes, never appear or vanish (mass conservation), so Σ s / Σ w is the
 * mean at every instant and each s_i / w_i converges to it. Kempe et al. push to a uniformly random node of
 * a complete network; on an overlay a node can push only to a neighbour, and a hub pushes to one of hundreds,
 * so a low-degree node beside hubs would wait hundreds of rounds for mass from the rest of the network.
 * Answering every push (push–pull, as Karp et al. do for rumours) gets each node a share from a neighbour
 * about every round: on Barabási–Albert graphs every node is within 1e-4 of the mean after ~120 rounds at 10⁴
 * and 10⁵ nodes. A node sends one push per round plus one answer per neighbour that pushed: two messages per node
 * per round on average.
 *
 * The window is flow control, which Kempe's synchronous rounds never need: a hub answers every push, so its round
 * costs as many messages as it has neighbours, and on a host whose cores are shared it falls behind its leaves.
 * Measured on Docker, BA(100, 2) on two busy cores: without a window the leaves kept pushing every 10 ms into
 * the hub (degree 21) faster than it could read; over 93 % of all mass sat in queues, the hub did 6 rounds in 45 s,
 * its registration lease ran out, and the run ended with every node 1.7e-3 off the mean. With it a node never
 * sends a neighbour more than that neighbour answers, and a dead neighbour gets `window` pushes, not a lease's
 * worth. In the simulator an answer is back within two rounds, so the window changes nothing there unless link
 * delays exceed it. `rounds` defaults to what the graph needs (graphDefaults below, computed in the CLI,
 * which knows the graph): ln(n/ε) / gap, where gap is the spectral gap of the lazy random walk on the graph,
 * the time gossip averaging takes on a general graph (Boyd, Ghosh, Prabhakar & Shah, "Randomized gossip
 * algorithms", 2006), and at least Kempe's 6·(log₂ n + log₂ 1/ε) (see defaultRounds). Sparse real maps mix
 * slowly: GtsCe (149 nodes, long chains) needs thousands of rounds where a BA graph needs ~150.
 * The oracle checks every node's estimate against the true mean, within `tolerance`.
 *
 * variant 'thesis' reproduces thesis §5.2 (Algorithm 1 there), which the high-risk-edge experiment uses:
 * repeated iterations, each from a random seed node, separated by a store barrier, with the early release
 * (`release: first`: the first node whose estimate is stable ends the iteration for all). Two neighbours
 * passing pairs back and forth share one ratio, so that rule ends iterations long before the gossip has mixed:
 * its estimates are tens of percent off the mean. Its verdict is "reproduced", with the error, never PASS;
 * `release: all` (every node converged before the iteration ends) is checked against the mean. See
 * lib/push-sum.ts.
 *
 * The values x_i are the node's degree, a seeded random number in [0, 1000), or its numeric id; each node
 * reports x_i with its estimate, so the oracle knows the true mean.
 */
import { defineAlgorithm, z, type GraphDefaults, type Node } from 'peerlab';
import { lazyWalkGap } from './lib/walk-gap.js';
import { isPushSumPayload, newPushSumState, onPushSumPair, runPushSum, type PushSumState } from './lib/push-sum.js';

/** Parameters of one variant only: given with the other, they would validate and do nothing. */
const THESIS_ONLY = ['iterations', 'release', 'stability', 'stableRounds', 'maxRounds'] as const;
const KEMPE_ONLY = ['rounds', 'window'] as const;
const DEFAULT_WINDOW = 4;

const params = z
  .object({
    variant: z
      .enum(['kempe', 'thesis'])
      .default('kempe')
      .describe("'kempe': push-sum rounds until every node knows the mean; 'thesis': the thesis's iterations with early release (reproduced, inexact)"),
    values: z.enum(['degree', 'random', 'id']).default('degree').describe("x_i: the node's degree, a seeded random number in [0, 1000), or its id"),
    roundMs: z.number().positive().default(10).describe('length of a gossip round, node time'),
    window: z
      .number()
      .int()
      .positive()
      .optional()
      .describe(`kempe: pushes to one neighbour that may await their answer; no more go to it until one is answered (flow control, default ${DEFAULT_WINDOW})`),
    tolerance: z.number().positive().lt(1).default(1e-4).describe('kempe: largest relative error of any node\'s estimate (the oracle checks it; sets the default rounds)'),
    rounds: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("kempe: gossip rounds (default from the graph: ln(n/tolerance) / the lazy walk's spectral gap, at least 6·(log₂ n + log₂ 1/tolerance))"),
    iterations: z.number().int().positive().optional().describe('thesis: push-sum iterations, each from a new random seed node (default 30)'),
    release: z
      .enum(['first', 'all'])
      .optional()
      .describe("thesis: 'first' converged node ends the iteration (the thesis's rule, default), or when 'all' have converged"),
    stability: z.number().positive().optional().describe('thesis: largest change of the estimate that counts as stable, absolute (default 1e-9)'),
    stableRounds: z.number().int().positive().optional().describe('thesis: stable changes in a row that make a node converged (default 3)'),
    maxRounds: z.number().int().positive().optional().describe('thesis: rounds after which a node gives up on an iteration (default 2000)'),
  })
  .superRefine((p, ctx) => {
    const misplaced = (p.variant === 'kempe' ? THESIS_ONLY : KEMPE_ONLY).filter((name) => p[name] !== undefined);
    for (const name of misplaced) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is a parameter of variant=${p.variant === 'kempe' ? 'thesis' : 'kempe'}, not of variant=${p.variant}` });
  });

/** A share of (s, w): a push (answers 0), or the answer to that many of the receiver's pushes. */
type PushSumPair = { type: 'kempe'; s: number; w: number; answers: number };
type State = {
  /** kempe: pairs received since the last round, and how many pushes came from each pusher. */
  received: { s: number; w: number; pushes: Record<string, number> };
  /** kempe: this node's pushes not yet answered, by neighbour. */
  unanswered: Record<string, number>;
  /** thesis: see lib/push-sum.ts. */
  thesis: PushSumState;
};

/** Kempe et al.'s bound O(log n + log 1/ε), with the constant measured on Barabási–Albert graphs (see above). */
function defaultRounds(size: number, tolerance: number): number {
  return Math.ceil(6 * (Math.log2(Math.max(size, 2)) + Math.log2(1 / tolerance)));
}

/**
 * The rounds this graph needs: ln(n/ε) / gap, gap that of the lazy random walk (stay with probability ½, else
 * move to a random neighbour; see lib/walk-gap.ts), and never fewer than Kempe's bound. The constant is 1: the
 * push–pull gossip moves about as much mass per round as that walk (a node keeps a third of its pair on
 * average, and a share goes each way along an edge). Measured on the Topology Zoo maps (two seeds each),
 * 0.75·ln(n/ε)/gap rounds leave Geant2012, Bics and Nordu1989 just off the tolerance (1.3e-4 to 4.1e-4 for
 * 1e-4), while 1·ln(n/ε)/gap brings every map within 4e-5: a margin of 2.5 or more. Only variant kempe has
 * `rounds` (the thesis's iterations end by their own rule).
 */
export const graphDefaults: GraphDefaults<z.output<typeof params>> = ({ graph, params: { variant, tolerance } }) => {
  if (variant !== 'kempe') return {};
  const spectral = Math.ceil(Math.log(Math.max(graph.order, 2) / tolerance) / lazyWalkGap(graph));
  return { rounds: Math.max(spectral, defaultRounds(graph.order, tolerance)) };
};

export default defineAlgorithm({
  name: 'push-sum',
  description: 'Gossip averaging (Kempe et al.): push-sum rounds until every node knows the mean; variant=thesis reproduces the thesis.',
  params,
  state: (): State => ({ received: { s: 0, w: 0, pushes: {} }, unanswered: {}, thesis: newPushSumState() }),

  onMessage(node, { from, payload }) {
    if (isPushSumPayload(payload)) return onPushSumPair(node.state.thesis, payload);
    const pair = payload as PushSumPair;
    const received = node.state.received;
    received.s += pair.s;
    received.w += pair.w;
    if (pair.answers === 0) received.pushes[from] = (received.pushes[from] ?? 0) + 1;
    else node.state.unanswered[from] = Math.max(0, (node.state.unanswered[from] ?? 0) - pair.answers);
  },

  // A neighbour back after a restart never answers what its old container was sent. (One that was only thought
  // down, its lease lapsed, answers them late: the count stops at 0.)
  onNeighbourUp(node, neighbour) {
    delete node.state.unanswered[neighbour.id];
  },

  async run(node) {
    const { values, variant } = node.params;
    const x = values === 'degree' ? node.neighbours.length : values === 'random' ? node.random.next() * 1000 : Number(node.id);
    if (variant === 'thesis') return runThesis(node, x);

    // The CLI fills rounds from the graph (graphDefaults); Kempe's bound is for a host that resolves
    // parameters without a graph.
    const rounds = node.params.rounds ?? defaultRounds(node.size, node.params.tolerance);
    const { received, unanswered } = node.state;
    const window = node.params.window ?? DEFAULT_WINDOW;
    const open = (id: string): boolean => (unanswered[id] ?? 0) < window;
    let s = x;
    let w = 1;
    let sent = 0;
    const absorb = (): void => {
      s += received.s;
      w += received.w;
      received.s = 0;
      received.w = 0;
    };
    // After its own `rounds` rounds a node goes on gossiping until every node has done its rounds (a barrier),
    // so a node of a busy host that lags behind still has partners; in the simulator all finish together.
    let everyoneDone = false;
    let round = 0;
    for (; !everyoneDone; round++) {
      if (round === rounds) void node.barrier('push-sum/rounds-done').then(() => void (everyoneDone = true));
      absorb();
      const pushesBy = Object.entries(received.pushes);
      received.pushes = {};
      const target = pushTarget(node, open);
      const shares = pushesBy.reduce((total, [, count]) => total + count, 0) + 1 + (target === undefined ? 0 : 1);
      s /= shares;
      w /= shares;
      for (const [pusher, count] of pushesBy) node.send(pusher, { type: 'kempe', s: s * count, w: w * count, answers: count });
      if (target !== undefined) {
        node.send(target, { type: 'kempe', s, w, answers: 0 });
        unanswered[target] = (unanswered[target] ?? 0) + 1;
      }
      sent += pushesBy.length + (target === undefined ? 0 : 1);
      await node.sleep(node.params.roundMs);
    }
    absorb(); // the pairs of the last round
    node.metric('estimate', s / w);
    node.metric('sent', sent);
    node.result({ x, estimate: s / w, rounds: round, sent });
  },
});

/**
 * A neighbour chosen uniformly at random among those that may be pushed to (`open`), or none. Drawn from all the
 * neighbours first, so that while none is held back the draws are those of a push-sum without a window.
 */
function pushTarget(node: Node<z.output<typeof params>, State>, open: (id: string) => boolean): string | undefined {
  if (node.neighbours.length === 0) return undefined;
  const drawn = node.random.pick(node.neighbours).id;
  if (open(drawn)) return drawn;
  const openNeighbours = node.neighbours.filter(({ id }) => open(id));
  return openNeighbours.length > 0 ? node.random.pick(openNeighbours).id : undefined;
}

/** The thesis's method (§5.2): iterations from random seed nodes, released early by default. */
async function runThesis(node: Node<z.output<typeof params>, State>, x: number): Promise<void> {
  const p = node.params;
  const iterations = await runPushSum(node, node.state.thesis, [x], {
    tag: 'push-sum',
    iterations: p.iterations ?? 30,
    roundMs: p.roundMs,
    tolerance: p.stability ?? 1e-9,
    stableRounds: p.stableRounds ?? 3,
    maxRounds: p.maxRounds ?? 2000,
    release: p.release ?? 'first',
  });
  const converged = iterations.filter((it) => it.converged && it.estimate !== null).map((it) => it.estimate![0]!);
  const estimate = converged.length > 0 ? converged.reduce((a, b) => a + b, 0) / converged.length : null;
  node.metric('converged', converged.length);
  node.metric('sent', iterations.reduce((total, it) => total + it.sent, 0));
  if (estimate !== null) node.metric('estimate', estimate);
  node.result({ x, estimate, iterations });
}
