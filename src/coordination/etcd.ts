import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, isRecoverableError, type IKeyValue } from 'etcd3';

/**
 * An etcd client for peerlab's single-endpoint use. etcd3's default guards each host with a circuit breaker:
 * with one host, a few timeouts while a thousand nodes start would open it and fail every call at once. So no
 * breaker; instead every unary call has a deadline, and recoverable errors (a missed deadline among them) are
 * retried with exponential backoff for about half a minute. `auth` logs in (a run's own etcd, src/etcd/auth.ts).
 */
export function connectEtcd(hosts: string | string[], auth?: { username: string; password: string }): Etcd3 {
  return new Etcd3({
    hosts,
    // etcd3 logs in again by itself when etcd says the token expired (--auth-token-ttl).
    ...(auth ? { auth } : {}),
    dialTimeout: 10_000,
    // Without a deadline, a request whose answer is lost on an overloaded connection waits forever and is never
    // retried (seen: 3 of 500 starting nodes stuck silently before registering).
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + 10_000 }),
    grpcOptions: { 'grpc.initial_reconnect_backoff_ms': 200, 'grpc.max_reconnect_backoff_ms': 2_000 },
    faultHandling: {
      host: () => noop,
      global: retry(handleWhen(isRecoverableError), {
        maxAttempts: 12,
        backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }),
      }),
    },
  });
}

export interface PrefixEvent {
  readonly type: 'put' | 'delete';
  /** The key without the prefix. */
  readonly name: string;
  readonly value: string;
  /** The lease the key is held by, as a decimal id; '0' for none. */
  readonly lease: string;
}

/**
 * Calls `onEvent` for every key under `prefix` that exists now and for every later change, in revision order.
 * Resolves once the watch is in place; the returned function stops it.
 */
export async function followPrefix(
  client: Etcd3,
  prefix: string,
  onEvent: (event: PrefixEvent) => void,
): Promise<() => Promise<void>> {
  const response = await client.getAll().prefix(prefix).exec();
  for (const kv of response.kvs) onEvent({ type: 'put', name: kv.key.toString().slice(prefix.length), value: kv.value.toString(), lease: kv.lease });
  const watcher = await client.watch().prefix(prefix).startRevision(nextRevision(response.header.revision)).create();
  const forward = (type: 'put' | 'delete') => (kv: IKeyValue) =>
    onEvent({ type, name: kv.key.toString().slice(prefix.length), value: kv.value.toString(), lease: kv.lease });
  watcher.on('put', forward('put'));
  watcher.on('delete', forward('delete'));
  return async () => {
    await watcher.cancel();
  };
}

/**
 * The value of `key` once it exists (at once if it does): read, then watched from the revision after the read,
 * so no put in between is missed. Aborting `signal` rejects with its reason and ends the watch.
 */
export async function valueOnceSet(client: Etcd3, key: string, signal?: AbortSignal): Promise<string> {
  const response = await client.get(key).exec();
  const existing = response.kvs[0];
  if (existing) return existing.value.toString();
  return (await nextChange(client, key, nextRevision(response.header.revision), 'put', signal)).value.toString();
}

/**
 * The first `type` change of `key` from `startRevision` on (a revision read before, so nothing is missed).
 * Aborting `signal` rejects with its reason and ends the watch, even one etcd has not confirmed yet.
 */
export function nextChange(client: Etcd3, key: string, startRevision: string, type: 'put' | 'delete', signal?: AbortSignal): Promise<IKeyValue> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const creating = client.watch().key(key).startRevision(startRevision).create();
    const end = () => {
      signal?.removeEventListener('abort', onAbort);
      void creating.then((watcher) => watcher.cancel()).catch(() => {});
    };
    const onAbort = () => {
      end();
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    creating.then(
      (watcher) =>
        watcher.once(type, (kv: IKeyValue) => {
          end();
          resolve(kv);
        }),
      (error: unknown) => {
        end();
        reject(error);
      },
    );
  });
}

export function nextRevision(revision: string): string {
  return (BigInt(revision) + 1n).toString();
}
