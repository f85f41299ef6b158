import type { RuntimeKind } from '../runtime/types.js';
import type { RuntimeChoice } from './schema.js';
import { AUTO_ORDER } from '../run/runtimes.js';

/**
 * Every constant behind `--dry-run`'s estimate and the progress bar's ETA, in one place. Rough by design:
 * Docker start-up dominates a container run; the algorithm gets a small allowance, capped by its timeout.
 */
export const ESTIMATE = {
  docker: {
    // Measured on the 2-CPU development VM (flood on ba, m=2, with other runs competing): 10 nodes 6.5–8 s,
    // 20 nodes 9–16 s, 40 nodes 23–31 s per run, all included.
    /** Image check, network, etcd, and teardown of a run, whatever its size. */
    fixedS: 4,
    /** Creating, starting and registering one node container. */
    perNodeS: 0.4,
    /** The algorithm phase, assumed to be this many seconds per node (at least minAlgorithmS, at most the timeout). */
    algorithmPerNodeS: 0.01,
    minAlgorithmS: 1,
    /** Whether a run's timeout bounds its real time (in the simulator it bounds virtual time). */
    timeoutIsWallTime: true,
    /** Memory while a run is up: per node container, plus etcd, the CLI and the Docker daemon's share. */
    memoryPerNodeMiB: 24,
    memoryFixedMiB: 200,
  },
  swarm: {
    // Measured on a 3-engine local cluster: 30 nodes connected after 21 s, GtsCe's 149 after 95 s (Swarm's
    // task start-up, ~0.55 s a node, is the cost), etcd as a service 6 s.
    fixedS: 15,
    perNodeS: 0.6,
    algorithmPerNodeS: 0.01,
    minAlgorithmS: 1,
    timeoutIsWallTime: true,
    memoryPerNodeMiB: 24,
    memoryFixedMiB: 300,
  },
  sim: {
    // Measured: flood on 10–20 nodes takes about 0.1 s a run in the simulator.
    fixedS: 0.3,
    perNodeS: 0.002,
    algorithmPerNodeS: 0.002,
    minAlgorithmS: 0.1,
    // --timeout is virtual time here: a slow simulated run is never cut, so its real time has no bound.
    timeoutIsWallTime: false,
    memoryPerNodeMiB: 0.5,
    memoryFixedMiB: 150,
  },
} as const satisfies Record<RuntimeKind, object>;

export interface RunEstimate {
  /** A typical run. */
  readonly seconds: number;
  /** If the algorithm uses its whole timeout; undefined where the timeout does not bound real time (the simulator). */
  readonly worstSeconds: number | undefined;
  readonly memoryMiB: number;
}

/** `auto` is estimated as the slowest runtime it may pick (AUTO_ORDER): the pessimistic choice. */
export function estimateRun(runtime: RuntimeChoice, nodes: number, timeoutS: number): RunEstimate {
  const c = runtime === 'auto' ? slowest() : ESTIMATE[runtime];
  const startup = c.fixedS + c.perNodeS * nodes;
  const typical = Math.max(c.minAlgorithmS, c.algorithmPerNodeS * nodes);
  const algorithm = c.timeoutIsWallTime ? Math.min(timeoutS, typical) : typical;
  return {
    seconds: startup + algorithm,
    worstSeconds: c.timeoutIsWallTime ? startup + timeoutS : undefined,
    memoryMiB: c.memoryFixedMiB + c.memoryPerNodeMiB * nodes,
  };
}

function slowest(): (typeof ESTIMATE)[RuntimeKind] {
  return AUTO_ORDER.map((kind) => ESTIMATE[kind]).reduce((a, b) => (b.perNodeS > a.perNodeS ? b : a));
}

export interface PlanEstimate {
  readonly seconds: number;
  /** Undefined if some run's timeout does not bound its real time. */
  readonly worstSeconds: number | undefined;
  /** Runs are sequential: the peak is the largest run. */
  readonly peakMemoryMiB: number;
}

export function estimatePlan(runs: ReadonlyArray<RunEstimate>): PlanEstimate {
  return {
    seconds: runs.reduce((total, run) => total + run.seconds, 0),
    worstSeconds: runs.every((run) => run.worstSeconds !== undefined) ? runs.reduce((total, run) => total + run.worstSeconds!, 0) : undefined,
    peakMemoryMiB: runs.reduce((peak, run) => Math.max(peak, run.memoryMiB), 0),
  };
}

/**
 * Seconds left: the estimates of the remaining runs, scaled by how the finished runs compared with their own
 * estimates (so a machine twice as slow as the constants assume gets an ETA twice as long after one run).
 */
export function remainingSeconds(
  finished: ReadonlyArray<{ estimated: number; actual: number }>,
  remaining: ReadonlyArray<number>,
): number {
  const estimated = finished.reduce((total, run) => total + run.estimated, 0);
  const actual = finished.reduce((total, run) => total + run.actual, 0);
  const ratio = estimated > 0 && actual > 0 ? actual / estimated : 1;
  return ratio * remaining.reduce((total, seconds) => total + seconds, 0);
}
