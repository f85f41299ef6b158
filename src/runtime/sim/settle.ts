/**
 * Let every microtask queued so far, and every one those queue, run to completion. Node drains the whole
 * promise-job queue before it runs the next process.nextTick callback, and before any macrotask, so both
 * are exact. nextTick is the cheap one; every YIELD_EVERY events a setImmediate lets the event loop turn, so
 * signals, timers and I/O of the host process (Ctrl-C, progress output, test runners) are not starved.
 */
export const YIELD_EVERY = 1024;
const drainByTick = (): Promise<void> => new Promise((resolve) => process.nextTick(resolve));
const drainByTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the simulation awaits after its `events`-th event: what every event costs the loop, and what `bench sim --probe` pays too. */
export function settle(events: number): Promise<void> {
  return events % YIELD_EVERY === 0 ? drainByTurn() : drainByTick();
}
