/**
 * Lets every microtask queued so far, and every one those queue, run to completion before the next step. Node
 * drains the whole promise-job queue before it runs the next process.nextTick callback, and before any
 * macrotask, so both are exact. nextTick is the cheap one; every YIELD_EVERY events a setImmediate lets the event
 * loop turn, so signals, timers and I/O of the host process (Ctrl-C, progress output, test runners) are not
 * starved.
 *
 * A callback, not a promise to await: `await new Promise((resolve) => process.nextTick(resolve))` made a promise,
 * its executor and resolving functions and an await's reaction per event, about 480 bytes, which was over a third
 * of what a 3·10⁴-node GHS allocated in its event loop and halved the bare loop's rate. The step is queued as a
 * microtask from the tick, not run in it, so that it runs exactly where an await's continuation ran: after the
 * rest of the tick queue, among the microtasks, in the same order relative to node code's own ticks.
 */
export const YIELD_EVERY = 1024;

export class Settler {
  private readonly resume: () => void;

  /** `step` is what runs once the microtasks have settled: the loop's next turn. */
  constructor(step: () => void) {
    this.resume = () => queueMicrotask(step);
  }

  /** Runs the step once everything the `events`-th event set off has settled: what every event costs the loop, and what `bench sim --probe` pays too. */
  after(events: number): void {
    if (events % YIELD_EVERY === 0) setImmediate(this.resume);
    else process.nextTick(this.resume);
  }
}
