/**
 * A resolved fault schedule played against a Docker run. The CLI fires each event at the run's start time (the
 * one the nodes read from etcd) + atMs, and records when it took effect, so faults.ndjson shows the lag:
 *  - kill: `docker kill` (SIGKILL), no goodbye; the node's registry lease runs out;
 *  - stop: `docker stop`: the agent catches SIGTERM, revokes its lease (deregistering at once) and exits;
 *  - pause / resume: the cgroup freezer (`docker pause` / `unpause`);
 *  - link-down / link-up: a control key tells the receiver to drop what arrives from the sender until it is
 *    deleted (RunController.setLinkDown), as the simulator drops every message on a cut edge;
 *  - degrade / restore: a control key tells the sender to send on the edge under the changed link model until
 *    it is deleted (RunController.setLinkChange): its outbox's LinkSchedule changes, as the simulator's does;
 *  - drop-messages / drop-messages-end: a control key tells the receiver the share to drop on arrival
 *    (RunController.setMessageDrop); the host draws per message, as in the simulator;
 *  - skew / skew-end: a control key tells the node how its clock runs off (RunController.setClockSkew); its host's
 *    NodeClock jumps by the offset when the key reaches it, so late by the fault's lag plus the watch's, and
 *    drifts at the rate from the moment the key was written;
 *  - migrate / restart: the node's id passes to a new container (src/migration), one node after another: with
 *    its snapshot (nothing lost), or afresh (a restart; what was sent to the old one meanwhile is lost). The new
 *    container reads the id's control keys as they are (links down, drops, link changes, skew): they stay. A
 *    killed or stopped node that restarts is a member again;
 *  - join: the topology in etcd grows by the node and its edges, and its container starts as every node's did
 *    (Coordinated.join); applied once the node is ready (registered and connected), when it runs init.
 * The controller and the crash watch are told before each act, so a death or a broken link the schedule caused
 * neither fails the run nor is waited for.
 */
import type { Etcd3 } from 'etcd3';
import { PeerlabError } from '../errors.js';
import { isNodeHeal, touchedBy, type AppliedFault, type FaultEvent } from '../faults/events.js';
import { joinOf, type Join } from '../faults/joins.js';
import { moveNode } from '../migration/move.js';
import type { ContainerNodes } from '../runtime/types.js';
import type { RunController } from './controller.js';
import type { RunWatch } from './run-watch.js';

export class DockerFaultSchedule {
  private readonly applied: AppliedFault[] = [];
  /** The schedule's event each record applied (a leader's carries its node): for the schedule's order. */
  private readonly scheduled = new Map<AppliedFault, FaultEvent>();
  private readonly timers: NodeJS.Timeout[] = [];
  /**
   * The last event applied to each thing an event touches (a node, or `moves`, see touchedBy): an event waits for
   * those, so events on one node apply one after another in schedule order, even when one takes longer than the
   * gap, while events on other nodes do not wait for it (a joining node's container start, a stop that waits for
   * its node's exit, would make every later event of a churn schedule late by its time).
   */
  private readonly lastOn = new Map<string, Promise<void>>();
  /**
   * The joins under way that attach to each node. A later event on the node waits for them (the node must not
   * leave while a new node still dials it); a later join to it does not: under preferential attachment the
   * hubs take most joins, and joins waiting on each other there made every join later than the one before.
   */
  private readonly joinsTo = new Map<string, Array<Promise<void>>>();
  /** The last event that waited for everything before it (one on a leader); every later event waits for it. */
  private lastOfAll: Promise<void> = Promise.resolve();
  private readonly underWay = new Set<Promise<void>>();
  private readonly paused = new Set<string>();
  /** By fault (its index), the leader its action hit: what its heal applies to. */
  private readonly leadersHit = new Map<number, string[]>();
  private ended = false;
  /** Nodes the schedule took out, and how. */
  readonly departed = new Map<string, string>();

  constructor(
    private readonly events: readonly FaultEvent[],
    private readonly runtime: ContainerNodes,
    private readonly controller: RunController,
    private readonly watch: RunWatch,
    /** Told of each event once applied (or not), as it goes. */
    private readonly onApplied: (applied: AppliedFault) => void = () => {},
    /** How a node joins the run (the deployment's join). */
    private readonly join: (joining: Join) => Promise<void>,
    /** The run's etcd, which migrate and restart coordinate through. */
    private readonly etcd: Etcd3,
  ) {}

  /** Arms every event against the run's start time (epoch ms). */
  start(startedAt: number): void {
    const ordered = [...this.events].sort((a, b) => a.atMs - b.atMs);
    for (const event of ordered) {
      const fire = (): void => this.applyInTurn(event, startedAt);
      this.timers.push(setTimeout(fire, Math.max(0, startedAt + event.atMs - Date.now())));
    }
  }

  /** Applies the event once the events it must follow (see lastOn, joinsTo and touchedBy) have been applied. */
  private applyInTurn(event: FaultEvent, startedAt: number): void {
    const things = touchedBy(event);
    const joining = event.action === 'join' ? `node ${event.nodes[0]}` : undefined;
    const before =
      things === 'everything'
        ? [...this.underWay]
        : [this.lastOfAll, ...things.flatMap((thing) => [this.lastOn.get(thing) ?? [], joining ? [] : (this.joinsTo.get(thing) ?? [])].flat())];
    const applying = Promise.all(before).then(() => this.apply(event, startedAt));
    if (things === 'everything') {
      this.lastOfAll = applying;
    } else if (joining) {
      this.lastOn.set(joining, applying);
      for (const thing of things) if (thing !== joining) this.joinsTo.set(thing, [...(this.joinsTo.get(thing) ?? []), applying]);
    } else {
      for (const thing of things) {
        this.lastOn.set(thing, applying);
        this.joinsTo.delete(thing);
      }
    }
    this.underWay.add(applying);
    void applying.finally(() => this.underWay.delete(applying));
  }

  /**
   * Ends the schedule: events not yet due never happen (the run is over), those being applied finish. Returns
   * what was applied in the schedule's order (by atMs; the same time in the order given).
   */
  async end(): Promise<readonly AppliedFault[]> {
    this.ended = true;
    for (const timer of this.timers) clearTimeout(timer);
    await Promise.all([...this.underWay]);
    const position = new Map(this.events.map((event, index) => [event, index]));
    return [...this.applied].sort((a, b) => a.atMs - b.atMs || position.get(this.scheduled.get(a)!)! - position.get(this.scheduled.get(b)!)!);
  }

  /** Before teardown: a frozen container is thawed, so that removing it cannot hang on the freezer. */
  async thaw(): Promise<void> {
    await Promise.all([...this.paused].map((id) => this.runtime.resumeNode(id).catch(() => {})));
    this.paused.clear();
  }

  private async apply(scheduled: FaultEvent, startedAt: number): Promise<void> {
    if (this.ended) return;
    let event = scheduled;
    let error: string | undefined;
    try {
      if (scheduled.leader !== undefined) event = { ...scheduled, nodes: await this.leaderHit(scheduled as FaultEvent & { leader: string }) };
      await this.act(event, startedAt);
    } catch (failure) {
      error = (failure instanceof Error ? failure.message : String(failure)).split('\n')[0];
    }
    const applied: AppliedFault = { ...event, appliedMs: Date.now() - startedAt, ...(error === undefined ? {} : { error }) };
    this.applied.push(applied);
    this.scheduled.set(applied, scheduled);
    this.onApplied(applied);
  }

  /**
   * `leader[:NAME]` hits whoever leads when the event fires (read from etcd then); its heal (a resume) hits the
   * node its action hit, which may no longer lead by then. As the simulator does (Simulation.leaderHit).
   */
  private async leaderHit(event: FaultEvent & { leader: string }): Promise<string[]> {
    if (isNodeHeal(event.action)) return this.leadersHit.get(event.fault) ?? [];
    const leader = await this.controller.leaderOf(event.leader);
    if (leader === undefined) throw new PeerlabError(`no node leads election ${event.leader}`);
    this.leadersHit.set(event.fault, [leader]);
    return [leader];
  }

  private async act(event: FaultEvent, startedAt: number): Promise<void> {
    const { nodes, edges } = event;
    this.controller.faultHits(nodes, edges);
    switch (event.action) {
      case 'kill':
      case 'stop':
        await eachOf(nodes, async (id) => {
          this.watch.expectExit(id);
          this.controller.depart(id);
          this.departed.set(id, `${event.action === 'kill' ? 'killed' : 'stopped'} at ${event.atMs} ms (${event.spec})`);
          this.paused.delete(id);
          await (event.action === 'kill' ? this.runtime.killNode(id) : this.runtime.stopNode(id));
        });
        return;
      case 'pause':
        await eachOf(nodes, async (id) => {
          await this.runtime.pauseNode(id);
          this.paused.add(id);
        });
        return;
      case 'resume':
        await eachOf(nodes, async (id) => {
          await this.runtime.resumeNode(id);
          this.paused.delete(id);
        });
        return;
      case 'link-down':
      case 'link-up':
        // At the message layer, as the simulator does: the receiver drops what arrives on the edge while it is
        // down, in flight or sent later. (Dropping packets instead would only delay them: TCP retransmits.)
        await eachOf(edges, ([from, to]) => this.controller.setLinkDown(from, to, event.action === 'link-down'));
        return;
      case 'degrade':
      case 'restore':
        await eachOf(edges, ([from, to]) => this.controller.setLinkChange(from, to, event.action === 'degrade' ? (event.link ?? {}) : undefined));
        return;
      case 'drop-messages':
      case 'drop-messages-end':
        await eachOf(edges, ([from, to]) => this.controller.setMessageDrop(from, to, event.action === 'drop-messages' ? (event.dropPercent ?? 0) : 0));
        return;
      case 'skew':
      case 'skew-end':
        await eachOf(nodes, (id) => this.controller.setClockSkew(id, event.action === 'skew' && event.skew ? { ...event.skew, sinceMs: Date.now() - startedAt } : undefined));
        return;
      case 'join':
        try {
          await this.join(joinOf(event)!);
        } catch (error) {
          // A node that never came up is not waited for.
          this.controller.depart(event.nodes[0]!);
          throw error;
        }
        return;
      case 'restart':
      case 'migrate': {
        const kind = event.action;
        // One move at a time (the run holds one migration lock), each complete before the next.
        for (const id of nodes) {
          this.paused.delete(id);
          await moveNode(this.runtime, this.etcd, { runId: this.runtime.runId, nodeId: id, kind, beforeRemovingOld: () => this.controller.faultHits([id], []) });
          // A killed or stopped node that restarted is a member again: it owes a result, and a crash of its new
          // container is a crash (as in the simulator, Simulation.restartNode).
          if (kind === 'restart' && this.departed.delete(id)) {
            this.controller.rejoin(id);
            this.watch.expectRunning(id);
          }
        }
        return;
      }
    }
  }
}

/** Applies `act` to every item at once; rejects naming each item that failed. */
async function eachOf<T>(items: readonly T[], act: (item: T) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled(items.map(act));
  const failures = outcomes.flatMap((outcome, index) =>
    outcome.status === 'rejected' ? [`${String(items[index])}: ${outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason)}`] : [],
  );
  if (failures.length > 0) throw new Error(failures.join('; '));
}
