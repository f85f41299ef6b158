/**
 * Random walks as traffic (thesis §5.1; Noh & Rieger, "Random walks on complex networks", PRL 2004).
 *
 *   every node i launches W walkers
 *   a walker at node i rests hopDelayMs, then hops to neighbour j with probability P_ij = A_ij / K_i
 *   node i counts each arriving walker (a visit) and each walk message sent or received per adjacent edge
 *   a walker stops after H hops, or at the first node whose clock has passed durationMs
 *
 * The share of visits at node i tends to V_i = K_i / 2N (K_i its degree, N the number of edges): the
 * stationary distribution of the walk. On a bipartite graph the walk is periodic and its position never
 * settles, but time averages (visit counts) still converge, and they are what the oracle measures.
 * Each node reports its visits, its traffic (sent + received), its per-edge counts and the lengths of the
 * walks it launched, so the oracle knows exactly how many hops were taken from where.
 */
import { defineAlgorithm, z } from 'peerlab';
import { finishWalks, isWalkPayload, launchWalkers, newWalkState, onWalker, type WalkPlan } from './lib/random-walk.js';

const params = z
  .object({
    walkers: z.number().int().nonnegative().default(10).describe('walkers launched by every node'),
    hops: z.number().int().nonnegative().default(200).describe('hops per walker; 0 = no hop limit (set durationMs)'),
    durationMs: z.number().nonnegative().default(0).describe('walkers stop once node time reaches this; 0 = no time limit'),
    hopDelayMs: z.number().nonnegative().default(1).describe('rest at each node before the next hop (node time)'),
  })
  .refine((p) => p.hops > 0 || p.durationMs > 0, { message: 'set hops or durationMs, or walks never end' });

const planOf = (p: z.output<typeof params>): WalkPlan => ({ ...p, tag: 'random-walk' });

export default defineAlgorithm({
  name: 'random-walk',
  description: 'Every node launches walkers that hop to uniformly random neighbours; nodes count visits and per-edge traffic.',
  params,
  state: ({ neighbours }) => ({ walk: newWalkState(neighbours) }),

  init(node) {
    launchWalkers(node, node.state.walk, planOf(node.params));
  },

  onMessage(node, { from, payload }) {
    if (isWalkPayload(payload)) onWalker(node, node.state.walk, planOf(node.params), from, payload);
  },

  async run(node) {
    const report = await finishWalks(node, node.state.walk, planOf(node.params));
    node.metric('visits', report.visits);
    node.metric('traffic', report.traffic);
    node.metric('hops', report.walkLengths.reduce((a, b) => a + b, 0));
    node.result({ ...report });
  },
});
