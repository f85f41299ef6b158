/**
 * The Peer service of proto/peer.proto with its two messages encoded by hand. Each message has one field, and
 * loading the .proto at run time (protobufjs reflection) costs every node about 1.4 MiB; the unit test
 * peer-wire.test.ts holds these bytes to what protobufjs makes of the .proto itself, so the file stays the
 * contract.
 */
import type * as grpc from '@grpc/grpc-js';

export interface Envelope {
  /** The algorithm's payload, as JSON. */
  readonly payload: string;
}

export interface LinkSummary {
  readonly messages: number;
}

const LENGTH_DELIMITED = 2;
const VARINT = 0;
const tag = (field: number, wireType: number): number => (field << 3) | wireType;

export function encodeEnvelope({ payload }: Envelope): Buffer {
  const bytes = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from([tag(1, LENGTH_DELIMITED), ...varint(bytes.length)]), bytes]);
}

export function decodeEnvelope(buffer: Buffer): Envelope {
  let payload = '';
  readFields(buffer, (field, value) => {
    if (field === 1 && Buffer.isBuffer(value)) payload = value.toString('utf8');
  });
  return { payload };
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

/** Base-128, least significant group first; exact up to 2^53 (JS numbers), which a message count never passes. */
function varint(value: number): number[] {
  const bytes: number[] = [];
  for (let rest = value; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) return [...bytes, rest];
    bytes.push((rest % 128) | 0x80);
  }
}

/** Calls `onField` with each field's number and value (a number for varints, the bytes for length-delimited). */
function readFields(buffer: Buffer, onField: (field: number, value: number | Buffer) => void): void {
  let offset = 0;
  const readVarint = (): number => {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (offset >= buffer.length) throw new Error('peer wire: truncated varint');
      const byte = buffer[offset++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
    }
  };
  while (offset < buffer.length) {
    const key = readVarint();
    const field = Math.floor(key / 8);
    switch (key % 8) {
      case 0:
        onField(field, readVarint());
        break;
      case 1:
        offset += 8;
        break;
      case 2: {
        const length = readVarint();
        if (offset + length > buffer.length) throw new Error('peer wire: truncated field');
        onField(field, buffer.subarray(offset, (offset += length)));
        break;
      }
      case 5:
        offset += 4;
        break;
      default:
        throw new Error(`peer wire: unknown wire type ${key % 8}`);
    }
  }
}
