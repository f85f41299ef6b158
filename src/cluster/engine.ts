/**
 * One extra engine of a local cluster: a real dockerd (with its own containerd) in its own network namespace,
 * with its own data root, exec root, pid file, socket and log, all under the engine's folder.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import type { EnginePlan } from './plan.js';
import { CLUSTER_LABEL, ENGINE_LABEL } from './state.js';
import { alive, netnsPath, processesUnder } from './system.js';

const READY_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_TAIL_LINES = 3;

export function engineLog(engine: EnginePlan): string {
  return path.join(engine.dir!, 'dockerd.log');
}

function pidFile(engine: EnginePlan): string {
  return path.join(engine.dir!, 'dockerd.pid');
}

/** A client for an engine's socket. */
export function engineClient(socketPath: string): Docker {
  return new Docker({ socketPath });
}

/**
 * Starts the engine's dockerd inside its namespace and waits until its API answers. `nsenter --net` enters
 * only the network namespace; `ip netns exec` would also remount /sys, which hides the cgroup mounts
 * ("Devices cgroup isn't mounted"). Every setting is in the engine's own daemon.json, so the host's
 * /etc/docker/daemon.json (hosts, data-root…) cannot leak in.
 */
export async function startEngine(engine: EnginePlan, clusterName: string): Promise<Docker> {
  const dir = engine.dir!;
  await mkdir(dir, { recursive: true });
  const config = {
    'data-root': path.join(dir, 'data'),
    'exec-root': path.join(dir, 'exec'),
    pidfile: pidFile(engine),
    hosts: [`unix://${engine.socketPath!}`],
    labels: [`${CLUSTER_LABEL}=${clusterName}`, `${ENGINE_LABEL}=${engine.index}`],
    // Docker's NAT and isolation rules go into this namespace's own iptables, not the host's.
    iptables: true,
    'ip-forward': true,
    'log-driver': 'json-file',
    'log-opts': { 'max-size': '10m', 'max-file': '2' },
  };
  const configFile = path.join(dir, 'daemon.json');
  await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
  // dockerd gives the containerd it starts only 15 s; a fresh, busy machine has taken 14 s, so that one failure
  // is tried once more (the second containerd starts warm).
  for (let attempt = 1; ; attempt++) {
    try {
      return await spawnEngine(engine, configFile);
    } catch (error) {
      const containerdTimedOut = /timeout waiting for containerd/.test(await logTail(engine));
      if (attempt >= 2 || !containerdTimedOut) throw error;
    }
  }
}

async function spawnEngine(engine: EnginePlan, configFile: string): Promise<Docker> {
  const log = openSync(engineLog(engine), 'a');
  try {
    const child = spawn('nsenter', [`--net=${netnsPath(engine.netns!)}`, '--', 'dockerd', '--config-file', configFile], {
      detached: true,
      stdio: ['ignore', log, log],
      // A Swarm task otherwise tries a registry pull first, even of a local image; offline that waits for a
      // timeout on every task. dockerd's own switch makes it use the local image when there is one.
      env: { ...process.env, DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' },
    });
    child.unref();
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.once('error', () => undefined);
    const docker = engineClient(engine.socketPath!);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const answered = await docker.ping().then(
        () => true,
        () => false,
      );
      if (answered) return docker;
      const code = await Promise.race([exited, sleep(200).then(() => 'running' as const)]);
      if (code !== 'running' || Date.now() > deadline) {
        const why = code === 'running' ? `did not answer within ${READY_TIMEOUT_MS / 1000} s` : `exited (${String(code)})`;
        throw new PeerlabError(`${engine.name}'s dockerd ${why}: ${await logTail(engine)}`, { hint: `see ${engineLog(engine)}; then peerlab cluster down` });
      }
    }
  } finally {
    closeSync(log);
  }
}

/** The last lines of an engine's log, on one line. */
export async function logTail(engine: EnginePlan, lines = LOG_TAIL_LINES): Promise<string> {
  const text = await readFile(engineLog(engine), 'utf8').catch(() => '');
  return text
    .trim()
    .split('\n')
    .slice(-lines)
    .map((line) => /msg="([^"]*)"/.exec(line)?.[1] ?? line)
    .join(' | ');
}

/**
 * Stops the engine's dockerd (SIGTERM: it stops its containers and its containerd), then kills whatever of the
 * engine is still running after the grace period, found by its folder in the command line.
 */
export async function stopEngine(engine: EnginePlan): Promise<void> {
  const pid = Number((await readFile(pidFile(engine), 'utf8').catch(() => '')).trim());
  if (pid > 0 && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (alive(pid) && !isZombie(pid) && Date.now() < deadline) await sleep(100);
  }
  for (const leftover of await processesUnder(engine.dir!)) {
    try {
      process.kill(leftover, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A dockerd this process started and that exited stays a zombie until reaped: it is stopped all the same. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * Removes every service (on a manager), container, user network and volume of one engine, and returns how many
 * of each it removed.
 */
export async function emptyEngine(docker: Docker, options: { services: boolean }): Promise<EngineObjects> {
  let services = 0;
  if (options.services) {
    for (const service of await docker.listServices().catch(() => [])) {
      await docker.getService(service.ID).remove().catch(() => undefined);
      services++;
    }
  }
  const containers = await docker.listContainers({ all: true });
  await Promise.all(containers.map((container) => docker.getContainer(container.Id).remove({ force: true, v: true }).catch(() => undefined)));
  let networks = 0;
  for (const network of await docker.listNetworks()) {
    if (PREDEFINED_NETWORKS.has(network.Name) || network.Scope === 'swarm') continue;
    if (await docker.getNetwork(network.Id).remove().then(() => true, () => false)) networks++;
  }
  const { Volumes: volumes } = await docker.listVolumes();
  await Promise.all((volumes ?? []).map((volume) => docker.getVolume(volume.Name).remove({ force: true }).catch(() => undefined)));
  return { services, containers: containers.length, networks, volumes: volumes?.length ?? 0 };
}

export interface EngineObjects {
  readonly services: number;
  readonly containers: number;
  readonly networks: number;
  readonly volumes: number;
}

/** Networks every engine has and nobody can remove; docker_gwbridge and ingress go with the Swarm. */
export const PREDEFINED_NETWORKS = new Set(['bridge', 'host', 'none']);

/**
 * What an engine holds now (user networks only), for status and tests. On the host's engine, which other work
 * shares, only the Swarm's tasks and networks and the cluster's labelled volumes count.
 */
export async function engineObjects(docker: Docker, options: { sharedHost?: string } = {}): Promise<EngineObjects> {
  const swarm = ((await docker.info()) as { Swarm?: { ControlAvailable?: boolean } }).Swarm;
  const shared = options.sharedHost;
  const [services, containers, networks, volumes] = await Promise.all([
    swarm?.ControlAvailable ? docker.listServices() : Promise.resolve([]),
    docker.listContainers({ all: true, ...(shared ? { filters: { label: [SWARM_TASK_LABEL] } } : {}) }),
    docker.listNetworks(shared ? { filters: { scope: ['swarm'] } } : {}),
    docker.listVolumes(shared ? { filters: { label: [`${CLUSTER_LABEL}=${shared}`] } } : {}),
  ]);
  return {
    services: services.length,
    containers: containers.length,
    networks: networks.filter((network) => !PREDEFINED_NETWORKS.has(network.Name)).length,
    volumes: volumes.Volumes?.length ?? 0,
  };
}

/** Every container Swarm runs for a service carries its service's id. */
export const SWARM_TASK_LABEL = 'com.docker.swarm.service.id';
