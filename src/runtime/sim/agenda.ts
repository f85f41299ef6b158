/**
 * The simulation's agenda: the event queue, in which every timer due at one virtual instant shares one entry.
 *
 * Why: a round-based algorithm (push-sum, heartbeats) has every node sleep the same round length, so N timers
 * fall due at each round's instant. One heap entry each made the heap N entries deeper and cost two sifts per
 * timer; grouped, an instant costs one push and one pop whatever N is, and the heap holds messages only.
 *
 * Order, and so determinism, is unchanged in kind: an instant's timers come out one at a time, in the order
 * they were set, at the place in the queue of the first of them (its sequence number). A timer set for an
 * instant whose group is already coming out starts a new group, behind everything queued meanwhile, as a
 * timer pushed at that time would have been.
 */
import { EventQueue } from './event-queue.js';

/** The timers due at one instant, in the order they were set. */
class Group<T> {
  readonly members: T[] = [];

  constructor(readonly time: number) {}
}

export class Agenda<T extends object> {
  private readonly queue = new EventQueue<T | Group<T>>();
  /** Groups not yet due, by instant: timers set for that instant join them. */
  private readonly open = new Map<number, Group<T>>();
  /** The group coming out now, and how many of its members have. */
  private current: Group<T> | undefined;
  private taken = 0;

  get empty(): boolean {
    return this.current === undefined && this.queue.size === 0;
  }

  /** The time of the next event; Infinity when there is none. */
  get nextTime(): number {
    return this.current !== undefined ? this.current.time : this.queue.nextTime;
  }

  /** Schedules `value` at `time`, after everything scheduled at that time before it. */
  push(time: number, value: T): void {
    this.queue.push(time, value);
  }

  /** Schedules a timer at `time`: with the other timers of that instant, in one entry. */
  pushTimer(time: number, value: T): void {
    let group = this.open.get(time);
    if (group === undefined) {
      group = new Group(time);
      this.open.set(time, group);
      this.queue.push(time, group);
    }
    group.members.push(value);
  }

  /** Removes and returns the next event (undefined when there is none). */
  pop(): T | undefined {
    for (;;) {
      const current = this.current;
      if (current !== undefined) {
        const value = current.members[this.taken]!;
        this.taken += 1;
        if (this.taken === current.members.length) this.current = undefined;
        return value;
      }
      const entry = this.queue.pop();
      if (!(entry instanceof Group)) return entry;
      // Closed once due: a timer set for this instant from now on goes behind what was queued meanwhile.
      this.open.delete(entry.time);
      this.current = entry;
      this.taken = 0;
    }
  }

  clear(): void {
    this.queue.clear();
    this.open.clear();
    this.current = undefined;
  }
}
