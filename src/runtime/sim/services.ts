/**
 * The simulator's service registry: the etcd registry of the node agent (node/service-registry.ts), in memory.
 * Registering, deregistering and discovering take no virtual time. Entries are held by their node's lease, as
 * in containers, where the agent never revokes its lease on the way down: when a node stops or is killed, its
 * entries stay listed, stale, for the lease's time to live (REGISTRATION_TTL_SECONDS, in virtual time), and
 * then all disappear at once.
 */
import type { Json, ServiceInstance, ServiceRegistry } from '../../sdk/types.js';

export class SimServices {
  /** Service name → node id → info. */
  private readonly entries = new Map<string, Map<string, Json>>();

  /** The registry as node `nodeId` sees it: it registers and deregisters its own instances only. */
  forNode(nodeId: string): ServiceRegistry {
    return {
      register: async (service, info = null) => {
        const instances = this.entries.get(service) ?? new Map<string, Json>();
        this.entries.set(service, instances);
        // Copied as etcd's JSON round trip would: later changes to the object do not reach the registry.
        instances.set(nodeId, copy(info));
      },
      deregister: async (service) => {
        this.entries.get(service)?.delete(nodeId);
      },
      discover: async (service) =>
        [...(this.entries.get(service) ?? [])].map(([node, info]): ServiceInstance => ({ node, info: copy(info) })),
    };
  }

  /** The node's lease ran out: every entry it held goes. */
  expire(nodeId: string): void {
    for (const instances of this.entries.values()) instances.delete(nodeId);
  }

  clear(): void {
    this.entries.clear();
  }
}

function copy(value: Json): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}
