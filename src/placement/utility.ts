/**
 * Each host's utility over the last rounds of a running policy, for policies that leave poor hosts (seed 004's
 * threshold): as its Roaming table rates a host by "the utility of some important system components", a host's
 * `cpu` component is the share of its capacity its nodes leave free, 1 − (their loads) / capacity, at each round.
 * The same on Docker (loads measured) and in the simulator (loads granted).
 */
import type { PlacementHost, PlacementNode, UtilitySample } from '../sdk/placement.js';

/** The longest a series reaches back, and the most samples it keeps: enough for threshold's default 300 s at a round every 5 s. */
export const UTILITY_HISTORY_S = 900;
export const UTILITY_SAMPLES_KEPT = 64;

export class HostUtility {
  private readonly series = new Map<string, UtilitySample[]>();

  /** Records the round at `atS` (seconds) and returns the hosts as a policy sees them, each with its series, oldest first. */
  rate(atS: number, hosts: readonly Omit<PlacementHost, 'utility'>[], nodes: readonly Pick<PlacementNode, 'host' | 'load'>[]): PlacementHost[] {
    return hosts.map(({ name, capacity, priority, central }) => {
      const host = { name, capacity, priority, central };
      const used = nodes.filter((node) => node.host === host.name).reduce((sum, node) => sum + node.load, 0);
      const samples = this.series.get(host.name) ?? [];
      samples.push({ at: atS, components: { cpu: Math.min(1, Math.max(0, 1 - used / host.capacity)) } });
      while (samples.length > UTILITY_SAMPLES_KEPT || samples[0]!.at < atS - UTILITY_HISTORY_S) samples.shift();
      this.series.set(host.name, samples);
      return { ...host, utility: [...samples] };
    });
  }
}
