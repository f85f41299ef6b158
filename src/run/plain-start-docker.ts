/**
 * The start-up bench's baseline on Docker: `docker run -d` of peerlab's own node container spec (image, network,
 * limits, mounts, labels), `concurrency` at a time, each idling instead of running the agent. The network is
 * created inside the timing, as peerlab's is. The CLI, not the Engine API, because that is what a user would
 * type; its process spawns are counted as client CPU.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { connectDocker, RUN_LABEL } from '../docker/engine.js';
import { ENV } from '../node/identity.js';
import { dockerRunArgs } from '../runtime/docker-run-args.js';
import { networkName, nodeContainerSpec, removeRunObjects } from '../runtime/docker.js';
import { forEachLimited } from '../util/concurrency.js';
import type { PlainStart, PlainStartRequest } from './deployment.js';

const run = promisify(execFile);

/** What the idle containers run instead of the agent. */
export const IDLE_COMMAND = ['node', '-e', 'setInterval(() => {}, 1 << 30)'] as const;

export async function dockerRunPlainStart(request: PlainStartRequest): Promise<PlainStart> {
  request.signal?.throwIfAborted();
  const { runId } = request;
  const docker = await connectDocker();
  const mounted = await mkdtemp(path.join(os.tmpdir(), 'peerlab-bench-baseline-'));
  let removing: Promise<void> | undefined;
  const remove = (): Promise<void> =>
    (removing ??= (async () => {
      await removeRunObjects(docker, runId);
      await rm(mounted, { recursive: true, force: true });
    })());
  try {
    const began = Date.now();
    await run('docker', ['network', 'create', '--label', `${RUN_LABEL}=${runId}`, networkName(runId)]);
    const networkMs = Date.now() - began;
    const runtime = { runId, image: request.image, memoryLimit: request.memoryLimit, mounts: { [mounted]: '/algorithm' }, concurrency: request.concurrency };
    const perContainerMs: number[] = [];
    const ids = Array.from({ length: request.nodes }, (_, index) => String(index));
    const [entrypoint, ...command] = IDLE_COMMAND;
    await forEachLimited(ids, request.concurrency, async (id) => {
      const spec = nodeContainerSpec(runtime, { id, env: { [ENV.run]: runId, [ENV.node]: id } });
      const spawned = Date.now();
      await run('docker', dockerRunArgs({ ...spec, Entrypoint: [entrypoint], Cmd: command }));
      perContainerMs.push(Date.now() - spawned);
    }, request.signal);
    request.signal?.throwIfAborted();
    return {
      command: `${request.nodes} × docker run -d, ${request.concurrency} at a time`,
      startedMs: Date.now() - began,
      networkMs,
      perContainerMs,
      engines: [docker],
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
