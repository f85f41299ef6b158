/**
 * The fault layer's entry point for a run: `--fault` and `--churn` resolved against the run's graph into the
 * FaultEvents both runtimes apply. Everything is checked here, before anything is created, so a bad spec costs
 * one line and leaves nothing behind.
 */
import { PeerlabError } from '../errors.js';
import { assignRoles, type RoleRequest } from '../run/roles.js';
import { loadTopology } from '../topology/index.js';
import { churnFaultEvents, parseChurnSpec, planChurn } from './churn.js';
import type { FaultEvent } from './events.js';
import { scheduleFaults } from './schedule.js';
import { parseFaultSpecs } from './spec.js';

export type { FaultAction, FaultEvent, AppliedFault } from './events.js';
export { resolveFaults, scheduleFaults, type ScheduleOptions } from './schedule.js';
export { parseFaultSpec, parseFaultSpecs, type FaultSpec } from './spec.js';
export { parseChurnSpec, planChurn, churnFaultEvents, type ChurnPlan, type ChurnEvent, type ChurnSpec } from './churn.js';

export interface RunFaultsRequest {
  /** The `--fault` texts, in order. */
  readonly faults: readonly string[];
  readonly churn?: string;
  /** The run's topology, seed and weights: the graph the selectors are resolved on is the run's own. */
  readonly topology: string;
  readonly seed: number;
  readonly weights?: string;
  readonly allowDisconnected: boolean;
  readonly timeoutMs: number;
  /** A run with groups: its roles, assigned to nodes as the run assigns them (for `role:NAME`). */
  readonly roles?: ReadonlyArray<Pick<RoleRequest, 'role' | 'count'>>;
}

/** The run's fault events, sorted by time; [] without --fault or --churn (and then no graph is loaded). */
export async function resolveRunFaults(request: RunFaultsRequest): Promise<FaultEvent[]> {
  if (request.faults.length === 0 && request.churn === undefined) return [];
  // Parse first: a typo costs no topology load.
  const specs = parseFaultSpecs(request.faults);
  const churn = request.churn === undefined ? undefined : parseChurnSpec(request.churn);
  if (churn && churn.joinPerS > 0 && request.roles !== undefined) {
    throw new PeerlabError(`--churn "${churn.text}": join= in a run with groups: a joining node would have no role`, {
      hint: 'drop join= (leave= and crash= work with groups), or run one algorithm',
    });
  }
  const { graph } = await loadTopology(request.topology, { seed: request.seed, weights: request.weights, allowDisconnected: request.allowDisconnected });
  const roles = request.roles && new Map(assignRoles(graph.nodes(), request.roles).map((nodes, i) => [request.roles![i]!.role, nodes] as const));
  const options = { graph, seed: request.seed, timeoutMs: request.timeoutMs, roles };
  const events = scheduleFaults(specs, options);
  if (!churn) return events;
  // Churn counts as the fault after the last --fault, so faults.ndjson tells them apart.
  return [...events, ...churnFaultEvents(planChurn(churn, options), specs.length + 1)].sort((a, b) => a.atMs - b.atMs);
}
