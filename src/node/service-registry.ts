import type { RunKeys } from '../coordination/keys.js';
import type { Json, ServiceInstance, ServiceRegistry } from '../sdk/types.js';

/**
 * What the service registry needs of etcd, whichever client provides it: keys held by the node's lease, and a
 * read by prefix.
 */
export interface LeasedKeyValue {
  /** Writes `key` under the node's lease, so that it goes when the node does. */
  putLeased(key: string, value: string): Promise<void>;
  deleteLeased(key: string): Promise<void>;
  /** Every key under `prefix`, with its value. */
  getPrefix(prefix: string): Promise<Array<{ key: string; value: string }>>;
}

/** The SDK's service registry in a node container: one key per instance, `services/<name>/<node>` → info. */
export function etcdServiceRegistry(store: LeasedKeyValue, keys: RunKeys, nodeId: string): ServiceRegistry {
  return {
    register: (service, info = null) => store.putLeased(keys.service(service, nodeId), JSON.stringify(info)),
    deregister: (service) => store.deleteLeased(keys.service(service, nodeId)),
    discover: async (service) => {
      const prefix = keys.servicePrefix(service);
      const entries = await store.getPrefix(prefix);
      return entries.map(({ key, value }): ServiceInstance => ({ node: key.slice(prefix.length), info: JSON.parse(value) as Json }));
    },
  };
}
