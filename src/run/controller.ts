import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3 } from 'etcd3';
import { PeerlabError } from '../errors.js';
import type { AppliedFault } from '../faults/events.js';
import type { Json } from '../sdk/types.js';
import { runKeys, type RunKeys } from '../coordination/keys.js';
import { followPrefix, stopWatching, type OnWatchLost } from '../coordination/etcd.js';
import { currentLeader } from '../coordination/elections.js';
import { REGISTRATION_TTL_SECONDS, type MessageTotals, type NeighbourEntry, type NodeFailure, type NodeReport, type NodeStartup, type Registration, type RunConfig } from '../coordination/protocol.js';
import type { SkewInForce } from '../host/node-clock.js';
import type { LinkChange } from '../links/model.js';
import { forEachLimited } from '../util/concurrency.js';
import { userFrame } from '../plugins/stack.js';
import { ExecutionFailed } from './execution.js';
import { RegistrationLeaseKeeper, type RunningNodes } from './lease-keeper.js';
import type { RegistryChange, RegistryLog } from '../runtime/types.js';

/** What each node's ready key holds: the deployment hands it on as it is. */
export type { NodeStartup } from '../coordination/protocol.js';

export interface CollectedResults {
  readonly results: Map<string, Json>;
  /** Nodes that had not reported by the deadline (empty unless timed out). */
  readonly missing: string[];
  readonly timedOut: boolean;
  readonly durationMs: number;
  /**
   * With `untilQuiescent`: messages in flight when the controller stopped waiting for none to be (0 once
   * quiescent; the last wave's sent − received if the timeout came first).
   */
  readonly inFlight?: number;
  /** The run ended quiet under faults (see endWhenQuiet): no message in flight between live nodes. */
  readonly quiet?: boolean;
}

/** The registry as followed by the controller, until `stop`; `log` puts what it saw on the run's clock. */
export interface RegistryFollower {
  log(startedAt: number): RegistryLog;
  stop(): Promise<void>;
}

/** Between two quiescence waves, so that an idle run is not flooded with waves. */
const WAVE_PAUSE_MS = 100;

/**
 * How long a wait for every node may take: in all, or since the last node got there (a bring-up of hundreds
 * of nodes takes as long as it takes while nodes keep becoming ready, and fails when none has for a while).
 */
type Patience = { readonly totalMs: number } | { readonly withoutProgressMs: number };

/**
 * The controller's side of the etcd protocol (see coordination/keys.ts): it publishes the run, waits for the
 * nodes, opens barriers, says start and stop, and collects what the nodes report. Every wait is a watch.
 */
export class RunController {
  private readonly keys: RunKeys;
  /** The first failure any node reported; every wait gives up on it. */
  private failure: NodeFailed | undefined;
  private stopFollowingErrors: () => Promise<void> = async () => {};
  /** Quiescence waves are numbered across the run: a quiet-ending wait and --until quiescent share them. */
  private nextWave = 1;
  /** Nodes a fault took out (killed, stopped): no wait counts them any more. */
  private readonly departed = new Set<string>();
  /** Nodes and directed edges (`from>to`) a fault hit: a link to or across them that breaks is the fault, not a failure. */
  private readonly faulted = new Set<string>();
  /** The waits under way, each re-checked when a node departs. */
  private readonly onDeparture = new Set<() => void>();
  /** Renews the registered nodes' leases for them until the start, and guards them for a while after it (holdNodeLeases). */
  private leaseKeeper: RegistrationLeaseKeeper | undefined;

  private constructor(
    private readonly etcd: Etcd3,
    private readonly runId: string,
    /** The run's members: the nodes it came up with, then each that joined. */
    private readonly nodeIds: string[],
  ) {
    this.keys = runKeys(runId);
  }

  static async open(etcd: Etcd3, runId: string, nodeIds: readonly string[]): Promise<RunController> {
    const controller = new RunController(etcd, runId, [...nodeIds]);
    controller.stopFollowingErrors = await followPrefix(etcd, controller.keys.errorsPrefix, (event) => {
      if (event.type !== 'put' || controller.failure) return;
      const { message, stack, brokenLink } = JSON.parse(event.value) as NodeFailure;
      if (brokenLink && controller.causedByFault(event.name, brokenLink)) return;
      controller.failure = brokenLink
        ? new NodeFailed(event.name, `its link to node ${brokenLink} broke: ${message}`, stack, brokenLink)
        : new NodeFailed(event.name, message, stack);
    }, controller.failWhenLost("the nodes' errors"));
    return controller;
  }

  /**
   * A follow etcd ended (see followPrefixFrom) fails the run, as an error a node reported would: what it follows
   * can no longer be known, and a wait for it would never end.
   */
  private failWhenLost(what: string): OnWatchLost {
    return (lost) => {
      this.failure ??= new NodeFailed('controller', `stopped hearing of ${what}: ${lost.message}`, undefined);
    };
  }

  /** A fault is about to hit these nodes and edges: links that break to them or across them are not failures. */
  faultHits(nodes: readonly string[], edges: ReadonlyArray<readonly [string, string]>): void {
    this.leaseKeeper?.forget(nodes);
    for (const node of nodes) this.faulted.add(node);
    for (const [from, to] of edges) this.faulted.add(`${from}>${to}`);
  }

  /** A fault took the node out for good: from now on no wait (results, barriers, waves, reports) waits for it. */
  depart(nodeId: string): void {
    this.faultHits([nodeId], []);
    if (this.departed.has(nodeId)) return;
    this.departed.add(nodeId);
    for (const recheck of this.onDeparture) recheck();
  }

  /**
   * A node a fault took out is back (a restart of a killed or stopped node): every wait (results, barriers, waves,
   * reports) counts it again. It stays among the nodes a fault hit: its neighbours' links to the old container
   * may be reported broken after the new one took over.
   */
  rejoin(nodeId: string): void {
    this.departed.delete(nodeId);
  }

  /**
   * Node `id` joins the running run: every wait (results, barriers, waves, reports) counts it from now on, and
   * the topology keys of the new node and of the members it attaches to are written. Each member hears of it
   * through the control watch it has anyway (a neighbourJoin key), so that no node watches its topology key.
   */
  async join(id: string, topology: ReadonlyMap<string, NeighbourEntry[]>): Promise<void> {
    if (!this.nodeIds.includes(id)) this.nodeIds.push(id);
    await this.publishTopology(topology);
    await forEachLimited([...topology].filter(([member]) => member !== id), 64, async ([member, list]) => {
      const entry = list.find((neighbour) => neighbour.id === id);
      if (entry) await this.etcd.put(this.keys.neighbourJoin(member, id)).value(JSON.stringify(entry));
    });
  }

  /**
   * Resolves once node `id` (one that joined) is ready: registered, connected to its neighbours and watching, so
   * it runs init at once. Also once it departs (a fault took it out meanwhile); rejects after `timeoutMs`.
   */
  async joined(id: string, options: { timeoutMs: number; check: () => Promise<void> }): Promise<void> {
    let ready = false;
    await this.untilComplete(
      this.keys.readyPrefix,
      { totalMs: options.timeoutMs },
      'become ready',
      options.check,
      (event) => void (ready ||= event.name === id),
      () => (ready || this.departed.has(id) ? true : undefined),
    ).catch((error: unknown) => {
      throw error instanceof RunTimeout ? new Error(`node ${id} was not ready ${options.timeoutMs / 1000} s after its container started`) : error;
    });
  }

  /** The nodes still expected to take part. */
  private alive(): string[] {
    return this.departed.size === 0 ? [...this.nodeIds] : this.nodeIds.filter((id) => !this.departed.has(id));
  }

  private causedByFault(nodeId: string, brokenLink: string): boolean {
    return [nodeId, brokenLink, `${nodeId}>${brokenLink}`, `${brokenLink}>${nodeId}`].some((hit) => this.faulted.has(hit));
  }

  /** Takes the directed link from → to down (the receiver drops what arrives on it) or brings it back up. */
  async setLinkDown(from: string, to: string, down: boolean): Promise<void> {
    if (down) await this.etcd.put(this.keys.linkDown(to, from)).value('down');
    else await this.etcd.delete().key(this.keys.linkDown(to, from));
  }

  /** Changes the directed edge's link from now on (undefined restores the run's own): the sender applies it. */
  async setLinkChange(from: string, to: string, change: LinkChange | undefined): Promise<void> {
    if (change) await this.etcd.put(this.keys.linkChange(from, to)).value(JSON.stringify(change));
    else await this.etcd.delete().key(this.keys.linkChange(from, to));
  }

  /** From now on node `to` drops `percent` % of what arrives from `from`; 0 ends it. */
  async setMessageDrop(from: string, to: string, percent: number): Promise<void> {
    if (percent > 0) await this.etcd.put(this.keys.messageDrop(to, from)).value(String(percent));
    else await this.etcd.delete().key(this.keys.messageDrop(to, from));
  }

  /**
   * Node `id`'s clock runs off as `skew` says, from its `sinceMs` on the run's clock (its container applies it as
   * the key reaches it; a later container of the id, from the same moment); undefined sets it right.
   */
  async setClockSkew(id: string, skew: SkewInForce | undefined): Promise<void> {
    if (skew) await this.etcd.put(this.keys.clockSkew(id)).value(JSON.stringify(skew));
    else await this.etcd.delete().key(this.keys.clockSkew(id));
  }

  /**
   * Follows the registry from now on. A node registers at its entry's own `registeredAt` and leaves when its key
   * goes (a stop revokes its lease at once, a death or a freeze a lease time later); a put for a node already in
   * the registry (the note a leaving node writes first) changes nothing. A node whose key comes back after it went
   * (a lease lost while etcd or the node was starved, then written again under a new one, with the entry's first
   * `registeredAt`) registers again when it comes back, not at that first time, so it is never counted twice.
   */
  async followRegistry(): Promise<RegistryFollower> {
    const registered = new Set<string>();
    const leftAt = new Map<string, number>();
    const seen: Array<{ at: number; node: string; change: RegistryChange['change'] }> = [];
    const stop = await followPrefix(this.etcd, this.keys.nodesPrefix, ({ type, name, value }) => {
      if (type === 'put' && !registered.has(name)) {
        registered.add(name);
        const at = Math.max((JSON.parse(value) as Registration).registeredAt, leftAt.get(name) ?? -Infinity);
        seen.push({ at, node: name, change: 'registered' });
      } else if (type === 'delete' && registered.delete(name)) {
        const at = Date.now();
        leftAt.set(name, at);
        seen.push({ at, node: name, change: 'left' });
      }
    }, this.failWhenLost('the registry'));
    let stopped: Promise<void> | undefined;
    return {
      // Once: after the algorithm, or at a teardown that comes first; never held up by an etcd that is gone.
      stop: () => (stopped ??= stopWatching(stop)),
      log(startedAt) {
        const before = seen.filter(({ at }) => at <= startedAt);
        const after = seen.filter(({ at }) => at > startedAt).sort((a, b) => a.at - b.at);
        return {
          atStart: before.filter(({ change }) => change === 'registered').length - before.filter(({ change }) => change === 'left').length,
          changes: after.map(({ at, node, change }) => ({ atMs: at - startedAt, node, change })),
        };
      },
    };
  }

  /** Who leads election `name` now (the `leader` fault selector, resolved when its event fires). */
  leaderOf(name: string): Promise<string | undefined> {
    return currentLeader(this.etcd, this.runId, name);
  }

  async close(): Promise<void> {
    await this.leaseKeeper?.release();
    await stopWatching(this.stopFollowingErrors);
  }

  /**
   * From now until the start, the controller renews every registered node's lease for it, so that nodes waiting
   * for the rest of a bring-up do not wake, and for a TTL after the start those of the nodes that `running` lists
   * and no fault hit (run/lease-keeper.ts). Before any node starts: every node must see the keeper key when it
   * has registered.
   */
  async holdNodeLeases(running: RunningNodes): Promise<void> {
    this.leaseKeeper ??= await RegistrationLeaseKeeper.hold(this.etcd, this.keys.leaseKeeper, this.keys.nodesPrefix, running);
  }

  async publish(config: RunConfig, neighbours: ReadonlyMap<string, NeighbourEntry[]>): Promise<void> {
    await this.etcd.put(this.keys.config).value(JSON.stringify(config));
    await this.publishTopology(neighbours);
  }

  private async publishTopology(neighbours: ReadonlyMap<string, NeighbourEntry[]>): Promise<void> {
    await forEachLimited([...neighbours], 64, async ([id, list]) => {
      await this.etcd.put(this.keys.topology(id)).value(JSON.stringify(list));
    });
  }

  /**
   * Resolves when every node has written its ready key. `check` runs every second meanwhile, so a node that
   * crashed is reported instead of waited for. It waits for as long as nodes keep becoming ready, and gives up
   * only when none has for `withoutProgressMs`. A total budget would have to guess the engine's speed: one engine here starts a
   * container in 0.7 s, one at a time whatever the concurrency, so 1,000 nodes take a quarter of an hour there
   * while one becomes ready every second; a bring-up that is stuck makes no progress at all.
   */
  async waitReady(options: {
    onProgress?: (ready: number) => void;
    check: () => Promise<void>;
    withoutProgressMs: number;
  }): Promise<Map<string, NodeStartup>> {
    const ready = new Map<string, NodeStartup>();
    const began = Date.now();
    try {
      return await this.untilComplete(
        this.keys.readyPrefix,
        { withoutProgressMs: options.withoutProgressMs },
        'become ready',
        options.check,
        (event) => {
          ready.set(event.name, JSON.parse(event.value) as NodeStartup);
          options.onProgress?.(ready.size);
        },
        () => (this.alive().every((id) => ready.has(id)) ? ready : undefined),
      );
    } catch (error) {
      if (!(error instanceof RunTimeout)) throw error;
      const waiting = this.nodeIds.filter((id) => !ready.has(id));
      throw new PeerlabError(
        `${waiting.length} of ${this.nodeIds.length} nodes were not connected after ${Math.round((Date.now() - began) / 1000)} s, and none became ready in the last ${options.withoutProgressMs / 1000} s (${waiting.slice(0, 10).join(', ')}${waiting.length > 10 ? ', …' : ''})`,
        { hint: 'the host may be overloaded: try fewer nodes (peerlab doctor --nodes N), or look at those nodes with docker logs' },
      );
    }
  }

  /**
   * Says start, for a moment `leadMs` ahead: every node waits for that moment on the host clock all containers
   * share, so the algorithm starts everywhere within a millisecond or so instead of as each node happens to read
   * the key (hundreds of ms apart on a loaded host, which every round-trip measurement would carry).
   */
  async start(leadMs: number): Promise<number> {
    await this.handBackNodeLeases();
    const startedAt = Date.now() + leadMs;
    await this.etcd.put(this.keys.start).value(String(startedAt));
    this.leaseKeeper?.guardAfterStart();
    return startedAt;
  }

  /**
   * The nodes renew their own leases again from the start: each lease is renewed once more first, so that it has
   * a whole TTL then. A node whose lease etcd no longer knew (the CLI starved for longer than the TTL) has lost its
   * registration: letting go of the keeper key has every node renew its own at once, and such a node, told its
   * lease is gone, registers again (node/registration.ts); the start waits for that.
   */
  private async handBackNodeLeases(): Promise<void> {
    const keeper = this.leaseKeeper;
    if (!keeper) return;
    const lost = await keeper.handBack();
    if (lost.length === 0) return;
    await keeper.release();
    const registered = new Set<string>();
    await this.untilComplete(
      this.keys.nodesPrefix,
      { totalMs: REGISTRATION_TTL_SECONDS * 1000 },
      'register again after its lease ran out before the start',
      async () => {},
      (event) => registered.add(event.name),
      () => (lost.every((id) => registered.has(id)) ? true : undefined),
    );
  }

  /**
   * Collects results until every node has one, a node fails, or the timeout passes. Meanwhile it opens each
   * barrier as soon as all nodes have arrived at it.
   */
  async collectResults(options: {
    timeoutMs: number;
    check: () => Promise<void>;
    untilQuiescent?: boolean;
    startedAt?: number;
    /**
     * Under faults some survivors may never get a result (cut off from a flood's root, say): the run also ends
     * once, after `afterMs` on the run's clock (the last fault), no message is in flight between live nodes.
     * The nodes must answer quiescence waves (config.quiescence).
     */
    endWhenQuiet?: { afterMs: number };
  }): Promise<CollectedResults> {
    // The algorithm's time counts from the start moment the nodes wait for, not from when it was announced.
    const started = Math.max(Date.now(), options.startedAt ?? 0);
    const results = new Map<string, Json>();
    const callOff = new AbortController();
    const stopBarriers = await this.serveBarriers();
    try {
      const everyResult = this.untilComplete(
        this.keys.resultsPrefix,
        { totalMs: options.timeoutMs },
        'report a result',
        options.check,
        (event) => void results.set(event.name, JSON.parse(event.value) as Json),
        () => (this.alive().every((id) => results.has(id)) ? results : undefined),
        callOff.signal,
      );
      if (options.endWhenQuiet) {
        const quiet = await this.untilEveryResultOrQuiet(everyResult, callOff, started, options.endWhenQuiet.afterMs, options);
        if (quiet) {
          return { results, missing: this.alive().filter((id) => !results.has(id)), timedOut: false, durationMs: Date.now() - started, inFlight: 0, quiet: true };
        }
      } else {
        await everyResult;
      }
      const durationMs = Date.now() - started;
      if (!options.untilQuiescent) return { results, missing: [], timedOut: false, durationMs };
      const inFlight = await this.waitQuiescent(started + options.timeoutMs, options.check);
      return { results, missing: [], timedOut: inFlight > 0, durationMs, inFlight };
    } catch (error) {
      // A crash found by the runtime's check is the cause, even when a neighbour's broken link was reported too.
      if (!(error instanceof RunTimeout) || this.failure) {
        const cause = error instanceof RunTimeout ? this.failure : error;
        throw new ExecutionFailed(asError(cause), { results, reports: new Map() });
      }
      return {
        results,
        missing: this.alive().filter((id) => !results.has(id)),
        timedOut: true,
        durationMs: Date.now() - started,
      };
    } finally {
      await stopBarriers();
    }
  }

  /**
   * Every live node's result, or quiescence among the live nodes once the last fault has fired, whichever comes
   * first; true when it was quiescence. The wait that loses is called off and awaited, so no watch outlives it.
   */
  private async untilEveryResultOrQuiet(
    everyResult: Promise<unknown>,
    callOff: AbortController,
    started: number,
    afterMs: number,
    options: { timeoutMs: number; check: () => Promise<void> },
  ): Promise<boolean> {
    const quiet = (async () => {
      await sleep(Math.max(0, started + afterMs - Date.now()), undefined, { signal: callOff.signal });
      return (await this.waitQuiescent(started + options.timeoutMs, options.check, { signal: callOff.signal, noTimers: true })) === 0;
    })();
    const first = await Promise.race([everyResult.then(() => 'results' as const), quiet.then((isQuiet) => (isQuiet ? ('quiet' as const) : undefined), () => undefined)]);
    if (first === 'results') {
      callOff.abort();
      await quiet.catch(() => {});
      return false;
    }
    if (first === 'quiet') {
      callOff.abort();
      await everyResult.catch(() => {});
      return true;
    }
    // The quiescence waves ran out of time: the results wait decides (it times out, or fails, on its own).
    await everyResult;
    return false;
  }

  /**
   * Waves until no message is in flight (Mattern's counting method): the controller writes wave k, every node
   * answers with its sent and received totals. Two waves in a row with the same totals, sent = received, mean
   * that between them (after every answer to the first, before any to the second) no node sent or received,
   * and no message was in flight. Returns 0 then, or at the deadline the last wave's sent − received.
   */
  private async waitQuiescent(deadline: number, check: () => Promise<void>, options: { signal?: AbortSignal; noTimers?: boolean } = {}): Promise<number> {
    const { signal } = options;
    let previous: MessageTotals | undefined;
    for (let wave = this.nextWave; ; wave++) {
      this.nextWave = wave + 1;
      if (signal?.aborted) throw new RunTimeout('the quiescence waves were called off');
      const remaining = deadline - Date.now();
      if (remaining <= 0) return Math.max(1, previous ? previous.sent - previous.received : 1);
      await this.etcd.put(this.keys.countWave(wave)).value(String(Date.now()));
      const answers = new Map<string, MessageTotals>();
      let totals: MessageTotals;
      try {
        totals = await this.untilComplete(
          this.keys.countsPrefix(wave),
          { totalMs: remaining },
          'answer a quiescence wave',
          check,
          (event) => void answers.set(event.name, JSON.parse(event.value) as MessageTotals),
          () => {
            const alive = this.alive();
            return alive.every((id) => answers.has(id)) ? totalsAmong(alive, answers) : undefined;
          },
          signal,
        );
      } catch (error) {
        if (!(error instanceof RunTimeout) || this.failure) throw this.failure ?? error;
        return Math.max(1, previous ? previous.sent - previous.received : 1);
      }
      // --until quiescent asks for no message in flight; ending quiet also asks that no node waits on a timer.
      const idle = totals.sent === totals.received && (!options.noTimers || (totals.timersPending ?? 0) === 0);
      if (previous && idle && totals.sent === previous.sent && totals.received === previous.received) return 0;
      previous = totals;
      await new Promise((resolve) => setTimeout(resolve, WAVE_PAUSE_MS));
    }
  }

  /** Tells the nodes to stop and gathers their final reports (metrics and per-edge traffic). */
  /** What `peerlab link set` changed during the run (see keys.linkSet), in the order it was applied. */
  async linkSets(): Promise<AppliedFault[]> {
    const records = Object.values(await this.etcd.getAll().prefix(this.keys.linkSetsPrefix).strings());
    return records.flatMap((json) => JSON.parse(json) as AppliedFault[]).sort((a, b) => (a.appliedMs ?? 0) - (b.appliedMs ?? 0));
  }

  async stopAndCollectReports(timeoutMs: number): Promise<Map<string, NodeReport>> {
    const reports = new Map<string, NodeReport>();
    await this.etcd.put(this.keys.stop).value(String(Date.now()));
    try {
      await this.untilComplete(
        this.keys.reportsPrefix,
        { totalMs: timeoutMs },
        'send its final report',
        async () => {},
        (event) => void reports.set(event.name, JSON.parse(event.value) as NodeReport),
        () => (this.alive().every((id) => reports.has(id)) ? reports : undefined),
      );
    } catch (error) {
      if (!(error instanceof RunTimeout)) throw error;
    }
    return reports;
  }

  async deleteRunKeys(): Promise<void> {
    await this.etcd.delete().prefix(this.keys.prefix);
  }

  private async serveBarriers(): Promise<() => Promise<void>> {
    const arrivals = new Map<string, Set<string>>();
    const opened = new Set<string>();
    const openIfAllArrived = (name: string): void => {
      if (opened.has(name) || !this.alive().every((id) => arrivals.get(name)!.has(id))) return;
      opened.add(name);
      this.etcd
        .put(this.keys.barrierOpen(name))
        .value(String(Date.now()))
        .exec()
        .catch((error: unknown) => {
          this.failure ??= new NodeFailed('controller', `could not open barrier "${name}": ${String(error)}`, undefined);
        });
    };
    // A barrier that waited only for nodes a fault took out opens as they depart.
    const recheck = (): void => [...arrivals.keys()].forEach(openIfAllArrived);
    this.onDeparture.add(recheck);
    const stop = await followPrefix(this.etcd, this.keys.barrierArrivalsPrefix, (event) => {
      if (event.type !== 'put') return;
      const split = event.name.lastIndexOf('/');
      const name = event.name.slice(0, split);
      const arrived = arrivals.get(name) ?? new Set<string>();
      arrivals.set(name, arrived);
      arrived.add(event.name.slice(split + 1));
      openIfAllArrived(name);
    }, this.failWhenLost('arrivals at barriers'));
    return async () => {
      this.onDeparture.delete(recheck);
      await stop();
    };
  }

  private async untilComplete<T>(
    prefix: string,
    patience: Patience,
    what: string,
    check: () => Promise<void>,
    onPut: (event: { name: string; value: string }) => void,
    done: () => T | undefined,
    signal?: AbortSignal,
  ): Promise<T> {
    let following: Promise<() => Promise<void>> | undefined;
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    let recheck: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        const timeoutMs = 'totalMs' in patience ? patience.totalMs : patience.withoutProgressMs;
        const armTimer = (): void => {
          clearTimeout(timer);
          timer = setTimeout(() => reject(new RunTimeout(`not every node managed to ${what} within ${timeoutMs} ms`)), timeoutMs);
        };
        armTimer();
        onAbort = () => reject(new RunTimeout(`stopped waiting for every node to ${what}`));
        signal?.addEventListener('abort', onAbort, { once: true });
        // The runtime's check first: when a node dies, the node that died is the cause, not its neighbours'
        // broken links, which may be reported a moment sooner.
        poll = setInterval(() => {
          check().then(() => {
            const failure = this.failure;
            if (failure && !(failure.brokenLink && Date.now() - failure.at < LINK_BREAK_GRACE_MS)) reject(failure);
          }, reject);
        }, 1000);
        const resolveIfDone = (): void => {
          const value = done();
          if (value !== undefined) resolve(value);
        };
        recheck = resolveIfDone;
        this.onDeparture.add(recheck);
        following = followPrefix(this.etcd, prefix, (event) => {
          if (event.type !== 'put') return;
          onPut(event);
          if ('withoutProgressMs' in patience) armTimer();
          resolveIfDone();
        }, reject);
        following.catch(reject);
      });
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      if (recheck) this.onDeparture.delete(recheck);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      // The keys already there may complete the wait before the watch exists: it is cancelled once it does, or
      // it would outlive the run (the client retries a watch for ever, and the CLI would never exit).
      if (following) await stopWatching(following);
    }
  }
}

/** Sent and received over the edges between live nodes (the totals, when a node gave no per-neighbour counts). */
function totalsAmong(alive: readonly string[], answers: ReadonlyMap<string, MessageTotals>): MessageTotals {
  const live = new Set(alive);
  let sent = 0;
  let received = 0;
  let timersPending = 0;
  for (const id of alive) {
    const answer = answers.get(id)!;
    timersPending += answer.timersPending ?? 0;
    if (!answer.byNeighbour) {
      [sent, received] = [sent + answer.sent, received + answer.received];
      continue;
    }
    for (const [neighbour, [to, from]] of Object.entries(answer.byNeighbour)) {
      if (!live.has(neighbour)) continue;
      [sent, received] = [sent + to, received + from];
    }
  }
  return { sent, received, timersPending };
}

/**
 * How long a broken link is held back in favour of the crash check, which names the neighbour that died (its
 * container's death is seen within a second, but looking into it takes a moment more).
 */
const LINK_BREAK_GRACE_MS = 3_000;

export class RunTimeout extends PeerlabError {
  constructor(message: string) {
    super(message, { hint: 'raise --timeout, or look at the nodes that did not report (peerlab status)' });
  }
}

export class NodeFailed extends PeerlabError {
  /** When it was reported. */
  readonly at = Date.now();

  constructor(
    readonly nodeId: string,
    message: string,
    readonly nodeStack: string | undefined,
    /** The neighbour whose link broke, when that is the failure. */
    readonly brokenLink?: string,
  ) {
    const where = userFrame(nodeStack ?? '');
    super(`node ${nodeId} failed${where ? ` at ${where}` : ''}: ${message}`, { hint: `its log and stack trace are in the run's results folder` });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
