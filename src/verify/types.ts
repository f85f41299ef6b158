import type { z } from 'zod';
import type { Json } from '../sdk/types.js';
import type { Topology } from '../topology/index.js';
import type { FaultsSeen } from './faults.js';
import type { PlacementRound } from '../placement/simulate.js';

/**
 * What a run's verdict says. `pass` and `fail` only ever come from a check (a built-in oracle or the
 * algorithm file's own `check`); `unchecked`: nothing checked the results; `reproduced`: the run faithfully
 * reproduced a method known to be inexact (its invariants were checked, its error is reported, not judged).
 */
export type Outcome = 'pass' | 'fail' | 'unchecked' | 'reproduced';

/** What a check returns: a built-in oracle (src/verify) or an algorithm file's exported `check`. */
export interface CheckResult {
  readonly passed: boolean;
  /**
   * Set by a check of a variant that reproduces an inexact method (e.g. the thesis's early release of
   * push-sum): when the run holds the method's invariants (passed), its verdict is `reproduced`, not `pass`.
   */
  readonly reproduced?: boolean;
  /** One line for people. */
  readonly summary: string;
  /** The ground truth the results were compared with. */
  readonly expected?: Json;
  /** The algorithm's aggregated output. */
  readonly actual?: Json;
  readonly metrics: Record<string, number>;
  /** The first few discrepancies, each naming a node or edge. */
  readonly failures: string[];
}

/** The judgement of one run, as verify.json holds it: computed centrally, never by the nodes themselves. */
export interface Verdict extends CheckResult {
  readonly outcome: Outcome;
  /** True only for outcome `pass`. */
  readonly passed: boolean;
  readonly expected: Json;
  readonly actual: Json;
}

export interface OracleInput {
  readonly graph: Topology;
  /** Every node's reported result; undefined for a node that reported none. */
  readonly results: ReadonlyMap<string, Json | undefined>;
  /** The algorithm's parameters, defaults filled in (empty for a run with groups: see `groups`). */
  readonly params: Record<string, unknown>;
  /** The run's roles, each with its algorithm, parameters (defaults filled in) and nodes. */
  readonly groups?: readonly OracleGroup[];
  /**
   * The faults of the run, when it had any: flood, GHS and push-sum then judge the survivors (see their
   * oracles); the other oracles ignore it, so a run with faults against them is judged as fault-free.
   */
  readonly faults?: FaultsSeen;
  /** The placement policy's rounds, when one moved the nodes (`--policy`): what it saw, chose and moved. */
  readonly placement?: PlacementSeen;
}

export interface PlacementSeen {
  /** The policy as given (`equal`, or a file). */
  readonly policy: string;
  readonly rounds: readonly PlacementRound[];
}

export interface OracleGroup {
  readonly role: string;
  readonly algorithm: string;
  readonly params: Json;
  readonly nodes: readonly string[];
}

export type Oracle = (input: OracleInput) => CheckResult;

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
