/**
 * Runs `action` over `items` with at most `limit` in flight. On the first failure, or once `signal` aborts, no
 * new item starts, the ones in flight finish, and then it rejects: so a caller's cleanup never races a straggler.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  action: (item: T) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure && !signal?.aborted) {
      try {
        await action(items[next++]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  signal?.throwIfAborted();
}

/**
 * Waits for `work` to settle, but no longer than `ms`; never rejects. For teardown steps that are polite but not
 * needed (a lease revoked, a watch cancelled): an etcd that stopped answering must not hold a run's end, as the
 * client retries such a call for minutes.
 */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
