import { verifyFlood } from './flood.js';
import { verifyGhs } from './ghs.js';
import { verifyHighRiskEdges } from './high-risk-edges.js';
import { verifyPushSum } from './push-sum.js';
import { verifyRandomWalk } from './random-walk.js';
import { verifyRtt } from './rtt.js';
import { verifyServiceDiscovery } from './service-discovery.js';
import type { Oracle } from './types.js';

export type { CheckResult, Oracle, OracleGroup, OracleInput, Outcome, Verdict } from './types.js';
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
  'high-risk-edges': verifyHighRiskEdges,
  'service-discovery': verifyServiceDiscovery,
};

/**
 * The built-in oracles that say what their algorithm owes nodes that joined during the run (FaultsSeen.joinedNodes);
 * under joins, the others would judge a graph their guarantee does not cover, so such a run is left unchecked.
 */
const judgingJoins = new Set(['flood']);

export function oracleJudgesJoins(name: string): boolean {
  return judgingJoins.has(name);
}

export function oracleNames(): string[] {
  return Object.keys(oracles);
}

export function oracleFor(algorithm: string): Oracle | undefined {
  return oracles[algorithm];
}
