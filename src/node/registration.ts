import type { EtcdGateway } from './etcd-gateway.js';

/** Long enough that a node starved of CPU while hundreds of others start does not drop out of the registry. */
export const REGISTRATION_TTL_SECONDS = 20;
const RETRY_DELAY_MS = { first: 200, max: 5_000 };
/** Renewing three times per TTL survives two lost renewals in a row. */
const RENEW_EVERY_MS = (REGISTRATION_TTL_SECONDS * 1000) / 3;

/**
 * Keeps `key` registered under a lease, as Registrator did for the thesis: registering is retried until it
 * succeeds, and a lost lease (etcd unreachable for longer than the TTL) registers the node again, so the
 * registry recovers by itself. A node that dies stops renewing, and its key expires with the lease.
 */
export async function keepRegistered(etcd: EtcdGateway, key: string, value: string, log: (line: string) => void): Promise<void> {
  for (let delay = RETRY_DELAY_MS.first; ; delay = Math.min(delay * 2, RETRY_DELAY_MS.max)) {
    try {
      const lease = await etcd.grantLease(REGISTRATION_TTL_SECONDS);
      await etcd.put(key, value, lease);
      renewUntilLost(etcd, lease, (reason) => {
        log(`registration lease lost (${reason}); registering again`);
        void keepRegistered(etcd, key, value, log);
      });
      return;
    } catch (error) {
      log(`registering failed (${(error as Error).message}); retrying in ${delay} ms`);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function renewUntilLost(etcd: EtcdGateway, lease: string, onLost: (reason: string) => void): void {
  let renewedAt = Date.now();
  let ended = false;
  const timer = setInterval(() => {
    etcd.keepAlive(lease).then(
      (secondsLeft) => {
        if (secondsLeft > 0) renewedAt = Date.now();
        else lost('etcd no longer knows it');
      },
      (error: Error) => {
        if (Date.now() - renewedAt > REGISTRATION_TTL_SECONDS * 1000) lost(error.message);
      },
    );
  }, RENEW_EVERY_MS);
  const lost = (reason: string): void => {
    if (ended) return;
    ended = true;
    clearInterval(timer);
    onLost(reason);
  };
}
