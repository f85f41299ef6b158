/**
 * The few pieces of the protobuf wire format that the node's hand-encoded messages need (peer-wire.ts for the
 * links, etcd-wire.ts for etcd). Hand-written rather than protobufjs: loading a .proto at run time costs every
 * node about 1.4 MiB (see peer-wire.ts), and each message here has a contract test against protobufjs itself.
 */

export const VARINT = 0;
export const LENGTH_DELIMITED = 2;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export const tag = (field: number, wireType: number): number => (field << 3) | wireType;

/**
 * Base-128, least significant group first. A number is exact up to 2^53 (message counts, TTLs); a bigint covers
 * int64 and uint64 (lease ids, revisions), a negative one in two's complement as protobuf's int64 is.
 */
export function varint(value: number | bigint): number[] {
  const bytes: number[] = [];
  if (typeof value === 'bigint') {
    for (let rest = BigInt.asUintN(64, value); ; rest >>= 7n) {
      if (rest < 128n) return [...bytes, Number(rest)];
      bytes.push(Number(rest & 0x7fn) | 0x80);
    }
  }
  for (let rest = value; ; rest = Math.floor(rest / 128)) {
    if (rest < 128) return [...bytes, rest];
    bytes.push((rest % 128) | 0x80);
  }
}

export function varintField(field: number, value: number | bigint): Buffer {
  return Buffer.from([tag(field, VARINT), ...varint(value)]);
}

export function lengthDelimited(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag(field, LENGTH_DELIMITED), ...varint(bytes.length)]), bytes]);
}

/**
 * Calls `onField` with each field's number and value: the bytes of a length-delimited field, and a varint as a
 * number while it fits in 53 bits, as a bigint (its unsigned 64-bit value) beyond.
 */
export function readFields(buffer: Buffer, onField: (field: number, value: number | bigint | Buffer) => void): void {
  let offset = 0;
  const readVarint = (): number | bigint => {
    let value = 0;
    let big: bigint | undefined;
    for (let shift = 0; ; shift += 7) {
      if (offset >= buffer.length) throw new Error('protobuf: truncated varint');
      const byte = buffer[offset++]!;
      if (shift < 49) value += (byte & 0x7f) * 2 ** shift;
      else big = (big ?? BigInt(value)) + (BigInt(byte & 0x7f) << BigInt(shift));
      if (byte < 0x80) return big === undefined ? value : big <= MAX_SAFE ? Number(big) : BigInt.asUintN(64, big);
    }
  };
  while (offset < buffer.length) {
    const key = readVarint() as number;
    const field = Math.floor(key / 8);
    switch (key % 8) {
      case VARINT:
        onField(field, readVarint());
        break;
      case 1:
        offset += 8;
        break;
      case LENGTH_DELIMITED: {
        const length = readVarint() as number;
        if (offset + length > buffer.length) throw new Error('protobuf: truncated field');
        onField(field, buffer.subarray(offset, (offset += length)));
        break;
      }
      case 5:
        offset += 4;
        break;
      default:
        throw new Error(`protobuf: unknown wire type ${key % 8}`);
    }
  }
}
