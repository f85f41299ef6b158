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
import { promiseHooks } from 'node:v8';

export const YIELD_EVERY = 1024;

export class Settler {
  private readonly resume: () => void;

  /** `step` is what runs once the microtasks have settled: the loop's next turn. */
  constructor(step: () => void) {
    this.resume = () => originalQueueMicrotask(step);
  }

  /** Whether the `events`-th event is one after which the loop lets the process's event loop turn. */
  static yieldsAfter(events: number): boolean {
    return events % YIELD_EVERY === 0;
  }

  /** Runs the step once everything the `events`-th event set off has settled: what an event that queued something costs the loop, and what `bench sim --probe` pays after every event. */
  after(events: number): void {
    if (Settler.yieldsAfter(events)) setImmediate(this.resume);
    else originalNextTick(this.resume);
  }
}

const originalQueueMicrotask = globalThis.queueMicrotask;
const originalNextTick = process.nextTick;

/**
 * Counts what can leave work queued behind code that has returned: a promise made or settled (V8's promise
 * hooks: an await, a then, an async call, a resolve), a queueMicrotask and a process.nextTick. An event whose
 * code moved the count by nothing left nothing to settle, so the simulator runs the next event at once instead
 * of waiting a tick and a microtask for it: most handlers (a flood's, GHS's, push-sum's timers) are plain
 * functions that send, and the wait was two thirds of the bare loop's cost per event.
 *
 * What it cannot see, and the simulator then runs late (at the next settle, at most YIELD_EVERY events on, in an
 * order as fixed as any other): a job queued by resolving, with another promise, a promise made in an earlier
 * event (V8 calls no hook for it), and a tick or microtask queued through a reference to nextTick or
 * queueMicrotask taken before the run began.
 *
 * The hooks and wrappers are in place only while some simulation runs; one count serves them all, since only
 * the running one's code runs between its checks.
 */
let activity = 0;
let watchers = 0;
let unhook: Array<() => void> = [];
/** The counting wrappers while some simulation runs. */
let wrappers: { queueMicrotask: typeof queueMicrotask; nextTick: typeof process.nextTick } | undefined;

/** The count so far: compare two readings. */
export function asyncActivity(): number {
  return activity;
}

/** Counts from now until the returned function is called. */
export function watchAsyncActivity(): () => void {
  if (watchers++ === 0) hook();
  let watching = true;
  return () => {
    if (!watching) return;
    watching = false;
    if (--watchers === 0) for (const undo of unhook.splice(0)) undo();
  };
}

function hook(): void {
  const touch = (): void => {
    activity += 1;
  };
  const queueMicrotask = (callback: () => void): void => {
    activity += 1;
    originalQueueMicrotask(callback);
  };
  const nextTick = (callback: (...args: unknown[]) => void, ...args: unknown[]): void => {
    activity += 1;
    originalNextTick(callback, ...args);
  };
  globalThis.queueMicrotask = queueMicrotask;
  process.nextTick = nextTick;
  wrappers = { queueMicrotask, nextTick: nextTick as typeof process.nextTick };
  unhook = [
    promiseHooks.onInit(touch) as () => void,
    promiseHooks.onSettled(touch) as () => void,
    () => {
      wrappers = undefined;
      if (globalThis.queueMicrotask === queueMicrotask) globalThis.queueMicrotask = originalQueueMicrotask;
      if (process.nextTick === nextTick) process.nextTick = originalNextTick;
    },
  ];
}

/**
 * Puts the counting wrappers back where something else put its own (or Node's) since: called before each event
 * that runs code. Vitest's RPC sets Node's nextTick while it sends, and puts back a tick later the one it found,
 * which is Node's when no simulation ran at that moment: a run that began in between then counted none of its
 * handlers' ticks, and ran the next event before them (a test failed so on CI, stop 45). Two comparisons an event.
 */
export function keepWatching(): void {
  if (wrappers === undefined) return;
  if (process.nextTick !== wrappers.nextTick) process.nextTick = wrappers.nextTick;
  if (globalThis.queueMicrotask !== wrappers.queueMicrotask) globalThis.queueMicrotask = wrappers.queueMicrotask;
}
