/**
 * The start-up bench's baseline on the local Swarm: plain `docker service create` of peerlab's own node service
 * (image, overlay, limits, mounts, labels, placement), one service per engine with the replicas peerlab's spread
 * placement gives it, each task idling instead of running the agent, and scaled up in the same steps as
 * peerlab's (`docker service scale`): all of an engine's tasks at once overload a 2-core host until Swarm shuts
 * tasks down (N = 150 and 300, measured). The fastest honest way: the overlay is created inside the timing, as
 * peerlab's is; its tasks are polled every 100 ms (peerlab polls every 250). Through the Engine API, not the CLI,
 * whose attached `service create` waits seconds for the service to look stable after its tasks run.
 */
import { RUN_LABEL } from '../docker/engine.js';
import { ENV } from '../node/identity.js';
import { createRunOverlay, nodeServiceSpec, removeSwarmRunObjects, serviceName, startServicesInSteps, type SwarmTask } from '../runtime/swarm.js';
import type { PlainStart, PlainStartRequest } from './deployment.js';
import { IDLE_COMMAND } from './plain-start-docker.js';
import { freeOverlaySubnet, spreadImage, startStepPerEngine, swarmEngines } from './swarm-cluster.js';

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
    const step = startStepPerEngine(request.concurrency, engines.length);
    const services = engines.flatMap((_engine, engine) => {
      const onEngine = ids.filter((_id, index) => index % engines.length === engine);
      if (onEngine.length === 0) return [];
      return [{ spec: nodeServiceSpec(options, serviceName(runId, engine, 0), engine, onEngine, { [ENV.run]: runId }, IDLE_COMMAND), replicas: onEngine.length }];
    });
    let running: SwarmTask[] = [];
    const ended = (_task: SwarmTask, reason: string): Error => new Error(`a baseline task ${reason}`);
    await startServicesInSteps(manager, runId, services, step, TASK_POLL_MS, request.signal, ended, (tasks) => {
      running = tasks.filter((task) => task.Status?.State === 'running');
    });
    // Each task from when the orchestrator made it (its service created, or scaled up to it) until it ran.
    const perContainerMs = running.map((task) => Date.parse(task.Status?.Timestamp ?? '') - Date.parse(task.CreatedAt ?? ''));
    return {
      command: `${engines.length} × docker service create, scaled up ${step} task(s) at a time each (Engine API), ${request.nodes} replicas spread over ${engines.length} engines`,
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
