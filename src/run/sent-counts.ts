/**
 * What each node sent each neighbour, gathered in one pass over the nodes' reports, for edges.csv. Reading it
 * edge by edge from the reports instead decoded two whole reports per edge (the simulator's reports are decoded
 * as they are read, src/runtime/sim/packed-reports.ts): measured on a ba:n=10⁵,m=2 GHS, 10.6 of the 78 s the run
 * took. Kept in typed arrays, a node's entries side by side, so a 10⁶-node run's four million directed counts
 * stay outside the JavaScript heap (~80 MB).
 */
import type { NodeReport } from '../coordination/protocol.js';
import { GrowingArray } from '../util/growing-array.js';

export class SentCounts {
  private readonly indexOf = new Map<string, number>();
  /** Per node index: where its entries start in the columns below, and how many there are. */
  private readonly starts: Uint32Array;
  private readonly counts: Uint32Array;
  private readonly neighbours = new GrowingArray(Uint32Array);
  private readonly messages = new GrowingArray(Float64Array);
  private readonly bytes = new GrowingArray(Float64Array);

  /** `nodeIds`: every node an edge may name; a report of a node not among them is left out. */
  constructor(nodeIds: Iterable<string>) {
    for (const id of nodeIds) this.indexOf.set(id, this.indexOf.size);
    this.starts = new Uint32Array(this.indexOf.size);
    this.counts = new Uint32Array(this.indexOf.size);
  }

  add(id: string, sent: NodeReport['sent']): void {
    const node = this.indexOf.get(id);
    if (node === undefined) return;
    this.starts[node] = this.neighbours.length;
    for (const [to, count] of Object.entries(sent)) {
      const neighbour = this.indexOf.get(to);
      if (neighbour === undefined) continue;
      this.neighbours.push(neighbour);
      this.messages.push(count.messages);
      this.bytes.push(count.bytes);
    }
    this.counts[node] = this.neighbours.length - this.starts[node]!;
  }

  /** What `from` sent `to`; undefined when it sent nothing or did not report. */
  get(from: string, to: string): { messages: number; bytes: number } | undefined {
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
}
