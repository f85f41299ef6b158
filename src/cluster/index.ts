/**
 * The local multi-engine cluster (`peerlab cluster up|down|status`), and how other code reaches its engines.
 */
import { requireState } from './status.js';

export { clusterUp, type ClusterUpOptions, type ClusterUpResult } from './up.js';
export { clusterDown, type ClusterDownOptions, type ClusterDownResult } from './down.js';
export { clusterStatus, type ClusterStatus, type EngineStatus } from './status.js';
export { CLUSTER_LABEL, ENGINE_LABEL } from './state.js';

export interface ClusterEngine {
  /** engine-<k>; engine-1 is the host's engine and the Swarm's manager. */
  readonly name: string;
  /** Its Docker API socket (new Dockerode({ socketPath })). */
  readonly socketPath: string;
  /** Its address on the cluster's link: the Swarm advertise and data-path address. */
  readonly address: string;
}

/** The engines of the local cluster (the named one, or the only one); a one-line error when none is up. */
export async function clusterEngines(name?: string): Promise<ClusterEngine[]> {
  const state = await requireState(name);
  return state.plan.engines.map((engine) => ({ name: engine.name, socketPath: engine.socketPath ?? state.hostSocket, address: engine.address }));
}
