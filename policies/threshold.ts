/**
 * Threshold with a better-candidate guard, as seed 004 (applications that roam between transient hosts) defines
 * it. The Proxy rates a host by "the utility of some important system components" and considers migrating when
 * "the average utility of these system components is below a certain level" (§IV.C, seed line 128), when it
 * "falls below this performance threshold for a certain period of time" (§III.B, line 79), and then only if
 * another host is available and better than the current one (line 130; steps 1–2, lines 132–137). So a node
 * moves when its host's average utility has been below `threshold` for at least `duration` seconds, to the best
 * host that is better. A held node stays.
 *
 * Interpreted: the source gives no numbers, so `threshold` 0.5 and `duration` 300 s are peerlab's defaults. The
 * utilities come per host as a series (UtilitySample), whose last sample is "now"; "below for at least W" counts
 * from the first of the samples that have all been below. "Better" uses the same model as the check ("also based
 * on a calculation model", line 137): a higher average utility in the latest sample; hosts with no samples are not
 * "available". The source's risk quantification and hedging (lines 137–138) are not modelled.
 */
import { definePolicy, type PlacementHost, type UtilitySample } from 'peerlab';

export default definePolicy({
  name: 'threshold',
  description: "seed 004's roaming: leave a host whose average utility stays below a threshold, for a better one",
  place({ hosts, nodes, settings }) {
    const threshold = settings.threshold ?? 0.5;
    const duration = settings.duration ?? 300;
    const measured = hosts.filter((host) => (host.utility ?? []).length > 0);
    const placement: Record<string, string> = {};
    for (const node of nodes) {
      const current = measured.find((host) => host.name === node.host);
      const below = current && timeBelow(current.utility!, threshold);
      if (node.hold || current === undefined || below === undefined || below < duration) continue;
      // The best of the available hosts, if it is better than this one; of equal ones, the first listed.
      const best = measured.reduce((leader, host) => (utilityNow(host) > utilityNow(leader) ? host : leader));
      if (utilityNow(best) > utilityNow(current)) placement[node.name] = best.name;
    }
    return placement;
  },
});

/** How long, up to the last sample, the average utility has been below the threshold; undefined if it is not now. */
function timeBelow(utility: readonly UtilitySample[], threshold: number): number | undefined {
  let since: number | undefined;
  for (const sample of utility) since = averageUtility(sample) < threshold ? (since ?? sample.at) : undefined;
  return since === undefined ? undefined : utility.at(-1)!.at - since;
}

function utilityNow(host: PlacementHost): number {
  return averageUtility(host.utility!.at(-1)!);
}

/** Seed 004's performance model: the average of the components' utilities. */
function averageUtility({ components }: UtilitySample): number {
  const values = Object.values(components);
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
