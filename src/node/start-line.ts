/**
 * A node's last steps before its algorithm runs, in the one order that starts every node at the run's start
 * moment: finish everything the run needs in place (watches of faults, link changes and membership), say
 * ready, read the start moment, wait for it. Nothing that waits on etcd may come between the start moment and
 * init: on a loaded host one etcd round trip takes tens to hundreds of ms, so each node's init would lag the
 * moment by a different amount, and a message to a node not yet started waits for it; every round trip and
 * arrival time measured in the run would carry that wait (issue 10: ~400 ms on the first round trip).
 */
export interface StartLineSteps {
  /** What must be in place before the start, already under way. */
  readonly preparing: readonly Promise<unknown>[];
  sayReady(): Promise<void>;
  /** The run's start moment (ms since the epoch, the host clock all containers share), once announced. */
  startMoment(): Promise<number>;
}

export async function reachStartLine(steps: StartLineSteps, clock: () => number = Date.now): Promise<{ startedAt: number; lagMs: number }> {
  await Promise.all(steps.preparing);
  await steps.sayReady();
  const startedAt = await steps.startMoment();
  // Every node begins at the start moment itself (see RunController.start), not when it happened to read it.
  const early = startedAt - clock();
  if (early > 0) await new Promise((resolve) => setTimeout(resolve, early));
  return { startedAt, lagMs: Math.max(0, clock() - startedAt) };
}
