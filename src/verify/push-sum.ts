import { z } from 'zod';
import type { Topology } from '../topology/index.js';
import { survivingGraph, type FaultsSeen } from './faults.js';
import { MAX_LISTED_FAILURES, parseResults, type Oracle } from './types.js';
import { maxOf, pushAll } from '../util/extremes.js';

export const pushSumIteration = z.object({
  seed: z.string().nullable(),
  estimate: z.array(z.number()).nullable(),
  converged: z.boolean(),
  convergedRound: z.number().int().nonnegative().nullable(),
  rounds: z.number().int().nonnegative(),
  sent: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
});
export type PushSumIterationResult = z.infer<typeof pushSumIteration>;

const thesisResult = z.object({
  x: z.number(),
  estimate: z.number().nullable(),
  iterations: z.array(pushSumIteration),
});

const kempeResult = z.object({
  x: z.number(),
  estimate: z.number(),
  rounds: z.number().int().nonnegative(),
  sent: z.number().int().nonnegative(),
});

/** With release 'all' every node must end every iteration this close to the true mean (relative). */
export const ALL_RELEASE_MAX_REL_ERROR = 1e-6;
/** Slack for floating-point sums in the convex-hull check. */
const HULL_SLACK = 1e-9;

/**
 * Push-sum (algorithms/push-sum.ts). The truth is the mean of the values the nodes report (x_i; checked
 * against the graph for values=degree and values=id). variant 'kempe' (default): PASS only when every node's
 * estimate is within `tolerance` (relative) of the true mean. variant 'thesis': see verifyThesisPushSum.
 *
 * Under faults the truth is the mean of the survivors' values, and only survivors owe a result. That is what
 * push-sum conserves when the removed nodes left before they exchanged mass (kill at 0s); a node removed
 * mid-run takes its share of the mass with it, and the error that leaves is what this oracle then measures
 * (and fails when above the tolerance): neither variant claims to survive it.
 *
 * A node that joins mid-run (churn's join=, variant kempe) brings its value and weight 1, (x_j, 1), into the
 * gossip, and mass is conserved as before: with joins alone every estimate converges to the mean of all the
 * members' values, joiners included, which is what this oracle owes them and checks (a joiner's degree is the
 * number of edges it joined with; a member's, its degree at the start). With removals as well the truth is the
 * survivors' mean, as above. The thesis variant is not judged under joins (verify/index.ts says why).
 */
export const verifyPushSum: Oracle = (input) => (input.params.variant === 'thesis' ? verifyThesisPushSum(input) : verifyKempePushSum(input));

const verifyKempePushSum: Oracle = ({ graph, results, params, faults }) => {
  const { reported, failures } = parseResults(faults ? survivingGraph(graph, faults) : graph, results, kempeResult, '{x, estimate, rounds, sent}');
  checkValues(graph, reported, String(params.values ?? 'degree'), failures, faults);
  const tolerance = typeof params.tolerance === 'number' ? params.tolerance : 1e-4;
  const trueMean = meanOf([...reported.values()].map((r) => r.x));
  const relError = (estimate: number) => Math.abs(estimate - trueMean) / Math.max(Math.abs(trueMean), 1e-300);
  let maxRelError = 0;
  let worst = '';
  let sumRelError = 0;
  const outside: string[] = [];
  for (const [id, r] of reported) {
    const error = relError(r.estimate);
    sumRelError += error;
    if (error > maxRelError) [maxRelError, worst] = [error, id];
    if (!(error <= tolerance)) outside.push(`node ${id}: estimate ${r.estimate}, ${error.toExponential(2)} from the mean ${trueMean} (tolerance ${tolerance})`);
  }
  pushAll(failures, outside);
  const rounds = maxOf([...reported.values()].map((r) => r.rounds), 0);
  const sent = [...reported.values()].reduce((total, r) => total + r.sent, 0);
  const passed = failures.length === 0;
  const n = Math.max(reported.size, 1);
  const joined = faults?.joinedNodes?.length ?? 0;
  const joins = joined > 0 ? ` (${joined} joined mid-run, each bringing its value with weight 1)` : '';
  // Mass pushed to a removed node (until its lease ran out), or in a message a downed link dropped, is lost: more
  // rounds cannot bring it back.
  const removed = faults?.removedNodes.length ?? 0;
  const dropped = faults?.droppedMessages ?? 0;
  const losses = [
    ...(removed > 0 ? [`the mass pushed to the ${removed} removed node(s) was lost with them`] : []),
    ...(dropped > 0 ? [`the mass in ${dropped} message(s) dropped by link faults was lost`] : []),
  ];
  const lossHint = losses.length > 0 ? `${losses.join('; ')}, which more rounds do not restore` : 'raise rounds';
  return {
    passed,
    summary: passed
      ? `push-sum: all ${reported.size} nodes${joins} within ${tolerance} of the mean ${trueMean.toPrecision(6)} (max rel. error ${maxRelError.toExponential(2)}, node ${worst}) after ${rounds} rounds`
      : outside.length > 0
        ? `push-sum failed: ${outside.length} of ${reported.size} nodes are more than ${tolerance} from the mean ${trueMean.toPrecision(6)} after ${rounds} rounds (max rel. error ${maxRelError.toExponential(2)}, node ${worst}); ${lossHint}`
        : `push-sum failed: ${failures[0]}`,
    expected: { mean: trueMean, tolerance },
    actual: { estimates: Object.fromEntries([...reported].map(([id, r]) => [id, r.estimate])) },
    metrics: {
      trueMean,
      maxRelError,
      meanRelError: sumRelError / n,
      outsideTolerance: outside.length,
      rounds,
      messagesPerNodePerRound: sent / n / Math.max(rounds, 1),
      ...(faults ? { removedNodes: faults.removedNodes.length } : {}),
      ...(joined > 0 && { joinedNodes: joined }),
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

/** Each node's x is what `values` says; a degree is the node's when it took x (see degreeAtEntry). */
function checkValues(graph: Topology, reported: ReadonlyMap<string, { x: number }>, values: string, failures: string[], faults?: FaultsSeen): void {
  const degree = degreeAtEntry(graph, faults?.joinedNodes ?? []);
  for (const [id, r] of reported) {
    if (values === 'degree' && graph.hasNode(id) && r.x !== degree(id)) failures.push(`node ${id}: x = ${r.x}, not its degree ${degree(id)}`);
    if (values === 'id' && r.x !== Number(id)) failures.push(`node ${id}: x = ${r.x}, not its id`);
  }
}

/**
 * A node's degree when it started, in the graph grown by joins (`joined` in the order they joined): a member's,
 * its edges to the other members; a joiner's, its edges to the nodes there before it (those it attached to).
 */
function degreeAtEntry(graph: Topology, joined: readonly string[]): (id: string) => number {
  if (joined.length === 0) return (id) => graph.degree(id);
  const entry = new Map(joined.map((id, index) => [id, index + 1]));
  const entryOf = (id: string): number => entry.get(id) ?? 0;
  return (id) => graph.filterNeighbors(id, (other) => entryOf(other) < entryOf(id) || entryOf(other) + entryOf(id) === 0).length;
}

function meanOf(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
}

/**
 * The thesis's push-sum (variant 'thesis'). What it guarantees depends on the release rule:
 *
 * - Every estimate s/w, at any time, is a convex combination of the x_i of the nodes that have joined (sums
 *   and weights only ever move between nodes, halved), so it lies in [min x, max x]: checked for all.
 * - All nodes agree on each iteration's seed node (the barrier key's value); pairs are only received after
 *   they are sent (Σ received ≤ Σ sent per iteration); each node's `estimate` is the mean of its converged
 *   estimates; every iteration ends with at least one converged node (else it ran out of maxRounds).
 * - release 'all' (every node converged before the iteration ends): every node's estimate must be within
 *   1e-6 relative of the true mean. The stability rule is local, so this is an empirical requirement, not
 *   a theorem; measured errors are ~1e-10 at the default tolerance 1e-9.
 * - release 'first' (thesis): the first node whose estimate is stable three times ends the iteration. Two
 *   neighbours passing pairs back and forth share one ratio, so a node can be "stable" long before the gossip
 *   has mixed the whole network (the seed dependence of §5.3): per-iteration errors of tens of percent are
 *   the method, not a fault, and are reported, not judged: when the invariants hold, the verdict is
 *   "reproduced", with the error, never PASS. The thesis's system average (the mean over iterations of each
 *   iteration's mean converged estimate) is reported with its relative error.
 *
 * Metrics: maxRelError over converged (node, iteration) estimates; participation = converged (node,
 * iteration) pairs / (n × iterations); reached = pairs where some gossip reached the node; the push-sum
 * messages per node per iteration (thesis Fig. 27); rounds per iteration.
 */
const verifyThesisPushSum: Oracle = ({ graph, results, params, faults }) => {
  const { reported, failures } = parseResults(faults ? survivingGraph(graph, faults) : graph, results, thesisResult, '{x, estimate, iterations}');
  checkValues(graph, reported, String(params.values ?? 'degree'), failures);
  const trueMean = meanOf([...reported.values()].map((r) => r.x));
  const iterationCount = typeof params.iterations === 'number' ? params.iterations : [...reported.values()].reduce((max, r) => Math.max(max, r.iterations.length), 0);
  const release = params.release === 'all' ? 'all' : 'first';

  const stats = judgeIterations(graph, reported, (r) => r.iterations, (r) => [r.x], iterationCount, failures);

  for (const [id, r] of reported) {
    const converged = r.iterations.filter((it) => it.converged && it.estimate).map((it) => it.estimate![0]!);
    const mean = converged.length > 0 ? converged.reduce((a, b) => a + b, 0) / converged.length : null;
    if ((mean === null) !== (r.estimate === null) || (mean !== null && Math.abs(mean - r.estimate!) > 1e-9 * Math.max(1, Math.abs(mean)))) {
      failures.push(`node ${id}: estimate ${r.estimate} is not the mean of its converged estimates (${mean})`);
    }
  }

  const relError = (estimate: number) => Math.abs(estimate - trueMean) / Math.max(Math.abs(trueMean), 1e-300);
  let maxRelError = 0;
  let worst = '';
  for (const [id, r] of reported) {
    r.iterations.forEach((it, k) => {
      if (!it.converged || !it.estimate) return;
      const error = relError(it.estimate[0]!);
      if (error > maxRelError) [maxRelError, worst] = [error, `node ${id}, iteration ${k}`];
    });
  }
  const perIteration: number[] = [];
  for (let k = 0; k < iterationCount; k++) {
    const converged = [...reported.values()].flatMap((r) => (r.iterations[k]?.converged && r.iterations[k]!.estimate ? [r.iterations[k]!.estimate![0]!] : []));
    if (converged.length > 0) perIteration.push(converged.reduce((a, b) => a + b, 0) / converged.length);
  }
  const systemAverage = perIteration.length > 0 ? perIteration.reduce((a, b) => a + b, 0) / perIteration.length : NaN;

  if (release === 'all') {
    for (let k = 0; k < iterationCount; k++) {
      const open = [...reported.values()].filter((r) => r.iterations[k] && !r.iterations[k]!.converged).length;
      if (open > 0) failures.push(`iteration ${k}: ${open} of ${reported.size} nodes had not converged after maxRounds (release 'all')`);
    }
    for (const [id, r] of reported) {
      r.iterations.forEach((it, k) => {
        if (!it.converged) failures.push(`node ${id}: did not converge in iteration ${k} (release 'all')`);
        else if (it.estimate && relError(it.estimate[0]!) > ALL_RELEASE_MAX_REL_ERROR) {
          failures.push(`node ${id}: iteration ${k} ended at ${it.estimate[0]}, ${relError(it.estimate[0]!).toExponential(2)} from the mean ${trueMean}`);
        }
      });
    }
  }

  const passed = failures.length === 0;
  const reproduced = release === 'first';
  const metrics: Record<string, number> = {
    trueMean,
    maxRelError,
    participation: stats.participation,
    reached: stats.reached,
    messagesPerNodePerIteration: stats.messagesPerNodePerIteration,
    roundsPerIteration: stats.roundsPerIteration,
    iterations: iterationCount,
    ...(faults ? { removedNodes: faults.removedNodes.length } : {}),
  };
  if (Number.isFinite(systemAverage)) {
    metrics.systemAverage = systemAverage;
    metrics.systemAverageRelError = relError(systemAverage);
  }
  return {
    passed,
    reproduced,
    summary: passed
      ? `${reproduced ? "reproduced the thesis's push-sum (early release), inexact by design" : 'push-sum (thesis, release all)'}: mean ${trueMean.toPrecision(6)}, system average ${systemAverage.toPrecision(6)} (${(relError(systemAverage) * 100).toFixed(1)} % off); max rel. error ${maxRelError.toExponential(2)}${worst ? ` (${worst})` : ''}, participation ${(stats.participation * 100).toFixed(1)}%, ${stats.messagesPerNodePerIteration.toFixed(1)} messages/node/iteration`
      : `push-sum failed: ${failures[0]}`,
    expected: { mean: trueMean },
    actual: { systemAverage: Number.isFinite(systemAverage) ? systemAverage : null, estimates: Object.fromEntries([...reported].map(([id, r]) => [id, r.estimate])) },
    metrics,
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

export interface IterationStats {
  participation: number;
  reached: number;
  messagesPerNodePerIteration: number;
  roundsPerIteration: number;
}

/**
 * Checks shared with the high-risk-edges oracle: seeds agree and name nodes, each iteration has a converged
 * node, pairs received ≤ pairs sent, every estimate within the convex hull of the values (per component).
 */
export function judgeIterations<R>(
  graph: Topology,
  reported: ReadonlyMap<string, R>,
  iterationsOf: (r: R) => readonly PushSumIterationResult[],
  valuesOf: (r: R) => readonly number[],
  iterationCount: number,
  failures: string[],
): IterationStats {
  const n = Math.max(reported.size, 1);
  const vectors = [...reported.values()].map(valuesOf);
  const dims = vectors[0]?.length ?? 0;
  const low = Array.from({ length: dims }, (_, d) => vectors.reduce((min, v) => Math.min(min, v[d]!), Infinity));
  const high = Array.from({ length: dims }, (_, d) => vectors.reduce((max, v) => Math.max(max, v[d]!), -Infinity));
  let converged = 0;
  let reached = 0;
  let sent = 0;
  let rounds = 0;
  for (let k = 0; k < iterationCount; k++) {
    const seeds = new Set<string>();
    let convergedHere = 0;
    let sentHere = 0;
    let receivedHere = 0;
    let roundsHere = 0;
    for (const [id, r] of reported) {
      const it = iterationsOf(r)[k];
      if (!it) {
        failures.push(`node ${id}: no account of iteration ${k}`);
        continue;
      }
      if (it.seed !== null) seeds.add(it.seed);
      if (it.converged) convergedHere += 1;
      if (it.estimate) reached += 1;
      sentHere += it.sent;
      receivedHere += it.received;
      roundsHere = Math.max(roundsHere, it.rounds);
      it.estimate?.forEach((value, d) => {
        const slack = HULL_SLACK * Math.max(1, Math.abs(low[d]!), Math.abs(high[d]!));
        if (d < dims && (value < low[d]! - slack || value > high[d]! + slack)) {
          failures.push(`node ${id}: iteration ${k} estimate ${value} is outside [${low[d]}, ${high[d]}], so mass was created or lost`);
        }
      });
    }
    if (seeds.size > 1) failures.push(`iteration ${k}: nodes disagree on the seed node (${[...seeds].join(', ')})`);
    for (const seed of seeds) if (!graph.hasNode(seed)) failures.push(`iteration ${k}: seed ${seed} is not a node`);
    if (convergedHere === 0) failures.push(`iteration ${k}: no node converged (it ran out of maxRounds)`);
    if (receivedHere > sentHere) failures.push(`iteration ${k}: ${receivedHere} pairs received but only ${sentHere} sent`);
    converged += convergedHere;
    sent += sentHere;
    rounds += roundsHere;
  }
  const cells = n * Math.max(iterationCount, 1);
  return {
    participation: converged / cells,
    reached: reached / cells,
    messagesPerNodePerIteration: sent / cells,
    roundsPerIteration: rounds / Math.max(iterationCount, 1),
  };
}
