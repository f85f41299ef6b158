/**
 * The CLI renews the registration lease of every registered node for it until the start, all on one
 * LeaseKeepAlive stream. Measured on a 1,000-node bring-up (issue 9 §7): what saturated the 2 cores was not the starts but
 * what the nodes cost while they waited for the last ones, and of a waiting node's CPU what remained was its
 * lease renewals, 9 wake-ups a minute at 1–3 ms each once the host is busy (cold caches), for every node, for
 * the whole bring-up. (Handing over once registered, not once ready: in a BA graph half the nodes have a
 * neighbour that starts later, and wait for it to register before they can connect and say ready.) A thousand
 * renewals on one stream cost the CLI a few ms.
 *
 * The nodes see the keeper key (RunKeys.leaseKeeper), held under a short lease of the CLI's own, and leave their
 * renewals to it (node/registration.ts); they renew again themselves at the start, or at once if the key goes
 * (the CLI let go, exited, or died and its lease ran out). Before the start a node that dies fails the bring-up
 * through the run's watch (its container ends).
 *
 * For one TTL after the start the keeper still renews the leases of the nodes whose container runs, that no
 * fault hit and that have not registered again under another lease (guardAfterStart). At the start every node
 * begins at once, and on a starved host a node's own first renewal was measured landing 11–13 s after it, with 6 s
 * of the TTL left; in 3 runs of 3 at 500 nodes with the dashboard, a few nodes lost their lease 18 s after the
 * start (README, "Seeing a run"). Failure detection is not weakened: a node is not renewed once its container
 * ended, a fault hit it or it registered again, and its own renewals, every third of the TTL, had left its lease
 * at least as long as the keeper's, so its lease still runs out within a TTL of its death.
 */
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse, Lease } from 'etcd3';
import { followPrefix, stopWatching } from '../coordination/etcd.js';
import { REGISTRATION_TTL_SECONDS } from '../coordination/protocol.js';
import { waitAtMost } from '../util/concurrency.js';

/**
 * The keeper key's lease. Short, so that nodes take their renewals back soon after a CLI that died: a node's lease
 * then goes unrenewed for at most a renewal period plus this, 6.7 + 5 s of its 20 s.
 */
const KEEPER_TTL_SECONDS = 5;
/** As often as a node renews its own (node/registration.ts): three times per TTL. */
const RENEW_EVERY_MS = (REGISTRATION_TTL_SECONDS * 1000) / 3;
/** How long the last round of renewals before the start may wait for etcd's answers. */
const LAST_ROUND_TIMEOUT_MS = 10_000;
/** How long letting go of the keeper key waits for etcd to revoke its lease (see release). */
const REVOKE_WAIT_MS = 2_000;
/** The renewal periods after the start in which the keeper still renews the leases of the nodes that run: a TTL. */
const ROUNDS_AFTER_START = 3;

/** The nodes whose container runs now, on every engine of the run. */
export type RunningNodes = () => Promise<ReadonlySet<string>>;

export class RegistrationLeaseKeeper {
  /** Node by lease id. */
  private readonly nodeOf = new Map<string, string>();
  /** Nodes whose lease etcd no longer knew when renewed: their registration is gone. */
  private readonly lost = new Set<string>();
  /** Nodes a fault hit (forget): never renewed again, so that their leases run out as their own renewals left them. */
  private readonly forgotten = new Set<string>();
  private stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse> | undefined;
  private opening: Promise<IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>> | undefined;
  /** The last round's leases not answered yet (see handBack); none is tracked before it. */
  private lastRound: Set<string> | undefined;
  private onAnswered: (() => void) | undefined;
  private timer: NodeJS.Timeout;
  /** Until the start (handBack): renews every registration it hears of. */
  private renewing = true;
  /** For a TTL after the start (guardAfterStart). */
  private guarding = false;
  private stopWatch: () => Promise<void> = async () => {};
  private releasing: Promise<void> | undefined;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly keeper: Lease,
    private readonly running: RunningNodes,
  ) {
    // Unref'd: a CLI that ends without releasing the keeper must not be kept alive by it.
    this.timer = setInterval(() => this.renewAll(), RENEW_EVERY_MS).unref();
  }

  /**
   * Holds `keeperKey` (under the keeper's own lease), then renews the lease of every registration put under
   * `registryPrefix` (the first renewal at once). Before any node registers, so that every node sees the key.
   * `running` says which nodes still run when the keeper guards their leases after the start (guardAfterStart).
   */
  static async hold(etcd: Etcd3, keeperKey: string, registryPrefix: string, running: RunningNodes): Promise<RegistrationLeaseKeeper> {
    const keeper = etcd.lease(KEEPER_TTL_SECONDS);
    await keeper.put(keeperKey).value(String(process.pid));
    const keeping = new RegistrationLeaseKeeper(etcd, keeper, running);
    // A keeper that no longer hears of registrations lets go at once: every node then renews its own lease, as
    // when the CLI exits, rather than wait for renewals that would never come.
    keeping.stopWatch = await followPrefix(etcd, registryPrefix, ({ type, name, lease }) => {
      if (type === 'put') keeping.keep(name, lease);
    }, () => void keeping.release());
    return keeping;
  }

  private keep(node: string, lease: string): void {
    if (lease === '0' || this.nodeOf.has(lease)) return;
    if (this.renewing) {
      this.nodeOf.set(lease, node);
      void this.renew([lease]);
      return;
    }
    // After the start, a registration under a new lease is a new process of the node (moved or restarted from
    // outside the run, e.g. by `peerlab migrate`), which renews its own. Its container runs under the node's id,
    // but what the old process held under the old lease (locks, candidacies) must run out with it.
    this.forget([node]);
  }

  /**
   * Before the start: renews every lease a last time and waits for etcd's answers, so that each node's lease has
   * a whole TTL when its own renewals take over again. Returns the nodes whose lease etcd no longer knew: their
   * registration is gone.
   */
  async handBack(): Promise<string[]> {
    this.stopRenewing();
    // Only this round's answers are waited for: a renewal written to a stream that broke is never answered.
    const lastRound = (this.lastRound = new Set());
    const answered = new Promise<void>((resolve) => (this.onAnswered = resolve));
    await this.renew([...this.nodeOf.keys()]);
    if (lastRound.size > 0) await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, LAST_ROUND_TIMEOUT_MS).unref())]);
    this.lastRound = undefined;
    this.closeStream();
    return [...this.lost];
  }

  /**
   * From the start: every renewal period for a TTL, renews the lease of each node that still runs, that no
   * fault hit and that has not registered again, in case the node's own renewals come late (see the top of this
   * file).
   */
  guardAfterStart(): void {
    if (this.releasing || this.guarding) return;
    this.guarding = true;
    let rounds = 0;
    const round = async (): Promise<void> => {
      // Not knowing which nodes run, it renews none: a dead node's lease must run out.
      const runs = await this.running().catch(() => new Set<string>());
      if (this.guarding) await this.renew([...this.nodeOf].filter(([, node]) => runs.has(node) && !this.forgotten.has(node)).map(([lease]) => lease));
    };
    // Closed a period after the last round, not at once: cancelled, a stream drops the renewals not sent yet.
    this.timer = setInterval(() => void (++rounds > ROUNDS_AFTER_START ? this.stopGuarding() : round()), RENEW_EVERY_MS).unref();
  }

  /** Nodes a fault hit (killed, stopped, paused, moved): from now on their leases are theirs alone to renew. */
  forget(nodes: Iterable<string>): void {
    for (const node of nodes) this.forgotten.add(node);
  }

  private async stopGuarding(): Promise<void> {
    this.guarding = false;
    clearInterval(this.timer);
    this.closeStream();
    await this.stopFollowing();
  }

  /**
   * Lets go of the keeper key: every node that waits for the start renews its own lease again at once. Once: a
   * keeper that lost its watch lets go by itself, before the controller's close asks it to.
   */
  release(): Promise<void> {
    return (this.releasing ??= this.letGo());
  }

  private async letGo(): Promise<void> {
    this.stopRenewing();
    await this.stopGuarding();
    // revoke() stops the keep-alives first. An etcd that does not answer held a run's teardown for 160 s here (the
    // client retries); unrevoked, the key's lease ends by itself within its TTL, which is all letting go needs.
    await waitAtMost(this.keeper.revoke(), REVOKE_WAIT_MS);
  }

  private stopRenewing(): void {
    clearInterval(this.timer);
    this.renewing = false;
  }

  /**
   * The registry watch goes on through the guard, which it tells of nodes registered again (see keep), so it may
   * be stopped when etcd no longer answers (a frozen etcd ends the run, and the controller's close lets go).
   */
  private async stopFollowing(): Promise<void> {
    const stop = this.stopWatch;
    this.stopWatch = async () => {};
    await stopWatching(stop);
  }

  private renewAll(): void {
    void this.renew([...this.nodeOf.keys()]);
  }

  private async renew(leases: readonly string[]): Promise<void> {
    if (leases.length === 0) return;
    let stream: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;
    try {
      stream = await this.open();
    } catch {
      return; // etcd unreachable: the next round tries again, as a node's own renewals would
    }
    // Let go meanwhile: the stream opened for this round must not outlive the keeper.
    if (!this.renewing && !this.guarding && this.lastRound === undefined) return this.closeStream();
    for (const lease of leases) {
      this.lastRound?.add(lease);
      stream.write({ ID: lease });
    }
  }

  private open(): Promise<IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>> {
    if (this.stream) return Promise.resolve(this.stream);
    this.opening ??= this.etcd.leaseClient.leaseKeepAlive().then(
      (stream) => {
        stream.on('data', ({ ID, TTL }) => {
          const node = this.nodeOf.get(ID);
          if (node !== undefined && Number(TTL) <= 0) this.lost.add(node);
          if (this.lastRound?.delete(ID) && this.lastRound.size === 0) this.onAnswered?.();
        });
        const broken = (): void => {
          if (this.stream === stream) this.stream = undefined;
        };
        stream.on('error', broken);
        stream.on('end', broken);
        this.stream = stream;
        this.opening = undefined;
        return stream;
      },
      (error: unknown) => {
        this.opening = undefined;
        throw error;
      },
    );
    return this.opening;
  }

  private closeStream(): void {
    this.stream?.cancel();
    this.stream = undefined;
  }
}
