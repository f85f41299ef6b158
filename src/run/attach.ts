/**
 * The nodes of a run that is up, found from outside the process that brought it up (`status`, `migrate`): on the
 * local cluster's engines if it is a Swarm run there, else on this engine.
 */
import type Docker from 'dockerode';
import Dockerode from 'dockerode';
import { clusterEngines } from '../cluster/index.js';
import { DockerRuntime } from '../runtime/docker.js';
import { SwarmRuntime } from '../runtime/swarm.js';

export async function attachRunNodes(docker: Docker, runId: string): Promise<DockerRuntime | SwarmRuntime> {
  const cluster = await clusterEngines().catch(() => undefined);
  const swarm = cluster && (await SwarmRuntime.attach(cluster.map((engine) => ({ ...engine, docker: new Dockerode({ socketPath: engine.socketPath }) })), runId));
  return swarm ?? DockerRuntime.attach(docker, runId);
}
