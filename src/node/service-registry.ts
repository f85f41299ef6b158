import type { RunKeys } from '../coordination/keys.js';
import type { Json, ServiceInstance, ServiceRegistry } from '../sdk/types.js';
import type { EtcdClient } from './etcd-client.js';
import type { NodeLease } from './registration.js';

/**
 * The SDK's service registry in a node container: one key per instance, `services/<name>/<node>` → info, held
 * by the node's lease so that it goes when the node does.
 */
export function etcdServiceRegistry(
  lease: Pick<NodeLease, 'put' | 'delete'>,
  etcd: Pick<EtcdClient, 'getPrefix'>,
  keys: RunKeys,
  nodeId: string,
): ServiceRegistry {
  return {
    register: (service, info = null) => lease.put(keys.service(service, nodeId), JSON.stringify(info)),
    deregister: (service) => lease.delete(keys.service(service, nodeId)),
    discover: async (service) => {
      const prefix = keys.servicePrefix(service);
      const entries = await etcd.getPrefix(prefix);
      return entries.map(({ key, value }): ServiceInstance => ({ node: key.slice(prefix.length), info: JSON.parse(value) as Json }));
    },
  };
}
