/**
 * The watchdog's judgement, once the simulation was asked to stop and a grace period has passed without it
 * stopping: is a node's code stuck, or is the simulation only slow? Kept apart from the thread plumbing
 * (threaded.ts) so that every case is tested without a machine loaded just so.
 *
 * A node is blamed only when its own handler has held the simulation thread for the whole grace period: the
 * same event, in node code, with the thread burning CPU. A simulation that moved on to another event, or is in
 * its own code between events (a garbage collection, the reports after the run), reaches its stop check by
 * itself; on a loaded machine that takes longer, and blaming the node that happened to run last named a node
 * at random.
 */
import { Handler } from './watchdog-slots.js';

/** What the watchdog reads at one moment: the shared slots, and the simulation thread's CPU time. */
export interface ThreadReading {
  readonly node: number;
  readonly handler: number;
  readonly from: number;
  /** The event number (Slot.event). */
  readonly event: number;
  /** CPU ms the simulation thread has burned so far. */
  readonly cpuMs: number;
}

/**
 * moving: another event began, or no node's code runs (the simulator's own); starved: the thread got too little
 * CPU to tell; stuck: one handler kept the thread busy for the whole grace period.
 */
export type Judgement = 'moving' | 'starved' | 'stuck';

/** Below this share of the grace period in CPU, the thread barely ran: not yet the handler's fault. */
export const STARVED_SHARE = 0.25;

export function judge(before: ThreadReading, now: ThreadReading, graceMs: number): Judgement {
  if (now.event !== before.event || now.handler === Handler.none) return 'moving';
  if (now.cpuMs - before.cpuMs < graceMs * STARVED_SHARE) return 'starved';
  return 'stuck';
}
