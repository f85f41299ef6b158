/** Runs `action` over `items` with at most `limit` in flight; rejects on the first failure. */
export async function forEachLimited<T>(items: readonly T[], limit: number, action: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await action(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
