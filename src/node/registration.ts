import type { Etcd3 } from 'etcd3';

/** Long enough that a node starved of CPU while hundreds of others start does not drop out of the registry. */
export const REGISTRATION_TTL_SECONDS = 20;
const RETRY_DELAY_MS = { first: 200, max: 5_000 };

/**
 * Keeps `key` registered under a lease, as Registrator did for the thesis: registering is retried until it
 * succeeds, and a lost lease (etcd unreachable for longer than the TTL) registers the node again, so the
 * registry recovers by itself. A node that dies stops renewing, and its key expires with the lease.
 */
export async function keepRegistered(etcd: Etcd3, key: string, value: string, log: (line: string) => void): Promise<void> {
  for (let delay = RETRY_DELAY_MS.first; ; delay = Math.min(delay * 2, RETRY_DELAY_MS.max)) {
    const lease = etcd.lease(REGISTRATION_TTL_SECONDS);
    lease.on('lost', () => {});
    try {
      await lease.put(key).value(value);
      lease.removeAllListeners('lost');
      lease.once('lost', (error: Error) => {
        log(`registration lease lost (${error.message}); registering again`);
        void keepRegistered(etcd, key, value, log);
      });
      return;
    } catch (error) {
      await lease.revoke().catch(() => {});
      log(`registering failed (${(error as Error).message}); retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
