import type { z } from 'zod';
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
  /** The algorithm's parameters, defaults filled in (empty for a run with groups: see `groups`). */
  readonly params: Record<string, unknown>;
  /** The run's roles, each with its algorithm, parameters (defaults filled in) and nodes. */
  readonly groups?: readonly OracleGroup[];
}

export interface OracleGroup {
  readonly role: string;
  readonly algorithm: string;
  readonly params: Json;
  readonly nodes: readonly string[];
}

export type Oracle = (input: OracleInput) => Verdict;

export const MAX_LISTED_FAILURES = 10;

/**
 * Every node's result checked against the algorithm's result shape. A node that reported none, or one of
 * another shape, becomes a failure naming it; the rest come back typed.
 */
export function parseResults<Schema extends z.ZodType>(
  graph: Topology,
  results: ReadonlyMap<string, Json | undefined>,
  schema: Schema,
  shape: string,
): { reported: Map<string, z.output<Schema>>; failures: string[] } {
  const reported = new Map<string, z.output<Schema>>();
  const failures: string[] = [];
  for (const id of graph.nodes()) {
    const value = results.get(id);
    const parsed = schema.safeParse(value);
    if (parsed.success) reported.set(id, parsed.data);
    else failures.push(`node ${id}: ${value === undefined ? 'reported no result' : `result is not ${shape}`}`);
  }
  return { reported, failures };
}
