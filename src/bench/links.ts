import { lossShareBound, PacketLayerRefused } from '../links/packet.js';
import { formatRate } from '../links/spec.js';
import { runAlgorithm, type RunRequest, type RunSummary } from '../run/run.js';
import type { RuntimeKind } from '../runtime/types.js';
import type { Outcome } from '../verify/index.js';
import { describeRun, medianOf, type ConvergenceRun } from './convergence.js';
import { growthPercent, inTurns, type Turn } from './turns.js';

/** The goal: shaping the links adds under this much to bring-up, at N = 200. */
export const LINKS_BRING_UP_TARGET_PERCENT = 10;
/** The rtt acceptance run's links: what `bench links` shapes when --links is not given. */
export const DEFAULT_BENCH_LINKS = 'delay=uniform:5..50ms';
/** Seconds of data each rate's transfer carries: long enough that the first chunk and the run's edges are noise. */
const TRANSFER_SECONDS = 2;
const TRANSFER_CHUNK_BYTES = 64_000;
/** The loss run's transfer: at 5 % it made ~1,200 offload-sized packets, a bound of ±2.5 points. */
const LOSS_TRANSFER_MEGABYTES = 16;

type Layer = RunSummary['linksLayer'];

/** One rtt run of a bring-up sample, as measured. */
export interface LinksRun extends ConvergenceRun {
  /** Where the links were applied (the run's record). */
  readonly layer: Layer;
  /** From the node image's check until every node is connected and, at the packet layer, shaped. */
  readonly bringUpMs?: number;
  /** rtt's oracle: the median round trip over the edges, the baseline it found, the worst edge's error. */
  readonly medianRttMs: number;
  readonly baselineMs: number;
  readonly worstErrorMs: number;
}

/** One N of `peerlab bench links`: rtt on ba:n=N,m=M unshaped and shaped, in turns. Medians over the repetitions. */
export interface LinksBringUpSample {
  readonly runtime: RuntimeKind;
  readonly topology: string;
  readonly nodes: number;
  readonly edges: number;
  /** The --links spec of the shaped side, and the layer that applied it. */
  readonly links: string;
  readonly layer: Layer;
  readonly unshaped: { readonly bringUpMs?: number; readonly algorithmMs: number; readonly medianRttMs: number };
  readonly shaped: {
    readonly bringUpMs?: number;
    readonly algorithmMs: number;
    readonly medianRttMs: number;
    /** rtt's verdict on the shaped run (the first that did not pass, else the first). */
    readonly outcome: Outcome;
    readonly verdict: string;
    readonly baselineMs: number;
    readonly worstErrorMs: number;
  };
  /** Bring-up with shaping ÷ without − 1, in percent (Docker only: the simulator has no bring-up). */
  readonly bringUpGrowthPercent?: number;
  /** The growth within LINKS_BRING_UP_TARGET_PERCENT; undefined where bring-up is not measured. */
  readonly withinTarget?: boolean;
  readonly repetitions: Array<Turn<LinksRun, LinksRun>>;
}

export async function benchLinksBringUp(options: { request: RunRequest; links: string; repetitions: number; onProgress?: (line: string) => void }): Promise<LinksBringUpSample> {
  const say = options.onProgress ?? (() => {});
  // The shaped side's links come from options.links alone (a --delay is turned into them by the command).
  const request = { ...options.request, delay: undefined };
  const repetitions = await inTurns(options.repetitions, {
    without(index) {
      say(`rtt unshaped (repetition ${index + 1})`);
      return rttRun({ ...request, links: undefined });
    },
    with(index) {
      say(`rtt with --links '${options.links}' (repetition ${index + 1})`);
      return rttRun({ ...request, links: options.links });
    },
  });
  const median = (runs: LinksRun[], read: (run: LinksRun) => number | undefined) => medianOf(runs.map(read));
  const unshapedRuns = repetitions.map((turn) => turn.without);
  const shapedRuns = repetitions.map((turn) => turn.with);
  const shown = shapedRuns.find((run) => !run.passed) ?? shapedRuns[0]!;
  const unshaped = { bringUpMs: median(unshapedRuns, (run) => run.bringUpMs), algorithmMs: median(unshapedRuns, (run) => run.algorithmMs)!, medianRttMs: median(unshapedRuns, (run) => run.medianRttMs)! };
  const shaped = {
    bringUpMs: median(shapedRuns, (run) => run.bringUpMs),
    algorithmMs: median(shapedRuns, (run) => run.algorithmMs)!,
    medianRttMs: median(shapedRuns, (run) => run.medianRttMs)!,
    outcome: shown.outcome,
    verdict: shown.verdict,
    baselineMs: median(shapedRuns, (run) => run.baselineMs)!,
    worstErrorMs: median(shapedRuns, (run) => run.worstErrorMs)!,
  };
  const bringUpGrowth = growthPercent(unshaped.bringUpMs, shaped.bringUpMs);
  return {
    runtime: shown.runtime,
    topology: options.request.topology,
    nodes: shown.nodes,
    edges: shown.edges,
    links: options.links,
    layer: shown.layer,
    unshaped,
    shaped,
    bringUpGrowthPercent: bringUpGrowth,
    withinTarget: bringUpGrowth === undefined ? undefined : bringUpGrowth <= LINKS_BRING_UP_TARGET_PERCENT,
    repetitions,
  };
}

async function rttRun(request: RunRequest): Promise<LinksRun & { runtime: RuntimeKind; nodes: number; edges: number }> {
  const summary = await runAlgorithm({ ...request, algorithm: 'rtt' });
  return {
    ...describeRun(summary),
    runtime: summary.runtime,
    nodes: summary.nodes,
    edges: summary.edges,
    layer: summary.linksLayer,
    // The image check is left out: an image built on one side (a changed agent) is not the links' cost.
    bringUpMs: summary.timings.shapedMs === undefined ? undefined : summary.timings.shapedMs - (summary.timings.imagesMs ?? 0),
    medianRttMs: summary.metrics.medianRttMs ?? NaN,
    baselineMs: summary.metrics.baselineMs ?? NaN,
    worstErrorMs: summary.metrics.worstErrorMs ?? NaN,
  };
}

/** One rate measured by the `bulk` algorithm on a line of two nodes, at one layer. */
export interface RateAccuracy {
  readonly rate: string;
  readonly rateBps: number;
  /** The layer asked for (--links-mode), and the one the run's record says applied it. */
  readonly mode: 'message' | 'packet';
  readonly layer?: Layer;
  /** Why the layer could not be asked for on this host (then nothing ran). */
  readonly refused?: string;
  readonly throughputBps?: number;
  readonly errorPercent?: number;
  /** bulk's oracle: every byte arrived, and the throughput is within ±10 % of the rate. */
  readonly outcome?: Outcome;
  readonly verdict?: string;
  readonly runId?: string;
}

/** Packet-layer loss: the share the rule dropped by its own counters, against a binomial bound. */
export interface LossAccuracy {
  readonly lossPercent: number;
  readonly layer?: Layer;
  readonly refused?: string;
  readonly packets?: number;
  readonly dropped?: number;
  readonly droppedPercent?: number;
  /** Four standard deviations of a binomial share over `packets`, in percentage points. */
  readonly boundPercent?: number;
  readonly withinBound?: boolean;
  readonly runId?: string;
}

export interface LinksAccuracy {
  readonly rates: RateAccuracy[];
  readonly loss: LossAccuracy;
}

/**
 * The accuracy of rate and loss, each on one edge (line:n=2, node 0 sending to node 1 with the built-in `bulk`):
 * every rate at the message layer and at the packet layer (where this host can apply it there), and the loss at
 * the packet layer by its rule's own counters (the message layer models loss as TCP's retransmission delay, which
 * rtt and bulk measure, not as drops that can be counted).
 */
export async function benchLinksAccuracy(options: {
  request: RunRequest;
  ratesBps: readonly number[];
  lossPercent: number;
  onProgress?: (line: string) => void;
}): Promise<LinksAccuracy> {
  const say = options.onProgress ?? (() => {});
  const transfer = (links: string, mode: 'message' | 'packet', params: string[]) =>
    refusedOrRun(() => runAlgorithm({ ...options.request, delay: undefined, algorithm: 'bulk', topology: 'line:n=2', links, linksMode: mode, params }));
  const rates: RateAccuracy[] = [];
  for (const rateBps of options.ratesBps) {
    const rate = formatRate(rateBps);
    const megabytes = (rateBps * TRANSFER_SECONDS) / 8e6;
    for (const mode of ['message', 'packet'] as const) {
      say(`bulk at rate=${rate}, --links-mode ${mode}`);
      const ran = await transfer(`rate=${rate}`, mode, [`megabytes=${megabytes}`, `chunkBytes=${TRANSFER_CHUNK_BYTES}`]);
      if ('refused' in ran) {
        rates.push({ rate, rateBps, mode, refused: ran.refused });
        continue;
      }
      const throughputBps = ran.metrics.slowestThroughputBps;
      rates.push({
        rate,
        rateBps,
        mode,
        layer: ran.linksLayer,
        throughputBps,
        errorPercent: throughputBps === undefined ? undefined : (throughputBps / rateBps - 1) * 100,
        outcome: ran.outcome,
        verdict: ran.verdict,
        runId: ran.runId,
      });
    }
  }
  say(`bulk at loss=${options.lossPercent}%, --links-mode packet`);
  const ran = await transfer(`loss=${options.lossPercent}%`, 'packet', [`megabytes=${LOSS_TRANSFER_MEGABYTES}`]);
  if ('refused' in ran) return { rates, loss: { lossPercent: options.lossPercent, refused: ran.refused } };
  const counter = (ran.runtimeFacts.lossCounters as Record<string, { packets: number; dropped: number }> | undefined)?.['0->1'];
  const layer = ran.linksLayer;
  if (!counter) return { rates, loss: { lossPercent: options.lossPercent, layer, runId: ran.runId, refused: `the ${layer} layer keeps no drop counters` } };
  const droppedShare = counter.dropped / counter.packets;
  const bound = lossShareBound(options.lossPercent, counter.packets);
  return {
    rates,
    loss: {
      lossPercent: options.lossPercent,
      layer,
      packets: counter.packets,
      dropped: counter.dropped,
      droppedPercent: droppedShare * 100,
      boundPercent: bound * 100,
      withinBound: Math.abs(droppedShare - options.lossPercent / 100) <= bound,
      runId: ran.runId,
    },
  };
}

/** Runs, or says why the packet layer refused before anything started (that refusal is a finding, not a failure). */
async function refusedOrRun(run: () => Promise<RunSummary>): Promise<RunSummary | { refused: string }> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof PacketLayerRefused) return { refused: error.message };
    throw error;
  }
}
