/**
 * The hand-encoded etcd messages are byte for byte what protobufjs makes of etcd's rpc.proto (the copy the etcd3
 * client ships, as used by the CLI), both ways, so the .proto stays the contract of the node's etcd wire. The
 * integration test etcd-client.test.ts holds the client to a real etcd.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
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
} from '../../src/node/etcd-wire.js';

const protoFile = path.join(path.dirname(createRequire(import.meta.url).resolve('etcd3/package.json')), 'proto', 'rpc.proto');
const reference = protoLoader.loadSync(protoFile, { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
const method = (servicePath: string): protoLoader.MethodDefinition<object, object> => {
  const [, service, name] = /^\/(.+)\/(\w+)$/.exec(servicePath)!;
  return (reference[service!] as protoLoader.ServiceDefinition)[name!]!;
};
const bytes = (text: string): Buffer => Buffer.from(text);
// A lease id as etcd makes them: above 2^53, so a JS number would lose it.
const LEASE = 7587877345623447303n;

describe('etcd wire: requests are what protobufjs makes of rpc.proto', () => {
  const same = (servicePath: string, ours: Buffer, theirs: object): void => {
    expect(ours.toString('hex')).toBe(method(servicePath).requestSerialize(theirs).toString('hex'));
  };

  it('Range of a key, of a prefix, by creation, and a count', () => {
    same(ETCD_METHODS.range, encodeRange({ key: '/peerlab/r/config' }), { key: bytes('/peerlab/r/config') });
    same(ETCD_METHODS.range, encodeRange({ key: '/a/', rangeEnd: bytes('/a0') }), { key: bytes('/a/'), range_end: bytes('/a0') });
    same(ETCD_METHODS.range, encodeRange({ key: '/a/', rangeEnd: bytes('/a0'), byCreation: true }), {
      key: bytes('/a/'),
      range_end: bytes('/a0'),
      sort_order: 'Ascend',
      sort_target: 'Create',
    });
    same(ETCD_METHODS.range, encodeRange({ key: '/a/', rangeEnd: bytes('/a0'), countOnly: true }), { key: bytes('/a/'), range_end: bytes('/a0'), count_only: true });
  });

  it('Put with and without a lease, in unicode, and DeleteRange', () => {
    same(ETCD_METHODS.put, encodePut({ key: '/k', value: '{"é":"✓"}' }), { key: bytes('/k'), value: bytes('{"é":"✓"}') });
    same(ETCD_METHODS.put, encodePut({ key: '/k', value: 'x'.repeat(300), lease: LEASE }), { key: bytes('/k'), value: bytes('x'.repeat(300)), lease: LEASE.toString() });
    same(ETCD_METHODS.put, encodePut({ key: '/k', value: '' }), { key: bytes('/k') });
    same(ETCD_METHODS.deleteRange, encodeDeleteRange('/k'), { key: bytes('/k') });
  });

  it('Txn: reads of several keys, and a compare-and-swap on a value and on absence', () => {
    same(ETCD_METHODS.txn, encodeTxn({ compare: [], success: [{ range: { key: '/a' } }, { range: { key: '/b' } }] }), {
      success: [{ request_range: { key: bytes('/a') } }, { request_range: { key: bytes('/b') } }],
    });
    same(ETCD_METHODS.txn, encodeTxn({ compare: [{ key: '/lock', value: 'old' }], success: [{ put: { key: '/lock', value: 'new' } }] }), {
      compare: [{ target: 'Value', key: bytes('/lock'), value: bytes('old') }],
      success: [{ request_put: { key: bytes('/lock'), value: bytes('new') } }],
    });
    same(ETCD_METHODS.txn, encodeTxn({ compare: [{ key: '/lock', value: undefined }], success: [{ put: { key: '/lock', value: 'mine' } }] }), {
      compare: [{ target: 'Create', key: bytes('/lock'), create_revision: '0' }],
      success: [{ request_put: { key: bytes('/lock'), value: bytes('mine') } }],
    });
  });

  it('LeaseGrant, LeaseRevoke and LeaseKeepAlive, with an id above 2^53', () => {
    same(ETCD_METHODS.leaseGrant, encodeLeaseGrant(20), { TTL: '20' });
    same(ETCD_METHODS.leaseRevoke, encodeLeaseId(LEASE), { ID: LEASE.toString() });
    same(ETCD_METHODS.leaseKeepAlive, encodeLeaseId(LEASE), { ID: LEASE.toString() });
  });

  it('Authenticate', () => {
    same(ETCD_METHODS.authenticate, encodeAuthenticate({ name: 'node', password: 'p@ss' }), { name: 'node', password: 'p@ss' });
  });

  it('Watch: create from a revision under our id, and cancel', () => {
    same(ETCD_METHODS.watch, encodeWatchCreate({ key: '/n/', rangeEnd: bytes('/n0'), startRevision: 123_456_789_012n, watchId: 3n }), {
      create_request: { key: bytes('/n/'), range_end: bytes('/n0'), start_revision: '123456789012', watch_id: '3' },
    });
    same(ETCD_METHODS.watch, encodeWatchCreate({ key: '/k', startRevision: 0n, watchId: 1n }), { create_request: { key: bytes('/k'), watch_id: '1' } });
    same(ETCD_METHODS.watch, encodeWatchCancel(7n), { cancel_request: { watch_id: '7' } });
  });
});

describe('etcd wire: responses protobufjs makes of rpc.proto decode to what they say', () => {
  const serialize = (servicePath: string, message: object): Buffer => method(servicePath).responseSerialize(message);
  const header = { cluster_id: '14841639068965178418', member_id: '10276657743932975437', revision: '4242', raft_term: '5' };
  const kv = (key: string, value: string, create: number, mod: number) => ({ key: bytes(key), value: bytes(value), create_revision: String(create), mod_revision: String(mod), version: '1', lease: LEASE.toString() });

  it('RangeResponse with its key-values and the header revision', () => {
    const decoded = decodeRangeResponse(serialize(ETCD_METHODS.range, { header, kvs: [kv('/a', 'é', 3, 9), kv('/b', '', 4, 4)], count: '2' }));
    expect(decoded).toEqual({
      revision: 4242n,
      kvs: [
        { key: '/a', value: 'é', createRevision: 3n, modRevision: 9n },
        { key: '/b', value: '', createRevision: 4n, modRevision: 4n },
      ],
    });
    expect(decodeRangeResponse(serialize(ETCD_METHODS.range, { header }))).toEqual({ revision: 4242n, kvs: [] });
  });

  it('TxnResponse: succeeded or not, and each range in order', () => {
    const ranges = serialize(ETCD_METHODS.txn, {
      header,
      succeeded: true,
      responses: [{ response_range: { header, kvs: [kv('/a', '1', 2, 2)] } }, { response_range: { header } }],
    });
    expect(decodeTxnResponse(ranges)).toEqual({ revision: 4242n, succeeded: true, ranges: [[{ key: '/a', value: '1', createRevision: 2n, modRevision: 2n }], []] });
    expect(decodeTxnResponse(serialize(ETCD_METHODS.txn, { header }))).toEqual({ revision: 4242n, succeeded: false, ranges: [] });
    expect(decodeTxnResponse(serialize(ETCD_METHODS.txn, { header, succeeded: true, responses: [{ response_put: { header } }] })).ranges).toEqual([undefined]);
  });

  it('Put and Delete responses give the revision', () => {
    expect(decodeRevision(serialize(ETCD_METHODS.put, { header }))).toBe(4242n);
    expect(decodeRevision(serialize(ETCD_METHODS.deleteRange, { header, deleted: '1' }))).toBe(4242n);
  });

  it('lease grant and keep-alive answers: the id above 2^53, the TTL, an error', () => {
    expect(decodeLease(serialize(ETCD_METHODS.leaseGrant, { header, ID: LEASE.toString(), TTL: '20' }))).toEqual({ id: LEASE, ttl: 20, error: '' });
    expect(decodeLease(serialize(ETCD_METHODS.leaseGrant, { header, error: 'too many leases' }))).toEqual({ id: 0n, ttl: 0, error: 'too many leases' });
    expect(decodeLease(serialize(ETCD_METHODS.leaseKeepAlive, { header, ID: LEASE.toString(), TTL: '13' }))).toEqual({ id: LEASE, ttl: 13, error: '' });
    // An expired lease: etcd answers TTL 0 (off the wire).
    expect(decodeLease(serialize(ETCD_METHODS.leaseKeepAlive, { header, ID: LEASE.toString() })).ttl).toBe(0);
  });

  it('AuthenticateResponse gives the token', () => {
    expect(decodeAuthenticate(serialize(ETCD_METHODS.authenticate, { header, token: 'abc.123' }))).toBe('abc.123');
  });

  it('WatchResponse: created, events of both types, a cancellation with its reason, a compaction, and watch id -1', () => {
    expect(decodeWatchResponse(serialize(ETCD_METHODS.watch, { header, watch_id: '3', created: true }))).toEqual({
      watchId: 3n,
      created: true,
      canceled: false,
      compactRevision: 0n,
      cancelReason: '',
      events: [],
    });
    const events = decodeWatchResponse(serialize(ETCD_METHODS.watch, { header, watch_id: '3', events: [{ type: 'Put', kv: kv('/n/1', 'addr', 5, 8) }, { type: 'Delete', kv: { key: bytes('/n/2'), mod_revision: '9' } }] }));
    expect(events.events).toEqual([
      { type: 'put', kv: { key: '/n/1', value: 'addr', createRevision: 5n, modRevision: 8n } },
      { type: 'delete', kv: { key: '/n/2', value: '', createRevision: 0n, modRevision: 9n } },
    ]);
    expect(decodeWatchResponse(serialize(ETCD_METHODS.watch, { header, watch_id: '4', canceled: true, cancel_reason: 'etcdserver: permission denied' }))).toMatchObject({
      watchId: 4n,
      canceled: true,
      cancelReason: 'etcdserver: permission denied',
    });
    expect(decodeWatchResponse(serialize(ETCD_METHODS.watch, { header, watch_id: '5', canceled: true, compact_revision: '77' })).compactRevision).toBe(77n);
    expect(decodeWatchResponse(serialize(ETCD_METHODS.watch, { header, watch_id: '-1', created: true, canceled: true })).watchId).toBe(-1n);
  });
});
