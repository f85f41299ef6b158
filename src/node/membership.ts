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

type MembershipListener = Pick<AlgorithmHost, 'neighbourDown' | 'neighbourUp'>;

/**
 * Holds the registry's news for the host until its algorithm has begun. The registry is followed from the start
 * revision as soon as the start is read, a lead ahead of the start moment, so that opening the watch is not one
 * more request to etcd from every node at the moment they all begin; a neighbour that went in the lead is told
 * to the algorithm after init, as if the watch had opened at the start.
 */
export class HeldUntilStart implements MembershipListener {
  private held: Array<() => void> | undefined = [];

  constructor(private readonly host: MembershipListener) {}

  neighbourDown(...args: Parameters<MembershipListener['neighbourDown']>): void {
    this.later(() => this.host.neighbourDown(...args));
  }

  neighbourUp(...args: Parameters<MembershipListener['neighbourUp']>): void {
    this.later(() => this.host.neighbourUp(...args));
  }

  /** The algorithm has begun: what was held is told now, in order, and the rest as it comes. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const tell of held) tell();
  }

  private later(tell: () => void): void {
    if (this.held) this.held.push(tell);
    else tell();
  }
}
