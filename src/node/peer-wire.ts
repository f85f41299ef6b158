/**
 * The Peer service of proto/peer.proto with its two messages encoded by hand. The messages are small, and
 * loading the .proto at run time (protobufjs reflection) costs every node about 1.4 MiB; the unit test
 * peer-wire.test.ts holds these bytes to what protobufjs makes of the .proto itself, so the file stays the
 * contract.
 */
import type * as grpc from '@grpc/grpc-js';
import { lengthDelimited, readFields, tag, VARINT, varint } from './protobuf.js';

export interface Envelope {
  /** The algorithm's payload, as JSON. */
  readonly payload: string;
  /** Traced runs only (see proto/peer.proto): the sender's Lamport clock, vector clock and number for the message. */
  readonly lamport?: number;
  readonly clock?: Readonly<Record<string, number>>;
  readonly seq?: number;
  /** Migration markers only (src/node/migration.ts): JSON naming the migration; such an envelope carries no algorithm message. */
  readonly control?: string;
}

export interface LinkSummary {
  readonly messages: number;
}

export function encodeEnvelope({ payload, lamport, clock, seq, control }: Envelope): Buffer {
  const parts = [lengthDelimited(1, Buffer.from(payload, 'utf8'))];
  if (lamport) parts.push(Buffer.from([tag(2, VARINT), ...varint(lamport)]));
  // A map field is a repeated entry message { string key = 1; uint64 value = 2; }, in the map's own order.
  for (const [node, count] of Object.entries(clock ?? {})) {
    const entry = Buffer.concat([lengthDelimited(1, Buffer.from(node, 'utf8')), Buffer.from([tag(2, VARINT), ...varint(count)])]);
    parts.push(lengthDelimited(3, entry));
  }
  if (seq) parts.push(Buffer.from([tag(4, VARINT), ...varint(seq)]));
  if (control) parts.push(lengthDelimited(5, Buffer.from(control, 'utf8')));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

export function decodeEnvelope(buffer: Buffer): Envelope {
  let payload = '';
  let lamport: number | undefined;
  let seq: number | undefined;
  let clock: Record<string, number> | undefined;
  let control: string | undefined;
  readFields(buffer, (field, value) => {
    if (field === 1 && Buffer.isBuffer(value)) payload = value.toString('utf8');
    else if (field === 2 && typeof value === 'number') lamport = value;
    else if (field === 4 && typeof value === 'number') seq = value;
    else if (field === 5 && Buffer.isBuffer(value)) control = value.toString('utf8');
    else if (field === 3 && Buffer.isBuffer(value)) {
      let node = '';
      let count = 0;
      readFields(value, (entryField, entryValue) => {
        if (entryField === 1 && Buffer.isBuffer(entryValue)) node = entryValue.toString('utf8');
        else if (entryField === 2 && typeof entryValue === 'number') count = entryValue;
      });
      (clock ??= {})[node] = count;
    }
  });
  return { payload, ...(lamport === undefined ? {} : { lamport }), ...(clock === undefined ? {} : { clock }), ...(seq === undefined ? {} : { seq }), ...(control === undefined ? {} : { control }) };
}

export function encodeLinkSummary({ messages }: LinkSummary): Buffer {
  return Buffer.from([tag(1, VARINT), ...varint(messages)]);
}

export function decodeLinkSummary(buffer: Buffer): LinkSummary {
  let messages = 0;
  readFields(buffer, (field, value) => {
    if (field === 1 && typeof value === 'number') messages = value;
  });
  return { messages };
}

/** `service Peer { rpc Link(stream Envelope) returns (LinkSummary); }` */
export const peerService = {
  Link: {
    path: '/peerlab.Peer/Link',
    requestStream: true,
    responseStream: false,
    requestSerialize: encodeEnvelope,
    requestDeserialize: decodeEnvelope,
    responseSerialize: encodeLinkSummary,
    responseDeserialize: decodeLinkSummary,
    originalName: 'link',
  },
} satisfies grpc.ServiceDefinition;
