import { ExponentialBackoff, handleWhen, noop, retry } from 'cockatiel';
import { Etcd3, EtcdWatchStreamEnded, isRecoverableError, type IKeyValue, type Watcher } from 'etcd3';
import { PeerlabError } from '../errors.js';
import { waitAtMost } from '../util/concurrency.js';

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
      // etcd3 makes a broken watch again for ever, up to 30 s apart by default: a wait that gives etcd half a
      // minute (nextChange) would give up while etcd was back and the next try still far off. (etcd3 types this
      // as a backoff, not a factory of them: its first step, which etcd3 steps on from.)
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 5_000 }).next(),
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

/** Told once that etcd ended a follow for good: nothing more will be heard, and changes may have gone unheard. */
export type OnWatchLost = (error: PeerlabError) => void;

/**
 * Calls `onEvent` for every key under `prefix` that exists now and for every later change, in revision order.
 * Resolves once the watch is in place; the returned function stops it. `onLost`: see followPrefixFrom.
 */
export async function followPrefix(client: Etcd3, prefix: string, onEvent: (event: PrefixEvent) => void, onLost: OnWatchLost): Promise<() => Promise<void>> {
  const response = await client.getAll().prefix(prefix).exec();
  for (const kv of response.kvs) onEvent({ type: 'put', name: kv.key.toString().slice(prefix.length), value: kv.value.toString(), lease: kv.lease });
  return followPrefixFrom(client, prefix, nextRevision(response.header.revision), onEvent, onLost);
}

/**
 * Calls `onEvent` for every change under `prefix` from `startRevision` on, each once, in revision order, through
 * etcd restarting (etcd3 makes a broken watch again; resumeFrom says from where). Resolves once etcd has
 * confirmed the watch; the returned function stops it.
 *
 * `onLost` hears it if etcd later cancels the watch: when it is made again after a break from a revision etcd
 * has compacted away meanwhile, or its permission was taken back. etcd3 then drops it without a word, and a
 * follower that went on waiting (a run for its nodes' errors) would wait for ever or miss what it follows.
 */
export async function followPrefixFrom(client: Etcd3, prefix: string, startRevision: string, onEvent: (event: PrefixEvent) => void, onLost: OnWatchLost): Promise<() => Promise<void>> {
  let resumeAt = startRevision;
  const watcher = client.watch().prefix(prefix).startRevision(startRevision).watcher();
  const forward = (type: 'put' | 'delete') => (kv: IKeyValue) => {
    resumeAt = nextRevision(kv.mod_revision);
    onEvent({ type, name: kv.key.toString().slice(prefix.length), value: kv.value.toString(), lease: kv.lease });
  };
  watcher.on('put', forward('put'));
  watcher.on('delete', forward('delete'));
  resumeFrom(watcher, () => resumeAt);
  let confirmed = false;
  let cancelledByEtcd = false;
  await new Promise<void>((resolve, reject) => {
    watcher.once('connected', () => {
      confirmed = true;
      resolve();
    });
    watcher.on('error', (error: Error) => {
      cancelledByEtcd = true;
      if (!confirmed) return reject(error);
      // etcd gives no reason for a compaction, only the revision it compacted to, which etcd3 does not pass on.
      const reason = error.message.replace(/^Watcher canceled: ?/, '') || 'that revision was compacted away';
      onLost(new PeerlabError(`etcd cancelled the watch on ${prefix} from revision ${resumeAt}: ${reason}`, {
        hint: 'an etcd of your own (--etcd-endpoints) must keep a run\'s revisions while it is up: no --auto-compaction-retention shorter than the run',
        cause: error,
      }));
    });
  });
  return async () => {
    // etcd3 has dropped a watch etcd cancelled: cancelling it again would wait for ever for an answer.
    if (!cancelledByEtcd) await watcher.cancel();
  };
}

/**
 * etcd3 moves a watcher's start revision on to etcd's latest as soon as etcd confirms the watch, and again after
 * each response, before etcd has sent every change since the revision asked for (it replays them within about
 * 100 ms, in chunks): a watch broken in between was made again past them, and those changes were never seen
 * (seen: etcd killed just after confirming a watch). So after etcd3's own listeners, each confirmation and each
 * response sets it back to `next()`, the revision after the last change delivered.
 */
function resumeFrom(watcher: Watcher, next: () => string): void {
  const resume = () => {
    watcher.request.start_revision = next();
  };
  watcher.on('connected', resume);
  watcher.on('data', resume);
}

/** How long a wait gives etcd to answer its watch (at first, and after each break): as long as a call is retried. */
const WAIT_UNANSWERED_LIMIT_MS = 30_000;

const ETCD_DOWN_HINT = 'is etcd up? A run\'s own etcd: see `docker logs` of its etcd container';

/**
 * The value of `key` once it exists (at once if it does): read, then watched from the revision after the read,
 * so no put in between is missed. Aborting `signal` rejects with its reason and ends the watch. Fails naming the
 * key once etcd has not answered for half a minute (see nextChange).
 */
export async function valueOnceSet(client: Etcd3, key: string, signal?: AbortSignal): Promise<string> {
  const response = await client.get(key).exec().catch((error: unknown) => {
    throw new PeerlabError(`gave up waiting for ${key}: etcd did not answer its read (${(error as Error).message})`, { hint: ETCD_DOWN_HINT, cause: error });
  });
  const existing = response.kvs[0];
  if (existing) return existing.value.toString();
  return (await nextChange(client, key, nextRevision(response.header.revision), 'put', signal)).value.toString();
}

/**
 * The first `type` change of `key` from `startRevision` on (a revision read before, so nothing is missed).
 * Aborting `signal` rejects with its reason and ends the watch, even one etcd has not confirmed yet.
 *
 * When the watch breaks (etcd restarting), etcd3 makes it again by itself, from `startRevision`, so a change made
 * meanwhile is seen once etcd is back. The wait fails naming the key once etcd has not answered the watch for
 * half a minute, or once etcd cancels it (its start revision compacted away).
 */
export function nextChange(client: Etcd3, key: string, startRevision: string, type: 'put' | 'delete', signal?: AbortSignal): Promise<IKeyValue> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // watcher() is create() without the wait for etcd's confirmation: a wait that ends before it must still cancel
    // its watcher, or etcd3 goes on making the watch for ever, even once the client is closed.
    const watcher = client.watch().key(key).startRevision(startRevision).watcher();
    let ended = false;
    let giveUp: NodeJS.Timeout | undefined;
    let lastFailure = 'no answer';
    const end = (settle: () => void, { cancel = true } = {}) => {
      if (ended) return;
      ended = true;
      clearTimeout(giveUp);
      signal?.removeEventListener('abort', onAbort);
      if (cancel) void watcher.cancel().catch(() => {});
      settle();
    };
    const onAbort = () => end(() => reject(signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });

    // etcd3 never gives up making the watch again; the wait does, after as long as connectEtcd retries a call.
    const unanswered = (failure?: Error) => {
      // etcd3 reports each failed try twice: its gRPC error (which names etcd's address), then this one.
      if (failure && !(failure instanceof EtcdWatchStreamEnded)) lastFailure = failure.message;
      if (ended) return;
      giveUp ??= setTimeout(() => {
        const message = `gave up waiting for ${key}: etcd did not answer for ${WAIT_UNANSWERED_LIMIT_MS / 1000} s (${lastFailure})`;
        end(() => reject(new PeerlabError(message, { hint: ETCD_DOWN_HINT })));
      }, WAIT_UNANSWERED_LIMIT_MS);
    };
    unanswered();
    watcher.on('disconnected', unanswered);

    watcher.on('connected', () => {
      clearTimeout(giveUp);
      giveUp = undefined;
    });
    // The wait ends at its first change, so every new try asks from the start again.
    resumeFrom(watcher, () => startRevision);

    watcher.once(type, (kv: IKeyValue) => end(() => resolve(kv)));
    // etcd3 has dropped a watcher it emits this for: there is nothing to cancel. Its message gives no reason when
    // the revision was compacted away.
    watcher.once('error', (error: Error) => {
      const message = `gave up waiting for ${key}: etcd cancelled its watch from revision ${startRevision}`;
      end(() => reject(new PeerlabError(message, { hint: 'etcd does so once that revision is compacted away, or if the key may not be read', cause: error })), { cancel: false });
    });
  });
}

export function nextRevision(revision: string): string {
  return (BigInt(revision) + 1n).toString();
}

/**
 * Cancelling a watch waits for etcd's answer; an etcd that is gone or frozen never gives one, and must not hold up
 * the end of a run. A watch still being created is cancelled when it is, whenever that is.
 */
export async function stopWatching(following: (() => Promise<void>) | Promise<() => Promise<void>>): Promise<void> {
  await waitAtMost(Promise.resolve(following).then((stop) => stop()), 1_000);
}
