/**
 * The etcd v3 gRPC messages a node uses (etcd's rpc.proto and kv.proto, package etcdserverpb), encoded by hand
 * as peer-wire.ts encodes the links' messages: the etcd3 client with its protos costs a node about 4 MiB, and a
 * node needs only a dozen messages, and of those only the fields it sets or reads. The unit test
 * etcd-wire.test.ts holds these bytes to what protobufjs makes of etcd3's own copy of rpc.proto, so that file
 * stays the contract.
 */
import { lengthDelimited, readFields, varintField } from './protobuf.js';

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  readonly createRevision: bigint;
  readonly modRevision: bigint;
}

export interface RangeRequest {
  readonly key: string;
  /** The end of the range (exclusive), as raw bytes; absent: the one key. */
  readonly rangeEnd?: Buffer;
  /** Ascending by create revision, as etcd's SortTarget CREATE; absent: by key. */
  readonly byCreation?: boolean;
  readonly countOnly?: boolean;
}

export type RequestOp = { readonly range: RangeRequest } | { readonly put: PutRequest };

export interface PutRequest {
  readonly key: string;
  readonly value: string;
  /** The lease's id; absent or 0n: none. */
  readonly lease?: bigint;
}

/** Compare's one use here: `key` has the value `value`, or, when `value` is undefined, does not exist. */
export interface Compare {
  readonly key: string;
  readonly value: string | undefined;
}

export interface WatchCreateRequest {
  readonly key: string;
  readonly rangeEnd?: Buffer;
  readonly startRevision: bigint;
  readonly watchId: bigint;
}

export interface WatchResponse {
  readonly watchId: bigint;
  readonly created: boolean;
  readonly canceled: boolean;
  readonly compactRevision: bigint;
  readonly cancelReason: string;
  readonly events: Array<{ readonly type: 'put' | 'delete'; readonly kv: KeyValue }>;
}

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const int64 = (value: number | bigint | Buffer): bigint => (Buffer.isBuffer(value) ? 0n : BigInt.asIntN(64, BigInt(value)));
const concat = (parts: Array<Buffer | undefined>): Buffer => Buffer.concat(parts.filter((part): part is Buffer => part !== undefined && part.length > 0));

// Requests. proto3 leaves a field at its default off the wire, and so do these.

export function encodeRange({ key, rangeEnd, byCreation, countOnly }: RangeRequest): Buffer {
  return concat([
    lengthDelimited(1, bytes(key)),
    rangeEnd && lengthDelimited(2, rangeEnd),
    byCreation ? varintField(5, 1) : undefined, // sort_order ASCEND
    byCreation ? varintField(6, 2) : undefined, // sort_target CREATE
    countOnly ? varintField(9, 1) : undefined,
  ]);
}

export function encodePut({ key, value, lease }: PutRequest): Buffer {
  return concat([lengthDelimited(1, bytes(key)), value ? lengthDelimited(2, bytes(value)) : undefined, lease ? varintField(3, lease) : undefined]);
}

export function encodeDeleteRange(key: string): Buffer {
  return lengthDelimited(1, bytes(key));
}

export function encodeTxn({ compare, success }: { compare: readonly Compare[]; success: readonly RequestOp[] }): Buffer {
  return concat([
    ...compare.map(({ key, value }) =>
      lengthDelimited(
        1,
        value === undefined
          ? // result EQUAL (0, off the wire), target CREATE, create_revision 0: set in its oneof, so on the wire
            concat([varintField(2, 1), lengthDelimited(3, bytes(key)), varintField(5, 0)])
          : concat([varintField(2, 3), lengthDelimited(3, bytes(key)), lengthDelimited(7, bytes(value))]), // target VALUE
      ),
    ),
    ...success.map((op) => lengthDelimited(2, 'range' in op ? lengthDelimited(1, encodeRange(op.range)) : lengthDelimited(2, encodePut(op.put)))),
  ]);
}

export function encodeLeaseGrant(ttlSeconds: number): Buffer {
  return varintField(1, ttlSeconds);
}

/** LeaseRevokeRequest and LeaseKeepAliveRequest alike: the lease's id as field 1. */
export function encodeLeaseId(id: bigint): Buffer {
  return varintField(1, id);
}

export function encodeAuthenticate({ name, password }: { name: string; password: string }): Buffer {
  return concat([lengthDelimited(1, bytes(name)), lengthDelimited(2, bytes(password))]);
}

export function encodeWatchCreate({ key, rangeEnd, startRevision, watchId }: WatchCreateRequest): Buffer {
  return lengthDelimited(
    1,
    concat([lengthDelimited(1, bytes(key)), rangeEnd && lengthDelimited(2, rangeEnd), startRevision ? varintField(3, startRevision) : undefined, varintField(7, watchId)]),
  );
}

export function encodeWatchCancel(watchId: bigint): Buffer {
  return lengthDelimited(2, varintField(1, watchId));
}

// Responses.

/** The revision in a ResponseHeader (field 1 of every response). */
function headerRevision(header: Buffer): bigint {
  let revision = 0n;
  readFields(header, (field, value) => {
    if (field === 3) revision = int64(value);
  });
  return revision;
}

function decodeKeyValue(buffer: Buffer): KeyValue {
  let key = '';
  let value = '';
  let createRevision = 0n;
  let modRevision = 0n;
  readFields(buffer, (field, read) => {
    if (field === 1 && Buffer.isBuffer(read)) key = read.toString('utf8');
    else if (field === 5 && Buffer.isBuffer(read)) value = read.toString('utf8');
    else if (field === 2) createRevision = int64(read);
    else if (field === 3) modRevision = int64(read);
  });
  return { key, value, createRevision, modRevision };
}

export function decodeRangeResponse(buffer: Buffer): { revision: bigint; kvs: KeyValue[] } {
  let revision = 0n;
  const kvs: KeyValue[] = [];
  readFields(buffer, (field, value) => {
    if (field === 1 && Buffer.isBuffer(value)) revision = headerRevision(value);
    else if (field === 2 && Buffer.isBuffer(value)) kvs.push(decodeKeyValue(value));
  });
  return { revision, kvs };
}

/** PutResponse, DeleteRangeResponse, LeaseRevokeResponse: only the header's revision is of use. */
export function decodeRevision(buffer: Buffer): bigint {
  let revision = 0n;
  readFields(buffer, (field, value) => {
    if (field === 1 && Buffer.isBuffer(value)) revision = headerRevision(value);
  });
  return revision;
}

/** TxnResponse: whether the comparisons held, and each Range's answer in the order asked (undefined for a Put). */
export function decodeTxnResponse(buffer: Buffer): { revision: bigint; succeeded: boolean; ranges: Array<KeyValue[] | undefined> } {
  let revision = 0n;
  let succeeded = false;
  const ranges: Array<KeyValue[] | undefined> = [];
  readFields(buffer, (field, value) => {
    if (field === 1 && Buffer.isBuffer(value)) revision = headerRevision(value);
    else if (field === 2) succeeded = value === 1;
    else if (field === 3 && Buffer.isBuffer(value)) {
      let range: KeyValue[] | undefined;
      readFields(value, (opField, op) => {
        if (opField === 1 && Buffer.isBuffer(op)) range = decodeRangeResponse(op).kvs;
      });
      ranges.push(range);
    }
  });
  return { revision, succeeded, ranges };
}

/** LeaseGrantResponse and LeaseKeepAliveResponse alike: the lease's id (field 2) and TTL (field 3); a grant's error (field 4). */
export function decodeLease(buffer: Buffer): { id: bigint; ttl: number; error: string } {
  let id = 0n;
  let ttl = 0;
  let error = '';
  readFields(buffer, (field, value) => {
    if (field === 2) id = int64(value);
    else if (field === 3) ttl = Number(int64(value));
    else if (field === 4 && Buffer.isBuffer(value)) error = value.toString('utf8');
  });
  return { id, ttl, error };
}

export function decodeAuthenticate(buffer: Buffer): string {
  let token = '';
  readFields(buffer, (field, value) => {
    if (field === 2 && Buffer.isBuffer(value)) token = value.toString('utf8');
  });
  return token;
}

export function decodeWatchResponse(buffer: Buffer): WatchResponse {
  let watchId = 0n;
  let created = false;
  let canceled = false;
  let compactRevision = 0n;
  let cancelReason = '';
  const events: Array<{ type: 'put' | 'delete'; kv: KeyValue }> = [];
  readFields(buffer, (field, value) => {
    if (field === 2) watchId = int64(value);
    else if (field === 3) created = value === 1;
    else if (field === 4) canceled = value === 1;
    else if (field === 5) compactRevision = int64(value);
    else if (field === 6 && Buffer.isBuffer(value)) cancelReason = value.toString('utf8');
    else if (field === 11 && Buffer.isBuffer(value)) {
      let type: 'put' | 'delete' = 'put';
      let kv: KeyValue | undefined;
      readFields(value, (eventField, eventValue) => {
        if (eventField === 1) type = eventValue === 1 ? 'delete' : 'put';
        else if (eventField === 2 && Buffer.isBuffer(eventValue)) kv = decodeKeyValue(eventValue);
      });
      if (kv) events.push({ type, kv });
    }
  });
  return { watchId, created, canceled, compactRevision, cancelReason, events };
}

/** The methods the node calls, by their gRPC paths. */
export const ETCD_METHODS = {
  range: '/etcdserverpb.KV/Range',
  put: '/etcdserverpb.KV/Put',
  deleteRange: '/etcdserverpb.KV/DeleteRange',
  txn: '/etcdserverpb.KV/Txn',
  leaseGrant: '/etcdserverpb.Lease/LeaseGrant',
  leaseRevoke: '/etcdserverpb.Lease/LeaseRevoke',
  leaseKeepAlive: '/etcdserverpb.Lease/LeaseKeepAlive',
  watch: '/etcdserverpb.Watch/Watch',
  authenticate: '/etcdserverpb.Auth/Authenticate',
} as const;
