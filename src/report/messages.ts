import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Json } from '../sdk/types.js';

/**
 * Messages of a traced run, read from events.ndjson, with their causal link (a send and its delivery share an
 * id) and Lamport times. Docker traces carry the Lamport and vector clocks the nodes stamped on each message;
 * simulator traces do not, so their clocks are computed here from the trace's order, which is the causal order
 * (one global virtual clock; a delivery always follows its send).
 */
export interface TracedMessage {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly payload: Json;
  readonly sentAt: number;
  readonly sendLamport: number;
  readonly sendClock: Readonly<Record<string, number>>;
  /** Absent when the message was dropped or still in flight at the end. */
  readonly delivery?: { readonly at: number; readonly lamport: number; readonly clock: Readonly<Record<string, number>> };
  readonly dropped?: string;
}

/** What events.ndjson holds about messages, from either runtime (other event types are skipped). */
type MessageEvent =
  | { type: 'send'; id: number | string; from: string; to: string; time: number; payload?: Json; lamport?: number; clock?: Record<string, number> }
  | { type: 'deliver'; id: number | string; from: string; to: string; time: number; lamport?: number; clock?: Record<string, number> }
  | { type: 'drop'; id: number | string; from: string; to: string; time: number; reason?: string };

/** Larger traces are summarised from their counts, not read whole into a diagram. */
export const MAX_TRACE_BYTES = 256 * 1024 * 1024;

export async function readTracedMessages(file: string): Promise<TracedMessage[]> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  const clocks = new Map<string, Record<string, number>>();
  const lamports = new Map<string, number>();
  const messages = new Map<string, TracedMessage>();
  for await (const line of lines) {
    if (!line.includes('"type":"send"') && !line.includes('"type":"deliver"') && !line.includes('"type":"drop"')) continue;
    const event = JSON.parse(line) as MessageEvent;
    const id = String(event.id);
    if (event.type === 'send') {
      const clock = event.clock ?? tick(clocks, event.from);
      const lamport = event.lamport ?? bumpLamport(lamports, event.from, 0);
      messages.set(id, {
        id,
        from: event.from,
        to: event.to,
        type: messageType(event.payload ?? null),
        payload: event.payload ?? null,
        sentAt: event.time,
        sendLamport: lamport,
        sendClock: { ...clock },
      });
    } else {
      const sent = messages.get(id);
      if (!sent) continue;
      if (event.type === 'drop') {
        messages.set(id, { ...sent, dropped: event.reason ?? 'dropped' });
        continue;
      }
      const clock = event.clock ?? receive(clocks, event.to, sent.sendClock);
      const lamport = event.lamport ?? bumpLamport(lamports, event.to, sent.sendLamport);
      messages.set(id, { ...sent, delivery: { at: event.time, lamport, clock: { ...clock } } });
    }
  }
  return [...messages.values()];
}

export async function traceTooLarge(file: string): Promise<boolean> {
  return (await stat(file)).size > MAX_TRACE_BYTES;
}

function tick(clocks: Map<string, Record<string, number>>, node: string): Record<string, number> {
  const clock = clocks.get(node) ?? {};
  clock[node] = (clock[node] ?? 0) + 1;
  clocks.set(node, clock);
  return clock;
}

function receive(clocks: Map<string, Record<string, number>>, node: string, carried: Readonly<Record<string, number>>): Record<string, number> {
  const clock = clocks.get(node) ?? {};
  for (const [other, value] of Object.entries(carried)) clock[other] = Math.max(clock[other] ?? 0, value);
  clocks.set(node, clock);
  return tick(clocks, node);
}

function bumpLamport(lamports: Map<string, number>, node: string, carried: number): number {
  const next = Math.max(lamports.get(node) ?? 0, carried) + 1;
  lamports.set(node, next);
  return next;
}

/** A message's type for filtering: its `type` (or `kind`, `k`, `op`) field, else its first key, else what kind of JSON it is. */
export function messageType(payload: Json): string {
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
    for (const field of ['type', 'kind', 'k', 'op']) if (typeof payload[field] === 'string') return payload[field] as string;
    const first = Object.keys(payload)[0];
    return first ?? 'object';
  }
  return Array.isArray(payload) ? 'array' : typeof payload === 'string' ? payload.slice(0, 24) : typeof payload;
}
