/**
 * `peerlab migrate`: moves one node of a run that is up on this host's engine, or on its local Swarm, to a new
 * container (see move.ts).
 */
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { connectRunEtcd } from '../run/run-etcd.js';
import { attachRunNodes } from '../run/attach.js';
import { moveNode } from './move.js';

import type { MoveOutcome, MoveRequest } from './move.js';

export { moveNode, readMoveRecords, type MoveOutcome, type MoveRequest } from './move.js';

export async function migrateRunNode(docker: Docker, request: Pick<MoveRequest, 'runId' | 'nodeId' | 'to' | 'signal' | 'onWaiting'>): Promise<MoveOutcome> {
  const nodes = await attachRunNodes(docker, request.runId);
  const etcd = await connectRunEtcd(docker, request.runId);
  if (!etcd) throw new PeerlabError(`no run ${request.runId} is up here with an etcd of its own`, { hint: 'run `peerlab status` to list the runs that are up' });
  try {
    return await moveNode(nodes, etcd, { ...request, kind: 'migrate' });
  } finally {
    etcd.close();
  }
}

/** One line for people: `node 3 moved to local (…) with 212 ms of downtime: snapshot 1.0 MiB, 4 carried, 17 replayed`. */
export function describeMove(record: MoveOutcome): string {
  const size = record.snapshotBytes >= 1024 * 1024 ? `${(record.snapshotBytes / 1024 / 1024).toFixed(1)} MiB` : `${(record.snapshotBytes / 1024).toFixed(1)} KiB`;
  const waited = record.waitedMs === undefined ? '' : ` (after waiting ${(record.waitedMs / 1000).toFixed(1)} s for the move before it)`;
  return `node ${record.node} moved to ${record.host} (${record.from ?? '?'} → ${record.to ?? '?'}) with ${record.downtimeMs} ms of downtime${waited}: snapshot ${size}, ${record.carried} message(s) carried, ${record.replayed} held and replayed`;
}
