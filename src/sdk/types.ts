import type { z } from 'zod';
import type { Topology } from '../topology/types.js';
import type { Random } from '../util/random.js';

export type { Random };

/** Any value that survives JSON.stringify/JSON.parse unchanged. Messages, results and kv values are JSON. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One overlay edge as seen from a node. */
export interface Neighbour {
  readonly id: string;
  readonly weight: number;
}

export interface Message<Payload extends Json = Json> {
  /** The neighbour that sent it. */
  readonly from: string;
  readonly payload: Payload;
}

/** A key-value store shared by all nodes of the run: etcd in containers, an in-memory map in the simulator. */
export interface SharedStore {
  get(key: string): Promise<string | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Resolves with the value once `key` exists (at once if it already does). */
  waitFor(key: string): Promise<string>;
  /** Resolves once `key` does not exist (at once if it already does not). */
  waitForDelete(key: string): Promise<void>;
  /**
   * Atomically sets `key` to `next` if its value is now `expected` (`undefined`: if the key does not exist), and
   * says whether it did. Of several nodes that swap from the same value at once, exactly one succeeds; the
   * others read the key again and retry (an etcd transaction in containers).
   */
  compareAndSwap(key: string, expected: string | undefined, next: string): Promise<boolean>;
}

/** A lock this node holds (see `node.lock`). */
export interface HeldLock {
  /** Lets the next waiting node (or this node's next `lock` call) have the lock. Releasing twice does nothing. */
  release(): Promise<void>;
}

/**
 * One named election of the run (see `node.election`), etcd's election recipe: the candidates queue in the
 * order they campaigned, the first one leads, and when it resigns or dies the next one leads. A leader that
 * dies leads, as far as the others can tell, until its lease runs out (the registry's, 20 s).
 */
export interface Election {
  /**
   * Stands for leader, with `value` for the others to read (e.g. an address); resolves once this node leads,
   * which may be never. Campaigning while already a candidate only updates the value.
   */
  campaign(value?: string): Promise<void>;
  /** The id of the node that leads now, undefined if none does. */
  leader(): Promise<string | undefined>;
  /**
   * Calls `callback` with each new leader and the value it campaigned with (both undefined while none leads),
   * starting with the current one; the returned function stops it.
   */
  observe(callback: (leader: string | undefined, value: string | undefined) => void): () => void;
  /**
   * Steps down as leader, or stops being a candidate; the next candidate in line leads. A campaign still
   * waiting when its node resigns never resolves.
   */
  resign(): Promise<void>;
}

/** Why a neighbour went: `left` when it stopped gracefully, `lease-expired` when it died and its lease ran out. */
export type DownReason = 'left' | 'lease-expired';

/** One live instance of a service, as `discover` lists it. */
export type ServiceInstance = {
  /** The node that offers it: send it requests with `node.send(instance.node, …)` (it must be a neighbour). */
  readonly node: string;
  /** What the node registered with it, e.g. which queries it answers. */
  readonly info: Json;
};

/**
 * The run's service registry (thesis §3.4, where Registrator kept etcd up to date for Docker services): nodes
 * register the services they offer, and any node can discover the live instances of a service by name. In
 * containers an entry is an etcd key held by the node's lease, so a node that dies or stops drops out of the
 * registry when its lease runs out (within 20 s); the simulator does the same in virtual time. Deregistering
 * removes the entry at once. Service names are letters, digits, `.`, `_` and `-`.
 */
export interface ServiceRegistry {
  /** Announces that this node offers `service`, with `info` for clients (JSON). Registering again replaces the info. */
  register(service: string, info?: Json): Promise<void>;
  /** Withdraws this node's instance of `service` (nothing happens if it has none). */
  deregister(service: string): Promise<void>;
  /** The instances of `service` registered now, sorted by node id; empty if there are none. */
  discover(service: string): Promise<ServiceInstance[]>;
}

/** Everything an algorithm can see and do. One object per node. */
export interface Node<Params = Record<string, never>, State = undefined, Payload extends Json = Json> {
  readonly id: string;
  /** This node's own variables, made by the algorithm's `state` factory (never shared between nodes). */
  readonly state: State;
  /**
   * Sorted by id, and live: a neighbour that goes down leaves this list (see `onNeighbourDown`), one that comes
   * back or joins is added (`onNeighbourUp`). Read it when you need it rather than keeping a copy.
   */
  readonly neighbours: readonly Neighbour[];
  /** Number of nodes in the whole run. */
  readonly size: number;
  readonly params: Params;
  /** Seeded from the run seed and this node's id: the same run draws the same numbers. */
  readonly random: Random;

  /**
   * Sends to a neighbour. Per edge, messages arrive in the order they were sent. Throws for a non-neighbour.
   * Resolves once the message has left this node (in containers, when the link's flow control lets it out; in
   * the simulator, at once). Sending in a loop, or large payloads, `await` it: a node that has more than 8 MiB
   * (or four of the largest payloads) waiting to go out is told so by an error, instead of growing until its
   * memory limit kills it. It never rejects: a link that breaks fails the run. A message to a neighbour that
   * is down is lost, as on a real network.
   */
  send(to: string, payload: Payload): Promise<void>;
  /** The next message not taken by `onMessage`, optionally only from one neighbour. */
  receive(options?: { from?: string }): Promise<Message<Payload>>;

  /** Milliseconds since the run started (virtual time in the simulator). */
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Calls `callback` after `ms`; the returned function cancels it. */
  setTimer(ms: number, callback: () => void): () => void;

  /** Waits until every node of the run has reached the barrier of this name. */
  barrier(name: string): Promise<void>;
  readonly store: SharedStore;
  /**
   * Waits until this node holds the run-wide lock `name`, and gives the lock to release. Nodes get it in the
   * order they asked; a node that dies loses it when its lease runs out (20 s). Lock names are letters,
   * digits, `.`, `_` and `-`.
   */
  lock(name: string): Promise<HeldLock>;
  /** The run-wide election `name` (same naming rule as locks): campaign, watch who leads, resign. */
  election(name: string): Election;
  /** Register the services this node offers, and discover other nodes' services. */
  readonly services: ServiceRegistry;

  log(...values: unknown[]): void;
  /** Records a named number for this node (the last value wins); it ends up in nodes.csv. */
  metric(name: string, value: number): void;
  /**
   * How much of its host's capacity this node wants from now on, in the unit of the run's hosts (`--hosts`; seed
   * 000's MIPS), as a CPU-bound program wants a processor: `Infinity` is not allowed, a host's capacity is. In the
   * simulator its host shares its capacity among its nodes' demands, and a placement policy sees what the node
   * got; in a container the node keeps that share of a CPU busy, and the policy measures it. It belongs to the
   * process: a moved or restarted node starts at 0, so declare it in `init` and `restore`.
   */
  demand(units: number): void;
  /** This node's output, checked by the oracle. A node keeps relaying messages after it reports. */
  result(value: Json): void;
}

/** What `defineAlgorithm` takes. Give `onMessage`, `run`, or both. */
export interface AlgorithmDefinition<Schema extends z.ZodType = z.ZodType, State = undefined, Payload extends Json = Json> {
  /** The name used on the command line; also the oracle's name in src/verify. */
  readonly name: string;
  readonly description?: string;
  /** Parameters with defaults, validated before any node starts. */
  readonly params?: Schema;
  /** Makes one node's variables; keep per-node state here, not in module variables (the simulator shares modules). */
  state?(node: Pick<Node<z.output<Schema>>, 'id' | 'neighbours' | 'size' | 'params'>): State;
  /** Called once per node when the run starts, before any message is delivered. */
  init?(node: Node<z.output<Schema>, State, Payload>): void | Promise<void>;
  /** Event style: called for every incoming message, in FIFO order per edge. */
  onMessage?(node: Node<z.output<Schema>, State, Payload>, message: Message<Payload>): void | Promise<void>;
  /** Sequential style: runs once per node, after `init`; use `await node.receive()`. */
  run?(node: Node<z.output<Schema>, State, Payload>): Promise<void>;
  /**
   * A neighbour went down: it is already gone from `node.neighbours`. In containers this is when its
   * registration disappears from etcd: at once for a graceful stop, when its lease runs out for a crash.
   */
  onNeighbourDown?(node: Node<z.output<Schema>, State, Payload>, id: string, reason: DownReason): void | Promise<void>;
  /** A neighbour came back or joined the run after the start: it is already in `node.neighbours`. */
  onNeighbourUp?(node: Node<z.output<Schema>, State, Payload>, neighbour: Neighbour): void | Promise<void>;
  /**
   * Migration (`peerlab migrate`, a `migrate` fault): what the node carries to its new container, as JSON. Without
   * it, `node.state` travels whole (it must then be plain JSON). Seed 000's `__travel__`, and its include and
   * exclude lists: return only the fields worth moving. Messages not yet handled travel with it in any case.
   */
  snapshot?(node: Node<z.output<Schema>, State, Payload>): Json;
  /**
   * Migration, on the new container, instead of `init`: `saved` is what `snapshot` returned (or the old
   * `node.state`). Put it into `node.state` and set again what a snapshot cannot carry: timers (seed 000's
   * `__settle__`). An algorithm with timers pending cannot move without it. Without this hook, `node.state`
   * becomes `saved`.
   */
  restore?(node: Node<z.output<Schema>, State, Payload>, saved: Json): void | Promise<void>;
}

/** The value an algorithm module exports by default. */
export interface Algorithm<Schema extends z.ZodType = z.ZodType, State = any, Payload extends Json = Json>
  extends AlgorithmDefinition<Schema, State, Payload> {
  readonly kind: 'peerlab.algorithm';
}

/** What a check is given: the same as peerlab's built-in oracles (src/verify) get. */
export interface CheckInput<Params = Record<string, unknown>, Result extends Json = Json> {
  /** The run's graph (graphology): nodes, edges and their `weight`s. Read it, do not change it. */
  readonly graph: Topology;
  /** The algorithm's parameters, defaults filled in. */
  readonly params: Params;
  /** Every node's result, by node id; undefined for a node that reported none. Results are not validated: check their shape. */
  readonly results: ReadonlyMap<string, Result | undefined>;
}

/** A check's judgement, the same shape as a built-in oracle's. */
export interface CheckVerdict {
  /** True when the results are right. */
  readonly passed: boolean;
  /** One line for people, e.g. "every node knows the maximum 97". */
  readonly summary: string;
  /** Numbers worth keeping (they go to verify.json, summary.csv and the plots), e.g. { maxError: 0.01 }. */
  readonly metrics?: Record<string, number>;
  /** The first discrepancies, each naming a node or edge, e.g. "node 7: 12, expected 97". */
  readonly failures?: string[];
  /** The ground truth and the algorithm's aggregated answer, recorded in verify.json. */
  readonly expected?: Json;
  readonly actual?: Json;
}

/**
 * An algorithm's own oracle, exported beside it as `export const check: Check<...> = (input) => ...`. A pure
 * function of the graph, the parameters and the results: it runs in the CLI after the run, never in a node
 * (the node bundle leaves it out), so it may use anything (graphology algorithms, big tables).
 */
export type Check<Params = Record<string, unknown>, Result extends Json = Json> = (input: CheckInput<Params, Result>) => CheckVerdict;

/** What a graph-defaults function is given. */
export interface GraphDefaultsInput<Params = Record<string, unknown>> {
  /** The run's graph (graphology). Read it, do not change it. */
  readonly graph: Topology;
  /** The parameters as the user gave them, the schema's defaults filled in. */
  readonly params: Params;
  /**
   * The nodes the run's fault schedule kills or stops at its start (`at=0s`): a default that names a node (a root,
   * a source) can pick one that is there.
   */
  readonly removedAtStart: ReadonlySet<string>;
}

/**
 * Parameter defaults that depend on the graph, exported beside the algorithm as
 * `export const graphDefaults: GraphDefaults<...> = ({ graph, params }) => ({ rounds: … })`. A node sees only its
 * neighbours, but the CLI knows the whole graph: this runs there once, before any node starts, and never in a
 * node (the node bundle leaves it out). It fills only parameters the user did not set (a `--param` always
 * wins); the result is validated by the schema like a user's value, recorded in run.json and printed in the
 * replay line, so a replay runs with the same values. Return `{}` for a parameter that has no graph default.
 */
export type GraphDefaults<Params = Record<string, unknown>> = (input: GraphDefaultsInput<Params>) => Partial<Params>;
