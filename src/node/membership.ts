import type { RunKeys } from '../coordination/keys.js';
import type { Registration } from '../coordination/protocol.js';
import type { AlgorithmHost } from '../host/algorithm-host.js';
import type { EtcdClient } from './etcd-client.js';

/**
 * Tells the host when an overlay neighbour goes down or comes back, from the registry: a neighbour is up while
 * its `nodes/<id>` key, held by its lease, exists. A key that goes after its node wrote it once more with
 * `leaving` (a graceful stop, see the agent's SIGTERM handler) means the neighbour `left`; one that goes
 * without means its lease ran out, a crash. Resolves, once watching, with the function that stops.
 *
 * The watch covers the whole registry, since etcd watches one key or one range and the neighbours' keys are
 * scattered through it; so every node hears every registration it watches through. From `fromRevision` (the
 * run's start), it does not hear the N registrations of bring-up: a bring-up that watched them cost N² events
 * over the run, the largest cost of start-up that grew with N.
 */
export function followNeighbours(
  etcd: EtcdClient,
  keys: RunKeys,
  /** The overlay neighbours and their edges' weights: the agent adds the nodes that join attached to it. */
  weights: ReadonlyMap<string, number>,
  host: Pick<AlgorithmHost, 'neighbourDown' | 'neighbourUp'>,
  onRefused: (error: Error) => void,
  fromRevision?: bigint,
): Promise<() => void> {
  const leaving = new Set<string>();
  return etcd.watchPrefix(
    keys.nodesPrefix,
    (event) => {
      const id = event.key.slice(keys.nodesPrefix.length);
      const weight = weights.get(id);
      if (weight === undefined) return;
      if (event.type === 'delete') {
        host.neighbourDown(id, leaving.delete(id) ? 'left' : 'lease-expired');
      } else if ((JSON.parse(event.value) as Registration).leaving) {
        leaving.add(id);
      } else {
        host.neighbourUp({ id, weight });
      }
    },
    (reason) => onRefused(new Error(`etcd refused to watch the registry ${keys.nodesPrefix}: ${reason}`)),
    fromRevision,
  );
}
