/**
 * The node agent's etcd client: etcd's gRPC API (KV, Lease, Watch, Auth) on one HTTP/2 connection per endpoint,
 * with the dozen messages a node uses encoded by hand (etcd-wire.ts). Not the etcd3 client, whose protos and
 * fault-handling stack cost every node about 4 MiB that a thousand nodes on one host cannot spare (the CLI,
 * which runs once, keeps etcd3); and no longer etcd's JSON gateway, where every call was an HTTP/1.1 request,
 * every watch a connection of its own, and every call crossed etcd twice (the gateway calls etcd's gRPC server
 * on loopback): at start-up that was most of a node's work after loading (issue 9, start-up). grpc-js is in
 * the node already, for the links. All of a node's watches share one Watch stream, and its lease renewals one
 * LeaseKeepAlive stream.
 *
 * Like the CLI's client, every call has a deadline and is retried with exponential backoff for about half a
 * minute, on the next endpoint when there are several: hundreds of nodes starting at once can stall etcd. Lease
 * renewals are the exception (KeepAliveStream): they wait for etcd's answer, which alone says a lease is lost.
 *
 * A run's own etcd requires a login (src/etcd/auth.ts): the client sends a token in the `token` metadata, the
 * one the CLI issued for all nodes or its own from Authenticate; etcd forgets a simple token after
 * `--auth-token-ttl` unused, so a call or watch told "invalid auth token" logs in again and is repeated.
 */
import * as grpc from '@grpc/grpc-js';
import type { SharedStore } from '../sdk/types.js';
import {
  decodeAuthenticate,
  decodeLease,
  decodeRangeResponse,
  decodeRevision,
  decodeTxnResponse,
  decodeWatchResponse,
  encodeAuthenticate,
  encodeDeleteRange,
  encodeLeaseGrant,
  encodeLeaseId,
  encodePut,
  encodeRange,
  encodeTxn,
  encodeWatchCancel,
  encodeWatchCreate,
  ETCD_METHODS,
  type WatchResponse,
} from './etcd-wire.js';

const CALL_DEADLINE_MS = 10_000;
/** Renewals of one lease left waiting for an answer before the oldest is given up (KeepAliveStream). */
const MAX_UNANSWERED_RENEWALS = 3;
/** How a call that etcd does not answer is retried: about half a minute in all, by default. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}
const RETRY: RetryPolicy = { attempts: 12, firstDelayMs: 100, maxDelayMs: 5_000 };
/**
 * channelz off, as on the links (links.ts); no limit on what etcd may answer, as etcd3 sets it: a prefix read
 * of a large run's registry can pass grpc-js's default of 4 MiB.
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.enable_channelz': 0,
  'grpc.max_receive_message_length': -1,
  // grpc-js waits up to 2 minutes between reconnections by default: an etcd back after a pause must be reached
  // within the calls' own retries.
  'grpc.initial_reconnect_backoff_ms': RETRY.firstDelayMs,
  'grpc.max_reconnect_backoff_ms': RETRY.maxDelayMs,
};

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  /** The revision of the change. */
  readonly revision: bigint;
}

/** A gRPC status with etcd's message, e.g. 14 "etcdserver: request timed out". */
type CallError = Error & { code?: number; details?: string };

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.ABORTED]);
const isTokenExpired = (text: string): boolean => /invalid auth token/.test(text);

export interface EtcdLogin {
  readonly username: string;
  readonly password: string;
  /** A token already issued for this login (see src/etcd/auth.ts): used until etcd says it expired. */
  readonly token?: string;
}

export class EtcdClient {
  /** One channel (one HTTP/2 connection) per endpoint, made when first used. */
  private readonly channels = new Map<string, grpc.Client>();
  private readonly endpoints: string[];
  private endpointIndex = 0;
  private readonly watches: WatchStream;
  private readonly renewals: KeepAliveStream;
  /** The current auth token (a login in progress, or done); undefined before the first call or after it expired. */
  private token: Promise<string> | undefined;

  constructor(
    endpoints: readonly string[],
    private readonly login?: EtcdLogin,
    private readonly retry: RetryPolicy = RETRY,
  ) {
    if (endpoints.length === 0) throw new Error('etcd client: no endpoint given');
    this.endpoints = endpoints.map((endpoint) => new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`).host);
    if (login?.token) this.token = Promise.resolve(login.token);
    const session: StreamSession = {
      open: async (method) => {
        const client = this.client();
        return client.makeBidiStreamRequest(method, (request: Buffer) => request, (response: Buffer) => response, await this.metadata());
      },
      tokenExpired: () => (this.token = undefined),
      nextEndpoint: () => this.endpointIndex++,
    };
    this.watches = new WatchStream(session);
    this.renewals = new KeepAliveStream(session);
  }

  /** `revision` is the store's as it answered; `modRevision` the key's last change (0n when it does not exist). */
  async get(key: string): Promise<{ value: string | undefined; revision: bigint; modRevision: bigint }> {
    const { revision, kvs } = await this.call(ETCD_METHODS.range, encodeRange({ key }), decodeRangeResponse, `read ${key}`);
    const found = kvs[0];
    return { value: found?.value, revision, modRevision: found?.modRevision ?? 0n };
  }

  /**
   * Several keys read in one transaction, so one round trip for all of them: each key's value (undefined where
   * it does not exist), and the store's revision they were read at.
   */
  async getAll(keys: readonly string[]): Promise<{ values: Array<string | undefined>; revision: bigint }> {
    const { revision, ranges } = await this.call(ETCD_METHODS.txn, encodeTxn({ compare: [], success: keys.map((key) => ({ range: { key } })) }), decodeTxnResponse, 'read');
    return { values: keys.map((_, index) => ranges[index]?.[0]?.value), revision };
  }

  /** Every key under `prefix`, with its value, in key order. */
  async getPrefix(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const { kvs } = await this.call(ETCD_METHODS.range, encodeRange({ key: prefix, rangeEnd: prefixEnd(prefix) }), decodeRangeResponse, `read ${prefix}`);
    return kvs.map(({ key, value }) => ({ key, value }));
  }

  /** Every key under `prefix`, oldest first (by create revision), with that revision. */
  async getPrefixByCreation(prefix: string): Promise<Array<{ key: string; value: string; createRevision: bigint }>> {
    const request = encodeRange({ key: prefix, rangeEnd: prefixEnd(prefix), byCreation: true });
    const { kvs } = await this.call(ETCD_METHODS.range, request, decodeRangeResponse, `read ${prefix}`);
    return kvs.map(({ key, value, createRevision }) => ({ key, value, createRevision }));
  }

  /**
   * One transaction: sets `key` to `next` if its value is `expected` (undefined: if it does not exist), and
   * says whether it did.
   */
  async compareAndSwap(key: string, expected: string | undefined, next: string): Promise<boolean> {
    const request = encodeTxn({ compare: [{ key, value: expected }], success: [{ put: { key, value: next } }] });
    return (await this.call(ETCD_METHODS.txn, request, decodeTxnResponse, `compare-and-swap ${key}`)).succeeded;
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call(ETCD_METHODS.put, encodePut({ key, value, lease: lease === undefined ? undefined : BigInt(lease) }), decodeRevision, `write ${key}`);
  }

  async delete(key: string): Promise<void> {
    await this.call(ETCD_METHODS.deleteRange, encodeDeleteRange(key), decodeRevision, `delete ${key}`);
  }

  /** A new lease of `ttlSeconds`; its id as a decimal string. */
  async grantLease(ttlSeconds: number): Promise<string> {
    const { id, error } = await this.call(ETCD_METHODS.leaseGrant, encodeLeaseGrant(ttlSeconds), decodeLease, 'grant a lease');
    if (error) throw new Error(`etcd refused to grant a lease: ${error}`);
    return id.toString();
  }

  /** Ends `lease` now: every key written under it is deleted at once. */
  async revokeLease(lease: string): Promise<void> {
    await this.call(ETCD_METHODS.leaseRevoke, encodeLeaseId(BigInt(lease)), decodeRevision, `revoke lease ${lease}`);
  }

  /** Renews `lease` once; the seconds it has left, 0 when etcd no longer knows it (it expired). */
  keepAlive(lease: string): Promise<number> {
    return this.renewals.renew(BigInt(lease));
  }

  /**
   * Calls `onEvent` for every change under `prefix` from now on (from the revision after a read made now), or
   * from `fromRevision` on, which may be in the past (etcd replays what changed since) or in the future; the
   * returned function stops. `onRefused` hears why etcd refused the watch for good.
   */
  async watchPrefix(prefix: string, onEvent: (event: WatchEvent) => void, onRefused: (reason: string) => void, fromRevision?: bigint): Promise<() => void> {
    fromRevision ??= (await this.call(ETCD_METHODS.range, encodeRange({ key: prefix, rangeEnd: prefixEnd(prefix), countOnly: true }), decodeRangeResponse, `read ${prefix}`)).revision + 1n;
    return this.watches.watch({ key: prefix, rangeEnd: prefixEnd(prefix), nextRevision: fromRevision, onEvent, onRefused });
  }

  /**
   * watchPrefix from the keys as they are: each key under `prefix` now comes to `onEvent` first, as a put at its
   * last change, then every change after that read. For what a node must hold however late it starts: a
   * restarted or moved node's control keys were written for the node id, before its container existed.
   */
  async followPrefix(prefix: string, onEvent: (event: WatchEvent) => void, onRefused: (reason: string) => void): Promise<() => void> {
    const { revision, kvs } = await this.call(ETCD_METHODS.range, encodeRange({ key: prefix, rangeEnd: prefixEnd(prefix) }), decodeRangeResponse, `read ${prefix}`);
    for (const { key, value, modRevision } of kvs) onEvent({ type: 'put', key, value, revision: modRevision });
    return this.watchPrefix(prefix, onEvent, onRefused, revision + 1n);
  }

  /** The value of `key` once it exists (at once if it does). Read first, then watch from the next revision. */
  async waitFor(key: string): Promise<string> {
    return (await this.waitForEntry(key)).value;
  }

  /**
   * waitFor of several keys, a promise for each, with one round trip for all those that exist already (a hub
   * waits for dozens of neighbours); each other one is watched from the revision after that read.
   */
  waitForEach(keys: readonly string[]): Array<Promise<string>> {
    if (keys.length === 0) return [];
    const read = this.getAll(keys);
    return keys.map((key, index) => read.then(async ({ values, revision }) => values[index] ?? (await this.nextEvent(key, revision + 1n, 'put')).value));
  }

  /** waitFor, with the revision at which the key got that value. */
  async waitForEntry(key: string): Promise<{ value: string; modRevision: bigint }> {
    const { value, revision, modRevision } = await this.get(key);
    if (value !== undefined) return { value, modRevision };
    const event = await this.nextEvent(key, revision + 1n, 'put');
    return { value: event.value, modRevision: event.revision };
  }

  /** Resolves once `key` does not exist (at once if it does not). */
  async waitForDelete(key: string): Promise<void> {
    const { value, revision } = await this.get(key);
    if (value === undefined) return;
    await this.nextEvent(key, revision + 1n, 'delete');
  }

  /** The SDK's shared store, confined to the keys `keyOf` makes. */
  store(keyOf: (key: string) => string): SharedStore {
    return {
      get: async (key) => (await this.get(keyOf(key))).value,
      put: (key, value) => this.put(keyOf(key), value),
      delete: (key) => this.delete(keyOf(key)),
      waitFor: (key) => this.waitFor(keyOf(key)),
      waitForDelete: (key) => this.waitForDelete(keyOf(key)),
      compareAndSwap: (key, expected, next) => this.compareAndSwap(keyOf(key), expected, next),
    };
  }

  close(): void {
    this.watches.close();
    this.renewals.close();
    for (const client of this.channels.values()) client.close();
    this.channels.clear();
  }

  /**
   * The first `type` event of `key` from `fromRevision` on: with a revision read before, no change is missed.
   * Aborting `signal` cancels the watch; the promise then never settles (whoever aborted no longer waits for it).
   */
  nextEvent(key: string, fromRevision: bigint, type: WatchEvent['type'], signal?: AbortSignal): Promise<WatchEvent> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return;
      const stop = this.watches.watch({
        key,
        nextRevision: fromRevision,
        onEvent: (event) => {
          if (event.type !== type) return;
          stop();
          resolve(event);
        },
        onRefused: (reason) => reject(new Error(`etcd refused to watch ${key}: ${reason}`)),
      });
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  private client(): grpc.Client {
    const endpoint = this.endpoints[this.endpointIndex % this.endpoints.length]!;
    let client = this.channels.get(endpoint);
    if (!client) {
      client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.channels.set(endpoint, client);
    }
    return client;
  }

  /** The `token` metadata once logged in; none for an etcd without authentication. */
  private async metadata(): Promise<grpc.Metadata> {
    const metadata = new grpc.Metadata();
    if (!this.login) return metadata;
    this.token ??= this.unary(ETCD_METHODS.authenticate, encodeAuthenticate({ name: this.login.username, password: this.login.password }), decodeAuthenticate, new grpc.Metadata()).then(
      (token) => token,
      (error: unknown) => {
        this.token = undefined;
        throw error;
      },
    );
    metadata.set('token', await this.token);
    return metadata;
  }

  /** `what` names the operation in a refusal, e.g. "write /peerlab/…/control/stop: permission denied". */
  private async call<T>(method: string, request: Buffer, decode: (response: Buffer) => T, what: string): Promise<T> {
    const retry = this.retry;
    for (let attempt = 1, delay = retry.firstDelayMs; ; attempt++, delay = Math.min(delay * 2, retry.maxDelayMs)) {
      try {
        return await this.unary(method, request, decode, await this.metadata());
      } catch (error) {
        const { code, details = '' } = error as CallError;
        if (isTokenExpired(details) && attempt < retry.attempts) {
          this.token = undefined;
          continue;
        }
        if (code === grpc.status.PERMISSION_DENIED) {
          throw new Error(`etcd refused to ${what}: permission denied (a node writes only the keys it reports into; config, topology and control are the CLI's)`);
        }
        if (code === undefined || !RETRYABLE.has(code) || attempt >= retry.attempts) throw new Error(`etcd ${method} at ${this.endpoints[this.endpointIndex % this.endpoints.length]}: ${details || (error as Error).message}`);
        this.endpointIndex++;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private unary<T>(method: string, request: Buffer, decode: (response: Buffer) => T, metadata: grpc.Metadata): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client().makeUnaryRequest(
        method,
        (bytes: Buffer) => bytes,
        decode,
        request,
        metadata,
        { deadline: Date.now() + CALL_DEADLINE_MS },
        (error, response) => (error ? reject(error) : resolve(response as T)),
      );
    });
  }
}

/** What the long-lived streams need from the client: a stream opened with the current login, and what to do when it fails. */
interface StreamSession {
  open(method: string): Promise<grpc.ClientDuplexStream<Buffer, Buffer>>;
  /** etcd said the token expired: the next open logs in again. */
  tokenExpired(): void;
  /** The stream broke: try the next endpoint (the same one when there is one). */
  nextEndpoint(): void;
}

interface Watcher {
  readonly key: string;
  readonly rangeEnd?: Buffer;
  /** The revision to watch from: after every event, the one after it, so a watch made again misses nothing. */
  nextRevision: bigint;
  readonly onEvent: (event: WatchEvent) => void;
  readonly onRefused: (reason: string) => void;
}

/**
 * Every watch of a node on one Watch stream, each under an id of ours. When the stream breaks (etcd restarted, a
 * new login needed), it is opened again after a backoff and every watch made again from the revision after its
 * last event, so no change is missed.
 */
class WatchStream {
  private stream: grpc.ClientDuplexStream<Buffer, Buffer> | undefined;
  private opening = false;
  private readonly watchers = new Map<bigint, Watcher>();
  /**
   * Our ids of the creates sent and not yet answered, in order: etcd answers creates in the order sent, and
   * refuses one (permission denied) under watch id -1 rather than ours.
   */
  private unanswered: bigint[] = [];
  private lastId = 0n;
  private reopenDelayMs = RETRY.firstDelayMs;
  private closed = false;

  constructor(private readonly session: StreamSession) {}

  /** Starts watching; the returned function stops. */
  watch(watcher: Omit<Watcher, 'nextRevision'> & { nextRevision: bigint }): () => void {
    const id = ++this.lastId;
    this.watchers.set(id, { ...watcher });
    if (this.stream) this.create(this.stream, id, watcher);
    else this.open();
    return () => {
      if (this.watchers.delete(id)) this.stream?.write(encodeWatchCancel(id));
    };
  }

  close(): void {
    this.closed = true;
    this.watchers.clear();
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }

  private open(): void {
    if (this.opening || this.closed || this.stream) return;
    this.opening = true;
    this.session.open(ETCD_METHODS.watch).then(
      (stream) => {
        this.opening = false;
        stream.on('data', (bytes: Buffer) => {
          this.reopenDelayMs = RETRY.firstDelayMs;
          this.receive(decodeWatchResponse(bytes));
        });
        stream.on('error', () => this.broken(stream));
        stream.on('end', () => this.broken(stream));
        if (this.closed) return stream.cancel();
        this.stream = stream;
        this.unanswered = [];
        for (const [id, watcher] of this.watchers) this.create(stream, id, watcher);
      },
      () => {
        this.opening = false;
        this.reopen();
      },
    );
  }

  private create(stream: grpc.ClientDuplexStream<Buffer, Buffer>, id: bigint, watcher: Watcher): void {
    this.unanswered.push(id);
    stream.write(encodeWatchCreate({ ...watcher, startRevision: watcher.nextRevision, watchId: id }));
  }

  private broken(stream: grpc.ClientDuplexStream<Buffer, Buffer>): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    stream.cancel();
    this.reopen();
  }

  private reopen(): void {
    if (this.closed || this.watchers.size === 0) return;
    this.session.nextEndpoint();
    setTimeout(() => this.open(), this.reopenDelayMs);
    this.reopenDelayMs = Math.min(this.reopenDelayMs * 2, RETRY.maxDelayMs);
  }

  private receive(answer: WatchResponse): void {
    const created = answer.created ? this.unanswered.shift() : undefined;
    const response = answer.watchId === -1n && created !== undefined ? { ...answer, watchId: created } : answer;
    const watcher = this.watchers.get(response.watchId);
    if (!watcher) return; // stopped meanwhile
    if (response.canceled && response.compactRevision > 0n) {
      // The revision asked for (after a break, the one after the last change heard) was compacted away, and the
      // changes since with it. Refused, as the CLI's follows are (coordination/etcd.ts): made again from etcd's
      // oldest revision, the watch skipped them without a word (a link left down, a move's step never seen).
      this.watchers.delete(response.watchId);
      watcher.onRefused(`revision ${watcher.nextRevision} was compacted away (etcd keeps ${response.compactRevision} on), and the changes since with it`);
      return;
    }
    if (response.canceled) {
      const reason = response.cancelReason || 'cancelled by etcd';
      if (isTokenExpired(reason) && this.stream) {
        // A stream carries the login it was opened with: open a new one, which logs in again.
        this.session.tokenExpired();
        this.broken(this.stream);
        return;
      }
      this.watchers.delete(response.watchId);
      watcher.onRefused(reason.replace(/^rpc error: code = \w+ desc = /, '').replace(/^etcdserver: /, ''));
      return;
    }
    for (const { type, kv } of response.events) {
      if (!this.watchers.has(response.watchId)) return;
      watcher.nextRevision = kv.modRevision + 1n;
      watcher.onEvent({ type, key: kv.key, value: kv.value, revision: kv.modRevision });
    }
  }
}

/**
 * Lease renewals on one LeaseKeepAlive stream, answered in order. A renewal waits for its answer as long as the
 * stream lives, with no deadline of its own. On a host so busy that a node gets the CPU only now and then (a
 * thousand-node bring-up), renewals ran past a 10 s deadline, and the node took leases etcd may well have renewed
 * for lost; and a timer armed per renewal was one more wake-up for every waiting node. Whether a lease is lost is
 * etcd's answer to decide (registration.ts). A broken stream fails the renewals waiting; the next renewal opens a
 * new one. A lease whose renewals pile up unanswered has the oldest failed, so that the queue stays short.
 */
class KeepAliveStream {
  private stream: Promise<grpc.ClientDuplexStream<Buffer, Buffer>> | undefined;
  private readonly waiting = new Map<bigint, Array<{ resolve: (ttl: number) => void; reject: (error: Error) => void }>>();

  constructor(private readonly session: StreamSession) {}

  async renew(lease: bigint): Promise<number> {
    const stream = await this.open();
    return new Promise<number>((resolve, reject) => {
      const queue = this.waiting.get(lease) ?? [];
      this.waiting.set(lease, queue);
      if (queue.length >= MAX_UNANSWERED_RENEWALS) {
        queue.shift()!.reject(new Error(`etcd has not answered the last ${MAX_UNANSWERED_RENEWALS} renewals of lease ${lease}`));
      }
      queue.push({ resolve, reject });
      stream.write(encodeLeaseId(lease));
    });
  }

  close(): void {
    void this.stream?.then((stream) => stream.cancel(), () => {});
    this.stream = undefined;
    this.fail(new Error('etcd client closed'));
  }

  private open(): Promise<grpc.ClientDuplexStream<Buffer, Buffer>> {
    this.stream ??= this.session.open(ETCD_METHODS.leaseKeepAlive).then(
      (stream) => {
        stream.on('data', (bytes: Buffer) => {
          const { id, ttl } = decodeLease(bytes);
          this.waiting.get(id)?.shift()?.resolve(ttl);
        });
        const broken = (error?: CallError): void => {
          this.stream = undefined;
          if (error && isTokenExpired(error.details ?? '')) this.session.tokenExpired();
          else this.session.nextEndpoint();
          this.fail(new Error(`etcd lease renewals broke off${error ? `: ${error.details ?? error.message}` : ''}`));
        };
        stream.on('error', broken);
        stream.on('end', () => broken());
        return stream;
      },
      (error: unknown) => {
        this.stream = undefined;
        throw error;
      },
    );
    return this.stream;
  }

  private fail(error: Error): void {
    for (const queue of this.waiting.values()) for (const waiter of queue.splice(0)) waiter.reject(error);
  }
}

/** The end of the range that holds exactly the keys starting with `prefix`, as etcd's own clients make it. */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
