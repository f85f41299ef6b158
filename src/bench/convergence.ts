import type { RuntimeKind } from '../runtime/types.js';
import { z } from 'zod';
import { runAlgorithm, type RunRequest, type RunSummary } from '../run/run.js';
import type { Outcome } from '../verify/index.js';
import type { BenchKind } from './report.js';

/** One run of a sample: what `peerlab run` reports, in ms. */
export interface ConvergenceRun {
  readonly runId: string;
  readonly resultsDir: string;
  readonly outcome: Outcome;
  readonly passed: boolean;
  readonly verdict: string;
  readonly algorithmMs: number;
  readonly virtualTimeMs?: number;
  readonly allConnectedMs?: number;
  readonly messages: number;
  readonly bytes: number;
}

/** One topology of `peerlab bench convergence`, run --repetitions times. The schema is documented in the README. */
export interface ConvergenceSample {
  readonly algorithm: string;
  readonly runtime: RuntimeKind;
  readonly topology: string;
  readonly nodes: number;
  readonly edges: number;
  /** The `peerlab run` command that repeats one run: the workload, which a baseline sample must share to be compared. */
  readonly replay: string;
  /**
   * Passed only if a check passed every repetition (an unchecked or reproduced run is not passed); failed if any
   * repetition failed (an unchecked one too, under --require-check). The outcome and summary are those of the
   * first repetition that did not pass, else of the first.
   */
  readonly verdict: { readonly passed: boolean; readonly failed: boolean; readonly outcome: Outcome; readonly summary: string };
  /** Medians over the repetitions. Wall time from `start` until every node has its result. */
  readonly algorithmMs: number;
  /** Simulator only: the same span in virtual time, which the seed and delay model fix. */
  readonly virtualTimeMs?: number;
  /** Docker only: bring-up, from the start of the deployment (images, network, etcd, containers) until every node is registered and connected. */
  readonly allConnectedMs?: number;
  readonly messages: number;
  readonly messagesPerNode: number;
  readonly bytes: number;
  readonly runs: ConvergenceRun[];
}

/**
 * Gated: messages, a count that does not depend on the machine's speed (fixed by the seed in the simulator; on
 * Docker it varies only where the algorithm's messages depend on arrival order); virtual time to convergence in
 * the simulator, fixed by the seed and delay model, so any change is the algorithm's; and wall time to
 * convergence, the noisy one: the median over --repetitions ignores a stalled run, and a change under 100 ms is
 * noise at any percentage (a simulated flood on 25 nodes takes a few ms, and one GC pause or scheduler stall on a
 * shared 2-core machine tens). Bring-up is not gated here: `bench startup` gates it as a ratio to plain
 * `docker run` measured in the same invocation, which is robust where seconds are not.
 */
export const convergenceBench: BenchKind = {
  schema: 'peerlab.bench.convergence/1',
  command: 'peerlab bench convergence',
  gateSample: z
    .object({
      algorithm: z.string(),
      nodes: z.number(),
      replay: z.string(),
      algorithmMs: z.number(),
      virtualTimeMs: z.number().optional(),
      messages: z.number(),
    })
    .transform((sample) => ({
      label: `${sample.algorithm} N=${sample.nodes}`,
      key: sample.replay,
      values: { algorithmMs: sample.algorithmMs, virtualTimeMs: sample.virtualTimeMs, messages: sample.messages },
    })),
  metrics: [
    { name: 'algorithmMs', label: 'algorithm time', noiseFloor: 100, format: (ms) => `${Math.round(ms)} ms` },
    { name: 'virtualTimeMs', label: 'virtual time', noiseFloor: 0, format: (ms) => `${ms.toFixed(1)} ms` },
    { name: 'messages', label: 'messages', noiseFloor: 0, format: (count) => String(Math.round(count)) },
  ],
};

/** Runs the request's algorithm on its topology through `peerlab run`'s pipeline, `repetitions` times. */
export async function benchConvergence(options: { request: RunRequest; repetitions: number }): Promise<ConvergenceSample> {
  const summaries: RunSummary[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) summaries.push(await runAlgorithm(options.request));
  const first = summaries[0]!;
  const runs = summaries.map(describeRun);
  const failed = summaries.filter((summary) => summary.failed);
  const notPassed = summaries.filter((summary) => !summary.passed);
  const shown = failed[0] ?? notPassed[0] ?? first;
  const median = (read: (run: ConvergenceRun) => number | undefined) => medianOf(runs.map(read));
  const messages = median((run) => run.messages)!;
  return {
    algorithm: first.algorithm,
    runtime: first.runtime,
    topology: options.request.topology,
    nodes: first.nodes,
    edges: first.edges,
    replay: first.replay,
    verdict: {
      passed: notPassed.length === 0,
      failed: failed.length > 0,
      outcome: shown.outcome,
      summary: failed.length === 0 ? shown.verdict : `${failed.length} of ${summaries.length} run(s) failed; ${shown.verdict}`,
    },
    algorithmMs: median((run) => run.algorithmMs)!,
    virtualTimeMs: median((run) => run.virtualTimeMs),
    allConnectedMs: median((run) => run.allConnectedMs),
    messages,
    messagesPerNode: messages / first.nodes,
    bytes: median((run) => run.bytes)!,
    runs,
  };
}

export function describeRun(summary: RunSummary): ConvergenceRun {
  return {
    runId: summary.runId,
    resultsDir: summary.resultsDir,
    outcome: summary.outcome,
    passed: summary.passed,
    verdict: summary.verdict,
    algorithmMs: summary.timings.algorithmMs ?? 0,
    virtualTimeMs: summary.timings.virtualTimeMs,
    allConnectedMs: summary.timings.allReadyMs,
    messages: summary.metrics.messages ?? 0,
    bytes: summary.metrics.bytes ?? 0,
  };
}

/** The median of the defined values; undefined when there are none (virtual time on Docker). */
export function medianOf(values: ReadonlyArray<number | undefined>): number | undefined {
  const sorted = values.filter((value) => value !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
