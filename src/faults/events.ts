/**
 * A fault schedule after its selectors have been resolved against the graph: plain data, so it crosses into the
 * simulator's worker thread and into faults.ndjson unchanged. Selectors (`top-degree:5`, `mincut:2`, …) are
 * resolved once, in the CLI, from the graph and the run's seed; only `leader` is resolved when its event fires,
 * because who leads is known only then.
 *
 * Times are milliseconds on the run's one clock: since the algorithm's start in Docker, virtual time in the
 * simulator. A fault with a duration (`for=`) becomes two events, the action and its heal.
 */
import type { ClockSkew } from '../host/node-clock.js';
import type { LinkChange } from '../links/model.js';

export type FaultAction =
  /** The node's process dies at once, with no goodbye; its registry lease runs out and drops it. */
  | 'kill'
  /** A graceful leave: the node deregisters at once, then exits. */
  | 'stop'
  /** Alive but silent (the cgroup freezer in Docker): it handles nothing until resumed; messages to it wait. */
  | 'pause'
  | 'resume'
  /** A fresh process with empty state, re-registered under the same id. */
  | 'restart'
  /** The node moves to a new container with its state and unhandled messages, losing none (src/migration). */
  | 'migrate'
  /** The directed edge from → to carries nothing (every message sent on it is lost) until `link-up`. */
  | 'link-down'
  | 'link-up'
  /**
   * The directed edge from → to carries on with its link changed as `link` says (delay, jitter, loss, rate),
   * applied by the sender as each message leaves, until `restore` gives it back the link the run gave it.
   */
  | 'degrade'
  | 'restore'
  /**
   * The receiver of each directed edge drops `dropPercent` % of what arrives on it (a seeded draw per message,
   * counted as dropped) until `drop-messages-end`.
   */
  | 'drop-messages'
  | 'drop-messages-end'
  /**
   * The node's `now()` and timers run off as `skew` says (src/host/node-clock.ts), in its host, until `skew-end`
   * sets its clock right.
   */
  | 'skew'
  | 'skew-end'
  /**
   * A new member: the node (`nodes`, the next free id) joins the run, attached to the members `attach` names by
   * new edges, and runs the algorithm's init; the attached members see it in `node.neighbours` and get
   * onNeighbourUp. Churn's `join=` (src/faults/churn.ts).
   */
  | 'join';

export interface FaultEvent {
  /** When it fires, in ms on the run's clock. */
  readonly atMs: number;
  readonly action: FaultAction;
  /** The nodes hit (node actions); empty for link actions, and for an event on the leader (see `leader`). */
  readonly nodes: readonly string[];
  /**
   * Set when the fault hits whoever leads this election when it fires (`kill leader`, `kill leader:NAME`):
   * the runtime resolves it then, and `nodes` is empty. Absent for every other event.
   */
  readonly leader?: string;
  /** The directed edges hit, as [from, to] (link actions); empty for node actions. */
  readonly edges: ReadonlyArray<readonly [string, string]>;
  /** degrade: what changes on each of the edges. */
  readonly link?: LinkChange;
  /** drop-messages: the share of messages dropped, in percent. */
  readonly dropPercent?: number;
  /** skew: how the nodes' clocks run off. */
  readonly skew?: ClockSkew;
  /** join: the members the new node attaches to, each with the new edge's weight. */
  readonly attach?: ReadonlyArray<{ readonly id: string; readonly weight: number }>;
  /** Which user-written fault this came from (its index on the command line or in the file), for the record. */
  readonly fault: number;
  /** The fault as the user wrote it, e.g. `at=2s kill top-degree:5`. */
  readonly spec: string;
}

/**
 * The node actions that undo an earlier one (resume, skew-end): on `leader`, they hit the node its action hit,
 * which may no longer lead by then.
 */
export function isNodeHeal(action: FaultAction): boolean {
  return action === 'resume' || action === 'skew-end';
}

/** One line of faults.ndjson: an event as it was applied, and how late. */
export interface AppliedFault extends FaultEvent {
  /**
   * When it was applied on the same clock; the lag is appliedMs − atMs (0 in the simulator). Absent for an event
   * that was never due before the run ended (its error says so).
   */
  readonly appliedMs?: number;
  /** Why it could not be applied, if it could not (e.g. the node had already died). */
  readonly error?: string;
}

/**
 * The whole schedule as it went: what was applied, in order, then each event the run ended before, marked as
 * never applied. Both runtimes record the same schedule this way, so their time lines compare line for line.
 */
export function scheduleAsItWent(scheduled: readonly FaultEvent[], applied: readonly AppliedFault[]): AppliedFault[] {
  // An event on a leader gets its node when it fires: it is the same event with or without it.
  const key = (event: FaultEvent) => JSON.stringify([event.fault, event.atMs, event.action, event.leader ?? event.nodes, event.edges]);
  const done = new Set(applied.map(key));
  const unfired = scheduled.filter((event) => !done.has(key(event))).map((event) => ({ ...event, error: 'not applied: the run ended before it was due' }));
  return [...applied, ...unfired];
}

/**
 * What an event must wait for: the nodes it acts on (a join, also those it attaches to; a link event, both ends
 * of each edge), and `moves` for a migrate or restart, since a run moves one node at a time. An event on a
 * leader does not know its node before it fires: it waits for everything. Both runtimes apply events in turn by
 * it (DockerFaultSchedule.applyInTurn; the simulator, for a move that waits, Simulation.waitsForMove).
 */
export function touchedBy(event: FaultEvent): string[] | 'everything' {
  if (event.leader !== undefined) return 'everything';
  const things = new Set([...event.nodes, ...(event.attach ?? []).map(({ id }) => id), ...event.edges.flat()].map((id) => `node ${id}`));
  if (event.action === 'migrate' || event.action === 'restart') things.add('moves');
  return [...things];
}
