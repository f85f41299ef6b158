import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import Dockerode from 'dockerode';
import { clusterEngines } from '../cluster/index.js';
import { removeSwarmRunObjects } from '../runtime/swarm.js';
import { connectDocker, RUN_LABEL } from '../docker/engine.js';
import { removeRunObjects } from '../runtime/docker.js';
import { hasShape, RUN_ID, type RunId } from '../util/names.js';
import { runStateDir, STATE_ROOT } from './state.js';

/**
 * Removes a run's containers, network and local state; with no run id, every peerlab run. The run's etcd
 * keys go with its etcd container. Succeeds when some or all of it is already gone.
 */
export async function takeDown(docker: Docker, runId: RunId | undefined): Promise<{ services: number; containers: number; networks: number }> {
  // A Swarm run's services go first (their tasks with them, on every engine of the local cluster), then what is
  // left on the host's engine.
  const engines = await clusterEngines().catch(() => undefined);
  const swarm = engines ? await removeSwarmRunObjects(engines.map((engine) => new Dockerode({ socketPath: engine.socketPath })), runId) : { services: 0, containers: 0, networks: 0 };
  const local = await removeRunObjects(docker, runId);
  const removed = { services: swarm.services, containers: local.containers + swarm.containers, networks: local.networks + swarm.networks };
  if (runId) {
    await rm(runStateDir(runId), { recursive: true, force: true });
  } else {
    for (const entry of await readdir(STATE_ROOT).catch(() => [])) await rm(path.join(STATE_ROOT, entry), { recursive: true, force: true });
  }
  return removed;
}

/**
 * The ids of runs that have any Docker object, newest first. A label that is not a run id was not written by
 * peerlab (anyone can label a container), so it is left out: it never names a folder to remove.
 */
export async function listRunIds(docker: Docker): Promise<RunId[]> {
  const networks = await docker.listNetworks({ filters: { label: [RUN_LABEL] } });
  const containers = await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
  const ids = new Set([...networks.map((n) => n.Labels?.[RUN_LABEL]), ...containers.map((c) => c.Labels[RUN_LABEL])]);
  return [...ids].filter((id): id is RunId => hasShape(RUN_ID, id)).sort().reverse();
}

/**
 * After an interrupt: containers and services whose creation was already under way appear after the first sweep,
 * so sweep until one finds nothing (creation stops on the abort, so this ends within a few sweeps).
 */
export async function takeDownUntilGone(docker: Docker, runId: RunId): Promise<void> {
  // A failed sweep (every container tried, each transient refusal retried for ~22 s) is followed by another, since
  // containers whose creation was in flight may appear meanwhile; a refusal that outlasts three sweeps is reported.
  let failedSweeps = 0;
  for (let sweep = 0; sweep < 20; sweep++) {
    try {
      const removed = await takeDown(docker, runId);
      if (removed.services === 0 && removed.containers === 0 && removed.networks === 0 && sweep > 0) return;
    } catch (error) {
      if (++failedSweeps >= MAX_FAILED_SWEEPS) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const MAX_FAILED_SWEEPS = 3;

/**
 * After Ctrl-C, once the run has had its chance to tear itself down: sweeps what is left of it. A simulated run
 * leaves nothing, so a Docker engine that does not answer means nothing to sweep (`--runtime auto` may have
 * chosen the simulator).
 */
export async function sweepInterruptedRun(runId: RunId): Promise<void> {
  const docker = await connectDocker().catch(() => undefined);
  if (docker) await takeDownUntilGone(docker, runId);
}

/**
 * Removes a run that was cut short (its process killed): its containers, network and local state. A simulator
 * run leaves nothing behind, so a Docker engine that does not answer means nothing to remove.
 */
export async function removeInterruptedRun(runId: RunId): Promise<number> {
  const docker = await connectDocker().catch(() => undefined);
  return docker ? (await takeDown(docker, runId)).containers : 0;
}
