/**
 * Who leads an election of a Docker run, for the `leader[:NAME]` fault selector, which is resolved when its
 * event fires. An election is a queue of candidates (host/contention.ts), etcd keys held by the candidates'
 * leases: the one with the lowest create revision leads. The simulator answers the same from its own queues
 * (Simulation.leaderOf).
 */
import type { Etcd3 } from 'etcd3';
import { electionQueue, runKeys } from './keys.js';

/** The node that leads `election` in run `runId` now, undefined if no node does. */
export async function currentLeader(etcd: Etcd3, runId: string, election: string): Promise<string | undefined> {
  const prefix = runKeys(runId).queuePrefix(electionQueue(election));
  const [first] = await etcd.getAll().prefix(prefix).sort('Create', 'Ascend').limit(1).keys();
  return first?.slice(prefix.length);
}
