import { REGISTRATION_TTL_SECONDS } from '../coordination/protocol.js';
import type { EtcdClient } from './etcd-client.js';

const RETRY_DELAY_MS = { first: 200, max: 5_000 };
/** Renewing three times per TTL survives two renewals in a row that do not reach etcd. */
const RENEW_EVERY_MS = (REGISTRATION_TTL_SECONDS * 1000) / 3;

/**
 * The node's lease and the registry keys it holds (its address, the services it offers), kept as Registrator
 * kept the thesis' registry: writing a key is retried until it succeeds, the lease is renewed three times per
 * TTL, and a lost lease (etcd answers that it no longer knows it, as after being unreachable for longer than
 * the TTL) is replaced and every held key written again, so the registry recovers by itself. A node that dies
 * stops renewing, and its keys expire with the lease.
 */
export class NodeLease {
  /** What the node wants registered: written again under every new lease. */
  private readonly held = new Map<string, string>();
  private lease: Promise<string> | undefined;
  private revoked = false;
  /** The current lease's renewals, which the CLI may take over for a while (leaveRenewalsTo). */
  private renewals: { pause(): void; resume(): void } | undefined;

  constructor(
    private readonly etcd: EtcdClient,
    private readonly log: (line: string) => void,
  ) {}

  /** Writes `key` under the lease; resolves once it is written (or has been deleted or changed meanwhile). */
  async put(key: string, value: string): Promise<void> {
    this.held.set(key, value);
    for (let delay = RETRY_DELAY_MS.first; this.held.get(key) === value; delay = Math.min(delay * 2, RETRY_DELAY_MS.max)) {
      try {
        await this.etcd.put(key, value, await this.current());
        return;
      } catch (error) {
        this.log(`registering ${key} failed (${(error as Error).message}); retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** What the node holds now, key and value: what a migrated node's successor holds under its own lease. */
  heldEntries(): Array<[string, string]> {
    return [...this.held];
  }

  /** Deletes `key` and stops holding it. */
  async delete(key: string): Promise<void> {
    this.held.delete(key);
    await this.etcd.delete(key);
  }

  /**
   * A graceful leave: the lease is revoked, so every key the node holds (its address, its services, its locks
   * and candidacies) goes at once instead of when the lease runs out, and nothing is written again.
   */
  async leave(): Promise<void> {
    const lease = this.lease;
    this.held.clear();
    this.lease = undefined;
    this.revoked = true;
    if (lease) await this.etcd.revokeLease(await lease);
  }

  /**
   * The lease, granted when first needed (again after a failed grant or a loss) and renewed until lost. Keys
   * put under it directly (locks, candidacies) are not written again under a new lease: a node whose lease ran
   * out has lost them, as with etcd's own sessions.
   */
  current(): Promise<string> {
    this.lease ??= this.etcd.grantLease(REGISTRATION_TTL_SECONDS).then(
      (lease) => {
        this.renewUntilLost(lease);
        return lease;
      },
      (error: unknown) => {
        this.lease = undefined;
        throw error;
      },
    );
    return this.lease;
  }

  /**
   * Leaves the renewals of the lease to the CLI while it holds `keeperKey` and the run has not started
   * (`startKey`), as it does during a bring-up (run/lease-keeper.ts): a node waiting for hundreds of others then
   * does not wake at all, where each renewal woke it, 9 times a minute, at 1–3 ms of CPU on a busy host (issue 9
   * §7). At the start, or if the key goes before it (the CLI ended, `peerlab up` exits, or it died and its lease
   * ran out), the node renews once at once and then at its own phase again. At once: the CLI's last renewal may be
   * a while ago. On a 500-node run with the dashboard, nodes that renewed only at their phase (up to 6.7 s after the
   * start) had their renewal answered with 0 s left about 18 s after it (README, "Seeing a run"); the CLI now also
   * renews for a TTL after the start the leases of the nodes that run (run/lease-keeper.ts). The start wakes
   * every node anyway. (A renewal then opens the node's LeaseKeepAlive stream: the node paused before its first
   * renewal, so the stream was never opened during the bring-up.) Returns once renewing again.
   */
  async leaveRenewalsTo(keeperKey: string, startKey: string): Promise<void> {
    // One read of both, then watches from the revision after it: nothing that changes meanwhile is missed.
    const { values: [keeper, start], revision } = await this.etcd.getAll([keeperKey, startKey]);
    if (keeper === undefined || start !== undefined || !this.renewals) return;
    const renewals = this.renewals;
    renewals.pause();
    // The watch that loses the race is cancelled: a thousand nodes would otherwise keep a watcher each on the
    // keeper key for the whole run. A wait that fails resumes the renewals too: the node must never be left
    // without them.
    const decided = new AbortController();
    try {
      await Promise.race([this.etcd.nextEvent(keeperKey, revision + 1n, 'delete', decided.signal), this.etcd.nextEvent(startKey, revision + 1n, 'put', decided.signal)]);
    } finally {
      decided.abort();
      renewals.resume();
    }
  }

  /**
   * Renews `lease` until etcd answers that it no longer knows it. A renewal left unanswered or a broken stream
   * is not a loss: etcd may well have renewed it (the answer late, or not read yet on a starved host), and
   * replacing a live lease rewrites every key it holds, more load on a host that is starved already. A lease that
   * ran out meanwhile is answered with 0 seconds left once etcd is reached again. The first failure of a streak
   * is logged.
   */
  private renewUntilLost(lease: string): void {
    let failing = false;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    const armedAt = Date.now();
    const renew = (): void => {
      if (this.revoked) return stop();
      this.etcd.keepAlive(lease).then(
        (secondsLeft) => {
          failing = false;
          if (secondsLeft <= 0) lost();
        },
        (error: Error) => {
          if (!failing) this.log(`renewing the registration lease failed (${error.message}); trying again in ${Math.round(RENEW_EVERY_MS / 100) / 10} s`);
          failing = true;
        },
      );
    };
    const stop = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };
    const lost = (): void => {
      stop();
      if (ended || this.revoked) return;
      ended = true;
      this.log('registration lease lost (etcd no longer knows it); registering again');
      this.lease = undefined;
      this.renewals = undefined;
      for (const [key, value] of this.held) void this.put(key, value);
    };
    timer = setInterval(renew, RENEW_EVERY_MS);
    this.renewals = {
      pause: stop,
      resume: () => {
        if (ended || this.revoked || timer) return;
        renew();
        // Back on the renewals' first phase: nodes that became ready together still renew at their own moments.
        const untilNext = RENEW_EVERY_MS - ((Date.now() - armedAt) % RENEW_EVERY_MS);
        timer = setTimeout(() => {
          renew();
          if (timer) timer = setInterval(renew, RENEW_EVERY_MS);
        }, untilNext);
      },
    };
  }
}
