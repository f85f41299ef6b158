import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { runAlgorithm, type RunRequest } from '../run/run.js';
import type { Outcome } from '../verify/index.js';
import type { BenchKind } from './report.js';
import { fastestProbe, probeEventLoop, type ProbeResult } from './sim-probe.js';

/** One N of `peerlab bench sim`: the algorithm through `peerlab run`'s pipeline, beside the bare loop. Documented in the README. */
export interface SimBenchSample {
  readonly algorithm: string;
  readonly topology: string;
  readonly nodes: number;
  readonly edges: number;
  /** The `peerlab run` command that repeats the run bit for bit: the workload a baseline sample must share. */
  readonly replay: string;
  readonly verdict: { readonly passed: boolean; readonly failed: boolean; readonly outcome: Outcome; readonly summary: string };
  /** The whole `peerlab run`: topology, bundling, building the nodes, simulating, verifying, writing results. */
  readonly wallMs: number;
  /** The simulation's event loop alone, from the first event to the last. */
  readonly algorithmMs: number;
  readonly virtualTimeMs: number;
  readonly events: number;
  readonly messages: number;
  readonly messagesPerSecond: number;
  readonly eventsPerSecond: number;
  /** The bare loop at as many nodes, probed before the first run and again right after this one, the fastest kept. */
  readonly probe: ProbeResult;
  /** messagesPerSecond ÷ probe.eventsPerSecond: the share of the bare loop's limit the algorithm reaches. */
  readonly ratio: number;
  /**
   * The event loop's CPU ms, the process's (V8's collector and compiler threads count too): well under
   * algorithmMs, the run waited for a core, and its figures say more about the machine's other work than the code.
   */
  readonly algorithmCpuMs: number;
  /** The process's resident memory at its highest during this sample (both threads), sampled every 50 ms. */
  readonly peakRssBytes: number;
  readonly resultsDir: string;
}

/**
 * Gated: the ratio to the probe (larger is better; robust to the machine's speed, since both are measured in the
 * same invocation), peak memory, and the counts the seed fixes (messages, events), where any change is the
 * code's. Seconds are reported, not gated: on a shared machine they move by more than any tolerance.
 */
export const simBench: BenchKind = {
  schema: 'peerlab.bench.sim/1',
  command: 'peerlab bench sim',
  gateSample: z
    .object({ algorithm: z.string(), nodes: z.number(), replay: z.string(), ratio: z.number(), peakRssBytes: z.number(), messages: z.number(), events: z.number() })
    .transform((sample) => ({
      label: `${sample.algorithm} N=${sample.nodes}`,
      key: sample.replay,
      values: { ratio: sample.ratio, peakRssBytes: sample.peakRssBytes, messages: sample.messages, events: sample.events },
    })),
  metrics: [
    { name: 'ratio', label: 'ratio to the probe', noiseFloor: 0.02, format: (ratio) => ratio.toFixed(3), largerIsBetter: true },
    { name: 'peakRssBytes', label: 'peak memory', noiseFloor: 64 * 2 ** 20, format: (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GiB` },
    { name: 'messages', label: 'messages', noiseFloor: 0, format: (count) => String(Math.round(count)) },
    { name: 'events', label: 'events', noiseFloor: 0, format: (count) => String(Math.round(count)) },
  ],
};

/**
 * The probe at N nodes for each N, all before the first run. One measured right after a run measured 0.5–0.9 of
 * one measured alone (likely the run's garbage still being collected on the second core), so the probe benchSim
 * takes after its run can only raise the baseline, never stand in for this one.
 */
export async function probeEach(counts: readonly number[]): Promise<Map<number, ProbeResult>> {
  const probes = new Map<number, ProbeResult>();
  for (const nodes of counts) if (!probes.has(nodes)) probes.set(nodes, await probeEventLoop(nodes));
  return probes;
}

/**
 * The request's algorithm on its topology in the simulator, beside `before`, the bare loop at as many nodes, which
 * is probed again after the run: the fastest of both is the ratio's baseline (see fastestProbe).
 */
export async function benchSim(request: RunRequest, before: ProbeResult): Promise<SimBenchSample> {
  const memory = watchPeakMemory();
  const began = performance.now();
  let summary;
  try {
    summary = await runAlgorithm({ ...request, runtime: 'sim' });
  } finally {
    memory.stop();
  }
  const wallMs = performance.now() - began;
  const record = JSON.parse(await readFile(path.join(summary.resultsDir, 'run.json'), 'utf8')) as { runtimeFacts: { events: number } };
  const algorithmMs = summary.timings.algorithmMs ?? 0;
  const algorithmCpuMs = summary.timings.algorithmCpuMs ?? 0;
  const messages = summary.metrics.messages ?? 0;
  const events = record.runtimeFacts.events;
  const messagesPerSecond = messages / (algorithmMs / 1000);
  const probe = fastestProbe(before, await probeEventLoop(before.nodes, before.events));
  return {
    algorithm: summary.algorithm,
    topology: request.topology,
    nodes: summary.nodes,
    edges: summary.edges,
    replay: summary.replay,
    verdict: { passed: summary.passed, failed: summary.failed, outcome: summary.outcome, summary: summary.verdict },
    wallMs,
    algorithmMs,
    virtualTimeMs: summary.timings.virtualTimeMs ?? 0,
    events,
    messages,
    messagesPerSecond,
    eventsPerSecond: events / (algorithmMs / 1000),
    probe,
    ratio: messagesPerSecond / probe.eventsPerSecond,
    algorithmCpuMs,
    peakRssBytes: memory.peak(),
    resultsDir: summary.resultsDir,
  };
}

function watchPeakMemory(): { stop: () => void; peak: () => number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
    },
    peak: () => peak,
  };
}
