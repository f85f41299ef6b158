/**
 * The nodes' final reports packed into a few typed arrays, for the trip from the simulation thread to the main
 * thread. As a Map of objects, a run's reports are tens of millions of small objects at 10⁶ nodes (per node: its
 * metrics, an EdgeCount per neighbour and direction, up to MAX_BUCKETS timeline buckets with their metrics), and
 * the main thread, on V8's default heap limit of about 4 GiB, ran out of heap once a ba:n=10⁶,m=2 flood's
 * outcome had arrived (issue 15). Serialised, they were 574 bytes per node of a ba:n=10⁵,m=2 flood and 1,457 of
 * a GHS; packed, 257 and 931 bytes per node cross in ArrayBuffers, transferred (not copied) and outside the
 * JavaScript heap, and PackedReports decodes one node's report when it is asked for (and each part of it when
 * read), so the main thread never holds them all as objects.
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

/**
 * A simulated node's report as its host holds it (AlgorithmHost): edge counts in maps, keyed by node id. Packed
 * from these, not from NodeReports: a NodeReport's `sent` and `received` are objects keyed by node ids, each with
 * keys of its own, and making then walking 2·10⁶ such objects was most of the time a 3·10⁵-node flood took to hand
 * its reports over.
 */
export interface ReportSource {
  readonly metrics: Readonly<Record<string, number>>;
  readonly sent: ReadonlyMap<string, EdgeCount>;
  readonly received: ReadonlyMap<string, EdgeCount>;
  /** Empty when nothing was dropped: the report then has no `dropped` key. */
  readonly dropped: ReadonlyMap<string, number>;
  readonly timeline: TimelineJson;
}

/** Packs every report, one source at a time (a generator of them is never held whole). */
export function packReports(reports: Iterable<readonly [string, ReportSource]>): ReportsPack {
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  const name = (text: string): number => {
    let index = nameIndex.get(text);
    if (index === undefined) nameIndex.set(text, (index = names.push(text) - 1));
    return index;
  };
  const nodes = new GrowingArray(Uint32Array);
  const codeStarts = new GrowingArray(Uint32Array);
  const valueStarts = new GrowingArray(Uint32Array);
  const codes = new GrowingArray(Uint32Array);
  const values = new GrowingArray(Float64Array);
  // Each count goes first, so a reader can skip what it does not want to decode.
  const writeNumbers = (numbers: Readonly<Record<string, number>>): void => {
    const countAt = codes.length;
    codes.push(0);
    let count = 0;
    // for…in, not Object.entries: an [key, value] array per entry was tens of millions of short-lived objects at
    // 10⁶ nodes, and their garbage collection most of the pack's time.
    for (const key in numbers) {
      codes.push(name(key));
      values.push(numbers[key]!);
      count++;
    }
    codes.set(countAt, count);
  };
  const writeMap = (map: ReadonlyMap<string, EdgeCount | number>): void => {
    codes.push(map.size);
    map.forEach((entry, key) => {
      codes.push(name(key));
      if (typeof entry === 'number') values.push(entry);
      else {
        values.push(entry.messages);
        values.push(entry.bytes);
      }
    });
  };
  for (const [id, report] of reports) {
    nodes.push(name(id));
    codeStarts.push(codes.length);
    valueStarts.push(values.length);
    writeNumbers(report.metrics);
    writeMap(report.sent);
    writeMap(report.received);
    // 0: no `dropped` key; 1: its counts follow.
    codes.push(report.dropped.size > 0 ? 1 : 0);
    if (report.dropped.size > 0) writeMap(report.dropped);
    const { timeline } = report;
    codes.push(timeline.resultMs === undefined ? 0 : 1);
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
  return { names, nodes: nodes.view(), codeStarts: codeStarts.view(), valueStarts: valueStarts.view(), codes: codes.view(), values: values.view() };
}

/**
 * The reports of a ReportsPack as a read-only Map: each get() or step of an iteration decodes that node's
 * report afresh, so what a consumer does not keep is garbage at once. Iteration is in the packed order.
 */
export class PackedReports implements ReadonlyMap<string, NodeReport> {
  private readonly positions = new Map<string, number>();

  /** `pack`: transferred to another thread, it leaves this one empty. */
  constructor(readonly pack: ReportsPack) {
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

  /**
   * The report at `position`: its metrics and `dropped` decoded at once, its edge counts and timeline when first
   * read (own enumerable getters, so a spread or JSON.stringify of it reads them as data). Most readers want one
   * part (the series the timelines, the metric aggregates the metrics), and the edge counts, objects keyed by node
   * ids, were most of the decoding: five whole decodes of a 3·10⁵-node flood's reports took 8.7 s.
   */
  private decode(position: number): NodeReport {
    const { pack } = this;
    const header = new RecordReader(pack, pack.codeStarts[position]!, pack.valueStarts[position]!);
    const metrics = header.numbers();
    const sentCode = header.code;
    const sentValue = header.value;
    header.skipEdgeCounts();
    const receivedCode = header.code;
    const receivedValue = header.value;
    header.skipEdgeCounts();
    const dropped = header.flag() ? header.numbers() : undefined;
    const timelineCode = header.code;
    const timelineValue = header.value;
    let sent: Record<string, EdgeCount> | undefined;
    let received: Record<string, EdgeCount> | undefined;
    let timeline: TimelineJson | undefined;
    // Getters in the literal, not a spread of parts: a spread would read them. `dropped` is undefined, not absent,
    // when nothing was dropped (JSON leaves it out all the same).
    return {
      metrics,
      get sent() {
        return (sent ??= new RecordReader(pack, sentCode, sentValue).edgeCounts());
      },
      get received() {
        return (received ??= new RecordReader(pack, receivedCode, receivedValue).edgeCounts());
      },
      dropped,
      startup: { ...SIMULATED_STARTUP },
      get timeline() {
        return (timeline ??= new RecordReader(pack, timelineCode, timelineValue).timeline());
      },
    };
  }
}

/** Reads a record's parts in the order packReports wrote them, from a place in `codes` and one in `values`. */
class RecordReader {
  constructor(
    private readonly pack: ReportsPack,
    public code: number,
    public value: number,
  ) {}

  flag(): boolean {
    return this.pack.codes[this.code++] === 1;
  }

  numbers(): Record<string, number> {
    const { names, codes, values } = this.pack;
    const numbers: Record<string, number> = {};
    for (let count = codes[this.code++]!; count > 0; count--) numbers[names[codes[this.code++]!]!] = values[this.value++]!;
    return numbers;
  }

  edgeCounts(): Record<string, EdgeCount> {
    const { names, codes, values } = this.pack;
    const counts: Record<string, EdgeCount> = {};
    for (let count = codes[this.code++]!; count > 0; count--) counts[names[codes[this.code++]!]!] = { messages: values[this.value++]!, bytes: values[this.value++]! };
    return counts;
  }

  skipEdgeCounts(): void {
    const count = this.pack.codes[this.code]!;
    this.code += 1 + count;
    this.value += 2 * count;
  }

  timeline(): TimelineJson {
    const { codes, values } = this.pack;
    const hasResult = this.flag();
    const bucketMs = values[this.value++]!;
    const resultMs = hasResult ? values[this.value++]! : undefined;
    const buckets: Array<TimelineBucket | null> = [];
    for (let count = codes[this.code++]!; count > 0; count--) {
      const kind = codes[this.code++];
      if (kind === 0) {
        buckets.push(null);
        continue;
      }
      const bucket: TimelineBucket = { sent: values[this.value++]!, received: values[this.value++]! };
      if (kind === 2) bucket.metrics = this.numbers();
      buckets.push(bucket);
    }
    return { bucketMs, buckets, ...(resultMs === undefined ? {} : { resultMs }) };
  }
}
