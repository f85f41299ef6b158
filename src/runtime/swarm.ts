/**
 * Nodes as Swarm tasks. The manager (the host's engine) holds the services; each task's container lives on the
 * engine its service is pinned to, and is reached for faults, logs and namespaces through that engine's socket
 * (the local cluster's engines are dockerds on this host, so their containers are host processes).
 *
 * One service per (engine, shared environment): replicas = its node count, reached in steps (startServicesInSteps),
 * pinned by `node.labels.peerlab.engine`,
 * endpoint mode dnsrr (no IPVS here: nodes address each other directly, as the registry already makes them),
 * restart policy none (a dead node stays dead and is blamed). A task finds its node id from the service's list of
 * ids (PEERLAB_NODE_IDS) and its slot ({{.Task.Slot}}): Swarm templates take no per-task list.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { ENGINE_LABEL } from '../cluster/state.js';
import { containerMemoryBytes, dockerMessage, NODE_LABEL, ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { ENV, successorEnvLines } from '../node/identity.js';
import { forEachLimited } from '../util/concurrency.js';
import { nodeLogFile } from '../util/node-logs.js';
import { howItDied } from '../run/run-watch.js';
import { actOnServingContainer, demultiplex, ignoreMissing, STOP_GRACE_SECONDS, toNodeState } from './node-containers.js';
import type { ContainerNodes, ContainerStartup, ExecResult, NodeInfo, NodeSpec, StartProgress } from './types.js';
import { compareNodeIds } from '../util/node-ids.js';

export interface SwarmEngine {
  /** engine-<k>, k from 1; engine-1 is the manager. */
  readonly name: string;
  readonly docker: Docker;
  readonly socketPath: string;
}

export interface SwarmRuntimeOptions {
  readonly runId: string;
  readonly image: string;
  readonly memoryLimit: number;
  /** The run's overlay subnet (a.b.c.d/len). */
  readonly subnet: string;
  /** Each node's engine (an index into the engines), for the nodes the run starts with. */
  readonly engineOf: ReadonlyMap<string, number>;
  /**
   * The engine for a node that joins later, from each engine's live nodes (running or starting) and the engines
   * of its neighbours: the run's placement policy (src/run/swarm-placement.ts) applied to one node.
   */
  readonly placeJoiner: (live: readonly number[], neighbourEngines: readonly number[]) => number;
  /** Swarm configs mounted read-only into every node: config name → file path in the container. */
  readonly configs: ReadonlyArray<{ readonly id: string; readonly name: string; readonly file: string }>;
  /** Tasks of one service starting at once (see startServicesInSteps). */
  readonly startStep: number;
}

/** Labels Swarm puts on every task container: which service, and `<service>.<slot>.<task id>`. */
const SERVICE_NAME_LABEL = 'com.docker.swarm.service.name';
const TASK_NAME_LABEL = 'com.docker.swarm.task.name';
/** Tasks that will not run (again): with restart policy none, a node in one of these is gone for good. */
const ENDED_TASK_STATES: ReadonlySet<string> = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
const TASK_POLL_MS = 250;
/** How long removing a given-up new container may take before the move's error is reported anyway. */
const GIVEN_UP_REMOVAL_MS = 10_000;

export function overlayName(runId: string): string {
  return `peerlab-${runId}`;
}

/** The run's attachable overlay network, on its own subnet. */
export async function createRunOverlay(manager: Docker, runId: string, subnet: string): Promise<void> {
  await manager.createNetwork({
    Name: overlayName(runId),
    Driver: 'overlay',
    Attachable: true,
    CheckDuplicate: true,
    IPAM: { Driver: 'default', Config: [{ Subnet: subnet }] },
    Labels: { [RUN_LABEL]: runId },
  });
}

export function serviceName(runId: string, engine: number, group: number): string {
  return `peerlab-${runId}-e${engine + 1}-g${group}`;
}

export class SwarmRuntime implements ContainerNodes {
  readonly kind = 'swarm' as const;
  /** Each service's node ids in slot order: a task's node is ids[slot - 1]. */
  private readonly services = new Map<string, { engine: number; ids: readonly string[] }>();
  /** The same services by the id Swarm gave them (tasks name their service by id). */
  private readonly serviceById = new Map<string, { engine: number; ids: readonly string[] }>();
  /** The container that serves each node, as last listed (see containerOf). */
  private readonly located = new Map<string, { engine: number; containerId: string }>();
  /** The engine of each container this process has seen: a move asks after its containers by id alone. */
  private readonly engineOfContainer = new Map<string, number>();
  /** Every node's engine: the start's placement, then each joiner's as it comes. */
  private readonly engineOf: Map<string, number>;
  /** Nodes asked for and not yet running: live for placement, though no container of theirs may run yet. */
  private readonly starting = new Set<string>();
  /** When each service was asked for: its tasks' containers were requested then. */
  private readonly serviceRequestedAt = new Map<string, number>();
  readonly containerStartup = new Map<string, ContainerStartup>();

  private constructor(
    private readonly manager: Docker,
    readonly engines: readonly SwarmEngine[],
    private readonly options: SwarmRuntimeOptions,
  ) {
    this.engineOf = new Map(options.engineOf);
  }

  get runId(): string {
    return this.options.runId;
  }

  get network(): string {
    return overlayName(this.options.runId);
  }

  get engineClients(): readonly Docker[] {
    return this.engines.map((engine) => engine.docker);
  }

  /** Creates the run's attachable overlay on its own subnet. */
  static async create(engines: readonly SwarmEngine[], options: SwarmRuntimeOptions): Promise<SwarmRuntime> {
    const manager = engines[0]!.docker;
    await createRunOverlay(manager, options.runId, options.subnet);
    return new SwarmRuntime(manager, engines, options);
  }

  /** Attaches to a run that is up (for status and migrate): its services' node lists are read back from their environment. */
  static async attach(engines: readonly SwarmEngine[], runId: string): Promise<SwarmRuntime | undefined> {
    const manager = engines[0]!.docker;
    const services = (await manager.listServices({ filters: { label: [`${RUN_LABEL}=${runId}`] } })) as Array<{
      ID: string;
      Spec?: { Name?: string; Labels?: Record<string, string>; TaskTemplate?: { ContainerSpec?: { Env?: string[] }; Placement?: { Constraints?: string[] } } };
    }>;
    // Any service of the run makes it a Swarm run, its etcd's included: in bring-up it has no node service yet, and
    // taken for a run on this engine it had no host but `local` (a `migrate --to engine-3` was refused so, where it
    // should wait for the start).
    if (services.length === 0) return undefined;
    const runtime = new SwarmRuntime(manager, engines, { runId, image: '', memoryLimit: 0, subnet: '', engineOf: new Map(), placeJoiner: () => 0, configs: [], startStep: 1 });
    for (const service of services) {
      if (service.Spec?.Labels?.[ROLE_LABEL] !== 'node') continue;
      const ids = service.Spec?.TaskTemplate?.ContainerSpec?.Env?.find((entry) => entry.startsWith(`${ENV.nodeIds}=`))?.slice(ENV.nodeIds.length + 1).split(',') ?? [];
      const engine = Number(/==(\d+)$/.exec(service.Spec?.TaskTemplate?.Placement?.Constraints?.[0] ?? '')?.[1] ?? 1) - 1;
      const known = { engine, ids };
      runtime.services.set(service.Spec?.Name ?? service.ID, known);
      runtime.serviceById.set(service.ID, known);
    }
    return runtime;
  }

  /** The node of a task container, from the labels Swarm gives it (for the crash watch's events). */
  nodeOfContainer = (labels: Readonly<Record<string, string>>): string | undefined => {
    const service = this.services.get(labels[SERVICE_NAME_LABEL] ?? '');
    const slot = Number((labels[TASK_NAME_LABEL] ?? '').split('.')[1]);
    return service?.ids[slot - 1];
  };

  /**
   * One service per engine and environment (nodes of one role share theirs but for their id), its tasks started
   * a step at a time (startServicesInSteps); resolves when every task runs. A task that ends or is refused first
   * fails the start with its reason. Once `signal` aborts, nothing further is created or scaled.
   */
  async startNodes(nodes: readonly NodeSpec[], onProgress?: (progress: StartProgress) => void, signal?: AbortSignal): Promise<void> {
    const joiners = nodes.filter((node) => !this.engineOf.has(node.id));
    if (joiners.length > 0) await this.placeJoiners(joiners);
    for (const node of nodes) this.starting.add(node.id);
    try {
      await this.startServices(nodes, onProgress, signal);
    } finally {
      for (const node of nodes) this.starting.delete(node.id);
    }
  }

  /**
   * Gives each node that was not placed at the start an engine, by the run's policy, from the nodes live now:
   * without it every joiner went to the first engine, whatever the policy. Placed in one go after the listing, so
   * joins made side by side each count the others.
   */
  private async placeJoiners(joiners: readonly NodeSpec[]): Promise<void> {
    const running = new Set((await this.locateAll()).filter(({ container }) => container.State === 'running').map(({ node }) => node));
    const live = this.engines.map(() => 0);
    for (const [id, engine] of this.engineOf) if (running.has(id) || this.starting.has(id)) live[engine]! += 1;
    for (const joiner of joiners) {
      const neighbourEngines = (joiner.neighbours ?? []).flatMap((id) => this.engineOf.get(id) ?? []);
      const engine = this.options.placeJoiner(live, neighbourEngines);
      this.engineOf.set(joiner.id, engine);
      this.starting.add(joiner.id);
      live[engine]! += 1;
    }
  }

  /** Each node's engine now, as the engines list it: the start's placement, every joiner's and every move's. */
  async currentPlacement(): Promise<ReadonlyMap<string, number>> {
    await this.locateAll();
    return this.engineOf;
  }

  private async startServices(nodes: readonly NodeSpec[], onProgress?: (progress: StartProgress) => void, signal?: AbortSignal): Promise<void> {
    const groups = new Map<string, { engine: number; env: Record<string, string>; ids: string[] }>();
    for (const node of nodes) {
      const engine = this.engineOf.get(node.id)!;
      const { [ENV.node]: _id, ...shared } = node.env;
      const key = `${engine}\n${JSON.stringify(shared)}`;
      const group = groups.get(key) ?? groups.set(key, { engine, env: shared, ids: [] }).get(key)!;
      group.ids.push(node.id);
    }
    const services = [...groups.values()].map((group) => {
      // Numbered over the whole run: a node that joins later gets a service of its own, and a name taken twice
      // would hand the first service's slots to the joiner's ids (its stop would stop another node).
      const name = serviceName(this.runId, group.engine, this.services.size);
      const service = { engine: group.engine, ids: group.ids };
      this.services.set(name, service);
      return {
        spec: nodeServiceSpec(this.options, name, group.engine, group.ids, group.env),
        replicas: group.ids.length,
        onCreated: (id: string, requestedAt: number) => {
          this.serviceById.set(id, service);
          this.serviceRequestedAt.set(id, requestedAt);
        },
      };
    });
    let reported = -1;
    const ended = (task: SwarmTask, reason: string): Error =>
      new PeerlabError(`node ${this.nodeOfTask(task) ?? '?'}'s task ${reason}`, {
        hint: 'check that every engine has the node image (peerlab cluster status) and room for the run',
      });
    await startServicesInSteps(this.manager, this.runId, services, this.options.startStep, TASK_POLL_MS, signal, ended, (tasks) => {
      const running = tasks.filter((task) => task.Status?.State === 'running' && this.serviceById.has(task.ServiceID ?? ''));
      for (const task of running) this.recordStartup(task);
      if (running.length !== reported) onProgress?.({ started: running.length, total: nodes.length });
      reported = running.length;
    });
  }

  /** A running task's times, from Swarm's own records: service asked for, task made, task running. */
  private recordStartup(task: SwarmTask): void {
    const node = this.nodeOfTask(task);
    if (node === undefined || this.containerStartup.has(node)) return;
    const requestedAt = this.serviceRequestedAt.get(task.ServiceID ?? '') ?? Date.now();
    this.containerStartup.set(node, {
      requestedAt,
      createdAt: Date.parse(task.CreatedAt ?? '') || requestedAt,
      startedAt: Date.parse(task.Status?.Timestamp ?? '') || Date.now(),
    });
  }

  private async tasks(): Promise<SwarmTask[]> {
    return listRunTasks(this.manager, this.runId);
  }

  private nodeOfTask(task: SwarmTask): string | undefined {
    return this.serviceById.get(task.ServiceID ?? '')?.ids[(task.Slot ?? 0) - 1];
  }

  /** Each node's container on its engine, from the engines' own listings. */
  private async containers(): Promise<Array<{ engine: number; node: string; container: Docker.ContainerInfo }>> {
    const found: Array<{ engine: number; node: string; container: Docker.ContainerInfo }> = [];
    await Promise.all(
      this.engines.map(async (engine, index) => {
        const containers = await engine.docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${this.runId}`, `${ROLE_LABEL}=node`] } });
        for (const container of containers) {
          const node = container.Labels[NODE_LABEL] ?? this.nodeOfContainer(container.Labels);
          if (node !== undefined) found.push({ engine: index, node, container });
        }
      }),
    );
    return found;
  }

  private async containerOf(id: string): Promise<{ docker: Docker; container: Docker.Container; engine: number }> {
    let known = this.located.get(id);
    if (!known) {
      await this.locateAll();
      known = this.located.get(id);
    }
    if (!known) throw new PeerlabError(`run ${this.runId} has no node ${id}`, { hint: 'see `peerlab status` for its nodes' });
    const docker = this.engines[known.engine]!.docker;
    return { docker, container: docker.getContainer(known.containerId), engine: known.engine };
  }

  private onNode<T>(id: string, act: (found: { docker: Docker; container: Docker.Container; engine: number }) => Promise<T>): Promise<T> {
    return actOnServingContainer(() => this.containerOf(id), () => this.located.delete(id), act);
  }

  /**
   * Lists every node's container anew, and so its engine. A node that moved has had more than one: the newest
   * running one serves it (set last, so it wins), as on Docker. Moves made by another process (`peerlab migrate`)
   * are seen here.
   */
  private async locateAll(): Promise<Array<{ engine: number; node: string; container: Docker.ContainerInfo }>> {
    const listed = (await this.containers()).sort((a, b) => Number(a.container.State === 'running') - Number(b.container.State === 'running') || a.container.Created - b.container.Created);
    for (const { engine, node, container } of listed) {
      this.located.set(node, { engine, containerId: container.Id });
      this.engineOfContainer.set(container.Id, engine);
      this.engineOf.set(node, engine);
    }
    return listed;
  }

  // The moves (src/migration): a node goes to a new container on any engine of the cluster. Its hosts are the engines.

  async hosts(): Promise<string[]> {
    return this.engines.map((engine) => engine.name);
  }

  async hostOf(id: string): Promise<string> {
    // Inspected, not only looked up: a container another process's move removed is then found anew.
    return this.engines[(await this.onNode(id, async (found) => (await found.container.inspect(), found))).engine]!.name;
  }

  async nodeHosts(): Promise<Map<string, string>> {
    // locateAll lists oldest first: during a move the new container, the one that serves the node from its commit
    // on, wins.
    const running = (await this.locateAll()).filter(({ container }) => container.State === 'running');
    return new Map(running.map(({ engine, node }) => [node, this.engines[engine]!.name]));
  }

  /** The engine with the fewest running nodes, other than `except`; of equal ones, the first. */
  async leastLoadedHost(except?: string): Promise<string> {
    const onEngine = [...(await this.nodeHosts()).values()];
    const candidates = this.engines.filter((engine) => engine.name !== except);
    if (candidates.length === 0) return this.engines[0]!.name;
    const nodesOn = (name: string) => onEngine.filter((on) => on === name).length;
    return candidates.reduce((best, engine) => (nodesOn(engine.name) < nodesOn(best.name) ? engine : best)).name;
  }

  /** An engine's room is Docker's to judge: it starts the task or says why not (startSuccessor). */
  async whyNoRoom(): Promise<undefined> {
    return undefined;
  }

  /** Listed anew: another process (`peerlab migrate`) may have moved the node since this one last looked. */
  async currentContainer(id: string): Promise<string> {
    this.located.delete(id);
    return (await this.containerOf(id)).container.id;
  }

  /**
   * A service of its own for the node's new container, pinned to `host`'s engine: its current service's spec, with
   * this node's id alone, a `peerlab.node` label (so that a process that did not create the service still knows
   * its node, see nodeOfContainer) and `env` added. Resolves once its task runs, with its container's id; a task
   * that ends before it runs fails the move's start, and its service goes.
   */
  async startSuccessor(id: string, env: Readonly<Record<string, string>>, host: string, signal?: AbortSignal): Promise<string> {
    const engine = this.engines.findIndex((candidate) => candidate.name === host);
    if (engine < 0) throw new PeerlabError(`no host ${host} in run ${this.runId}`, { hint: `its hosts: ${(await this.hosts()).join(', ')}` });
    const labels = (await this.onNode(id, ({ container }) => container.inspect())).Config.Labels;
    const current = (await this.manager.getService(labels[SERVICE_NAME_LABEL] ?? '').inspect()) as { Spec: ServiceSpec };
    // A name of 63 characters at most (a run id has up to 45), unique by itself (32 random bits): one made from the
    // time was unique only because moves take turns (the run's lock, src/migration/move.ts), a rule this module
    // cannot see.
    const name = `peerlab-${this.runId}-m${randomBytes(4).toString('hex')}`;
    const spec = successorServiceSpec(current.Spec, name, id, engine, env);
    const service = { engine, ids: [id] };
    this.services.set(name, service);
    let serviceId = '';
    let containerId: string | undefined;
    const ended = (_task: SwarmTask, reason: string): Error => new PeerlabError(`the new container of node ${id} on ${host} ${reason}`, { hint: `see \`peerlab cluster status\` for ${host}` });
    try {
      await startServicesInSteps(
        this.manager,
        this.runId,
        [{ spec, replicas: 1, onCreated: (created) => void this.serviceById.set((serviceId = created), service) }],
        1,
        TASK_POLL_MS,
        signal,
        ended,
        (tasks) => (containerId = tasks.find((task) => task.Status?.State === 'running')?.Status?.ContainerStatus?.ContainerID ?? containerId),
      );
    } catch (error) {
      if (serviceId) await this.removeGivenUpService(serviceId, name, engine);
      throw error;
    }
    if (!containerId) throw new PeerlabError(`the new container of node ${id} runs on ${host}, but Swarm does not name it`, { hint: 'see `docker service ps ' + name + '`' });
    this.engineOfContainer.set(containerId, engine);
    return containerId;
  }

  /**
   * A new container's service given up before its task ran (a move cancelled by Ctrl-C, or its task ended): the
   * service, then its task's container, which may be created already. The engine's agent would remove that one
   * too, but seconds later, after the CLI that gave up the move has said the node stays where it was and exited.
   */
  private async removeGivenUpService(serviceId: string, name: string, engine: number): Promise<void> {
    await ignoreMissing(this.manager.getService(serviceId).remove());
    await removeTaskContainers([this.engines[engine]!.docker], [`${SERVICE_NAME_LABEL}=${name}`], Date.now() + GIVEN_UP_REMOVAL_MS);
  }

  async howEnded(containerId: string): Promise<string | undefined> {
    const found = await this.inspectContainer(containerId);
    if (!found) return 'is gone';
    return found.inspected.State.Running ? undefined : howItDied(found.inspected.State.ExitCode, found.inspected.State.OOMKilled);
  }

  /**
   * Removes one container of a move: a new one given up (with its service), or an old one, whose node its new
   * container serves from now on. An old task's service keeps its slot, which restart policy none leaves empty.
   * The node's next lookup lists anew (see containerOf), and finds whichever container serves it.
   */
  async removeContainer(containerId: string): Promise<void> {
    for (const [node, at] of this.located) if (at.containerId === containerId) this.located.delete(node);
    const found = await this.inspectContainer(containerId);
    if (!found) return;
    const docker = this.engines[found.engine]!.docker;
    const ownService = found.inspected.Config.Labels[NODE_LABEL] !== undefined ? found.inspected.Config.Labels[SERVICE_NAME_LABEL] : undefined;
    if (ownService !== undefined) await ignoreMissing(this.manager.getService(ownService).remove());
    await ignoreMissing(docker.getContainer(containerId).remove({ force: true }));
  }

  /** A container of the run by id, on whichever engine has it; undefined once it is gone. */
  private async inspectContainer(containerId: string): Promise<{ engine: number; inspected: Docker.ContainerInspectInfo } | undefined> {
    const known = this.engineOfContainer.get(containerId);
    const order = known === undefined ? this.engines.map((_, index) => index) : [known];
    for (const engine of order) {
      const inspected = await this.engines[engine]!.docker.getContainer(containerId).inspect().catch(() => undefined);
      if (inspected) {
        this.engineOfContainer.set(containerId, engine);
        return { engine, inspected };
      }
    }
    return undefined;
  }

  async stopNode(id: string): Promise<void> {
    await this.onNode(id, ({ container }) => container.stop({ t: STOP_GRACE_SECONDS }));
  }

  async killNode(id: string): Promise<void> {
    await this.onNode(id, ({ container }) => container.kill());
  }

  async pauseNode(id: string): Promise<void> {
    await this.onNode(id, ({ container }) => container.pause());
  }

  async resumeNode(id: string): Promise<void> {
    await this.onNode(id, ({ container }) => container.unpause());
  }

  async listNodes(options: { memory?: boolean } = {}): Promise<NodeInfo[]> {
    const containers = await this.containers();
    const memory = new Map<string, number | undefined>();
    if (options.memory) {
      const running = containers.filter(({ container }) => container.State === 'running');
      // Each engine answers stats for its own tasks; a few at a time, as every engine shares this host's cores.
      await forEachLimited(running, 16, async ({ engine, container }) => void memory.set(container.Id, await containerMemoryBytes(this.engines[engine]!.docker, container.Id)));
    }
    return containers
      .map(({ engine, node, container }) => ({
        id: node,
        state: toNodeState(container.State),
        address: container.NetworkSettings.Networks[this.network]?.IPAddress || undefined,
        startedAt: new Date(container.Created * 1000),
        memoryBytes: memory.get(container.Id),
        engine: this.engines[engine]!.name,
      }))
      .sort((a, b) => compareNodeIds(a.id, b.id));
  }

  async nodeNamespaces(): Promise<Map<string, { pid: number; address: string }>> {
    const namespaces = new Map<string, { pid: number; address: string }>();
    const running = (await this.containers()).filter((entry) => entry.container.State === 'running');
    await forEachLimited(running, 16, async ({ engine, node, container }) => {
      const inspected = await this.engines[engine]!.docker.getContainer(container.Id).inspect();
      namespaces.set(node, { pid: inspected.State.Pid, address: inspected.NetworkSettings.Networks[this.network]?.IPAddress ?? '' });
    });
    return namespaces;
  }

  logsCommand(id: string): string {
    const known = this.located.get(id);
    const engine = this.engines[known?.engine ?? this.engineOf.get(id) ?? 0]!;
    return `docker -H unix://${engine.socketPath} logs ${known?.containerId.slice(0, 12) ?? `<the container of node ${id}>`}`;
  }

  async logTail(id: string, lines: number): Promise<string> {
    return demultiplex((await this.onNode(id, ({ container }) => container.logs({ stdout: true, stderr: true, tail: lines }))) as unknown as Buffer);
  }

  async saveLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await forEachLimited(await this.containers(), 16, async ({ engine, node, container }) => {
      const output = demultiplex((await this.engines[engine]!.docker.getContainer(container.Id).logs({ stdout: true, stderr: true })) as unknown as Buffer);
      if (output.length > 0) await writeFile(nodeLogFile(dir, node), output);
    });
  }

  async exec(id: string, command: readonly string[]): Promise<ExecResult> {
    const exec = await this.onNode(id, ({ container }) => container.exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true }));
    const chunks: Buffer[] = [];
    for await (const chunk of await exec.start({})) chunks.push(chunk as Buffer);
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output: demultiplex(Buffer.concat(chunks)) };
  }

  async connectNode(id: string, network: string): Promise<void> {
    await this.onNode(id, ({ docker, container }) => docker.getNetwork(network).connect({ Container: container.id }));
  }

  async disconnectNode(id: string, network: string): Promise<void> {
    await this.onNode(id, ({ docker, container }) => docker.getNetwork(network).disconnect({ Container: container.id, Force: true }));
  }

  async destroy(): Promise<void> {
    await removeSwarmRunObjects(this.engines.map((engine) => engine.docker), this.runId);
  }
}

/**
 * The service that runs a group of nodes on one engine (its replicas, in slot order, are `ids`). The start-up
 * bench's baseline creates the same services with `command` instead of the agent.
 */
export function nodeServiceSpec(
  options: Pick<SwarmRuntimeOptions, 'runId' | 'image' | 'memoryLimit' | 'subnet' | 'configs'>,
  name: string,
  engine: number,
  ids: readonly string[],
  env: Readonly<Record<string, string>>,
  command?: readonly string[],
): Docker.CreateServiceOptions {
  const { runId, image, memoryLimit, subnet, configs } = options;
  const environment = { ...env, [ENV.nodeIds]: ids.join(','), [ENV.slot]: '{{.Task.Slot}}', [ENV.subnet]: subnet };
  return {
    Name: name,
    Labels: { [RUN_LABEL]: runId, [ROLE_LABEL]: 'node' },
    TaskTemplate: {
      ContainerSpec: {
        Image: image,
        ...(command ? { Command: [...command] } : {}),
        Env: Object.entries(environment).map(([key, value]) => `${key}=${value}`),
        Labels: { [RUN_LABEL]: runId, [ROLE_LABEL]: 'node' },
        ReadOnly: true,
        Mounts: [{ Type: 'tmpfs', Target: '/tmp', TmpfsOptions: { SizeBytes: 16 * 1024 * 1024 } }],
        Configs: configs.map((config) => ({ File: { Name: config.file, UID: '0', GID: '0', Mode: 0o444 }, ConfigID: config.id, ConfigName: config.name })),
        // Swarm takes no CPU shares; the capability drop and pid limit match the Docker runtime's containers.
        CapabilityDrop: ['ALL'],
      },
      Resources: { Limits: { MemoryBytes: memoryLimit, Pids: 64 } },
      RestartPolicy: { Condition: 'none' },
      Placement: { Constraints: [`node.labels.${ENGINE_LABEL}==${engine + 1}`] },
      Networks: [{ Target: overlayName(runId) }],
      LogDriver: { Name: 'json-file', Options: { 'max-size': '1m', 'max-file': '2' } },
    },
    Mode: { Replicated: { Replicas: ids.length } },
    EndpointSpec: { Mode: 'dnsrr' },
    // dockerode's typings predate CapabilityDrop and Pids (API 1.41) and want a Source even for a tmpfs.
  } as unknown as Docker.CreateServiceOptions;
}

/** The part of a service's spec (as the manager returns it) that a move's new service is made from. */
interface ServiceSpec {
  readonly Labels?: Record<string, string>;
  readonly TaskTemplate: {
    readonly ContainerSpec: { readonly Env?: string[]; readonly Labels?: Record<string, string> } & Record<string, unknown>;
    readonly Placement?: { readonly Constraints?: string[] };
  } & Record<string, unknown>;
  readonly EndpointSpec?: unknown;
}

/**
 * The service of a node's new container (a move): the spec of the service its current container belongs to,
 * pinned to `engine`, for node `id` alone, labelled with it, and with `env` added (see successorEnvLines).
 */
export function successorServiceSpec(current: ServiceSpec, name: string, id: string, engine: number, env: Readonly<Record<string, string>>): Docker.CreateServiceOptions {
  const environment = { [ENV.nodeIds]: id, [ENV.slot]: '1', ...env };
  const container = current.TaskTemplate.ContainerSpec;
  return {
    ...current,
    Name: name,
    TaskTemplate: {
      ...current.TaskTemplate,
      ContainerSpec: {
        ...container,
        Env: successorEnvLines(container.Env ?? [], environment),
        Labels: { ...container.Labels, [NODE_LABEL]: id },
      },
      Placement: { Constraints: [`node.labels.${ENGINE_LABEL}==${engine + 1}`] },
    },
    Mode: { Replicated: { Replicas: 1 } },
  } as unknown as Docker.CreateServiceOptions;
}

/** A service to start in steps: its spec (its replica count is set here) and how many tasks it has in the end. */
export interface SteppedService {
  readonly spec: Docker.CreateServiceOptions;
  readonly replicas: number;
  /** Told the service's id once it is created, and when it was asked for. */
  readonly onCreated?: (id: string, requestedAt: number) => void;
}

/**
 * Creates each service with at most `step` replicas and scales it up as its tasks come to run, so that at most
 * `step` of its tasks start at once, then resolves when every task runs. Why: an engine asked for all its tasks
 * at once starts them all together, and on a 2-core host 100 at a time on each of 3 engines drove the load past
 * 200 until the Swarm manager missed its own heartbeats and shut tasks down (N = 150 and 300, measured). A
 * scale-up adds the next slots, so a task's slot still names its node. A task that ends before it runs fails the
 * start with `ended(task, reason)`; `inspect` sees every listing of these services' tasks (to record, report).
 */
export async function startServicesInSteps(
  manager: Docker,
  runId: string,
  services: readonly SteppedService[],
  step: number,
  pollMs: number,
  signal: AbortSignal | undefined,
  ended: (task: SwarmTask, reason: string) => Error,
  inspect: (tasks: SwarmTask[]) => void,
): Promise<void> {
  const scaled = new Map<string, { service: SteppedService; replicas: number }>();
  for (const service of services) {
    signal?.throwIfAborted();
    const replicas = Math.min(step, service.replicas);
    const requestedAt = Date.now();
    const created = (await manager.createService(withReplicas(service.spec, replicas))) as { ID?: string; id?: string };
    const id = created.ID ?? created.id ?? '';
    service.onCreated?.(id, requestedAt);
    scaled.set(id, { service, replicas });
  }
  const total = services.reduce((sum, service) => sum + service.replicas, 0);
  for (;;) {
    signal?.throwIfAborted();
    // This call's services only: a node that joins later must not fail on the task of one that left before it,
    // nor list the whole run's tasks every poll.
    const tasks = await listRunTasks(manager, runId, [...scaled.keys()]);
    const failed = tasks.find((task) => ENDED_TASK_STATES.has(task.Status?.State ?? ''));
    if (failed) throw ended(failed, `${failed.Status?.State} before it ran: ${failed.Status?.Err ?? failed.Status?.Message ?? 'no reason given'}`);
    inspect(tasks);
    const running = new Map<string, number>();
    for (const task of tasks) if (task.Status?.State === 'running') running.set(task.ServiceID ?? '', (running.get(task.ServiceID ?? '') ?? 0) + 1);
    if ([...scaled.keys()].reduce((sum, id) => sum + (running.get(id) ?? 0), 0) >= total) return;
    for (const [id, entry] of scaled) {
      const wanted = Math.min(entry.service.replicas, (running.get(id) ?? 0) + step);
      if (wanted <= entry.replicas) continue;
      const { Version } = (await manager.getService(id).inspect()) as { Version: { Index: number } };
      // The version in the query and the spec in the body (dockerode would put both in both).
      await manager.getService(id).update({ _query: { version: Version.Index }, _body: withReplicas(entry.service.spec, wanted) });
      entry.replicas = wanted;
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function withReplicas(spec: Docker.CreateServiceOptions, replicas: number): Docker.CreateServiceOptions {
  return { ...spec, Mode: { Replicated: { Replicas: replicas } } };
}

/** A manager this busy answers a listing with a 5xx for a while: tried again this many times, a second apart. */
const TASK_LISTING_ATTEMPTS = 30;

/**
 * The run's tasks (of `services` only, when given), from the manager. A manager whose engines start hundreds of tasks at once on two cores may
 * answer 500 "context deadline exceeded" (seen at 300 tasks over 3 engines, load 200); that is asked again, as
 * the tasks go on starting either way. Other errors, and a manager still failing after 30 s, are thrown.
 */
export async function listRunTasks(manager: Docker, runId: string, services?: readonly string[]): Promise<SwarmTask[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await manager.listTasks({ filters: { label: [`${RUN_LABEL}=${runId}`], ...(services && { service: [...services] }) } })) as SwarmTask[];
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode ?? 0;
      if (status < 500 || attempt >= TASK_LISTING_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

export interface SwarmTask {
  readonly ServiceID?: string;
  readonly NodeID?: string;
  readonly Slot?: number;
  /** When the orchestrator made the task (RFC 3339). */
  readonly CreatedAt?: string;
  /** Timestamp: when the task reached its current state. */
  readonly Status?: { State?: string; Timestamp?: string; Err?: string; Message?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
}

/**
 * Removes a run's Swarm objects: its services on the manager, its task containers on every engine, then its
 * overlay and configs, and returns once no engine lists any of them. Succeeds when some or all of it is already
 * gone; `runId` undefined: every run's.
 */
export async function removeSwarmRunObjects(engines: readonly Docker[], runId: string | undefined): Promise<{ services: number; containers: number; networks: number }> {
  const label = runId === undefined ? RUN_LABEL : `${RUN_LABEL}=${runId}`;
  const manager = engines[0]!;
  const services = (await manager.listServices({ filters: { label: [label] } }).catch(() => [])) as Array<{ ID: string }>;
  await forEachLimited(services, 8, (service) => ignoreMissing(manager.getService(service.ID).remove()));
  // Each engine's agent would stop and remove its tasks' containers on its own, but takes 10 s and more for 30 of
  // them (a graceful stop each, then its own reconciling). The run is over, so its containers are removed with
  // force at once; the listing repeats until empty because an agent may still be creating a task's container.
  // Until they are gone the overlay and the configs are in use. Only task containers: a Docker run's, on the
  // manager's engine, are removed endpoint by endpoint (removeRunObjects in docker.ts).
  const deadline = Date.now() + 60_000;
  const removed = await removeTaskContainers(engines, [label, SERVICE_NAME_LABEL], deadline);
  const overlays = await manager.listNetworks({ filters: { label: [label], driver: ['overlay'] } });
  for (const network of overlays) await retryInUse(() => ignoreMissing(manager.getNetwork(network.Id).remove()));
  for (const config of (await manager.listConfigs({ filters: { label: [label] } }).catch(() => [])) as Array<{ ID: string }>) {
    await retryInUse(() => ignoreMissing(manager.getConfig(config.ID).remove()));
  }
  // A worker drops its copy of the overlay only once its agent has caught up with the removals: wait for that,
  // so that what returns has left nothing on any engine (the containers are gone already, see above).
  while (Date.now() < deadline && (await overlaysLeft(engines, label)) > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  return { services: services.length, containers: removed.size, networks: overlays.length };
}

/**
 * Removes with force the task containers `labels` select on `engines`, listing again until none is left (an
 * engine's agent may still be creating one) or `deadline` has passed. Returns the ids of those it found.
 */
async function removeTaskContainers(engines: readonly Docker[], labels: string[], deadline: number): Promise<Set<string>> {
  const removed = new Set<string>();
  for (;;) {
    const listings = await Promise.all(engines.map((engine) => engine.listContainers({ all: true, filters: { label: labels } }).catch(() => [])));
    if (listings.every((listing) => listing.length === 0) || Date.now() > deadline) return removed;
    for (const listing of listings) for (const container of listing) removed.add(container.Id);
    // A removal that fails is tried again by the next sweep: an engine racing its own agent's cleanup answers 500
    // "unable to remove filesystem … directory not empty" for a container that is gone a moment later (seen
    // removing 300 tasks over 3 engines).
    await Promise.all(listings.map((listing, index) => forEachLimited(listing, 8, (c) => engines[index]!.getContainer(c.Id).remove({ force: true }).catch(() => undefined))));
  }
}

/** How many copies of the run's overlay the engines still list. */
async function overlaysLeft(engines: readonly Docker[], label: string): Promise<number> {
  const counts = await Promise.all(engines.map((engine) => engine.listNetworks({ filters: { label: [label], driver: ['overlay'] } }).then((list) => list.length, () => 0)));
  return counts.reduce((total, count) => total + count, 0);
}

/** An overlay or config is released a moment after the last task that used it. */
async function retryInUse(action: () => Promise<void>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (attempt >= 20 || !/in use|active endpoints/i.test(dockerMessage(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

