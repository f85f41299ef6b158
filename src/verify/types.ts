import type { Json } from '../sdk/types.js';
import type { Topology } from '../topology/index.js';

/** The oracle's judgement of one run: computed centrally from the graph, never by the nodes themselves. */
export interface Verdict {
  readonly passed: boolean;
  /** One line for people. */
  readonly summary: string;
  /** The ground truth the results were compared with. */
  readonly expected: Json;
  /** The algorithm's aggregated output. */
  readonly actual: Json;
  readonly metrics: Record<string, number>;
  /** The first few discrepancies, each naming a node or edge. */
  readonly failures: string[];
}

export interface OracleInput {
  readonly graph: Topology;
  /** Every node's reported result; undefined for a node that reported none. */
  readonly results: ReadonlyMap<string, Json | undefined>;
  readonly params: Record<string, unknown>;
}

export type Oracle = (input: OracleInput) => Verdict;

export const MAX_LISTED_FAILURES = 10;
