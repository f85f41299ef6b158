/**
 * Placement policies: where each node of a run should live. A policy is a file, like an algorithm, and a pure
 * function of what peerlab measured: it never moves anything itself. peerlab applies the moves (live, in
 * Docker and Swarm, or in the simulator) and `peerlab policy simulate` shows them without starting anything.
 */

/** A machine nodes can live on: a Docker engine, or a group of nodes with its own CPU quota on one engine. */
export interface PlacementHost {
  readonly name: string;
  /** What the host can do, in the unit node loads are measured in (seed 000 measures MIPS with LINPACK). */
  readonly capacity: number;
  /** Lower numbers are filled first by priority policies (1 before 4, as in seed 000's outpost list). */
  readonly priority: number;
  /** The host that takes what fits nowhere else (seed 000's central server). */
  readonly central: boolean;
  /** How well the host has performed, oldest first (seed 004's Roaming table): for policies that leave poor hosts. */
  readonly utility?: readonly UtilitySample[];
  /**
   * Where the host is, in degrees: the simulator delays each message between two placed hosts by their
   * great-circle distance, as `--links geo` delays an edge (seed 001's sites), and a node that moves is away for
   * its snapshot's trip from one to the other.
   */
  readonly latitude?: number;
  readonly longitude?: number;
  /**
   * How many nodes the host can hold at once; no limit when left out. A run that would start more there, and a
   * move to it while it holds that many, are refused ("has no room"); a policy's move there is then not made.
   */
  readonly maxNodes?: number;
}

/** A host's performance at one time, as seed 004 measures it: the utility of each of its system components. */
export interface UtilitySample {
  /** When it was measured, in seconds (any origin: policies only compare times with each other). */
  readonly at: number;
  /** Component (cpu, memory, network, …) → its utility; higher is better. */
  readonly components: Readonly<Record<string, number>>;
}

/** A node as the policy sees it. */
export interface PlacementNode {
  readonly name: string;
  /** The host it lives on now. */
  readonly host: string;
  /** Its load, measured on its current host, in the hosts' capacity unit. */
  readonly load: number;
  /** Held in place: it stays where it is, but its load still counts on its host. */
  readonly hold: boolean;
  /** Who asked it for what, oldest first (seed 001's request log): for policies that follow their users. */
  readonly requests?: readonly RequestSample[];
}

/** The requests a node received in the interval that ends at `at`, counted by the site they came from. */
export interface RequestSample {
  /** The end of the interval, in seconds (any origin: policies only compare times with each other). */
  readonly at: number;
  /** Site → requests from the users there; a site is a host, the one nearest those users. */
  readonly from: Readonly<Record<string, number>>;
}

export interface PlacementInput {
  /** In the order the user listed them: policies break ties by this order. */
  readonly hosts: readonly PlacementHost[];
  /** In the order the user listed them: greedy policies place nodes first come, first served. */
  readonly nodes: readonly PlacementNode[];
  /** The policy's own settings, e.g. prio's limit. */
  readonly settings: Readonly<Record<string, number>>;
}

/** Node name → the host it should live on. A node left out stays where it is. */
export type Placement = Readonly<Record<string, string>>;

export interface PlacementPolicy {
  readonly kind: 'peerlab.policy';
  readonly name: string;
  readonly description?: string;
  /** Returns the target placement; peerlab moves every node whose host differs from its current one. */
  place(input: PlacementInput): Placement;
}

export function definePolicy(definition: Omit<PlacementPolicy, 'kind'>): PlacementPolicy {
  return { ...definition, kind: 'peerlab.policy' };
}

/** The share of `host`'s capacity that `node` would use there (seed 000, eq. 3.2: agent MIPS over machine MIPS). */
export function loadOn(node: PlacementNode, host: PlacementHost): number {
  return node.load / host.capacity;
}

/**
 * The nodes grouped by their current host, hosts in the order listed, each group in the nodes' own order: the
 * order seed 000's Scout hands its agents to a balancer ("a map which contains agents, grouped by their current
 * outpost", §3.3), for first-come policies that follow it (equal's and prio's `scoutOrder` setting).
 */
export function groupedByHost(nodes: readonly PlacementNode[], hosts: readonly PlacementHost[]): PlacementNode[] {
  return hosts.flatMap((host) => nodes.filter((node) => node.host === host.name));
}
