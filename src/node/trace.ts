import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Envelope } from './peer-wire.js';

/**
 * A node's side of `peerlab run --trace` in containers: it stamps every message it sends with its Lamport clock,
 * its vector clock and a number of its own, merges the clocks a message carries when it arrives, and writes each
 * send and delivery, with the node's local time, to <dir>/<node>.ndjson; the CLI merges the files into
 * events.ndjson after the run (see src/run/trace-files.ts). The lines have the shape of the simulator's trace
 * events, plus the clocks, so one reader serves both runtimes.
 */
export class MessageTracer {
  private lamport = 0;
  private readonly clock: Record<string, number> = {};
  private seq = 0;
  private readonly out: WriteStream;

  constructor(
    private readonly nodeId: string,
    dir: string,
    /** The node's run clock: ms since the controller said start. */
    private readonly now: () => number,
    /** A trace that cannot be written fails the node: a partial trace would draw a wrong diagram. */
    onError: (error: Error) => void,
  ) {
    this.out = createWriteStream(path.join(dir, `${nodeId}.ndjson`));
    this.out.on('error', onError);
  }

  /** The envelope of a message about to be sent, stamped; the send is traced. */
  send(to: string, payload: string): Envelope {
    this.tick();
    this.seq += 1;
    const clock = { ...this.clock };
    const event = { type: 'send', id: `${this.nodeId}:${this.seq}`, from: this.nodeId, to, time: this.now(), wall: Date.now(), lamport: this.lamport, clock };
    // The payload is JSON already: spliced in rather than parsed and printed again.
    this.out.write(`${JSON.stringify(event).slice(0, -1)},"payload":${payload}}\n`);
    return { payload, lamport: this.lamport, clock, seq: this.seq };
  }

  /** Merges the clocks an arriving message carries, and traces its delivery. */
  deliver(from: string, envelope: Envelope): void {
    this.lamport = Math.max(this.lamport, envelope.lamport ?? 0);
    for (const [node, count] of Object.entries(envelope.clock ?? {})) this.clock[node] = Math.max(this.clock[node] ?? 0, count);
    this.tick();
    const event = { type: 'deliver', id: `${from}:${envelope.seq ?? 0}`, from, to: this.nodeId, time: this.now(), wall: Date.now(), lamport: this.lamport, clock: { ...this.clock } };
    this.out.write(`${JSON.stringify(event)}\n`);
  }

  /** Flushes the file: called before the node's final report, so the CLI finds it whole once every report is in. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => this.out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }

  private tick(): void {
    this.lamport += 1;
    this.clock[this.nodeId] = (this.clock[this.nodeId] ?? 0) + 1;
  }
}
