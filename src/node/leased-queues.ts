import type { RunKeys } from '../coordination/keys.js';
import type { LeasedQueues } from '../host/contention.js';
import type { EtcdClient } from './etcd-client.js';
import type { NodeLease } from './registration.js';

/**
 * The lease-held queues of locks and elections in a node container: one key per node, `<queue>/<node>`, put
 * under the node's registry lease, and ordered by etcd's create revision (a put that updates the value keeps
 * it, so a candidate keeps its place).
 */
export function etcdLeasedQueues(etcd: EtcdClient, lease: Pick<NodeLease, 'current'>, keys: RunKeys, nodeId: string, onWatchRefused: (error: Error) => void): LeasedQueues {
  return {
    join: async (queue, value) => etcd.put(keys.queueEntry(queue, nodeId), value, await lease.current()),
    entries: async (queue) => {
      const prefix = keys.queuePrefix(queue);
      const entries = await etcd.getPrefixByCreation(prefix);
      return entries.map(({ key, value, createRevision }) => ({ node: key.slice(prefix.length), value, joined: Number(createRevision) }));
    },
    leave: (queue) => etcd.delete(keys.queueEntry(queue, nodeId)),
    waitForLeave: (queue, node) => etcd.waitForDelete(keys.queueEntry(queue, node)),
    watch: (queue, onChange) =>
      etcd.watchPrefix(keys.queuePrefix(queue), onChange, (reason) => onWatchRefused(new Error(`etcd refused to watch ${keys.queuePrefix(queue)}: ${reason}`))),
  };
}
