/**
 * Priority, as seed 000 (Zoe's Scout, §3.3.2) defines it: fill the hosts in priority order (1 first), each up to
 * a load limit (0.8 in the source); a node that fits nowhere goes to the central host. A held node stays and
 * adds its load to its own host. Hosts of equal priority are tried in the order they are listed. Nodes come in
 * the input's order, or with `scoutOrder: 1` grouped by their current host, as seed 000's Scout hands them over.
 */
import { definePolicy, groupedByHost, loadOn, type PlacementHost } from 'peerlab';

export default definePolicy({
  name: 'prio',
  description: "seed 000's priority balance: the first host by priority whose load stays within the limit, else the central one",
  place({ hosts, nodes, settings }) {
    const limit = settings.limit ?? 0.8;
    const byPriority = [...hosts].sort((a, b) => a.priority - b.priority);
    const central = hosts.find((host) => host.central) ?? byPriority[byPriority.length - 1]!;
    const load = new Map<PlacementHost, number>(hosts.map((host) => [host, 0]));
    const placement: Record<string, string> = {};
    for (const node of settings.scoutOrder ? groupedByHost(nodes, hosts) : nodes) {
      const host = node.hold
        ? hosts.find((h) => h.name === node.host)!
        : (byPriority.find((candidate) => load.get(candidate)! + loadOn(node, candidate) <= limit) ?? central);
      load.set(host, load.get(host)! + loadOn(node, host));
      placement[node.name] = host.name;
    }
    return placement;
  },
});
