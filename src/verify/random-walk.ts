import { z } from 'zod';
import type { Topology } from '../topology/index.js';
import { MAX_LISTED_FAILURES, parseResults, type Oracle } from './types.js';
import { pushAll } from '../util/extremes.js';

const edgeTraffic = z.object({ sent: z.number().int().nonnegative(), received: z.number().int().nonnegative() });
export const walkResult = z.object({
  visits: z.number().int().nonnegative(),
  traffic: z.number().int().nonnegative(),
  edges: z.record(z.string(), edgeTraffic),
  walkLengths: z.array(z.number().int().nonnegative()),
});
export type WalkResult = z.infer<typeof walkResult>;

/** Fluctuation allowance: the bound is bias + SAFETY × (an upper bound on the expected fluctuation). */
export const TV_SAFETY = 2;
/** Multiply-adds the exact moments may take (a few seconds); beyond it the oracle falls back (see below). */
const EXACT_BUDGET = 4e9;

/**
 * Random walks: the share of visits at node i should approach the stationary distribution
 * π_i = K_i / 2|E| (thesis §5.1: V_i = K_i / 2N, N the number of edges). Measured over the whole run, i.e.
 * as time averages, which converge on bipartite graphs too, where the walk is periodic.
 *
 * Statistic: the total variation distance TV = ½ Σ_i |p̂_i − π_i|, p̂_i = V_i / H (V_i visits at i, H = all
 * hops). Also reported: Pearson's χ² = Σ (V_i − Hπ_i)² / Hπ_i with n − 1 degrees of freedom; it treats the
 * visits as independent draws, which walk steps are not (consecutive visits are correlated), so on a slowly
 * mixing graph it runs far above its degrees of freedom even for a correct walk. It is informational only.
 *
 * Bound. Walks are independent given their origins and lengths, which every node reports. By the triangle
 * inequality TV(p̂, π) ≤ TV(E p̂, π) + TV(p̂, E p̂), and computed exactly from the graph:
 *   bias  = ½ Σ_i |E V_i / H − π_i|: the burn-in allowance, since walks start at their origins and not from
 *           π. E V_i = Σ_walks Σ_{t=1..L} P^t(u, i) for a walk of L hops from u (P_uv = 1/K_u).
 *   fluct = ½ Σ_i sd(V_i) / H ≥ E[TV(p̂, E p̂)] (Jensen: E|X| ≤ sd X), with Var V_i summed over the walks,
 *           Var N_i = E N_i² − (E N_i)², E N_i² = Σ_{s=1..L} P^s(u, i) (1 + 2 Σ_{d=1..L−s} P^d(i, i)).
 *           This accounts for the correlation of consecutive steps exactly, slow mixing included.
 *   pass when TV ≤ bias + 2 × fluct. For near-Gaussian deviations E|X| ≈ 0.8 sd, and TV is a sum of many
 *   such terms whose own spread is a small fraction of its mean, so the factor 2 leaves many standard
 *   deviations of margin, while a walk that is not uniform over neighbours drifts by far more once H is large.
 * For comparison `tvMultinomial` = ½ Σ_i sqrt(2 π_i (1 − π_i) / (π H)) is the expected TV of H independent
 * draws from π (the brief's yardstick); `fluct / tvMultinomial` shows how much the step correlation costs.
 *
 * Fallback for graphs and walks too large for the exact moments (n² × hops beyond a few 10⁹ operations):
 * bias from propagating the start distribution alone (walks grouped by length), fluctuation from the
 * multinomial figure times √(2 / gap) with the spectral gap estimated by power iteration on the lazy walk,
 * marked `exactMoments: 0`. This is an approximation, not a bound.
 *
 * Consistency checks: every node reported; the per-edge counts cover the node's neighbours; visits equal
 * the walk messages received; per edge, messages sent one way equal those received at the other end (the
 * nodes report after every walk has stopped); the visits add up to the hops of all walks; each node launched
 * `walkers` walks of at most `hops` hops.
 */
export const verifyRandomWalk: Oracle = ({ graph, results, params }) => {
  const { reported, failures } = parseResults(graph, results, walkResult, '{visits, traffic, edges, walkLengths}');
  const walkers = typeof params.walkers === 'number' ? params.walkers : undefined;
  const hops = typeof params.hops === 'number' ? params.hops : 0;
  pushAll(failures, checkWalkAccounts(graph, reported, walkers, hops));

  const nodes = graph.nodes();
  const totalEdges = graph.size;
  const H = [...reported.values()].reduce((sum, r) => sum + r.visits, 0);
  const pi = nodes.map((id) => graph.degree(id) / (2 * totalEdges));
  const share = nodes.map((id) => (H > 0 ? (reported.get(id)?.visits ?? 0) / H : 0));
  const tv = 0.5 * share.reduce((sum, p, i) => sum + Math.abs(p - pi[i]!), 0);
  const chiSquare = nodes.reduce((sum, id, i) => sum + ((reported.get(id)?.visits ?? 0) - H * pi[i]!) ** 2 / (H * pi[i]!), 0);
  const tvMultinomial = 0.5 * pi.reduce((sum, p) => sum + Math.sqrt((2 * p * (1 - p)) / (Math.PI * Math.max(H, 1))), 0);

  const walks: Walk[] = [];
  for (const [id, r] of reported) for (const length of r.walkLengths) walks.push({ origin: id, length });
  const moments = walkMoments(graph, walks);
  const bias = 0.5 * nodes.reduce((sum, _id, i) => sum + Math.abs(moments.expected[i]! / Math.max(H, 1) - pi[i]!), 0);
  const fluct = moments.exact
    ? (0.5 * moments.variance.reduce((sum, v) => sum + Math.sqrt(Math.max(v, 0)), 0)) / Math.max(H, 1)
    : tvMultinomial * Math.sqrt(2 / Math.max(moments.gap, 1e-9));
  const tvBound = bias + TV_SAFETY * fluct;
  const standardizedSquare = moments.exact
    ? nodes.reduce((sum, id, i) => {
        const v = moments.variance[i]!;
        return v > 0 ? sum + ((reported.get(id)?.visits ?? 0) - moments.expected[i]!) ** 2 / v : sum;
      }, 0)
    : NaN;

  if (H === 0) failures.push('no walker made a hop');
  else if (!(tv <= tvBound)) {
    failures.push(`visit shares are ${tv.toFixed(4)} from the stationary distribution in total variation, above the bound ${tvBound.toFixed(4)}`);
    const worst = nodes
      .map((id, i) => ({ id, gap: share[i]! - pi[i]! }))
      .sort((a, b) => Math.abs(b.gap) - Math.abs(a.gap))
      .slice(0, 3);
    for (const { id, gap } of worst) {
      failures.push(`node ${id}: visit share ${(share[nodes.indexOf(id)]! * 100).toFixed(2)}% vs π ${(pi[nodes.indexOf(id)]! * 100).toFixed(2)}% (${gap > 0 ? '+' : ''}${(gap * 100).toFixed(2)} points)`);
    }
  }

  const passed = failures.length === 0;
  const metrics: Record<string, number> = {
    hops: H,
    tv,
    tvBound,
    tvBias: bias,
    tvFluctuation: fluct,
    tvMultinomial,
    chiSquare,
    chiSquareDf: nodes.length - 1,
    exactMoments: moments.exact ? 1 : 0,
  };
  if (moments.exact) {
    // Σ (V_i − E V_i)² / Var V_i: its expectation is exactly n; far above n means the model does not fit.
    metrics.standardizedSquare = standardizedSquare;
    metrics.standardizedSquareExpected = nodes.length;
  } else {
    metrics.spectralGap = moments.gap;
  }
  return {
    passed,
    summary: passed
      ? `${H} hops: visit shares within TV ${tv.toFixed(4)} of π = degree/2|E| (bound ${tvBound.toFixed(4)}); χ² ${chiSquare.toFixed(1)} on ${nodes.length - 1} df`
      : `random walk failed: ${failures[0]}`,
    expected: { stationary: Object.fromEntries(nodes.map((id, i) => [id, pi[i]!])) },
    actual: { visitShare: Object.fromEntries(nodes.map((id, i) => [id, share[i]!])) },
    metrics,
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

/** The walk's bookkeeping, shared with the high-risk-edges oracle. */
export function checkWalkAccounts(
  graph: Topology,
  reported: ReadonlyMap<string, WalkResult>,
  walkers: number | undefined,
  hops: number,
): string[] {
  const failures: string[] = [];
  let visits = 0;
  let lengths = 0;
  for (const [id, r] of reported) {
    visits += r.visits;
    lengths += r.walkLengths.reduce((a, b) => a + b, 0);
    const neighbours = graph.hasNode(id) ? graph.neighbors(id) : [];
    const keys = Object.keys(r.edges);
    if (keys.length !== neighbours.length || !neighbours.every((n) => n in r.edges)) {
      failures.push(`node ${id}: per-edge counts name ${keys.sort().join(',')} instead of its neighbours ${neighbours.sort().join(',')}`);
      continue;
    }
    const received = keys.reduce((sum, k) => sum + r.edges[k]!.received, 0);
    const total = keys.reduce((sum, k) => sum + r.edges[k]!.sent + r.edges[k]!.received, 0);
    if (received !== r.visits) failures.push(`node ${id}: ${r.visits} visits but ${received} walk messages received`);
    if (total !== r.traffic) failures.push(`node ${id}: traffic ${r.traffic} is not the ${total} messages sent and received`);
    if (walkers !== undefined && r.walkLengths.length !== walkers) failures.push(`node ${id}: launched ${r.walkLengths.length} walkers, not ${walkers}`);
    if (hops > 0 && r.walkLengths.some((l) => l > hops)) failures.push(`node ${id}: a walk made more than ${hops} hops`);
  }
  graph.forEachEdge((_edge, _attributes, a, b) => {
    const ra = reported.get(a);
    const rb = reported.get(b);
    if (!ra?.edges[b] || !rb?.edges[a]) return;
    if (ra.edges[b].sent !== rb.edges[a].received) failures.push(`edge ${a}-${b}: ${a} sent ${ra.edges[b].sent} walkers, ${b} received ${rb.edges[a].received}`);
    if (rb.edges[a].sent !== ra.edges[b].received) failures.push(`edge ${b}-${a}: ${b} sent ${rb.edges[a].sent} walkers, ${a} received ${ra.edges[b].received}`);
  });
  if (visits !== lengths) failures.push(`the nodes counted ${visits} visits but the walks made ${lengths} hops`);
  return failures;
}

interface Walk {
  readonly origin: string;
  readonly length: number;
}

interface Moments {
  readonly exact: boolean;
  /** E V_i per node, in graph order. */
  readonly expected: Float64Array;
  /** Var V_i per node (exact moments only). */
  readonly variance: Float64Array;
  /** 1 − λ₂ of the walk, estimated (fallback only; NaN when exact). */
  readonly gap: number;
}

/**
 * Exact first and second moments of the visit counts of independent simple random walks, by propagating
 * the rows P^t(u, ·) for every origin u: two passes over t (the second needs the return probabilities
 * P^d(i, i) of the first), O(hops × n × (n + 2|E|)) time and O(n²) memory.
 */
export function walkMoments(graph: Topology, walks: readonly Walk[]): Moments {
  const nodes = graph.nodes();
  const n = nodes.length;
  const index = new Map(nodes.map((id, i) => [id, i]));
  const adjacency = nodes.map((id) => graph.neighbors(id).map((v) => index.get(v)!));
  const inverseDegree = adjacency.map((list) => (list.length > 0 ? 1 / list.length : 0));

  // Group the walks by origin and length: a group is `count` walks of `length` hops from `origin`.
  const groupKey = new Map<string, { origin: number; length: number; count: number }>();
  for (const { origin, length } of walks) {
    const u = index.get(origin);
    if (u === undefined || length === 0) continue;
    const key = `${u}:${length}`;
    const group = groupKey.get(key);
    if (group) group.count += 1;
    else groupKey.set(key, { origin: u, length, count: 1 });
  }
  const groups = [...groupKey.values()];
  const maxLength = groups.reduce((max, g) => Math.max(max, g.length), 0);
  const edgeEnds = adjacency.reduce((sum, list) => sum + list.length, 0);
  const cost = 2 * maxLength * n * (n + edgeEnds) + maxLength * groups.length * n;
  if (cost > EXACT_BUDGET) return approximateMoments(adjacency, inverseDegree, groups, maxLength);

  const step = (from: Float64Array, to: Float64Array): void => {
    to.fill(0);
    for (let u = 0; u < n; u++) {
      const row = u * n;
      for (let k = 0; k < n; k++) {
        const mass = from[row + k]!;
        if (mass === 0) continue;
        const share = mass * inverseDegree[k]!;
        for (const v of adjacency[k]!) to[row + v]! += share;
      }
    }
  };
  const identity = (): Float64Array => {
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) m[i * n + i] = 1;
    return m;
  };

  // Pass 1: E N for every group (running sums of P^t rows, read off at each group's length) and P^t(i, i).
  const byLength = new Map<number, typeof groups>();
  for (const g of groups) byLength.set(g.length, [...(byLength.get(g.length) ?? []), g]);
  const groupMean = new Map<(typeof groups)[number], Float64Array>();
  const returns = new Float64Array((maxLength + 1) * n); // returns[d * n + i] = P^d(i, i)
  let current: Float64Array = identity();
  let next: Float64Array = new Float64Array(n * n);
  const running = new Float64Array(n * n);
  for (let t = 1; t <= maxLength; t++) {
    step(current, next);
    [current, next] = [next, current];
    for (let i = 0; i < n * n; i++) running[i]! += current[i]!;
    for (let i = 0; i < n; i++) returns[t * n + i] = current[i * n + i]!;
    for (const g of byLength.get(t) ?? []) groupMean.set(g, running.slice(g.origin * n, g.origin * n + n));
  }
  // cumulativeReturns[m * n + i] = Σ_{d=1..m} P^d(i, i)
  const cumulativeReturns = new Float64Array((maxLength + 1) * n);
  for (let m = 1; m <= maxLength; m++) {
    for (let i = 0; i < n; i++) cumulativeReturns[m * n + i] = cumulativeReturns[(m - 1) * n + i]! + returns[m * n + i]!;
  }

  // Pass 2: E N² = Σ_{s=1..L} P^s(u, i) (1 + 2 R_i(L − s)).
  const groupSquare = new Map(groups.map((g) => [g, new Float64Array(n)]));
  current = identity();
  for (let s = 1; s <= maxLength; s++) {
    step(current, next);
    [current, next] = [next, current];
    for (const g of groups) {
      if (g.length < s) continue;
      const square = groupSquare.get(g)!;
      const row = g.origin * n;
      const base = (g.length - s) * n;
      for (let i = 0; i < n; i++) {
        const p = current[row + i]!;
        if (p !== 0) square[i]! += p * (1 + 2 * cumulativeReturns[base + i]!);
      }
    }
  }

  const expected = new Float64Array(n);
  const variance = new Float64Array(n);
  for (const g of groups) {
    const mean = groupMean.get(g)!;
    const square = groupSquare.get(g)!;
    for (let i = 0; i < n; i++) {
      expected[i]! += g.count * mean[i]!;
      variance[i]! += g.count * (square[i]! - mean[i]! * mean[i]!);
    }
  }
  return { exact: true, expected, variance, gap: NaN };
}

function approximateMoments(
  adjacency: number[][],
  inverseDegree: number[],
  groups: ReadonlyArray<{ origin: number; length: number; count: number }>,
  maxLength: number,
): Moments {
  const n = adjacency.length;
  const step = (from: Float64Array): Float64Array => {
    const to = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const share = from[k]! * inverseDegree[k]!;
      if (share !== 0) for (const v of adjacency[k]!) to[v]! += share;
    }
    return to;
  };
  const expected = new Float64Array(n);
  const lengths = [...new Set(groups.map((g) => g.length))];
  for (const length of lengths) {
    let mass: Float64Array = new Float64Array(n);
    for (const g of groups) if (g.length === length) mass[g.origin]! += g.count;
    for (let t = 1; t <= length; t++) {
      mass = step(mass);
      for (let i = 0; i < n; i++) expected[i]! += mass[i]!;
    }
  }
  // λ₂ of the lazy walk (I + P)/2 by power iteration in the D^{1/2}-symmetrised form, deflating √deg.
  const degree = adjacency.map((list) => list.length);
  const total = degree.reduce((a, b) => a + b, 0);
  const top = degree.map((d) => Math.sqrt(d / total));
  let vector = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
  let lambda = 0;
  for (let iteration = 0; iteration < Math.max(200, 4 * maxLength); iteration++) {
    const dot = vector.reduce((sum, v, i) => sum + v * top[i]!, 0);
    for (let i = 0; i < n; i++) vector[i]! -= dot * top[i]!;
    const out = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      if (degree[k] === 0) continue;
      const scaled = vector[k]! / Math.sqrt(degree[k]!);
      for (const v of adjacency[k]!) out[v]! += scaled / Math.sqrt(degree[v]!);
    }
    for (let i = 0; i < n; i++) out[i] = (out[i]! + vector[i]!) / 2;
    const norm = euclidean(out);
    if (norm === 0) break;
    lambda = norm / Math.max(euclidean(vector), 1e-300);
    vector = out.map((v) => v / norm);
  }
  const lazyLambda = Math.min(lambda, 1);
  return { exact: false, expected, variance: new Float64Array(n), gap: 2 * (1 - lazyLambda) };
}

function euclidean(vector: Float64Array): number {
  let sum = 0;
  for (const v of vector) sum += v * v;
  return Math.sqrt(sum);
}
