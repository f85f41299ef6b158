/**
 * Detecting high-risk links in a peer-to-peer network (thesis §5, "Detecting High Risk Links"): a link is
 * high-risk when it joins two high-traffic nodes, and every node decides from its own traffic and gossip.
 *
 *   1. traffic (§5.1): random walks (lib/random-walk.ts); x_i := walk messages sent + received at node i,
 *      snapshotted once every walk has stopped
 *   2. aggregation (§5.2): push-sum iterations from random seed nodes (lib/push-sum.ts), averaging x_i and
 *      x_i² on the same messages; each iteration in which a pair reached node i gives it one sample
 *      (its estimates of E[x] and E[x²] when the iteration ended)
 *   3. threshold (§5.3): T = μ + kσ (k = 2 in the thesis), computed twice
 *        'thesis': μ, σ = mean and standard deviation (n − 1) of the node's samples of E[x]: the thesis's
 *                  "each estimation as a sample"; σ measures how much the push-sum estimates scatter
 *        'spread': μ = mean of the samples of E[x], σ² = (mean of the samples of E[x²]) − μ²: the spread
 *                  of the traffic across the nodes, which is what "much higher than most nodes" means
 *   4. labelling: node i is high-traffic when x_i > T; it tells each neighbour its labels (both modes)
 *   5. high-risk edges: the adjacent edges whose other end is high-traffic too, when node i itself is
 *   A node with no sample (no pair ever reached it) labels itself low, as §5.3 allows for low-traffic nodes.
 *
 * Each node reports its traffic account (the oracle's ground truth), its samples, both thresholds and
 * labellings and their high-risk edges; `label`/`highRiskEdges` repeat the `thresholdMode` ones. Detection
 * time (Fig. 28) is node time from the traffic snapshot to knowing the high-risk edges: virtual ms in the
 * simulator, wall ms in containers.
 */
import { defineAlgorithm, z } from 'peerlab';
import { isPushSumPayload, newPushSumState, onPushSumPair, runPushSum, type PushSumIteration } from './lib/push-sum.js';
import { finishWalks, isWalkPayload, launchWalkers, newWalkState, onWalker, type WalkPlan } from './lib/random-walk.js';

const params = z
  .object({
    walkers: z.number().int().nonnegative().default(10).describe('random-walk walkers launched by every node'),
    hops: z.number().int().nonnegative().default(200).describe('hops per walker; 0 = no hop limit (set durationMs)'),
    durationMs: z.number().nonnegative().default(0).describe('walkers stop once node time reaches this; 0 = no time limit'),
    hopDelayMs: z.number().nonnegative().default(1).describe('rest at each node before the next hop (node time)'),
    iterations: z.number().int().positive().default(30).describe('push-sum iterations (samples)'),
    roundMs: z.number().positive().default(10).describe('push-sum round, node time'),
    tolerance: z.number().positive().default(1e-9).describe('push-sum: largest change of the estimate that counts as stable'),
    stableRounds: z.number().int().positive().default(3).describe('push-sum: stable changes in a row to converge'),
    maxRounds: z.number().int().positive().default(2000).describe('push-sum: rounds after which a node gives up on an iteration'),
    release: z
      .enum(['first', 'all'])
      .default('first')
      .describe("push-sum: 'first' converged node ends the iteration (thesis), or when 'all' have converged"),
    k: z.number().nonnegative().default(2).describe('threshold T = μ + kσ'),
    thresholdMode: z.enum(['thesis', 'spread']).default('thesis').describe('which labelling `label` and `highRiskEdges` report'),
  })
  .refine((p) => p.hops > 0 || p.durationMs > 0, { message: 'set hops or durationMs, or walks never end' });

type Params = z.output<typeof params>;
type Mode = 'thesis' | 'spread';
type Labels = { thesis: boolean; spread: boolean };
type Decision = { mean: number; sd: number; threshold: number; high: boolean; highRiskEdges: string[] };

const walkPlan = (p: Params): WalkPlan => ({ ...p, tag: 'high-risk-edges/walk' });

function isLabels(payload: unknown): payload is { type: 'labels' } & Labels {
  return typeof payload === 'object' && payload !== null && (payload as { type?: unknown }).type === 'labels';
}

/** T = μ + kσ over one node's samples, in either mode; null without samples. */
function threshold(samples: ReadonlyArray<readonly number[]>, k: number, mode: Mode): { mean: number; sd: number; threshold: number } | null {
  if (samples.length === 0) return null;
  const mean = samples.reduce((sum, s) => sum + s[0]!, 0) / samples.length;
  let sd: number;
  if (mode === 'thesis') {
    const squares = samples.reduce((sum, s) => sum + (s[0]! - mean) ** 2, 0);
    sd = samples.length > 1 ? Math.sqrt(squares / (samples.length - 1)) : 0;
  } else {
    const meanOfSquares = samples.reduce((sum, s) => sum + s[1]!, 0) / samples.length;
    sd = Math.sqrt(Math.max(0, meanOfSquares - mean * mean));
  }
  return { mean, sd, threshold: mean + k * sd };
}

export default defineAlgorithm({
  name: 'high-risk-edges',
  description: 'Random-walk traffic, push-sum statistics, T = μ + kσ: nodes above T are high-traffic, edges between two are high-risk.',
  params,
  state: ({ neighbours }) => ({
    walk: newWalkState(neighbours),
    pushSum: newPushSumState(),
    labels: new Map<string, Labels>(),
    allLabelsIn: undefined as (() => void) | undefined,
  }),

  init(node) {
    launchWalkers(node, node.state.walk, walkPlan(node.params));
  },

  onMessage(node, { from, payload }) {
    const { state } = node;
    if (isWalkPayload(payload)) onWalker(node, state.walk, walkPlan(node.params), from, payload);
    else if (isPushSumPayload(payload)) onPushSumPair(state.pushSum, payload);
    else if (isLabels(payload)) {
      state.labels.set(from, { thesis: payload.thesis, spread: payload.spread });
      if (state.labels.size === node.neighbours.length) state.allLabelsIn?.();
    }
  },

  async run(node) {
    const p = node.params;
    // 1. Traffic, then its snapshot.
    const account = await finishWalks(node, node.state.walk, walkPlan(p));
    const x = account.traffic;
    const snapshotAt = node.now();

    // 2. Push-sum on (x, x²).
    const iterations: PushSumIteration[] = await runPushSum(node, node.state.pushSum, [x, x * x], { ...p, tag: 'high-risk-edges/push-sum' });
    const samples = iterations.flatMap((it) => (it.estimate ? [it.estimate] : []));

    // 3–4. Thresholds and labels, told to every neighbour.
    const stats = { thesis: threshold(samples, p.k, 'thesis'), spread: threshold(samples, p.k, 'spread') };
    const mine: Labels = { thesis: stats.thesis !== null && x > stats.thesis.threshold, spread: stats.spread !== null && x > stats.spread.threshold };
    for (const { id } of node.neighbours) node.send(id, { type: 'labels', ...mine });
    if (node.state.labels.size < node.neighbours.length) {
      await new Promise<void>((resolve) => (node.state.allLabelsIn = resolve));
    }

    // 5. High-risk edges: both ends high-traffic.
    const decide = (mode: Mode): Decision => ({
      mean: stats[mode]?.mean ?? 0,
      sd: stats[mode]?.sd ?? 0,
      threshold: stats[mode]?.threshold ?? 0,
      high: mine[mode],
      highRiskEdges: mine[mode] ? node.neighbours.filter(({ id }) => node.state.labels.get(id)![mode]).map(({ id }) => id) : [],
    });
    const thesis = decide('thesis');
    const spread = decide('spread');
    const chosen = p.thresholdMode === 'thesis' ? thesis : spread;
    const detectedAtMs = node.now();

    node.metric('traffic', x);
    node.metric('samples', samples.length);
    node.metric('high', chosen.high ? 1 : 0);
    node.metric('highRiskEdges', chosen.highRiskEdges.length);
    node.metric('detectionMs', detectedAtMs - snapshotAt);
    node.result({
      ...account,
      samples: samples.length,
      thesis,
      spread,
      label: chosen.high,
      highRiskEdges: chosen.highRiskEdges,
      detectionMs: detectedAtMs - snapshotAt,
      detectedAtMs,
      iterations,
    });
  },
});
