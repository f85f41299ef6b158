import { z } from 'zod';
import { directedLink } from '../links/edges.js';
import { UNSHAPED, type LinkParams } from '../links/model.js';
import { MAX_LISTED_FAILURES, parseResults, type Oracle } from './types.js';

const rttResult = z.object({ rttMs: z.record(z.string(), z.array(z.number().nonnegative())) });

/** Median of the sum of two independent exponential jitters of means a and b (1.678·a when a = b). */
const EXPONENTIAL_PAIR_MEDIAN = 0.839;

/** The largest baseline (wire and agents' processing per round trip) the oracle accepts. */
export const BASELINE_LIMIT_MS = 10;

/**
 * Each edge's median round trip against the link model: d(u→v) + d(v→u), plus the baseline every round trip
 * pays besides the links (wire, agents' processing), within max(1 ms, 5 %). The baseline is measured in the same
 * run, beside the edges: the median over all edges of (measured − configured), which must itself lie within
 * −1..BASELINE_LIMIT_MS: a constant error of the shaping would show there, a wrong edge shows in its own check.
 */
export const verifyRtt: Oracle = ({ graph, results, params }) => {
  const pings = Number(params.pings ?? 1);
  const { reported, failures } = parseResults(graph, results, rttResult, '{rttMs: {neighbour: [ms, …]}}');
  const edges: Array<{ from: string; to: string; median: number; configured: number }> = [];
  for (const [id, { rttMs }] of reported) {
    for (const neighbour of graph.neighbors(id)) {
      const samples = rttMs[neighbour];
      if (!samples || samples.length < pings) {
        failures.push(`edge ${id}–${neighbour}: ${samples?.length ?? 0} of ${pings} round trips measured by ${id}`);
        continue;
      }
      const there = directedLink(graph, id, neighbour) ?? UNSHAPED;
      const back = directedLink(graph, neighbour, id) ?? UNSHAPED;
      edges.push({ from: id, to: neighbour, median: median(samples), configured: there.delayMs + back.delayMs + jitterMedian(there, back) });
    }
  }
  const baseline = edges.length === 0 ? 0 : median(edges.map((edge) => edge.median - edge.configured));
  if (baseline < -1 || baseline > BASELINE_LIMIT_MS) {
    failures.unshift(`the baseline (median excess over the configured round trips) is ${baseline.toFixed(3)} ms, outside -1..${BASELINE_LIMIT_MS} ms`);
  }
  let worst = 0;
  for (const edge of edges) {
    const error = edge.median - edge.configured - baseline;
    worst = Math.max(worst, Math.abs(error));
    if (Math.abs(error) > Math.max(1, 0.05 * edge.configured)) {
      failures.push(
        `edge ${edge.from}→${edge.to}: median round trip ${edge.median.toFixed(3)} ms, expected ${edge.configured.toFixed(3)} + ${baseline.toFixed(3)} baseline ± ${Math.max(1, 0.05 * edge.configured).toFixed(3)} ms`,
      );
    }
  }
  const passed = failures.length === 0;
  return {
    passed,
    summary: passed
      ? `${edges.length} directed edges: median round trips within max(1 ms, 5%) of the configured delays plus a ${baseline.toFixed(3)} ms baseline (worst ${worst.toFixed(3)} ms)`
      : `rtt failed on ${failures.length} edge(s): ${failures[0]}`,
    expected: Object.fromEntries(edges.map((edge) => [`${edge.from}->${edge.to}`, edge.configured])),
    actual: Object.fromEntries(edges.map((edge) => [`${edge.from}->${edge.to}`, edge.median])),
    metrics: { edges: edges.length, baselineMs: baseline, worstErrorMs: worst, medianRttMs: median(edges.map((edge) => edge.median)) },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

function jitterMedian(there: LinkParams, back: LinkParams): number {
  // Uniform jitter is symmetric about 0, so a median round trip carries none; exponential jitter is one-sided.
  const one = (link: LinkParams): number => (link.jitterDistribution === 'exponential' ? link.jitterMs : 0);
  return EXPONENTIAL_PAIR_MEDIAN * (one(there) + one(back));
}

function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
