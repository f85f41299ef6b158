/**
 * Push-Sum averaging (Kempe, Dobra & Gehrke, FOCS 2003), in iterations separated by a store barrier as in
 * thesis §5.2 (Algorithm 1 there).
 *
 *   s_i := x_i, w_i := 1
 *   each round: s_i := Σ received ŝ, w_i := Σ received ŵ (its own kept half included)
 *               send (s_i/2, w_i/2) to a uniformly random neighbour and to itself
 *               s_i / w_i is the estimate of the average
 *   converged: the estimate moved by less than 1e-9 three times in a row
 *   30 iterations, each from a new random seed node; a converging node deletes the barrier key, which
 *   releases every node from the iteration (§5.2); nodes join an iteration when its first pair reaches them
 *
 * Pacing: synchronous rounds of `roundMs` node time (node.sleep). Pairs that arrive late are added in the
 * next round, so the mass is conserved whatever the delays. See lib/push-sum.ts for the barrier and the
 * convergence details. The values x_i are the node's degree, a seeded random number in [0, 1000), or its
 * numeric id; each node reports x_i with its estimates so the oracle knows the true mean.
 */
import { defineAlgorithm, z } from 'peerlab';
import { isPushSumPayload, newPushSumState, onPushSumPair, runPushSum } from './lib/push-sum.js';

export default defineAlgorithm({
  name: 'push-sum',
  description: 'Gossip averaging: repeated push-sum iterations from random seed nodes, separated by a store barrier.',
  params: z.object({
    iterations: z.number().int().positive().default(30).describe('push-sum iterations, each from a new random seed node'),
    values: z.enum(['degree', 'random', 'id']).default('degree').describe("x_i: the node's degree, a seeded random number in [0, 1000), or its id"),
    roundMs: z.number().positive().default(10).describe('length of a gossip round, node time'),
    tolerance: z.number().positive().default(1e-9).describe('largest change of the estimate that counts as stable (absolute)'),
    stableRounds: z.number().int().positive().default(3).describe('stable changes in a row that make a node converged'),
    maxRounds: z.number().int().positive().default(2000).describe('rounds after which a node gives up on an iteration'),
    release: z
      .enum(['first', 'all'])
      .default('first')
      .describe("'first': the first converged node deletes the barrier key (thesis); 'all': the iteration ends when every node has converged"),
  }),
  state: () => ({ pushSum: newPushSumState() }),

  onMessage(node, { payload }) {
    if (isPushSumPayload(payload)) onPushSumPair(node.state.pushSum, payload);
  },

  async run(node) {
    const { values, ...options } = node.params;
    const x = values === 'degree' ? node.neighbours.length : values === 'random' ? node.random.next() * 1000 : Number(node.id);
    const iterations = await runPushSum(node, node.state.pushSum, [x], { ...options, tag: 'push-sum' });

    const converged = iterations.filter((it) => it.converged && it.estimate !== null).map((it) => it.estimate![0]!);
    const estimate = converged.length > 0 ? converged.reduce((a, b) => a + b, 0) / converged.length : null;
    const sent = iterations.reduce((total, it) => total + it.sent, 0);
    node.metric('converged', converged.length);
    node.metric('sent', sent);
    if (estimate !== null) node.metric('estimate', estimate);
    node.result({ x, estimate, iterations });
  },
});
