/**
 * A placement policy applied to a running run (issue 13), as seed 000's Scout balanced its agents: every period,
 * the nodes' measured loads and the hosts go into the policy, and each node whose host it changes is migrated
 * there, one move at a time (src/migration/move.ts). Each round is recorded with what the policy saw and what
 * moved: results/<run>/placements.ndjson.
 *
 * A node's load comes from its own reports (RunConfig.loadReportMs). A node that declares its work (node.demand) is
 * weighed by the work done, as seed 000's Scout weighed an agent by the instructions perf counted in the agent's
 * own process: the node agent's own upkeep (its lease, load reports and links, 2–3 ms of CPU a second, hundreds of
 * times an idle Zoe agent's) is its host's, as Zoe's outpost relayed its agents' messages, and in the simulator a
 * node's load is its demand too. Any other node is weighed by the CPU share its process used, all of it. In the
 * hosts' capacity unit a share is share × capacity / cpus, which is the same for every host by construction of
 * their quotas (emulated-hosts.ts): a node's work costs the same MIPS wherever it runs, and a larger share of a
 * smaller host, as seed 000's load (agent MIPS over machine MIPS, eq. 3.2) says.
 */
import type { Etcd3 } from 'etcd3';
import { runKeys } from '../coordination/keys.js';
import type { NodeLoad } from '../coordination/protocol.js';
import { PeerlabError } from '../errors.js';
import { moveNode } from '../migration/move.js';
import { resolvePolicy } from '../plugins/resolve.js';
import type { EmulatedHost, GivenHosts } from '../runtime/emulated-hosts.js';
import type { SuccessorNodes } from '../runtime/types.js';
import type { PlacementInput, PlacementPolicy } from '../sdk/placement.js';
import { simulatePlacement, type PlacementRound } from './simulate.js';
import { HostUtility } from './utility.js';
import { compareNodeIds } from '../util/node-ids.js';

/** What `--policy` asks for. */
export interface LivePlacementRequest {
  /** The policy as given (a name like `equal`, or a path): for the replay. */
  readonly policy: string;
  /** Its file. */
  readonly policySource: string;
  readonly everyMs: number;
  /** Nodes held where they are (seed 000's Hold mode): their load still counts on their host. */
  readonly hold: readonly string[];
  readonly settings: Readonly<Record<string, number>>;
}

/** What a live policy's options are called where they are given: `--policy` and its flags, or an experiment's fields. */
export interface PolicyTerms {
  /** The policy as a refusal names it: `--policy equal`; in an experiment file, whose error names the field, `equal`. */
  policy(policy: string): string;
  readonly hosts: string;
  /** How to give hosts, for a hint. */
  readonly hostsExample: string;
}

export const POLICY_FLAGS: PolicyTerms = { policy: (policy) => `--policy ${policy}`, hosts: '--hosts', hostsExample: "--hosts 'big=4,small=1'" };
/** The same in an experiment file's terms: the error names the field (`policy: equal needs hosts: …`). */
export const POLICY_FIELDS: PolicyTerms = { policy: (policy) => policy, hosts: 'hosts', hostsExample: 'hosts: "big=4,small=1"' };

/** A policy setting's name, in `--policy-setting NAME=NUMBER` and an experiment's `policySettings:`. */
export const POLICY_SETTING_NAME = /^[A-Za-z_][\w-]*$/;

/** The seconds between rounds when the flags or the file do not say (`--policy-every`, `policyEvery:`). */
export const DEFAULT_POLICY_EVERY_S = 10;

/**
 * The refusal of a policy without hosts to place nodes on, on a runtime whose nodes all live in one place: by the
 * run, and by an experiment's preflight (`runtimes`: those whose engines are hosts).
 */
export function policyWithoutHosts(policy: string, runtimes: string, terms: PolicyTerms = POLICY_FLAGS): PeerlabError {
  return new PeerlabError(`${terms.policy(policy)} needs ${terms.hosts}: a policy places nodes on hosts`, {
    hint: `add ${terms.hosts}, e.g. ${terms.hostsExample}, or take --runtime ${runtimes}, whose engines are its hosts`,
  });
}

/**
 * The request, as `--policy` and an experiment's `policy:` both make it: the policy found by name or file (from the
 * current folder), its settings those of a `--hosts` file overridden by the ones given. Whether the run has hosts
 * for it (`--hosts`, or a Swarm's engines) is the runtime's to say (checkRuntimeCan).
 */
export function livePlacementRequest(
  given: { readonly policy: string; readonly everySeconds?: number; readonly hold?: readonly string[]; readonly settings?: Readonly<Record<string, number>> },
  hosts: GivenHosts | undefined,
): LivePlacementRequest {
  return {
    policy: given.policy,
    policySource: resolvePolicy(given.policy),
    everyMs: (given.everySeconds ?? DEFAULT_POLICY_EVERY_S) * 1000,
    hold: given.hold ?? [],
    settings: { ...hosts?.settings, ...given.settings },
  };
}

/** The flags that apply the same policy again (run.json's replay). */
export function livePlacementReplayFlags({ policy, everyMs, hold, settings }: LivePlacementRequest): string[] {
  return [
    '--policy',
    policy,
    '--policy-every',
    String(everyMs / 1000),
    ...(hold.length > 0 ? ['--hold', hold.join(',')] : []),
    ...Object.entries(settings).flatMap(([name, value]) => ['--policy-setting', `${name}=${value}`]),
  ];
}

export interface LivePlacementDeps {
  readonly runId: string;
  readonly policy: PlacementPolicy;
  readonly request: LivePlacementRequest;
  readonly hosts: readonly EmulatedHost[];
  readonly nodes: SuccessorNodes;
  readonly etcd: Etcd3;
}

export class LivePlacement {
  private readonly rounds: PlacementRound[] = [];
  /** The last load each node reported: a node that has just moved reports again only after an interval. */
  private readonly lastLoad = new Map<string, NodeLoad>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** A policy that threw or answered what cannot be (simulatePlacement's checks): the run fails with it. */
  private failure: { error: unknown } | undefined;
  private readonly utility = new HostUtility();

  constructor(private readonly deps: LivePlacementDeps) {}

  /** Rounds at startedAt + k × everyMs, k ≥ 1; a round still moving nodes when the next is due delays it. */
  start(startedAt: number): void {
    const next = (round: number): void => {
      this.timer = setTimeout(() => {
        this.running = this.round(Date.now() - startedAt).then(
          () => {
            if (!this.stopped) next(Math.max(round + 1, Math.ceil((Date.now() - startedAt) / this.deps.request.everyMs)));
          },
          (error: unknown) => {
            this.failure = { error };
            this.stopped = true;
          },
        );
      }, Math.max(0, startedAt + round * this.deps.request.everyMs - Date.now()));
    };
    next(1);
  }

  /** No round starts after this; waits for the one under way (a move, once committed, completes). */
  async stop(): Promise<PlacementRound[]> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (this.failure) throw this.failure.error;
    return this.rounds;
  }

  private async round(atMs: number): Promise<void> {
    const input = await this.measure(atMs);
    if (input === undefined) return;
    const outcome = simulatePlacement(this.deps.policy, input);
    const moves: Array<PlacementRound['moves'][number]> = [];
    for (const move of outcome.moves) {
      if (this.stopped) {
        moves.push({ ...move, moved: false, why: 'the run ended first' });
        continue;
      }
      try {
        await moveNode(this.deps.nodes, this.deps.etcd, { runId: this.deps.runId, nodeId: move.node, kind: 'migrate', to: move.to });
        moves.push({ ...move, moved: true });
      } catch (error) {
        moves.push({ ...move, moved: false, why: (error as Error).message });
      }
    }
    this.rounds.push({ atMs, input, placement: Object.fromEntries(input.nodes.map((node) => [node.name, outcome.placement[node.name] ?? node.host])), moves });
  }

  /** The policy's input now; undefined until every node has reported a load once. */
  private async measure(atMs: number): Promise<PlacementInput | undefined> {
    const keys = runKeys(this.deps.runId);
    for (const [key, value] of Object.entries(await this.deps.etcd.getAll().prefix(keys.loadPrefix).strings())) {
      this.lastLoad.set(key.slice(keys.loadPrefix.length), JSON.parse(value) as NodeLoad);
    }
    const hostOf = await this.deps.nodes.nodeHosts();
    // In id order: greedy policies take nodes first come, first served.
    const ids = [...hostOf.keys()].sort(compareNodeIds);
    if (ids.some((id) => !this.lastLoad.has(id))) return undefined;
    const hostByName = new Map(this.deps.hosts.map((host) => [host.name, host]));
    const nodes = ids.map((id) => {
      const host = hostByName.get(hostOf.get(id)!)!;
      const { workShare, cpuShare } = this.lastLoad.get(id)!;
      return { name: id, host: host.name, load: ((workShare ?? cpuShare) * host.capacity) / host.cpus, hold: this.deps.request.hold.includes(id) };
    });
    return { hosts: this.utility.rate(atMs / 1000, this.deps.hosts, nodes), nodes, settings: this.deps.request.settings };
  }
}
