/**
 * The start-up bench's baseline on the local Swarm: plain `docker service create` of peerlab's own node service
 * (image, overlay, limits, mounts, labels, placement), one service per engine with the replicas peerlab's spread
 * placement gives it, each task idling instead of running the agent. The fastest honest way: the overlay is
 * created inside the timing, as peerlab's is; the services are created at once (peerlab creates its own one after
 * another); their tasks are polled every 100 ms (peerlab polls every 250). Through the Engine API, not the CLI,
 * whose attached `service create` waits seconds for the service to look stable after its tasks run.
 */
import type Docker from 'dockerode';
import { RUN_LABEL } from '../docker/engine.js';
import { ENV } from '../node/identity.js';
import { createRunOverlay, ENDED_TASK_STATES, listRunTasks, nodeServiceSpec, removeSwarmRunObjects, serviceName } from '../runtime/swarm.js';
import type { PlainStart, PlainStartRequest } from './deployment.js';
import { IDLE_COMMAND } from './plain-start-docker.js';
import { freeOverlaySubnet, spreadImage, swarmEngines } from './swarm-cluster.js';

const TASK_POLL_MS = 100;

export async function serviceCreatePlainStart(request: PlainStartRequest): Promise<PlainStart> {
  request.signal?.throwIfAborted();
  const { runId } = request;
  const engines = await swarmEngines();
  const manager = engines[0]!.docker;
  const dockers = engines.map((engine) => engine.docker);
  // Outside the timing, as peerlab's image step is outside its containers' phase.
  await spreadImage(engines, request.image);
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> => (removing ??= removeSwarmRunObjects(dockers, runId).then(() => undefined));
  try {
    const began = Date.now();
    const subnet = await freeOverlaySubnet(manager, request.nodes + engines.length + 8);
    await createRunOverlay(manager, runId, subnet);
    // A mounted config, as each peerlab node has its algorithm's bundle (this one holds a few bytes).
    const config = (await manager.createConfig({ Name: `peerlab-${runId}-b0`, Labels: { [RUN_LABEL]: runId }, Data: Buffer.from('idle').toString('base64') })) as { ID?: string; id?: string };
    const configs = [{ id: config.ID ?? config.id ?? '', name: `peerlab-${runId}-b0`, file: '/algorithm/idle' }];
    const networkMs = Date.now() - began;
    const ids = Array.from({ length: request.nodes }, (_, index) => String(index));
    const options = { runId, image: request.image, memoryLimit: request.memoryLimit, subnet, configs };
    const requested = new Map<string, number>();
    await Promise.all(
      engines.map(async (_engine, engine) => {
        const onEngine = ids.filter((_id, index) => index % engines.length === engine);
        if (onEngine.length === 0) return;
        const requestedAt = Date.now();
        const spec = nodeServiceSpec(options, serviceName(runId, engine, 0), engine, onEngine, { [ENV.run]: runId }, IDLE_COMMAND);
        const created = (await manager.createService(spec)) as { ID?: string; id?: string };
        requested.set(created.ID ?? created.id ?? '', requestedAt);
      }),
    );
    const perContainerMs = await waitAllRunning(manager, runId, request.nodes, requested, request.signal);
    return {
      command: `${engines.length} × docker service create (Engine API, at once), ${request.nodes} replicas spread over ${engines.length} engines`,
      startedMs: Date.now() - began,
      networkMs,
      perContainerMs,
      engines: dockers,
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Each task's time from its service's request until Swarm saw it running, once all run. */
async function waitAllRunning(
  manager: Docker,
  runId: string,
  total: number,
  requested: ReadonlyMap<string, number>,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  for (;;) {
    signal?.throwIfAborted();
    const tasks = await listRunTasks(manager, runId);
    const failed = tasks.find((task) => ENDED_TASK_STATES.has(task.Status?.State ?? ''));
    if (failed) throw new Error(`a baseline task ${failed.Status?.State}: ${failed.Status?.Err ?? failed.Status?.Message ?? 'no reason given'}`);
    const running = tasks.filter((task) => task.Status?.State === 'running');
    if (running.length >= total) {
      return running.map((task) => (Date.parse(task.Status?.Timestamp ?? '') || Date.now()) - (requested.get(task.ServiceID ?? '') ?? Date.now()));
    }
    await new Promise((resolve) => setTimeout(resolve, TASK_POLL_MS));
  }
}
