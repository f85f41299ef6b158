/**
 * Equal balance, as seed 000 (Zoe's Scout, §3.3.1) defines it: keep every host's load as equal as possible.
 * Greedy and first come, first served: each node in turn goes to the host whose load is lowest so far, where a
 * node's load on a host is its measured load over the host's capacity. A held node stays and adds its load to
 * its own host. Ties go to the host listed first.
 *
 * Nodes come in the input's order (node id, in a run), or with `scoutOrder: 1` grouped by their current host as
 * seed 000's Scout hands them over (§3.3). The source's oscillation under overload comes from that order: a
 * node's turn, and so where it goes, changes with where it is (README, "Seed 000's balancers").
 */
import { definePolicy, groupedByHost, loadOn, type PlacementHost } from 'peerlab';

export default definePolicy({
  name: 'equal',
  description: "seed 000's equal balance: each node to the host with the lowest load so far",
  place({ hosts, nodes, settings }) {
    const load = new Map<PlacementHost, number>(hosts.map((host) => [host, 0]));
    const placement: Record<string, string> = {};
    for (const node of settings.scoutOrder ? groupedByHost(nodes, hosts) : nodes) {
      const host = node.hold ? hosts.find((h) => h.name === node.host)! : lowest(load);
      load.set(host, load.get(host)! + loadOn(node, host));
      placement[node.name] = host.name;
    }
    return placement;
  },
});

/** The host with the lowest load; of equal ones, the first listed (Map keeps the input's order). */
function lowest(load: Map<PlacementHost, number>): PlacementHost {
  let best: PlacementHost | undefined;
  for (const [host, value] of load) if (best === undefined || value < load.get(best)!) best = host;
  return best!;
}
