import type { Json } from '../sdk/types.js';
import type { NodeReport } from '../coordination/protocol.js';

/** What a runtime hands back after running an algorithm to the end: the same shape from Docker and the simulator. */
export interface Execution {
  readonly runtime: 'docker' | 'sim';
  readonly results: ReadonlyMap<string, Json>;
  readonly reports: ReadonlyMap<string, NodeReport>;
  /** Nodes without a result when the run ended (timeout, or nothing left to happen). */
  readonly missing: string[];
  /** Why the run ended before every node had a result when it was not a timeout (the simulator's event cap). */
  readonly endedEarly?: string;
  readonly timings: Record<string, number>;
  /** Runtime facts for run.json: images for Docker; delay model, virtual time and events for the simulator. */
  readonly facts: Record<string, Json>;
  /** Set when the run itself succeeded but removing it did not: reported after the results are written. */
  readonly teardownError?: unknown;
}
