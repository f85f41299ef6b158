/**
 * The runtime interface: where nodes live. Docker now; Swarm and the simulator implement the same interface.
 * A runtime manages nodes as black boxes; what runs inside them is the node agent's business.
 */
import type Docker from 'dockerode';
import type { PeerlabError } from '../errors.js';

export const RUNTIME_KINDS = ['docker', 'swarm', 'sim'] as const;
/** Where a run's nodes live. Adding a runtime: a name here and its entry in src/run/runtimes.ts, nothing else. */
export type RuntimeKind = (typeof RUNTIME_KINDS)[number];
/** What a user may ask for: a runtime, or `auto` (the first of AUTO_ORDER in src/run/runtimes.ts that is available). */
export const RUNTIME_CHOICES = [...RUNTIME_KINDS, 'auto'] as const;
export type RuntimeChoice = (typeof RUNTIME_CHOICES)[number];

/**
 * The registry over the run (etcd's `nodes/` keys in Docker and Swarm, the nodes' leases in the simulator): a
 * node leaves it at once when it stops, a lease time after it dies or freezes, and registers again when it comes
 * back. The start is left out as one count, since every node registers during bring-up.
 */
export interface RegistryLog {
  /** Nodes registered when the algorithm started. */
  readonly atStart: number;
  /** Each change after the start, in order, on the run's clock (virtual ms in the simulator). */
  readonly changes: readonly RegistryChange[];
}

export interface RegistryChange {
  readonly atMs: number;
  readonly node: string;
  readonly change: 'registered' | 'left';
}

export type NodeState = 'created' | 'running' | 'paused' | 'exited' | 'dead' | 'missing';

export interface NodeSpec {
  /** Overlay node id, e.g. "17". */
  readonly id: string;
  readonly env: Readonly<Record<string, string>>;
  /** Its overlay neighbours, for a node that joins a running run: a runtime over several hosts places it by them. */
  readonly neighbours?: readonly string[];
}

export interface NodeInfo {
  readonly id: string;
  readonly state: NodeState;
  /** Address on the run network, when it has one. */
  readonly address: string | undefined;
  readonly startedAt: Date | undefined;
  /** Resident memory in bytes, when the runtime can tell. */
  readonly memoryBytes: number | undefined;
  /** The engine it runs on, when the run spans several (Swarm). */
  readonly engine?: string;
}

export interface ExecResult {
  readonly exitCode: number;
  readonly output: string;
}

export interface StartProgress {
  readonly started: number;
  readonly total: number;
}

export interface Runtime {
  readonly kind: RuntimeKind;
  readonly runId: string;
  /**
   * Starts nodes with bounded concurrency; resolves when all have started, rejects on the first failure. Once
   * `signal` aborts, no further node starts.
   */
  startNodes(nodes: readonly NodeSpec[], onProgress?: (progress: StartProgress) => void, signal?: AbortSignal): Promise<void>;
  stopNode(id: string): Promise<void>;
  killNode(id: string): Promise<void>;
  pauseNode(id: string): Promise<void>;
  resumeNode(id: string): Promise<void>;
  /** Memory figures cost a stats call per node: ask for them only when they are shown. */
  listNodes(options?: { memory?: boolean }): Promise<NodeInfo[]>;
  /** The last lines a node printed, for error reports. */
  logTail(id: string, lines: number): Promise<string>;
  exec(id: string, command: readonly string[]): Promise<ExecResult>;
  connectNode(id: string, network: string): Promise<void>;
  disconnectNode(id: string, network: string): Promise<void>;
  /** Removes every node and every other object of the run. Succeeds if they are already gone. */
  destroy(): Promise<void>;
}

/** When (epoch ms) a node's container was asked for, had been created, and had started (the start-up bench splits them). */
export interface ContainerStartup {
  readonly requestedAt: number;
  readonly createdAt: number;
  readonly startedAt: number;
}

/** Nodes as containers on engines of this host (Docker, a local Swarm): their namespaces and logs are reachable. */
export interface ContainerNodes extends Runtime, SuccessorNodes {
  /** The engines the run's containers live on (one for Docker, every engine of the cluster for Swarm). */
  readonly engineClients: readonly Docker[];
  /** Each node this runtime started, by id: when its container was asked for, created and started. */
  readonly containerStartup: ReadonlyMap<string, ContainerStartup>;
  /** Each running node's process id on this host (its network namespace) and its address on the run network. */
  nodeNamespaces(): Promise<Map<string, { pid: number; address: string }>>;
  /** Writes each node's whole output to `<dir>/<id>.log`. */
  saveLogs(dir: string): Promise<void>;
  /** The command that shows a node's log while the run is up. */
  logsCommand(id: string): string;
}

/**
 * Nodes whose id can pass to a new container (migration and restart, src/migration): the one primitive both
 * use. A host is where a container can go: on one engine, that engine, or the emulated hosts of `--hosts`; on a
 * Swarm, each of its engines.
 */
export interface SuccessorNodes {
  readonly runId: string;
  /** Where nodes can be placed: `local` on one engine, its emulated hosts (`--hosts`), or a Swarm's engines. */
  hosts(): Promise<string[]>;
  /** The host node `id` lives on now. */
  hostOf(id: string): Promise<string>;
  /** The host of every node that runs now, by id: what a placement policy starts from. */
  nodeHosts(): Promise<Map<string, string>>;
  /**
   * Where a node goes when no host is named: the least loaded host other than `except` with room for it (see
   * maxNodes), if there is one; refused in one line when every such host is full.
   */
  leastLoadedHost(except?: string): Promise<string>;
  /** Why `host` cannot take one more node (it holds its maxNodes), or undefined if it can. */
  whyNoRoom(host: string): Promise<PeerlabError | undefined>;
  /** The container that serves node `id` now (the newest running one); throws for an unknown node. */
  currentContainer(id: string): Promise<string>;
  /**
   * Starts a second container for node `id` on `host`, as its current one was started, with `env` added; it
   * serves the id once it has taken over. Resolves with the new container's handle. An abort of `signal` (Ctrl-C)
   * stops a start that waits (a Swarm task to run), removes what it started and rejects.
   */
  startSuccessor(id: string, env: Readonly<Record<string, string>>, host: string, signal?: AbortSignal): Promise<string>;
  /** Undefined while a container runs; else how it ended ("was killed (SIGKILL, exit code 137)", "is gone"). */
  howEnded(container: string): Promise<string | undefined>;
  /** Removes one container of the run (a migrated node's old one, or a successor that did not take over). */
  removeContainer(container: string): Promise<void>;
}
