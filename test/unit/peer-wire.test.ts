/**
 * The hand-encoded Peer messages are byte for byte what protobufjs makes of proto/peer.proto, both ways, so
 * the .proto stays the contract of the wire.
 */
import path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { decodeEnvelope, decodeLinkSummary, encodeEnvelope, encodeLinkSummary } from '../../src/node/peer-wire.js';
import { packageRoot } from '../../src/util/paths.js';

const reference = protoLoader.loadSync(path.join(packageRoot, 'proto', 'peer.proto'), { keepCase: true, longs: Number, defaults: true });
const link = (reference['peerlab.Peer'] as protoLoader.ServiceDefinition)['Link']!;

describe('peer wire', () => {
  const payloads = ['', '{"a":1}', 'é→✓ unicode', 'x'.repeat(127), 'y'.repeat(128), 'z'.repeat(70_000)];
  it.each(payloads.map((payload) => [payload.length, payload]))('Envelope of %i characters matches protobufjs', (_length, payload) => {
    const ours = encodeEnvelope({ payload });
    expect(ours.equals(link.requestSerialize({ payload }))).toBe(true);
    expect(decodeEnvelope(ours)).toEqual({ payload });
    expect(link.requestDeserialize(ours)).toEqual({ payload, lamport: 0, clock: {}, seq: 0, control: '' });
  });

  it.each([
    ['a Lamport clock', { payload: '{"k":"Test"}', lamport: 7 }],
    ['a vector clock', { payload: '{}', lamport: 300, clock: { '0': 3, '12': 1, '7': 128 }, seq: 2 }],
    ['a migration marker', { payload: '', control: '{"flush":"m1","seq":42}' }],
    ['a large number', { payload: 'x', lamport: 2 ** 40 + 3, clock: { a: Number.MAX_SAFE_INTEGER }, seq: 2 ** 33 }],
  ])('Envelope with %s (a traced run) matches protobufjs', (_name, envelope) => {
    const ours = encodeEnvelope(envelope);
    const theirs = link.requestSerialize(envelope);
    expect(ours.equals(theirs)).toBe(true);
    expect(decodeEnvelope(ours)).toEqual(envelope);
    expect(link.requestDeserialize(ours)).toEqual(Object.assign({ lamport: 0, clock: {}, seq: 0, control: '' }, envelope));
  });

  it('an untraced Envelope has no clock fields on the wire', () => {
    expect(encodeEnvelope({ payload: 'p', lamport: 0, clock: {}, seq: 0 }).equals(encodeEnvelope({ payload: 'p' }))).toBe(true);
  });

  it.each([0, 1, 127, 128, 300, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER])('LinkSummary of %i messages matches protobufjs', (messages) => {
    const ours = encodeLinkSummary({ messages });
    expect(ours.equals(link.responseSerialize({ messages }))).toBe(true);
    expect(decodeLinkSummary(ours)).toEqual({ messages });
    expect(link.responseDeserialize(ours)).toEqual({ messages });
  });

  it('skips fields it does not know, as protobuf readers must', () => {
    // field 5 (varint 5), field 6 (length-delimited "hi"), then field 1 "ok"
    const withExtras = Buffer.from([0x28, 0x05, 0x32, 0x02, 0x68, 0x69, 0x0a, 0x02, 0x6f, 0x6b]);
    expect(decodeEnvelope(withExtras)).toEqual({ payload: 'ok' });
  });

  it('rejects truncated input', () => {
    expect(() => decodeEnvelope(Buffer.from([0x0a, 0x05, 0x61]))).toThrow(/truncated/);
    expect(() => decodeLinkSummary(Buffer.from([0x08, 0x80]))).toThrow(/truncated/);
  });
});
