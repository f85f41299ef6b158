import { verifyBulk } from './bulk.js';
import { verifyDonatedHosting } from './donated-hosting.js';
import { verifyFlood } from './flood.js';
import { verifyGhs } from './ghs.js';
import { verifyHighRiskEdges } from './high-risk-edges.js';
import { verifyPushSum } from './push-sum.js';
import { verifyRandomWalk } from './random-walk.js';
import { verifyRoaming } from './roaming.js';
import { verifyRtt } from './rtt.js';
import { verifyServiceDiscovery } from './service-discovery.js';
import { verifySineUsers } from './sine-users.js';
import { verifyZoeAgent } from './zoe-agent.js';
import type { Oracle } from './types.js';

export type { CheckResult, Oracle, OracleGroup, OracleInput, Outcome, PlacementSeen, Verdict } from './types.js';
export { faultsSeenOf, survivingGraph, type FaultsSeen } from './faults.js';
export { OUTCOME_MARK, outcomeFails, outcomeOfFile, uncheckedVerdict, verdictOf } from './outcome.js';

/**
 * Ground truth per algorithm name, or for a run with groups per the name its experiment gives as `check:`. An
 * algorithm without an oracle runs, but its verdict is "unchecked".
 */
const oracles: Record<string, Oracle> = {
  flood: verifyFlood,
  ghs: verifyGhs,
  'random-walk': verifyRandomWalk,
  'push-sum': verifyPushSum,
  rtt: verifyRtt,
  bulk: verifyBulk,
  'high-risk-edges': verifyHighRiskEdges,
  'service-discovery': verifyServiceDiscovery,
  'donated-hosting': verifyDonatedHosting,
  roaming: verifyRoaming,
  'sine-users': verifySineUsers,
  'zoe-agent': verifyZoeAgent,
};

/**
 * The built-in oracles that say what their algorithm owes nodes that joined during the run (FaultsSeen.joinedNodes),
 * each with the parameters it says it for: for each, why it does not with these (undefined: it does). Under
 * joins the others would judge a graph their guarantee does not cover, so such a run is left unchecked.
 */
const judgingJoins: Record<string, (params: Record<string, unknown>) => string | undefined> = {
  // Its wave owes the members present at the start; a joiner it reached must be on the same tree (verify/flood.ts).
  flood: () => undefined,
  // Mass conservation: a joiner brings its value with weight 1 (verify/push-sum.ts). The thesis's iterations run
  // in lockstep from seed nodes, and a node that joins mid-way has no account of the iterations before it.
  // The MST of the graph the run started with: GHS takes no edge that comes later (verify/ghs.ts).
  ghs: () => undefined,
  'push-sum': (params) =>
    params.variant === 'thesis' ? "push-sum's thesis variant runs its iterations in lockstep, so it owes a node that joined mid-way nothing its oracle can check" : undefined,
};

/**
 * Why a run with joins is left unchecked by the built-in oracle `name` with `params`, or undefined when that
 * oracle says what its algorithm owes a node that joined mid-run.
 */
export function joinsUnjudged(name: string, params: Record<string, unknown>): string | undefined {
  const judging = judgingJoins[name];
  return judging ? judging(params) : `the oracle of ${name} does not say what it owes a node that joined mid-run`;
}

export function oracleNames(): string[] {
  return Object.keys(oracles);
}

export function oracleFor(algorithm: string): Oracle | undefined {
  return oracles[algorithm];
}
