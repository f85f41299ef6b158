/**
 * The nodes' final reports packed into a few typed arrays, for the trip from the simulation thread to the main
 * thread. As a Map of objects, a run's reports are tens of millions of small objects at 10⁶ nodes (per node: its
 * metrics, an EdgeCount per neighbour and direction, up to MAX_BUCKETS timeline buckets with their metrics), and
 * the main thread, on V8's default heap limit of about 4 GiB, ran out of heap once a ba:n=10⁶,m=2 flood's
 * outcome had arrived (issue 15). Serialised, they were 574 bytes per node of a ba:n=10⁵,m=2 flood and 1,457 of
 * a GHS; packed, 257 and 931 bytes per node cross in ArrayBuffers, transferred (not copied) and outside the
 * JavaScript heap, and PackedReports decodes one node's report when it is asked for, so the main thread never
 * holds them all as objects.
 *
 * Each node's record is read in the order it was written, from two streams: `codes` (counts, flags and indexes
 * into `names`, which holds every node id and metric name once) and `values` (every number a report holds,
 * as a float64, so each comes back exactly). Keys come back in the order they were written, so a decoded report
 * is the report that was packed, key order included.
 */
import type { EdgeCount, NodeReport } from '../../coordination/protocol.js';
import type { TimelineBucket, TimelineJson } from '../../host/timeline.js';
import { GrowingArray } from '../../util/growing-array.js';

/** What a simulated node reports as its start-up: no process starts, no registration round trip. */
export const SIMULATED_STARTUP: NodeReport['startup'] = { registeredMs: 0, connectedMs: 0, startLagMs: 0 };

/** Plain data and typed arrays only, so it crosses threads by structured clone; `transferables` need no copy. */
export interface ReportsPack {
  /** Node ids and metric names, each once; `codes` refer to them by index. */
  readonly names: readonly string[];
  /** Per reporting node, in the reports' order: its id's index in `names`. */
  readonly nodes: Uint32Array;
  /** Per reporting node, where its record starts in `codes` and in `values`. */
  readonly codeStarts: Uint32Array;
  readonly valueStarts: Uint32Array;
  readonly codes: Uint32Array;
  readonly values: Float64Array;
}

export function transferables(pack: ReportsPack): ArrayBuffer[] {
  return [pack.nodes, pack.codeStarts, pack.valueStarts, pack.codes, pack.values].map((array) => array.buffer as ArrayBuffer);
}

/** Packs every report; the reports must be as the simulator makes them (startup SIMULATED_STARTUP). */
export function packReports(reports: ReadonlyMap<string, NodeReport>): ReportsPack {
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const name = (text: string): number => {
    let index = nameIndex.get(text);
    if (index === undefined) nameIndex.set(text, (index = names.push(text) - 1));
    return index;
  };
  const nodes = new Uint32Array(reports.size);
  const codeStarts = new Uint32Array(reports.size);
  const valueStarts = new Uint32Array(reports.size);
  const codes = new GrowingArray(Uint32Array);
  const values = new GrowingArray(Float64Array);
  // A record's keys are walked with for…in, in the order Object.entries gives (the reports are plain objects):
  // an [key, value] array per entry was tens of millions of short-lived objects at 10⁶ nodes, and their garbage
  // collection most of the pack's time. Its count goes first, so its slot is filled in once the entries are written.
  const writeEntries = <T>(record: Readonly<Record<string, T>> | undefined, writeValue: (value: T) => void): void => {
    const countAt = codes.length;
    codes.push(0);
    let count = 0;
    for (const key in record) {
      codes.push(name(key));
      writeValue(record[key]!);
      count++;
    }
    codes.set(countAt, count);
  };
  const writeEdgeCounts = (counts: Readonly<Record<string, EdgeCount>>): void =>
    writeEntries(counts, ({ messages, bytes }) => {
      values.push(messages);
      values.push(bytes);
    });
  const writeNumbers = (numbers: Readonly<Record<string, number>> | undefined): void => writeEntries(numbers, (value) => values.push(value));
  let node = 0;
  for (const [id, report] of reports) {
    nodes[node] = name(id);
    codeStarts[node] = codes.length;
    valueStarts[node] = values.length;
    node++;
    writeNumbers(report.metrics);
    writeEdgeCounts(report.sent);
    writeEdgeCounts(report.received);
    // 0: no `dropped` key; 1: its counts follow.
    codes.push(report.dropped ? 1 : 0);
    if (report.dropped) writeNumbers(report.dropped);
    const { timeline } = report;
    codes.push(timeline === undefined ? 0 : timeline.resultMs === undefined ? 1 : 2);
    if (timeline === undefined) continue;
    values.push(timeline.bucketMs);
    if (timeline.resultMs !== undefined) values.push(timeline.resultMs);
    codes.push(timeline.buckets.length);
    for (const bucket of timeline.buckets) {
      // 0: an empty (null) bucket; 1: one without metrics; 2: one with them.
      codes.push(bucket === null ? 0 : bucket.metrics === undefined ? 1 : 2);
      if (bucket === null) continue;
      values.push(bucket.sent);
      values.push(bucket.received);
      if (bucket.metrics !== undefined) writeNumbers(bucket.metrics);
    }
  }
  return { names, nodes, codeStarts, valueStarts, codes: codes.trimmed(), values: values.trimmed() };
}

/**
 * The reports of a ReportsPack as a read-only Map: each get() or step of an iteration decodes that node's
 * report afresh, so what a consumer does not keep is garbage at once. Iteration is in the packed order.
 */
export class PackedReports implements ReadonlyMap<string, NodeReport> {
  private readonly positions = new Map<string, number>();

  constructor(private readonly pack: ReportsPack) {
    pack.nodes.forEach((name, position) => this.positions.set(pack.names[name]!, position));
  }

  get size(): number {
    return this.positions.size;
  }

  has(id: string): boolean {
    return this.positions.has(id);
  }

  get(id: string): NodeReport | undefined {
    const position = this.positions.get(id);
    return position === undefined ? undefined : this.decode(position);
  }

  *entries(): MapIterator<[string, NodeReport]> {
    for (const [id, position] of this.positions) yield [id, this.decode(position)];
  }

  keys(): MapIterator<string> {
    return this.positions.keys();
  }

  *values(): MapIterator<NodeReport> {
    for (const position of this.positions.values()) yield this.decode(position);
  }

  [Symbol.iterator](): MapIterator<[string, NodeReport]> {
    return this.entries();
  }

  forEach(callback: (report: NodeReport, id: string, map: ReadonlyMap<string, NodeReport>) => void, thisArg?: unknown): void {
    for (const [id, report] of this.entries()) callback.call(thisArg, report, id, this);
  }

  private decode(position: number): NodeReport {
    const { names, codes, values } = this.pack;
    let code = this.pack.codeStarts[position]!;
    let value = this.pack.valueStarts[position]!;
    const readNumbers = (): Record<string, number> => {
      const numbers: Record<string, number> = {};
      for (let count = codes[code++]!; count > 0; count--) numbers[names[codes[code++]!]!] = values[value++]!;
      return numbers;
    };
    const readEdgeCounts = (): Record<string, EdgeCount> => {
      const counts: Record<string, EdgeCount> = {};
      for (let count = codes[code++]!; count > 0; count--) counts[names[codes[code++]!]!] = { messages: values[value++]!, bytes: values[value++]! };
      return counts;
    };
    const metrics = readNumbers();
    const sent = readEdgeCounts();
    const received = readEdgeCounts();
    const dropped = codes[code++] === 1 ? readNumbers() : undefined;
    const report: NodeReport = { metrics, sent, received, ...(dropped && { dropped }), startup: { ...SIMULATED_STARTUP } };
    const timelineKind = codes[code++];
    if (timelineKind === 0) return report;
    const bucketMs = values[value++]!;
    const resultMs = timelineKind === 2 ? values[value++]! : undefined;
    const buckets: Array<TimelineBucket | null> = [];
    for (let count = codes[code++]!; count > 0; count--) {
      const kind = codes[code++];
      if (kind === 0) {
        buckets.push(null);
        continue;
      }
      const bucket: TimelineBucket = { sent: values[value++]!, received: values[value++]! };
      if (kind === 2) bucket.metrics = readNumbers();
      buckets.push(bucket);
    }
    const timeline: TimelineJson = { bucketMs, buckets, ...(resultMs === undefined ? {} : { resultMs }) };
    return { ...report, timeline };
  }
}
