/**
 * Self-placement, as seed 001 (virtual machines that migrate themselves to follow their users) defines it. Its
 * cfengine policy (§5.5.1, seed lines 1960–1996; App. C.3.1) moves the machine to the site most requests come from
 * (`user_code`) when both of its requirements hold:
 *   1. that site's share of the requests of the last 15 minutes (`user_percentage`, §5.4.1.1 line 1797; 900 s in
 *      App. C.2.1.1, line 3207) is greater than 60 % (`migrationthreshold = 0.6`, line 1972, compared by
 *      `IsGreaterThan`, line 1984: exactly 60 % does not move);
 *   2. the requests from that site are still rising (`user_boolean`, §5.4.1.3 line 1836, §7.8.3 line 2522): more
 *      of them in the last 6 minutes than in the 6 before (360 s each, App. C.2.1.3 lines 3368–3369).
 * A node already on that site stays (migration.pl, line 2087), and so does a held node.
 *
 * Interpreted: a site is the host nearest its users; the request log comes as per-interval counts (RequestSample)
 * whose last sample is "now"; "rising" is as the prose and §7.8.3's derivative say, since user_boolean.pl's own
 * comparison (line 3405, new < old) is the reverse. The source names no hysteresis setting: a node does not
 * ping-pong because only one site can send more than 60 % (a node that moved to B goes back to A only once A
 * sends more than 60 %, so B less than 40 %), and requirement 2 avoids "unnecessary migration" (line 1555).
 */
import { definePolicy, type RequestSample } from 'peerlab';

export default definePolicy({
  name: 'self-placement',
  description: "seed 001's self-migration: to the site sending more than 60 % of the requests, while they rise",
  place({ hosts, nodes, settings }) {
    const threshold = settings.threshold ?? 0.6;
    const window = settings.window ?? 900;
    const trend = settings.trend ?? 360;
    const placement: Record<string, string> = {};
    for (const node of nodes) {
      const requests = node.requests ?? [];
      const now = requests.at(-1)?.at;
      if (node.hold || now === undefined) continue;
      const lastWindow = requestsBetween(requests, now - window, now);
      const total = [...lastWindow.values()].reduce((sum, count) => sum + count, 0);
      // user_code: the site most requests come from; of equal ones, the host listed first.
      const site = hosts.map((host) => host.name).reduce((leader, name) => (countOf(lastWindow, name) > countOf(lastWindow, leader) ? name : leader));
      // migrationThresholdReached: user_percentage greater than the policy; with no requests there is no one to follow.
      const thresholdReached = total > 0 && countOf(lastWindow, site) / total > threshold;
      // user_boolean: the requests from that site, recent against earlier.
      const rising = countOf(requestsBetween(requests, now - trend, now), site) > countOf(requestsBetween(requests, now - 2 * trend, now - trend), site);
      if (thresholdReached && rising) placement[node.name] = site;
    }
    return placement;
  },
});

/** Requests per site in the samples of (after, until]: a sample counts the interval that ends at its `at`. */
function requestsBetween(requests: readonly RequestSample[], after: number, until: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { at, from } of requests) {
    if (at <= after || at > until) continue;
    for (const [site, count] of Object.entries(from)) counts.set(site, countOf(counts, site) + count);
  }
  return counts;
}

function countOf(counts: Map<string, number>, site: string): number {
  return counts.get(site) ?? 0;
}
