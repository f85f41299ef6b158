import type { Etcd3, Lease } from 'etcd3';
import { REGISTRATION_TTL_SECONDS } from '../coordination/protocol.js';

const RETRY_DELAY_MS = { first: 200, max: 5_000 };

/**
 * The node's lease and the registry keys it holds (its address, the services it offers), kept as Registrator
 * kept the thesis' registry: writing a key is retried until it succeeds, and a lost lease (etcd unreachable for
 * longer than the TTL) is replaced and every held key written again, so the registry recovers by itself. A
 * node that dies stops renewing, and its keys expire with the lease.
 */
export class NodeLease {
  /** What the node wants registered: written again under every new lease. */
  private readonly held = new Map<string, string>();
  private lease: Lease;

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: (line: string) => void,
  ) {
    this.lease = this.grant();
  }

  /** Writes `key` under the lease; resolves once it is written (or has been deleted or changed meanwhile). */
  async put(key: string, value: string): Promise<void> {
    this.held.set(key, value);
    for (let delay = RETRY_DELAY_MS.first; this.held.get(key) === value; delay = Math.min(delay * 2, RETRY_DELAY_MS.max)) {
      try {
        await this.lease.put(key).value(value);
        return;
      } catch (error) {
        this.log(`registering ${key} failed (${(error as Error).message}); retrying in ${delay} ms`);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Deletes `key` and stops holding it. */
  async delete(key: string): Promise<void> {
    this.held.delete(key);
    await this.etcd.delete().key(key);
  }

  private grant(): Lease {
    const lease = this.etcd.lease(REGISTRATION_TTL_SECONDS);
    lease.once('lost', (error: Error) => {
      this.log(`registration lease lost (${error.message}); registering again`);
      this.lease = this.grant();
      for (const [key, value] of this.held) void this.put(key, value);
    });
    return lease;
  }
}
