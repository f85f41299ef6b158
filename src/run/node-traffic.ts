/**
 * What each node sent each neighbour, its totals sent and received, and the run's, gathered in one pass over the
 * nodes' reports, for the run's metrics, edges.csv and nodes.csv. Reading it edge by edge from the reports instead
 * decoded two whole reports per edge (the simulator's reports are decoded as they are read,
 * src/runtime/sim/packed-reports.ts): measured on a ba:n=10⁵,m=2 GHS, 10.6 of the 78 s the run took. Reading each
 * report's counts again for the run's totals and for each nodes.csv row cost a 10⁶-node flood 7 s and 6 s more: a
 * node id key per count, turned into a string and looked up. Kept in typed arrays, a node's entries side by side,
 * so a 10⁶-node run's four million directed counts stay outside the JavaScript heap (~80 MB).
 */
import type { EdgeCount, NodeReport } from '../coordination/protocol.js';
import { GrowingArray } from '../util/growing-array.js';

/** A node's messages and bytes over all its edges. */
export interface TrafficTotals {
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly messagesReceived: number;
}

export class NodeTraffic {
  private readonly indexOf = new Map<string, number>();
  /** Per node index: where its entries start in the columns below, and how many there are. */
  private readonly starts: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly neighbours = new GrowingArray(Uint32Array);
  private readonly messages = new GrowingArray(Float64Array);
  private readonly bytes = new GrowingArray(Float64Array);
  /** Per node index: its totals (every edge its report names, in the graph or not); NaN until it reports. */
  private readonly messagesSent: Float64Array;
  private readonly bytesSent: Float64Array;
  private readonly messagesReceived: Float64Array;
  /** What every report added says was sent, its node in the graph or not. */
  private messagesTotal = 0;
  private bytesTotal = 0;

  /** `nodeIds`: every node an edge may name; a report of a node not among them counts only in sentInAll. */
  constructor(nodeIds: Iterable<string>) {
    for (const id of nodeIds) this.indexOf.set(id, this.indexOf.size);
    this.starts = new Uint32Array(this.indexOf.size);
    this.counts = new Uint32Array(this.indexOf.size);
    this.messagesSent = new Float64Array(this.indexOf.size).fill(Number.NaN);
    this.bytesSent = new Float64Array(this.indexOf.size);
    this.messagesReceived = new Float64Array(this.indexOf.size);
  }

  add(id: string, { sent, received }: Pick<NodeReport, 'sent' | 'received'>): void {
    const node = this.indexOf.get(id);
    if (node !== undefined) this.starts[node] = this.neighbours.length;
    let messagesSent = 0;
    let bytesSent = 0;
    for (const to in sent) {
      const count: EdgeCount = sent[to]!;
      messagesSent += count.messages;
      bytesSent += count.bytes;
      const neighbour = node === undefined ? undefined : this.indexOf.get(to);
      if (neighbour === undefined) continue;
      this.neighbours.push(neighbour);
      this.messages.push(count.messages);
      this.bytes.push(count.bytes);
    }
    this.messagesTotal += messagesSent;
    this.bytesTotal += bytesSent;
    if (node === undefined) return;
    this.counts[node] = this.neighbours.length - this.starts[node]!;
    let messagesReceived = 0;
    for (const from in received) messagesReceived += received[from]!.messages;
    this.messagesSent[node] = messagesSent;
    this.bytesSent[node] = bytesSent;
    this.messagesReceived[node] = messagesReceived;
  }

  /** What `from` sent `to`; undefined when it sent nothing or did not report. */
  get(from: string, to: string): EdgeCount | undefined {
    const node = this.indexOf.get(from);
    const neighbour = this.indexOf.get(to);
    if (node === undefined || neighbour === undefined) return undefined;
    // A scan of the sender's neighbours: a degree's worth, and a hub's few thousand only for its own edges.
    const end = this.starts[node]! + this.counts[node]!;
    for (let entry = this.starts[node]!; entry < end; entry++) {
      if (this.neighbours.at(entry) === neighbour) return { messages: this.messages.at(entry), bytes: this.bytes.at(entry) };
    }
    return undefined;
  }

  /** What `id` sent and received in all; undefined when it did not report. */
  totals(id: string): TrafficTotals | undefined {
    const node = this.indexOf.get(id);
    if (node === undefined || Number.isNaN(this.messagesSent[node]!)) return undefined;
    return { messagesSent: this.messagesSent[node]!, bytesSent: this.bytesSent[node]!, messagesReceived: this.messagesReceived[node]! };
  }

  /** What every report added says was sent, its node among `nodeIds` or not. */
  sentInAll(): EdgeCount {
    return { messages: this.messagesTotal, bytes: this.bytesTotal };
  }
}
