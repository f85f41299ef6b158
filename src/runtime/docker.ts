import { mkdir, writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import { nodeLogFile } from '../util/node-logs.js';
import { PeerlabError } from '../errors.js';
import { successorEnvLines } from '../node/identity.js';
import { containerMemoryBytes, dockerMessage, HOST_LABEL, NODE_LABEL, ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { forEachLimited } from '../util/concurrency.js';
import { howItDied } from '../run/run-watch.js';
import { checkInHostGroup, createHostGroups, hostCgroupParent, removeHostGroups, type EmulatedHost } from './emulated-hosts.js';
import { actOnServingContainer, demultiplex, ignoreMissing, STOP_GRACE_SECONDS, toNodeState } from './node-containers.js';
import type { ContainerNodes, ContainerStartup, ExecResult, NodeInfo, NodeSpec, StartProgress, SuccessorNodes } from './types.js';
import { compareNodeIds } from '../util/node-ids.js';
import { everyHostFull, limitsNodes, nodesPerHost, roomOn, whyNoRoom } from '../placement/room.js';

export interface DockerRuntimeOptions {
  readonly runId: string;
  readonly image: string;
  /** Per-node memory limit in bytes. */
  readonly memoryLimit: number;
  /** Host folders mounted read-only into every node: host path → container path. */
  readonly mounts: Readonly<Record<string, string>>;
  /** Host folders the nodes write into (a traced run's trace files): host path → container path. */
  readonly writableMounts?: Readonly<Record<string, string>>;
  /** How many containers are created and started at once. */
  readonly concurrency: number;
  /** Hosts of their own CPU quota on this engine (`--hosts`), with the host of each node; none: one host, `local`. */
  readonly hosts?: { readonly list: readonly EmulatedHost[]; readonly hostOf: ReadonlyMap<string, string> };
}

export const DEFAULT_NODE_MEMORY = 64 * 1024 * 1024;
export const DEFAULT_START_CONCURRENCY = 8;
/** A quarter of Docker's default weight, so that etcd (ETCD_CPU_SHARES) keeps up when hundreds of nodes are busy. */
export const NODE_CPU_SHARES = 256;
/** The one host of a run on one engine: where `peerlab migrate --to` can send a node. */
export const LOCAL_HOST = 'local';
/** A Linux bridge takes at most 1023 ports; one is the etcd container's. */
export const MAX_NODES_PER_BRIDGE = 1022;
export function networkName(runId: string): string {
  return `peerlab-${runId}`;
}

export function nodeContainerName(runId: string, nodeId: string): string {
  return `peerlab-${runId}-node-${nodeId}`;
}

/** Nodes as locked-down containers on one user-defined bridge network per run. */
export class DockerRuntime implements ContainerNodes, SuccessorNodes {
  readonly kind = 'docker' as const;

  /** Each node this runtime started, by id: what its create and start calls cost (the start-up bench splits them). */
  readonly containerStartup = new Map<string, ContainerStartup>();
  /**
   * The container serving each node, as this runtime started or last found it: a fault acts on it without first
   * listing the run's containers. A move by another process (`peerlab migrate`) leaves it stale; see onNode.
   */
  private readonly containerIds = new Map<string, string>();

  private constructor(
    private readonly docker: Docker,
    private readonly options: DockerRuntimeOptions,
  ) {}

  get runId(): string {
    return this.options.runId;
  }

  get engineClients(): readonly Docker[] {
    return [this.docker];
  }

  get network(): string {
    return networkName(this.options.runId);
  }

  /**
   * Creates the run network (Docker picks a subnet that collides with no existing network) and the hosts' CPU
   * groups. The network carries the hosts, so that `peerlab migrate` in another process finds them.
   */
  static async create(docker: Docker, options: DockerRuntimeOptions): Promise<DockerRuntime> {
    const runtime = new DockerRuntime(docker, options);
    const hosts = options.hosts?.list;
    await docker.createNetwork({
      Name: runtime.network,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [RUN_LABEL]: options.runId, ...(hosts ? { [HOST_LABEL]: JSON.stringify(hosts) } : {}) },
    });
    if (hosts) await createHostGroups(docker, options.runId, hosts);
    return runtime;
  }

  /** Attaches to a run that is already up (for status, migrate and down). */
  static attach(docker: Docker, runId: string): DockerRuntime {
    return new DockerRuntime(docker, { runId, image: '', memoryLimit: 0, mounts: {}, concurrency: DEFAULT_START_CONCURRENCY });
  }

  /** The run's emulated hosts: from the options of the run this process brought up, else from its network's label. */
  private async emulatedHosts(): Promise<readonly EmulatedHost[] | undefined> {
    if (this.options.hosts) return this.options.hosts.list;
    const inspected = (await this.docker.getNetwork(this.network).inspect().catch(() => undefined)) as { Labels?: Record<string, string> } | undefined;
    const label = inspected?.Labels?.[HOST_LABEL];
    return label === undefined ? undefined : (JSON.parse(label) as EmulatedHost[]);
  }

  async startNodes(nodes: readonly NodeSpec[], onProgress?: (progress: StartProgress) => void, signal?: AbortSignal): Promise<void> {
    let started = 0;
    await forEachLimited(nodes, this.options.concurrency, async (node) => {
      const requestedAt = Date.now();
      const host = this.options.hosts ? (this.options.hosts.hostOf.get(node.id) ?? (await this.leastLoadedHost())) : undefined;
      const container = await this.docker.createContainer(nodeContainerSpec(this.options, node, host));
      this.containerIds.set(node.id, container.id);
      const createdAt = Date.now();
      await container.start();
      if (host !== undefined) await checkInHostGroup((await container.inspect()).State.Pid, this.runId, host);
      this.containerStartup.set(node.id, { requestedAt, createdAt, startedAt: Date.now() });
      started += 1;
      onProgress?.({ started, total: nodes.length });
    }, signal);
  }

  private async containerOf(id: string): Promise<Docker.Container> {
    const known = this.containerIds.get(id);
    if (known) return this.docker.getContainer(known);
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${RUN_LABEL}=${this.runId}`, `${NODE_LABEL}=${id}`] },
    });
    // A node that migrated or restarted has had more than one container: the newest running one serves it.
    const [found] = containers.sort((a, b) => Number(b.State === 'running') - Number(a.State === 'running') || b.Created - a.Created);
    if (!found) throw new PeerlabError(`run ${this.runId} has no node ${id}`, { hint: 'see `peerlab status` for its nodes' });
    this.containerIds.set(id, found.Id);
    return this.docker.getContainer(found.Id);
  }

  private onNode<T>(id: string, act: (container: Docker.Container) => Promise<T>): Promise<T> {
    return actOnServingContainer(() => this.containerOf(id), () => this.containerIds.delete(id), act);
  }

  async hosts(): Promise<string[]> {
    return (await this.emulatedHosts())?.map((host) => host.name) ?? [LOCAL_HOST];
  }

  async hostOf(id: string): Promise<string> {
    return (await this.onNode(id, (container) => container.inspect())).Config.Labels[HOST_LABEL] ?? LOCAL_HOST;
  }

  async nodeHosts(): Promise<Map<string, string>> {
    // Running only, as on the Swarm: the list also has paused containers.
    const running = await this.docker.listContainers({ filters: { label: [`${RUN_LABEL}=${this.runId}`, `${ROLE_LABEL}=node`], status: ['running'] } });
    // Oldest first, so that during a move the new container, the one that serves the node from its commit on, wins.
    return new Map(running.sort((a, b) => a.Created - b.Created).map((container) => [container.Labels[NODE_LABEL] ?? '?', container.Labels[HOST_LABEL] ?? LOCAL_HOST]));
  }

  /**
   * The host with the fewest running nodes per CPU of its quota, leaving out `except` and hosts without room; of
   * equal ones, the first listed. Where a churn join or a move without `--to` goes. On one host: `local`.
   */
  async leastLoadedHost(except?: string): Promise<string> {
    const hosts = (await this.emulatedHosts())?.filter((host) => host.name !== except);
    if (!hosts?.length) return LOCAL_HOST;
    const holding = await this.nodesPerHost();
    const nodesOn = (host: string) => holding.get(host) ?? 0;
    const withRoom = hosts.filter((host) => roomOn(host, nodesOn(host.name)) > 0);
    if (withRoom.length === 0) throw everyHostFull(except);
    return withRoom.reduce((best, host) => (nodesOn(host.name) / host.cpus < nodesOn(best.name) / best.cpus ? host : best)).name;
  }

  async whyNoRoom(name: string): Promise<PeerlabError | undefined> {
    const hosts = (await this.emulatedHosts()) ?? [];
    // Without a limit there is nothing to count: no listing of the run's containers.
    return limitsNodes(hosts) ? whyNoRoom(hosts, name, await this.nodesPerHost()) : undefined;
  }

  /** Running nodes per host. Nodes, not containers: a node in the middle of a move counts once, on its new host. */
  private async nodesPerHost(): Promise<Map<string, number>> {
    return nodesPerHost((await this.nodeHosts()).values());
  }

  /** Listed anew: another process (`peerlab migrate`) may have moved the node since this one started it. */
  async currentContainer(id: string): Promise<string> {
    this.containerIds.delete(id);
    return (await this.containerOf(id)).id;
  }

  async startSuccessor(id: string, env: Readonly<Record<string, string>>, host: string): Promise<string> {
    const hosts = await this.hosts();
    if (!hosts.includes(host)) throw new PeerlabError(`no host ${host} in run ${this.runId}`, { hint: `its hosts: ${hosts.join(', ')}` });
    const current = await this.onNode(id, (container) => container.inspect());
    const emulated = host !== LOCAL_HOST;
    // The same container, but for its name, host and the added environment: same image, mounts, limits and network.
    const container = await this.docker.createContainer({
      ...current.Config,
      name: `${nodeContainerName(this.runId, id)}-${Date.now().toString(36)}`,
      Env: successorEnvLines(current.Config.Env ?? [], env),
      Labels: { ...current.Config.Labels, ...(emulated ? { [HOST_LABEL]: host } : {}) },
      HostConfig: { ...current.HostConfig, ...(emulated ? { CgroupParent: hostCgroupParent(this.runId, host) } : {}) },
    });
    await container.start();
    if (emulated) await checkInHostGroup((await container.inspect()).State.Pid, this.runId, host);
    return container.id;
  }

  async howEnded(container: string): Promise<string | undefined> {
    const inspected = await this.docker.getContainer(container).inspect().catch(() => undefined);
    if (!inspected) return 'is gone';
    return inspected.State.Running ? undefined : howItDied(inspected.State.ExitCode, inspected.State.OOMKilled);
  }

  async removeContainer(container: string): Promise<void> {
    for (const [id, known] of this.containerIds) if (known === container) this.containerIds.delete(id);
    // One endpoint at a time, as removeRunObjects does (moby/moby#43286).
    await this.docker.getNetwork(this.network).disconnect({ Container: container, Force: true }).catch(() => {});
    await removeContainer(this.docker.getContainer(container));
  }

  async stopNode(id: string): Promise<void> {
    await this.onNode(id, (container) => container.stop({ t: STOP_GRACE_SECONDS }));
  }

  async killNode(id: string): Promise<void> {
    await this.onNode(id, (container) => container.kill());
  }

  async pauseNode(id: string): Promise<void> {
    await this.onNode(id, (container) => container.pause());
  }

  async resumeNode(id: string): Promise<void> {
    await this.onNode(id, (container) => container.unpause());
  }

  async listNodes(options: { memory?: boolean } = {}): Promise<NodeInfo[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${RUN_LABEL}=${this.runId}`, `${ROLE_LABEL}=node`] },
    });
    const memory = options.memory
      ? await this.memoryByContainer(containers.filter((c) => c.State === 'running').map((c) => c.Id))
      : new Map<string, number>();
    return containers
      .map((container) => ({
        id: container.Labels[NODE_LABEL] ?? '?',
        state: toNodeState(container.State),
        address: container.NetworkSettings.Networks[this.network]?.IPAddress || undefined,
        startedAt: new Date(container.Created * 1000),
        memoryBytes: memory.get(container.Id),
      }))
      .sort((a, b) => compareNodeIds(a.id, b.id));
  }

  private async memoryByContainer(ids: string[]): Promise<Map<string, number>> {
    const entries = await Promise.all(ids.map(async (id) => [id, await containerMemoryBytes(this.docker, id)] as const));
    return new Map(entries.filter((entry): entry is readonly [string, number] => entry[1] !== undefined));
  }

  /** Each running node's process id on the host (its network namespace) and its address on the run network. */
  async nodeNamespaces(): Promise<Map<string, { pid: number; address: string }>> {
    const containers = await this.docker.listContainers({ filters: { label: [`${RUN_LABEL}=${this.runId}`, `${ROLE_LABEL}=node`] } });
    const namespaces = new Map<string, { pid: number; address: string }>();
    await forEachLimited(containers, 16, async (container) => {
      const inspected = await this.docker.getContainer(container.Id).inspect();
      namespaces.set(container.Labels[NODE_LABEL] ?? '?', { pid: inspected.State.Pid, address: inspected.NetworkSettings.Networks[this.network]?.IPAddress ?? '' });
    });
    return namespaces;
  }

  logsCommand(id: string): string {
    return `docker logs ${nodeContainerName(this.runId, id)}`;
  }

  async logTail(id: string, lines: number): Promise<string> {
    const buffer = (await this.onNode(id, (container) => container.logs({ stdout: true, stderr: true, tail: lines }))) as unknown as Buffer;
    return demultiplex(buffer);
  }

  /**
   * Writes each node's whole output (stdout and stderr, as `docker logs` shows it) to `<dir>/<id>.log`: every
   * node's, so an empty file says the node printed nothing. (The simulator writes only the files of nodes that
   * printed: at a million nodes, empty files would cost it half a minute.)
   */
  async saveLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const containers = await this.docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${this.runId}`, `${ROLE_LABEL}=node`] } });
    await forEachLimited(containers, DEFAULT_START_CONCURRENCY * 2, async (container) => {
      const buffer = (await this.docker.getContainer(container.Id).logs({ stdout: true, stderr: true })) as unknown as Buffer;
      const output = demultiplex(buffer);
      await writeFile(nodeLogFile(dir, container.Labels[NODE_LABEL] ?? container.Id), output);
    });
  }

  /**
   * Streams a node's output to `write`: what it printed so far and, with `follow`, what it prints until its
   * container stops or is removed.
   */
  async streamLog(id: string, write: (chunk: Buffer) => void, options: { follow: boolean }): Promise<void> {
    await this.onNode(id, (container) => this.streamContainerLog(container, write, options));
  }

  private async streamContainerLog(container: Docker.Container, write: (chunk: Buffer) => void, options: { follow: boolean }): Promise<void> {
    if (!options.follow) {
      write(Buffer.from(demultiplex((await container.logs({ stdout: true, stderr: true })) as unknown as Buffer)));
      return;
    }
    const stream = await container.logs({ stdout: true, stderr: true, follow: true });
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (write(chunk), done()) });
    this.docker.modem.demuxStream(stream, sink, sink);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
  }

  async exec(id: string, command: readonly string[]): Promise<ExecResult> {
    const exec = await this.onNode(id, (container) => container.exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true }));
    const stream = await exec.start({});
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output: demultiplex(Buffer.concat(chunks)) };
  }

  async connectNode(id: string, network: string): Promise<void> {
    await this.onNode(id, (container) => this.docker.getNetwork(network).connect({ Container: container.id }));
  }

  async disconnectNode(id: string, network: string): Promise<void> {
    await this.onNode(id, (container) => this.docker.getNetwork(network).disconnect({ Container: container.id, Force: true }));
  }

  async destroy(): Promise<void> {
    await removeRunObjects(this.docker, this.runId);
  }
}

/**
 * A node's container: locked down, memory- and pids-limited, on the run network, under its emulated host's CPU
 * group when it has one. Also the start-up bench's baseline.
 */
export function nodeContainerSpec(options: DockerRuntimeOptions, node: NodeSpec, host?: string): Docker.ContainerCreateOptions {
  const { runId, image, memoryLimit, mounts, writableMounts } = options;
  return {
    name: nodeContainerName(runId, node.id),
    Hostname: `node-${node.id}`,
    Image: image,
    Env: Object.entries(node.env).map(([key, value]) => `${key}=${value}`),
    Labels: { [RUN_LABEL]: runId, [NODE_LABEL]: node.id, [ROLE_LABEL]: 'node', ...(host !== undefined ? { [HOST_LABEL]: host } : {}) },
    HostConfig: {
      ...(host !== undefined ? { CgroupParent: hostCgroupParent(runId, host) } : {}),
      NetworkMode: networkName(runId),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,size=16m' },
      Memory: memoryLimit,
      MemorySwap: memoryLimit,
      CpuShares: NODE_CPU_SHARES,
      PidsLimit: 64,
      Binds: [
        ...Object.entries(mounts).map(([hostPath, containerPath]) => `${hostPath}:${containerPath}:ro`),
        ...Object.entries(writableMounts ?? {}).map(([hostPath, containerPath]) => `${hostPath}:${containerPath}:rw`),
      ],
      LogConfig: { Type: 'json-file', Config: { 'max-size': '1m', 'max-file': '2' } },
    },
  };
}

/** Removes every container and network labelled with the run (or with any run when `runId` is undefined). */
export async function removeRunObjects(docker: Docker, runId: string | undefined): Promise<{ containers: number; networks: number }> {
  const label = runId === undefined ? RUN_LABEL : `${RUN_LABEL}=${runId}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await freezeProcesses(docker, containers);
  // Docker 20.10 loses count of a network's endpoints when many are deleted at once, and the network then
  // cannot be removed until the engine restarts (moby/moby#43286). So endpoints are released one at a time,
  // and only then are the containers killed and removed in parallel.
  for (const container of containers) {
    for (const network of Object.keys(container.NetworkSettings?.Networks ?? {})) {
      if (network.startsWith('peerlab-')) await docker.getNetwork(network).disconnect({ Container: container.Id, Force: true }).catch(() => {});
    }
  }
  // Every container is tried: one that fails does not leave the rest standing.
  const failures: unknown[] = [];
  await forEachLimited(containers, DEFAULT_START_CONCURRENCY * 2, (c) => removeContainer(docker.getContainer(c.Id)).catch((error: unknown) => failures.push(error)));
  if (failures.length > 0) {
    throw new PeerlabError(`${failures.length} of ${containers.length} containers of ${runId ?? 'peerlab runs'} could not be removed: ${dockerMessage(failures[0])}`, {
      hint: `run \`peerlab down ${runId ?? '--all'}\` again; if they stay, restart the engine (systemctl restart docker, or restart dockerd)`,
    });
  }
  const networks = await docker.listNetworks({ filters: { label: [label] } });
  await forEachLimited(networks, 4, (n) => removeNetwork(docker.getNetwork(n.Id)));
  await removeHostGroups(runId);
  return { containers: containers.length, networks: networks.length };
}

/**
 * Stops (SIGSTOP) the processes of a run's running containers before their endpoints are released one at a time.
 * Until their container goes, standing nodes keep working: a left-standing run's nodes renew their own leases, and
 * every disconnect breaks links whose other ends reconnect every 2 s. With 1,000 nodes that held the host's load
 * near 870 and the one-at-a-time disconnects crawled (163 containers removed in 11 minutes, 3 Dec 2026). A stopped
 * process uses no CPU and keeps its endpoint, unlike a killed one whose container stops and releases its endpoint
 * at the same moment as the others (the trap above); the forced removal then kills it as usual. Best effort: a
 * container that has exited or is going meanwhile needs no freezing.
 */
async function freezeProcesses(docker: Docker, containers: readonly Docker.ContainerInfo[]): Promise<void> {
  const running = containers.filter((container) => container.State === 'running');
  await forEachLimited(running, DEFAULT_START_CONCURRENCY * 2, (container) => docker.getContainer(container.Id).kill({ signal: 'SIGSTOP' }).catch(() => {}));
}

/**
 * On a host this loaded (500 nodes stopping at once) the engine can catch a node's process between its exit and
 * its reaping ("PID … is zombie and can not be killed"), or give up waiting for the exit event ("tried to kill
 * container, but did not receive an exit event"); a moment later the removal goes through (seen at the end of
 * three 500-node runs, whose teardown then failed and left the containers). Two removals of one container at once
 * (a run's own teardown and an interrupt's sweep) can fail with "unable to remove filesystem … directory not
 * empty" (seen when a 735-node bring-up was interrupted); tried again, it is gone or goes.
 */
async function removeContainer(container: Docker.Container): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ignoreMissing(container.remove({ force: true, v: true }));
      return;
    } catch (error) {
      if (!/is zombie|did not receive an exit event|directory not empty/.test(String((error as { message?: string }).message)) || attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/**
 * The engine releases a removed container's endpoint asynchronously, so removing the network right after its
 * containers can fail with "active endpoints": disconnect what is still listed, and retry for a while.
 */
async function removeNetwork(network: Docker.Network): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await ignoreMissing(network.remove());
      return;
    } catch (error) {
      if (!/active endpoints/.test(String((error as { message?: string }).message))) throw error;
      if (attempt >= 6) {
        const { Name } = (await network.inspect()) as { Name: string };
        throw new PeerlabError(`network ${Name} is empty but the engine still holds a stale endpoint in it (moby/moby#43286)`, {
          hint: 'restart the engine (systemctl restart docker, or restart dockerd) and run `peerlab down --all` again',
        });
      }
      const info = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
      for (const endpoint of Object.keys(info?.Containers ?? {})) {
        await ignoreMissing(network.disconnect({ Container: endpoint, Force: true }));
      }
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}
