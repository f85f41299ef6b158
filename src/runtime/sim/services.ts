/**
 * The simulator's service registry: the etcd registry of the node agent (node/service-registry.ts), in memory.
 * Registering, deregistering and discovering take no virtual time. Entries are held by their node's lease, as
 * in containers: a node that stops gracefully revokes its lease and its entries go at once; one that is killed
 * (or paused) renews nothing, so its entries stay listed, stale, for the lease's time to live
 * (REGISTRATION_TTL_SECONDS, in virtual time), and then all disappear at once; a paused node that resumes
 * registers them again, as the agent does under a new lease.
 */
import type { Json, ServiceInstance, ServiceRegistry } from '../../sdk/types.js';
import { copyJson } from '../../util/json-copy.js';

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
        instances.set(nodeId, copyJson(info));
      },
      deregister: async (service) => {
        this.entries.get(service)?.delete(nodeId);
      },
      discover: async (service) =>
        [...(this.entries.get(service) ?? [])].map(([node, info]): ServiceInstance => ({ node, info: copyJson(info) })),
    };
  }

  /** The node's lease ran out: every entry it held goes. Returns them, info by service name. */
  expire(nodeId: string): Map<string, Json> {
    const gone = new Map<string, Json>();
    for (const [service, instances] of this.entries) {
      if (instances.has(nodeId)) gone.set(service, instances.get(nodeId)!);
      instances.delete(nodeId);
    }
    return gone;
  }

  /** The node registered again under a new lease: its entries are back. */
  restore(nodeId: string, registrations: ReadonlyMap<string, Json>): void {
    for (const [service, info] of registrations) {
      const instances = this.entries.get(service) ?? new Map<string, Json>();
      this.entries.set(service, instances);
      instances.set(nodeId, info);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
