import { readFileSync } from 'node:fs';
import { sweepInterruptedRun } from '../run/down.js';
import type { RunId } from '../util/names.js';

/**
 * Ctrl-C (or SIGTERM) during a command that creates Docker objects or runs a simulation: run the cleanup once,
 * then exit 130. The same happens when the process that started this one dies (see watchLauncher). Returns the
 * function that removes the handler when the command finishes normally.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  const handler = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    clearInterval(launcherWatch);
    void cleanup()
      .catch((error: unknown) => process.stderr.write(`cleanup after the interrupt failed: ${String(error)}\n`))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  const launcherWatch = watchLauncher(handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    clearInterval(launcherWatch);
  };
}

/**
 * On a container runtime, Ctrl-C first lets the run stop creating and tear itself down, so that the sweep after
 * it neither races the run's own removals nor misses a service or container whose creation was in flight.
 */
export const CONTAINER_STOP_WAIT_MS = 30_000;

/**
 * Ctrl-C during a command's work that starts runs: abort `signal` (the work starts nothing further and ends its
 * runs), wait for the work to settle (each run tears itself down), then sweep what `leftRuns()` names, run
 * `afterSweep` (an experiment writes the report of the runs done), and exit 130. `during` awaits the work; after
 * an interrupt the handler owns the exit, not the work's error, which it hands to `stoppedWith` once the work has
 * settled (a simulation says there which node's code it had to stop).
 */
export function stopRunsOnInterrupt(options: {
  announce: () => string;
  leftRuns: () => readonly RunId[];
  beforeWait?: () => void;
  stoppedWith?: (error: unknown) => void;
  afterSweep?: () => Promise<void>;
}): {
  readonly signal: AbortSignal;
  during<T>(work: Promise<T>): Promise<T>;
} {
  const interrupted = new AbortController();
  let running: Promise<unknown> | undefined;
  let workError: { error: unknown } | undefined;
  const removeHandler = onInterrupt(async () => {
    interrupted.abort();
    options.beforeWait?.();
    process.stderr.write(`\ninterrupted: ${options.announce()}…\n`);
    await settledWithin(running, CONTAINER_STOP_WAIT_MS);
    if (workError) options.stoppedWith?.(workError.error);
    for (const runId of options.leftRuns()) {
      await sweepInterruptedRun(runId).catch((error: unknown) => process.stderr.write(`removing what ${runId} left failed: ${String(error)}\n`));
    }
    await options.afterSweep?.();
  });
  return {
    signal: interrupted.signal,
    during: async (work) => {
      running = work;
      try {
        return await work;
      } catch (error) {
        if (interrupted.signal.aborted) {
          workError = { error };
          await new Promise(() => {});
        }
        throw error;
      } finally {
        removeHandler();
      }
    },
  };
}

/** Resolves when `work` settles either way, or after `ms`. */
export function settledWithin(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    void work?.then(done, done);
  });
}

const LAUNCHER_POLL_MS = 500;

/**
 * Calls `onGone` when the process that launched this one is gone: this process was reparented, or, under npx or
 * npm run (which start us through `sh -c`), that shell was. A killed `npx` thus leaves nothing running, since
 * SIGKILL reaches neither its shell nor us. Linux only (it reads /proc); elsewhere it watches the parent alone.
 */
function watchLauncher(onGone: () => void): NodeJS.Timeout {
  const parent = process.ppid;
  const launchedByNpm = process.env.npm_command !== undefined;
  const grandparent = launchedByNpm ? parentOf(parent) : undefined;
  const timer = setInterval(() => {
    if (process.ppid !== parent || (grandparent !== undefined && parentOf(parent) !== grandparent)) onGone();
  }, LAUNCHER_POLL_MS);
  timer.unref();
  return timer;
}

function parentOf(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces and parentheses, so read after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}
