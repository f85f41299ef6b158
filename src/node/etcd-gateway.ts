/**
 * The node agent's etcd client: etcd's own JSON gateway (`/v3/kv/*`, `/v3/lease/*`, `/v3/watch`) over
 * node:http. A node needs only get (of a key or a prefix), put, delete, compare-and-swap, one lease and
 * watches of a key or a prefix, and
 * the etcd3 client (its gRPC protos and fault-handling stack) costs every node about 4 MiB that a thousand
 * nodes on one host cannot spare. The CLI, which runs once, keeps etcd3.
 *
 * Like the CLI's client, every call has a deadline and is retried with exponential backoff for about half a
 * minute, on the next endpoint when there are several: hundreds of nodes starting at once can stall etcd.
 *
 * A run's own etcd requires a login (src/etcd/auth.ts): the gateway sends a token in the Authorization header,
 * the one the CLI issued for all nodes or its own from `/v3/auth/authenticate`; etcd forgets a simple token
 * after `--auth-token-ttl` unused, so a call or watch told "invalid auth token" logs in again and is repeated.
 */
import http from 'node:http';
import type { SharedStore } from '../sdk/types.js';

const CALL_DEADLINE_MS = 10_000;
const UNARY_CONNECTIONS = 4;
const RETRY = { attempts: 12, firstDelayMs: 100, maxDelayMs: 5_000 };

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  /** The revision of the change. */
  readonly revision: bigint;
}

interface RawKeyValue {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
}

interface Header {
  revision: string;
}

class GatewayError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status = 0,
  ) {
    super(message);
  }

  /** etcd forgot the token (it expired): log in again. */
  get tokenExpired(): boolean {
    return this.status === 401 && /invalid auth token/.test(this.message);
  }
}

export interface EtcdLogin {
  readonly username: string;
  readonly password: string;
  /** A token already issued for this login (see src/etcd/auth.ts): used until etcd says it expired. */
  readonly token?: string;
}

export class EtcdGateway {
  /**
   * Unary calls share a few kept-alive connections: a hub waiting for fifty neighbours must not open fifty
   * connections at once, times hundreds of nodes. Each watch holds a connection of its own for as long as it lasts.
   */
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: UNARY_CONNECTIONS });
  private readonly endpoints: URL[];
  private endpointIndex = 0;
  private readonly openWatches = new Set<() => void>();
  /** The current auth token (a login in progress, or done); undefined before the first call or after it expired. */
  private token: Promise<string> | undefined;

  constructor(
    endpoints: readonly string[],
    private readonly login?: EtcdLogin,
  ) {
    if (endpoints.length === 0) throw new Error('etcd gateway: no endpoint given');
    this.endpoints = endpoints.map((endpoint) => new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`));
    if (login?.token) this.token = Promise.resolve(login.token);
  }

  private get endpoint(): URL {
    return this.endpoints[this.endpointIndex % this.endpoints.length]!;
  }

  /** `revision` is the store's as it answered; `modRevision` the key's last change (0n when it does not exist). */
  async get(key: string): Promise<{ value: string | undefined; revision: bigint; modRevision: bigint }> {
    const response = await this.call<{ header: Header; kvs?: RawKeyValue[] }>('/v3/kv/range', { key: encode(key) });
    const found = response.kvs?.[0];
    return { value: found ? decode(found.value) : undefined, revision: BigInt(response.header.revision), modRevision: BigInt(found?.mod_revision ?? '0') };
  }

  /**
   * Several keys read in one transaction, so one round trip for all of them: each key's value (undefined where
   * it does not exist), and the store's revision they were read at.
   */
  async getAll(keys: readonly string[]): Promise<{ values: Array<string | undefined>; revision: bigint }> {
    const response = await this.call<{ header: Header; responses?: Array<{ response_range?: { kvs?: RawKeyValue[] } }> }>('/v3/kv/txn', {
      success: keys.map((key) => ({ request_range: { key: encode(key) } })),
    });
    const values = keys.map((_, index) => {
      const found = response.responses?.[index]?.response_range?.kvs?.[0];
      return found ? decode(found.value) : undefined;
    });
    return { values, revision: BigInt(response.header.revision) };
  }

  /** Every key under `prefix`, with its value, in key order. */
  async getPrefix(prefix: string): Promise<Array<{ key: string; value: string }>> {
    const response = await this.call<{ kvs?: RawKeyValue[] }>('/v3/kv/range', { key: encode(prefix), range_end: prefixEnd(prefix) });
    return (response.kvs ?? []).map((kv) => ({ key: decode(kv.key), value: decode(kv.value) }));
  }

  /** Every key under `prefix`, oldest first (by create revision), with that revision. */
  async getPrefixByCreation(prefix: string): Promise<Array<{ key: string; value: string; createRevision: bigint }>> {
    const response = await this.call<{ kvs?: RawKeyValue[] }>('/v3/kv/range', {
      key: encode(prefix),
      range_end: prefixEnd(prefix),
      sort_order: 'ASCEND',
      sort_target: 'CREATE',
    });
    return (response.kvs ?? []).map((kv) => ({ key: decode(kv.key), value: decode(kv.value), createRevision: BigInt(kv.create_revision ?? '0') }));
  }

  /**
   * One transaction: sets `key` to `next` if its value is `expected` (undefined: if it does not exist), and
   * says whether it did.
   */
  async compareAndSwap(key: string, expected: string | undefined, next: string): Promise<boolean> {
    const compare =
      expected === undefined
        ? { key: encode(key), result: 'EQUAL', target: 'CREATE', create_revision: '0' }
        : { key: encode(key), result: 'EQUAL', target: 'VALUE', value: encode(expected) };
    const response = await this.call<{ succeeded?: boolean }>(
      '/v3/kv/txn',
      { compare: [compare], success: [{ request_put: { key: encode(key), value: encode(next) } }] },
      `compare-and-swap ${key}`,
    );
    return response.succeeded === true;
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: encode(key), value: encode(value), ...(lease ? { lease } : {}) }, `write ${key}`);
  }

  async delete(key: string): Promise<void> {
    await this.call('/v3/kv/deleterange', { key: encode(key) }, `delete ${key}`);
  }

  /** A new lease of `ttlSeconds`; its id as etcd's decimal string. */
  async grantLease(ttlSeconds: number): Promise<string> {
    return (await this.call<{ ID: string }>('/v3/lease/grant', { TTL: ttlSeconds })).ID;
  }

  /** Ends `lease` now: every key written under it is deleted at once. */
  async revokeLease(lease: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: lease }, `revoke lease ${lease}`);
  }

  /** Renews `lease` once; the seconds it has left, 0 when etcd no longer knows it (it expired). */
  async keepAlive(lease: string): Promise<number> {
    const response = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: lease });
    return Number(response.result?.TTL ?? 0);
  }

  /**
   * Calls `onEvent` for every change under `prefix` from now on (from the revision after a read made now), or
   * from `fromRevision` on, which may be in the past (etcd replays what changed since) or in the future; the
   * returned function stops. `onRefused` hears why etcd refused the watch for good.
   */
  async watchPrefix(prefix: string, onEvent: (event: WatchEvent) => void, onRefused: (reason: string) => void, fromRevision?: bigint): Promise<() => void> {
    fromRevision ??= BigInt((await this.call<{ header: Header }>('/v3/kv/range', { key: encode(prefix), range_end: prefixEnd(prefix), count_only: true })).header.revision) + 1n;
    const stop = watchKeys(this.watchConnection(onRefused), prefix, prefixEnd(prefix), fromRevision, onEvent);
    this.openWatches.add(stop);
    return () => {
      stop();
      this.openWatches.delete(stop);
    };
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
    for (const stop of this.openWatches) stop();
    this.agent.destroy();
  }

  private nextEvent(key: string, fromRevision: bigint, type: WatchEvent['type']): Promise<WatchEvent> {
    return new Promise((resolve, reject) => {
      const stop = watchKeys(
        this.watchConnection((reason) => {
          this.openWatches.delete(stop);
          reject(new Error(`etcd refused to watch ${key}: ${reason}`));
        }),
        key,
        undefined,
        fromRevision,
        (event) => {
          if (event.type !== type) return;
          stop();
          this.openWatches.delete(stop);
          resolve(event);
        },
      );
      this.openWatches.add(stop);
    });
  }

  private watchConnection(onRefused: (reason: string) => void): WatchConnection {
    return { endpoint: () => this.endpoint, headers: () => this.authHeaders(), onTokenExpired: () => (this.token = undefined), onRefused };
  }

  /** The Authorization header once logged in; nothing for an etcd without authentication. */
  private async authHeaders(): Promise<Record<string, string>> {
    if (!this.login) return {};
    this.token ??= this.call<{ token: string }>('/v3/auth/authenticate', { name: this.login.username, password: this.login.password }, 'log in').then(
      ({ token }) => token,
      (error: unknown) => {
        this.token = undefined;
        throw error;
      },
    );
    return { Authorization: await this.token };
  }

  /** `what` names the operation in a refusal, e.g. "write /peerlab/…/control/stop: permission denied". */
  private async call<T>(path: string, body: object, what = path): Promise<T> {
    for (let attempt = 1, delay = RETRY.firstDelayMs; ; attempt++, delay = Math.min(delay * 2, RETRY.maxDelayMs)) {
      try {
        const headers = path === '/v3/auth/authenticate' ? {} : await this.authHeaders();
        return await post<T>(this.endpoint, path, body, headers, this.agent);
      } catch (error) {
        if (error instanceof GatewayError && error.tokenExpired && attempt < RETRY.attempts) {
          this.token = undefined;
          continue;
        }
        if (error instanceof GatewayError && error.status === 403) {
          throw new Error(`etcd refused to ${what}: permission denied (a node writes only the keys it reports into; config, topology and control are the CLI's)`);
        }
        if (!(error instanceof GatewayError && error.retryable) || attempt >= RETRY.attempts) throw error;
        this.endpointIndex++;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

function post<T>(endpoint: URL, path: string, body: object, headers: Record<string, string>, agent: http.Agent): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: endpoint.hostname, port: endpoint.port, path, method: 'POST', headers, agent, timeout: CALL_DEADLINE_MS },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (error) => reject(new GatewayError(`etcd ${path}: ${error.message}`, true)));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const status = response.statusCode ?? 0;
          if (status === 200) return resolve(JSON.parse(text) as T);
          // etcd answers an unavailable or overloaded cluster with 5xx/429 and a bad request with 4xx.
          reject(new GatewayError(`etcd ${path}: HTTP ${status} ${text.trim()}`, status >= 500 || status === 429, status));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no answer within ${CALL_DEADLINE_MS} ms`)));
    request.on('error', (error) => reject(new GatewayError(`etcd ${path} at ${endpoint.host}: ${error.message}`, true)));
    request.end(JSON.stringify(body));
  });
}

interface WatchResult {
  canceled?: boolean;
  cancel_reason?: string;
  compact_revision?: string;
  events?: Array<{ type?: string; kv: RawKeyValue }>;
}

interface WatchConnection {
  endpoint(): URL;
  headers(): Promise<Record<string, string>>;
  /** etcd cancelled the watch because the token expired: the next headers() logs in again. */
  onTokenExpired(): void;
  /** etcd cancelled the watch for good (e.g. permission denied). */
  onRefused(reason: string): void;
}

/**
 * Calls `onEvent` for each change of `key` (or of every key up to `rangeEnd`, base64) from `fromRevision` on;
 * the returned function stops. The gateway
 * streams a watch's events as the answer to one request, one JSON object per line (etcd's HTTP/1.1 gateway
 * answers only once the request is complete, so watches cannot share a request). When the stream breaks, the
 * watch is made again from the revision after its last event, so no change is missed.
 */
function watchKeys(
  connection: WatchConnection,
  key: string,
  rangeEnd: string | undefined,
  fromRevision: bigint,
  onEvent: (event: WatchEvent) => void,
): () => void {
  let nextRevision = fromRevision;
  let stopped = false;
  let request: http.ClientRequest | undefined;
  let reopenDelayMs = RETRY.firstDelayMs;
  const reopen = (): void => {
    setTimeout(() => !stopped && void connection.headers().then(open, reopen), reopenDelayMs);
    reopenDelayMs = Math.min(reopenDelayMs * 2, RETRY.maxDelayMs);
  };

  const open = (headers: Record<string, string>): void => {
    if (stopped) return;
    const { hostname, port } = connection.endpoint();
    const opened = http.request({ host: hostname, port, path: '/v3/watch', method: 'POST', headers, agent: false });
    request = opened;
    let pending = '';
    const broken = (): void => {
      if (stopped || request !== opened) return;
      request = undefined;
      opened.destroy();
      reopen();
    };
    opened.on('response', (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        reopenDelayMs = RETRY.firstDelayMs;
        pending += chunk;
        for (let end = pending.indexOf('\n'); end >= 0 && !stopped; end = pending.indexOf('\n')) {
          const line = pending.slice(0, end).trim();
          pending = pending.slice(end + 1);
          if (line) receive((JSON.parse(line) as { result?: WatchResult }).result);
        }
      });
      response.on('end', broken);
      response.on('error', broken);
    });
    opened.on('error', broken);
    opened.end(JSON.stringify({ create_request: { key: encode(key), ...(rangeEnd ? { range_end: rangeEnd } : {}), start_revision: nextRevision.toString() } }));
  };

  const receive = (result: WatchResult | undefined): void => {
    if (result?.canceled && result.compact_revision) {
      // The revision asked for was compacted away: start again from the oldest one etcd still has.
      nextRevision = BigInt(result.compact_revision);
      request?.destroy();
      return;
    }
    if (result?.canceled) {
      // Broken off, the stream is made again (with a new login when the token expired); refused, the wait fails.
      const reason = result.cancel_reason ?? 'cancelled by etcd';
      if (/invalid auth token/.test(reason)) {
        connection.onTokenExpired();
      } else {
        stopped = true;
        connection.onRefused(reason.replace(/^rpc error: code = \w+ desc = /, ''));
      }
      request?.destroy();
      return;
    }
    for (const event of result?.events ?? []) {
      if (stopped) return;
      const revision = BigInt(event.kv.mod_revision ?? '0');
      nextRevision = revision + 1n;
      onEvent({ type: event.type === 'DELETE' ? 'delete' : 'put', key: decode(event.kv.key), value: decode(event.kv.value), revision });
    }
  };

  void connection.headers().then(open, reopen);
  return () => {
    stopped = true;
    request?.destroy();
  };
}

/** The end of the range that holds exactly the keys starting with `prefix` (base64), as etcd's own clients make it. */
function prefixEnd(prefix: string): string {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1).toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

function encode(text: string): string {
  return Buffer.from(text).toString('base64');
}

function decode(base64: string | undefined): string {
  return base64 === undefined ? '' : Buffer.from(base64, 'base64').toString();
}
