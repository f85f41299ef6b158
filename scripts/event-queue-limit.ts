/**
 * Does a different event-queue design move the probe's limit (issue 15)? The sync "hold" model of
 * src/bench/sim-probe.ts (N pending events; each pop pushes one more at now + Exp(1) for a random node), run on
 * several queues that all pop in exact (time, sequence) order, the order that keeps simulator runs bit-identical:
 *
 *   binary         the simulator's EventQueue (src/runtime/sim/event-queue.ts), the baseline;
 *   4-ary, 8-ary   the same parallel-array heap with more children a node: half or a third of the levels, more
 *                  comparisons a level, and a node's children in one or two cache lines;
 *   binary-floyd   EventQueue with Floyd's bottom-up pop (one comparison a level on the way down);
 *   calendar       Brown's calendar queue (CACM 31(10), 1988) with resizing: O(1) expected per event when the
 *                  bucket width fits the event density;
 *   time-only      NOT EXACT, a bound: the binary heap with no sequence numbers at all. A single-comparison key
 *                  cannot pack (double time, seq) losslessly in 64 bits, and the heap compares seq only on equal
 *                  times already, so what packing could save at most is carrying the seq array: this measures it;
 *   radix-ns       NOT THE SAME SEMANTICS, a study: a radix heap on times quantised to integer nanoseconds
 *                  (monotone integer keys are what a radix heap needs), ties by seq;
 *   fifo-floor     NOT A PRIORITY QUEUE: a ring buffer, so what is left is the loop's own cost, the floor;
 *   fastpq         the npm package fastpriorityqueue (a binary heap of entry objects with a comparator on
 *                  (time, seq)), only if it is installed in a scratch dir: npm install --prefix /tmp/qlib
 *                  fastpriorityqueue (or set QLIB to that dir). It is never a dependency of peerlab.
 *
 * A ladder queue is left out: it is a calendar queue with a sorted bottom rung and lazy rungs above, exact on
 * doubles for the same reason the calendar queue is, and the calendar queue already answers whether bucketing
 * beats the heap here.
 *
 * Every design is first checked against a reference (a sorted array on (time, seq)) over 10⁵ random pushes and
 * pops with many ties; then each N is measured in rounds, the designs alternated (rotated each round) on the same
 * seeded workload, and the JSON summary gives the median events/s and the median of the per-round ratios to the
 * baseline: the machine is shared, so only ratios measured side by side mean anything. tsx is not installed, so
 * bundle it first (into /tmp: node_modules is shared with other worktrees):
 *
 *   npx esbuild scripts/event-queue-limit.ts --bundle --platform=node --format=esm --outfile=/tmp/event-queue-limit.mjs
 *   node --expose-gc /tmp/event-queue-limit.mjs [--nodes 10000,100000,1000000] [--rounds 7] [--settle]
 *
 * --settle also measures the probe's other loop, with the Settler's wait after every event.
 *
 * Found (Node 20, 2 shared cores, 7 rounds, sync ratios to binary at 10⁴ / 10⁵ / 10⁶): calendar 1.42 / 1.18 / 0.87
 * (other runs 1.16–1.57 at 10⁵, 0.73–0.96 at 10⁶); 4-ary, 8-ary and Floyd's pop 0.77–0.89; time-only ~1.0 (so
 * packing seq into the key could save nothing); radix-ns 0.3–0.5; fastpq 0.17–0.56. No exact design is faster at
 * 10⁶, where every structure pays a few cache misses an event, so EventQueue stays. The unordered FIFO is 2.5 / 3.1
 * / 6× faster sync but only 1.15 / 1.33 / 1.86× with the Settler's wait: the settle, not the queue, bounds the probe.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { probeEvents } from '../src/bench/sim-probe.js';
import { EventQueue } from '../src/runtime/sim/event-queue.js';
import { Settler } from '../src/runtime/sim/settle.js';
import { createRandom, type Random } from '../src/util/random.js';

interface Queue<T> {
  readonly size: number;
  readonly nextTime: number;
  push(time: number, value: T): void;
  pop(): T | undefined;
  clear(): void;
}

/** A d-ary min-heap on (time, seq) in EventQueue's layout: parallel typed arrays, values in a plain array. */
class AryHeap<T> implements Queue<T> {
  protected times = new Float64Array(1024);
  protected seqs = new Float64Array(1024);
  protected values: Array<T | undefined> = [];
  protected length = 0;
  private nextSeq = 0;

  /** `shift` is log2 of the arity: 1 for binary, 2 for 4-ary, 3 for 8-ary. */
  constructor(private readonly shift: number) {}

  get size(): number {
    return this.length;
  }

  get nextTime(): number {
    return this.length === 0 ? Infinity : this.times[0]!;
  }

  push(time: number, value: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    if (this.length === this.times.length) this.grow();
    this.siftUp(this.length++, time, this.nextSeq++, value);
  }

  /** Moves the hole at `index` up past every parent that comes after (time, seq), then fills it. */
  protected siftUp(index: number, time: number, seq: number, value: T | undefined): void {
    const { times, seqs, values, shift } = this;
    while (index > 0) {
      const parent = (index - 1) >> shift;
      const parentTime = times[parent]!;
      if (parentTime < time || (parentTime === time && seqs[parent]! < seq)) break;
      times[index] = parentTime;
      seqs[index] = seqs[parent]!;
      values[index] = values[parent];
      index = parent;
    }
    times[index] = time;
    seqs[index] = seq;
    values[index] = value;
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const { times, seqs, values, shift } = this;
    const top = values[0];
    const last = --this.length;
    const time = times[last]!;
    const seq = seqs[last]!;
    const value = values[last];
    values[last] = undefined;
    if (last > 0) {
      let index = 0;
      for (;;) {
        const first = (index << shift) + 1;
        if (first >= last) break;
        // The least of the children, then whether it goes above the entry being placed.
        const end = Math.min(first + (1 << shift), last);
        let child = first;
        let childTime = times[first]!;
        for (let other = first + 1; other < end; other++) {
          const otherTime = times[other]!;
          if (otherTime < childTime || (otherTime === childTime && seqs[other]! < seqs[child]!)) {
            child = other;
            childTime = otherTime;
          }
        }
        if (time < childTime || (time === childTime && seq < seqs[child]!)) break;
        times[index] = childTime;
        seqs[index] = seqs[child]!;
        values[index] = values[child];
        index = child;
      }
      times[index] = time;
      seqs[index] = seq;
      values[index] = value;
    }
    return top;
  }

  clear(): void {
    this.values = [];
    this.length = 0;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    this.times = times;
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }
}

/** NOT EXACT: EventQueue's binary heap without sequence numbers, so equal times come out in heap order. */
class TimeOnlyHeap<T> implements Queue<T> {
  private times = new Float64Array(1024);
  private values: Array<T | undefined> = [];
  private length = 0;

  get size(): number {
    return this.length;
  }

  get nextTime(): number {
    return this.length === 0 ? Infinity : this.times[0]!;
  }

  push(time: number, value: T): void {
    if (this.length === this.times.length) {
      const times = new Float64Array(this.times.length * 2);
      times.set(this.times);
      this.times = times;
    }
    const { times, values } = this;
    let index = this.length++;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (times[parent]! <= time) break;
      times[index] = times[parent]!;
      values[index] = values[parent];
      index = parent;
    }
    times[index] = time;
    values[index] = value;
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const { times, values } = this;
    const top = values[0];
    const last = --this.length;
    const time = times[last]!;
    const value = values[last];
    values[last] = undefined;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= last) break;
      if (child + 1 < last && times[child + 1]! < times[child]!) child += 1;
      if (time <= times[child]!) break;
      times[index] = times[child]!;
      values[index] = values[child];
      index = child;
    }
    times[index] = time;
    values[index] = value;
    return top;
  }

  clear(): void {
    this.values = [];
    this.length = 0;
  }
}

/** Day `day`'s bucket of `buckets` (a power of two): a mask while the day fits in 31 bits, since `%` on a double is a call to fmod. */
function bucketOf(day: number, buckets: number): number {
  if (day >= 0 && day < 0x80000000) return day & (buckets - 1);
  const bucket = day % buckets;
  return bucket < 0 ? bucket + buckets : bucket;
}

/**
 * Brown's calendar queue: the time line cut into "days" of `width`, day d kept in bucket d mod nb as a list
 * sorted on (time, seq), the lists threaded through a pool of typed arrays (no object per event). Exact on
 * doubles because an event's day is floor(time × 1/width), computed once and stored: floor of a correctly rounded
 * product by a positive constant is monotone in time, so an earlier day always means an earlier time, and the scan never compares a
 * time against a bucket boundary it computed separately (where rounding could disagree). The queue doubles its
 * buckets past 2 events a bucket and halves them below ½, re-estimating the width from the first events each time.
 */
class CalendarQueue<T> implements Queue<T> {
  private times = new Float64Array(1024);
  private seqs = new Float64Array(1024);
  private days = new Float64Array(1024);
  private next = new Int32Array(1024);
  private values: Array<T | undefined> = [];
  private free = -1;
  private used = 0;
  private heads = new Int32Array(2).fill(-1);
  private buckets = 2;
  /** 1 / the width of a day: a product, not a quotient, since multiplying is cheaper and just as monotone. */
  private perDay = 1;
  private length = 0;
  private nextSeq = 0;
  /** No event has an earlier day than this one. */
  private day = 0;
  /** The bucket whose head is the earliest event, once found; -1 when not known. */
  private found = -1;

  get size(): number {
    return this.length;
  }

  get nextTime(): number {
    return this.length === 0 ? Infinity : this.times[this.heads[this.locate()]!]!;
  }

  push(time: number, value: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    let node = this.free;
    if (node >= 0) this.free = this.next[node]!;
    else {
      if (this.used === this.times.length) this.grow();
      node = this.used++;
    }
    this.times[node] = time;
    this.seqs[node] = this.nextSeq++;
    this.values[node] = value;
    this.length += 1;
    if (this.length > 2 * this.buckets) this.resize(this.buckets * 2, node);
    else this.insert(node);
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const node = this.take();
    const value = this.values[node];
    this.values[node] = undefined;
    this.next[node] = this.free;
    this.free = node;
    if (this.length < this.buckets / 2 && this.buckets > 2) this.resize(this.buckets / 2, -1);
    return value;
  }

  clear(): void {
    this.values = [];
    this.free = -1;
    this.used = 0;
    this.heads = new Int32Array(2).fill(-1);
    this.buckets = 2;
    this.perDay = 1;
    this.length = 0;
    this.day = 0;
    this.found = -1;
  }

  /** Files `node` in its day's bucket, after every event that goes before it. */
  private insert(node: number): void {
    const { times, seqs, next, heads } = this;
    const time = times[node]!;
    const seq = seqs[node]!;
    const day = Math.floor(time * this.perDay);
    this.days[node] = day;
    const bucket = bucketOf(day, this.buckets);
    let before = -1;
    let after = heads[bucket]!;
    while (after >= 0 && (times[after]! < time || (times[after] === time && seqs[after]! < seq))) {
      before = after;
      after = next[after]!;
    }
    next[node] = after;
    if (before < 0) heads[bucket] = node;
    else next[before] = node;
    if (day <= this.day) {
      this.day = day;
      this.found = -1;
    }
  }

  /** The bucket holding the earliest event: scan a year of days from `day`, else search the bucket heads. */
  private locate(): number {
    if (this.found >= 0) return this.found;
    const { heads, days, buckets } = this;
    let day = this.day;
    let bucket = bucketOf(day, buckets);
    for (let step = 0; step < buckets; step++) {
      const head = heads[bucket]!;
      if (head >= 0 && days[head] === day) {
        this.day = day;
        return (this.found = bucket);
      }
      day += 1;
      bucket = bucket + 1 === buckets ? 0 : bucket + 1;
    }
    // A year without an event: the events are sparse for this width, so look at every bucket's first.
    let best = -1;
    for (let other = 0; other < buckets; other++) {
      const head = heads[other]!;
      if (head >= 0 && (best < 0 || this.before(head, heads[best]!))) best = other;
    }
    this.day = days[heads[best]!]!;
    return (this.found = best);
  }

  /** Unlinks and returns the earliest event's node (the queue is not empty). */
  private take(): number {
    const bucket = this.locate();
    const node = this.heads[bucket]!;
    this.heads[bucket] = this.next[node]!;
    this.length -= 1;
    this.found = -1;
    return node;
  }

  private before(a: number, b: number): boolean {
    const { times, seqs } = this;
    return times[a]! < times[b]! || (times[a] === times[b] && seqs[a]! < seqs[b]!);
  }

  /** Rebuilds with `buckets` buckets and a width of 3 × the mean gap of the first events; `pending` is not yet filed. */
  private resize(buckets: number, pending: number): void {
    const sample: number[] = [];
    const count = this.length - (pending >= 0 ? 1 : 0);
    while (sample.length < Math.min(25, count)) sample.push(this.take());
    this.length += sample.length;
    const nodes = sample.slice();
    if (pending >= 0) nodes.push(pending);
    for (let bucket = 0; bucket < this.buckets; bucket++) {
      for (let node = this.heads[bucket]!; node >= 0; node = this.next[node]!) nodes.push(node);
    }
    // Brown's estimate: the mean gap, then the mean of the gaps under twice that (so one outlier does not set it).
    const gaps: number[] = [];
    for (let i = 1; i < sample.length; i++) gaps.push(this.times[sample[i]!]! - this.times[sample[i - 1]!]!);
    const mean = gaps.reduce((sum, gap) => sum + gap, 0) / Math.max(1, gaps.length);
    const near = gaps.filter((gap) => gap <= 2 * mean);
    const width = 3 * (near.reduce((sum, gap) => sum + gap, 0) / Math.max(1, near.length));
    if (width > 0 && Number.isFinite(1 / width)) this.perDay = 1 / width;
    this.buckets = buckets;
    this.heads = new Int32Array(buckets).fill(-1);
    this.day = Infinity;
    this.found = -1;
    for (const node of nodes) this.insert(node);
  }

  private grow(): void {
    const size = this.times.length * 2;
    const copy = <A extends Float64Array | Int32Array>(from: A, to: A): A => (to.set(from), to);
    this.times = copy(this.times, new Float64Array(size));
    this.seqs = copy(this.seqs, new Float64Array(size));
    this.days = copy(this.days, new Float64Array(size));
    this.next = copy(this.next, new Int32Array(size));
  }
}

/**
 * The binary heap (AryHeap, shift 1: EventQueue's layout and push) with Floyd's pop: the hole goes all the way
 * down along the lesser children (one comparison a level instead of two), and the last entry, which in a hold
 * model is usually late, is sifted up from the bottom.
 */
class BottomUpHeap<T> extends AryHeap<T> {
  constructor() {
    super(1);
  }

  override pop(): T | undefined {
    if (this.length === 0) return undefined;
    const { times, seqs, values } = this;
    const top = values[0];
    const last = --this.length;
    const time = times[last]!;
    const seq = seqs[last]!;
    const value = values[last];
    values[last] = undefined;
    if (last > 0) {
      let index = 0;
      for (;;) {
        let child = 2 * index + 1;
        if (child >= last) break;
        const right = child + 1;
        if (right < last && (times[right]! < times[child]! || (times[right] === times[child] && seqs[right]! < seqs[child]!))) child = right;
        times[index] = times[child]!;
        seqs[index] = seqs[child]!;
        values[index] = values[child];
        index = child;
      }
      this.siftUp(index, time, seq, value);
    }
    return top;
  }
}

/** NOT A PRIORITY QUEUE, a floor: first in, first out, so what is left is the loop's own cost (draws, logs, calls). */
class Fifo<T> implements Queue<T> {
  private times = new Float64Array(1 << 10);
  private values: Array<T | undefined> = new Array(1 << 10);
  private first = 0;
  private length = 0;

  get size(): number {
    return this.length;
  }

  get nextTime(): number {
    return this.length === 0 ? Infinity : this.times[this.first]!;
  }

  push(time: number, value: T): void {
    if (this.length === this.times.length) {
      const times = new Float64Array(this.times.length * 2);
      const values: Array<T | undefined> = new Array(this.times.length * 2);
      for (let i = 0; i < this.length; i++) {
        times[i] = this.times[(this.first + i) & (this.times.length - 1)]!;
        values[i] = this.values[(this.first + i) & (this.times.length - 1)];
      }
      this.times = times;
      this.values = values;
      this.first = 0;
    }
    const slot = (this.first + this.length++) & (this.times.length - 1);
    this.times[slot] = time;
    this.values[slot] = value;
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const value = this.values[this.first];
    this.values[this.first] = undefined;
    this.first = (this.first + 1) & (this.times.length - 1);
    this.length -= 1;
    return value;
  }

  clear(): void {
    this.first = this.length = 0;
  }
}

/**
 * A STUDY, NOT THE SAME SEMANTICS: a radix heap (Ahuja et al. 1990) on time quantised to integer nanoseconds.
 * It needs monotone integer keys (nothing pushed before the last key popped): an event's bucket is the highest bit
 * in which its key differs from the last key popped, bucket 0 holding keys equal to it, in seq order. 53-bit keys
 * are split into two 32-bit halves for the XOR, since JavaScript's bitwise operators are 32-bit.
 */
class RadixHeapNs<T> implements Queue<T> {
  private keys: number[][] = Array.from({ length: 55 }, () => []);
  private seqs: number[][] = Array.from({ length: 55 }, () => []);
  private values: T[][] = Array.from({ length: 55 }, () => []);
  /** Bucket 0 is read from the front, to keep its seq order, up to here. */
  private head = 0;
  private last = 0;
  private length = 0;
  private nextSeq = 0;

  get size(): number {
    return this.length;
  }

  get nextTime(): number {
    if (this.length === 0) return Infinity;
    this.fill();
    return this.last / 1e6;
  }

  push(time: number, value: T): void {
    const key = Math.round(time * 1e6);
    if (!(key >= this.last) || key > Number.MAX_SAFE_INTEGER) throw new RangeError(`radix heap: key ${key} is before ${this.last}`);
    const bucket = this.bucketOf(key);
    this.keys[bucket]!.push(key);
    this.seqs[bucket]!.push(this.nextSeq++);
    this.values[bucket]!.push(value);
    this.length += 1;
  }

  pop(): T | undefined {
    if (this.length === 0) return undefined;
    this.fill();
    const values = this.values[0]!;
    const value = values[this.head]!;
    (values as Array<T | undefined>)[this.head] = undefined;
    this.head += 1;
    this.length -= 1;
    return value;
  }

  clear(): void {
    for (let bucket = 0; bucket < 55; bucket++) {
      this.keys[bucket]!.length = this.seqs[bucket]!.length = this.values[bucket]!.length = 0;
    }
    this.head = this.last = this.length = 0;
  }

  private bucketOf(key: number): number {
    const high = Math.floor(key / 4294967296) ^ Math.floor(this.last / 4294967296);
    if (high !== 0) return 64 - Math.clz32(high);
    const low = ((key >>> 0) ^ (this.last >>> 0)) >>> 0;
    return low === 0 ? 0 : 32 - Math.clz32(low);
  }

  /** Makes bucket 0 hold the earliest key: the least key of the first non-empty bucket becomes `last`, and that bucket is spread over the lower ones. */
  private fill(): void {
    if (this.head < this.keys[0]!.length) return;
    this.keys[0]!.length = this.seqs[0]!.length = this.values[0]!.length = 0;
    this.head = 0;
    let bucket = 1;
    while (this.keys[bucket]!.length === 0) bucket += 1;
    const keys = this.keys[bucket]!;
    const seqs = this.seqs[bucket]!;
    const values = this.values[bucket]!;
    let least = keys[0]!;
    for (const key of keys) if (key < least) least = key;
    this.last = least;
    const ties: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const target = this.bucketOf(keys[i]!);
      if (target === 0) ties.push(i);
      else {
        this.keys[target]!.push(keys[i]!);
        this.seqs[target]!.push(seqs[i]!);
        this.values[target]!.push(values[i]!);
      }
    }
    // Entries reach a bucket by push and by spreads in no particular seq order: bucket 0 must be in seq order.
    ties.sort((a, b) => seqs[a]! - seqs[b]!);
    for (const i of ties) {
      this.keys[0]!.push(keys[i]!);
      this.seqs[0]!.push(seqs[i]!);
      this.values[0]!.push(values[i]!);
    }
    keys.length = seqs.length = values.length = 0;
  }
}

interface Entry<T> {
  time: number;
  seq: number;
  value: T;
}
interface FastPriorityQueueLike<E> {
  size: number;
  add(entry: E): void;
  poll(): E | undefined;
  peek(): E | undefined;
}

/** fastpriorityqueue (npm) behind the same interface: an entry object per event, compared on (time, seq). */
function fastPriorityQueue<T>(Library: new (less: (a: Entry<T>, b: Entry<T>) => boolean) => FastPriorityQueueLike<Entry<T>>): () => Queue<T> {
  return () => {
    let heap = new Library((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
    let nextSeq = 0;
    return {
      get size() {
        return heap.size;
      },
      get nextTime() {
        return heap.size === 0 ? Infinity : heap.peek()!.time;
      },
      push(time, value) {
        heap.add({ time, seq: nextSeq++, value });
      },
      pop: () => heap.poll()?.value,
      clear: () => {
        heap = new Library((a, b) => a.time < b.time || (a.time === b.time && a.seq < b.seq));
      },
    };
  };
}

interface Design {
  readonly name: string;
  /** Pops in exact (time, seq) order on doubles. */
  readonly exact: boolean;
  /** Accepts a push earlier than the last event popped (a radix heap does not). */
  readonly anyTime: boolean;
  readonly make: () => Queue<number>;
}

const designs: Design[] = [
  { name: 'binary', exact: true, anyTime: true, make: () => new EventQueue<number>() },
  { name: '4-ary', exact: true, anyTime: true, make: () => new AryHeap<number>(2) },
  { name: '8-ary', exact: true, anyTime: true, make: () => new AryHeap<number>(3) },
  { name: 'binary-floyd', exact: true, anyTime: true, make: () => new BottomUpHeap<number>() },
  { name: 'calendar', exact: true, anyTime: true, make: () => new CalendarQueue<number>() },
  { name: 'time-only (inexact)', exact: false, anyTime: true, make: () => new TimeOnlyHeap<number>() },
  { name: 'radix-ns (quantised)', exact: false, anyTime: false, make: () => new RadixHeapNs<number>() },
  { name: 'fifo-floor (unordered)', exact: false, anyTime: true, make: () => new Fifo<number>() },
];
const qlib = process.env.QLIB ?? '/tmp/qlib';
const fastpqPath = path.join(qlib, 'node_modules/fastpriorityqueue/FastPriorityQueue.js');
if (existsSync(fastpqPath)) {
  const module = (await import(pathToFileURL(fastpqPath).href)) as { default: Parameters<typeof fastPriorityQueue<number>>[0] };
  designs.push({ name: 'fastpq (npm)', exact: true, anyTime: true, make: fastPriorityQueue(module.default) });
}

/**
 * Pushes and pops `ops` times at random (phases that grow the queue to thousands and drain it, to make the calendar
 * queue resize both ways), times drawn from a few values so that ties are common, against a sorted array. `anyTime`
 * also pushes before the last event popped, and at far-off times. Returns the first mismatch, or undefined.
 */
function check(design: Design, ops: number, anyTime: boolean, seed: number): string | undefined {
  const random = createRandom(seed, 'event-queue-limit-check', design.name);
  const queue = design.make();
  /** Pending (time, seq, id), sorted latest first so the earliest is popped off the end. */
  const reference: Array<[number, number, number]> = [];
  let seq = 0;
  let now = 0;
  for (let op = 0; op < ops || reference.length > 0; op++) {
    const pushing = op < ops && random.next() < (Math.floor(op / 5000) % 2 === 0 ? 0.7 : 0.3);
    if (pushing || reference.length === 0) {
      const roll = random.next();
      // Eighths of a millisecond are whole nanoseconds, so the quantised radix heap sees the same times.
      let time = now + random.int(8) / 8;
      if (anyTime && roll < 0.1) time = now - random.int(40) / 8;
      else if (anyTime && roll < 0.12) time = now + 1000 * random.int(5);
      else if (roll < 0.2) time = now - Math.log(1 - random.next()) / 8e3; // a double with no ties, for once
      if (design.name.startsWith('radix')) time = Math.round(time * 1e6) / 1e6;
      const entry: [number, number, number] = [time, seq++, op];
      let low = 0;
      let high = reference.length;
      while (low < high) {
        const middle = (low + high) >> 1;
        const [t, s] = reference[middle]!;
        if (t > time || (t === time && s > entry[1])) low = middle + 1;
        else high = middle;
      }
      reference.splice(low, 0, entry);
      queue.push(time, op);
    } else {
      const [time, , id] = reference.pop()!;
      if (queue.nextTime !== time) return `op ${op}: nextTime ${queue.nextTime}, expected ${time}`;
      const got = queue.pop();
      if (got !== id) return `op ${op}: popped ${got}, expected ${id} (time ${time})`;
      now = time;
    }
    if (queue.size !== reference.length) return `op ${op}: size ${queue.size}, expected ${reference.length}`;
  }
  return queue.pop() === undefined && queue.nextTime === Infinity ? undefined : 'not empty at the end';
}

// The probe's loops, one copy per design: a loop shared by all of them would see every queue class at its call
// sites and run megamorphic, slower than the probe's own loop, which only ever sees EventQueue. They must not
// refer to anything outside their parameters.
function fill(queue: Queue<number>, random: Random, nodes: number): void {
  for (let node = 0; node < nodes; node++) queue.push(-Math.log(1 - random.next()), node);
}
function hold(queue: Queue<number>, random: Random, nodes: number, events: number): void {
  for (let count = 1; count <= events; count++) {
    const time = queue.nextTime;
    queue.pop();
    queue.push(time - Math.log(1 - random.next()), Math.floor(random.next() * nodes));
  }
}
function settledHold(queue: Queue<number>, random: Random, nodes: number, events: number, SettlerClass: typeof Settler): Promise<void> {
  return new Promise<void>((done) => {
    let count = 0;
    const turn = (): void => {
      if (count === events) return done();
      count += 1;
      const time = queue.nextTime;
      queue.pop();
      queue.push(time - Math.log(1 - random.next()), Math.floor(random.next() * nodes));
      settler.after(count);
    };
    const settler = new SettlerClass(turn);
    turn();
  });
}
const fresh = <F extends (...args: never[]) => unknown>(fn: F): F => new Function(`return ${fn.toString()}`)() as F;
const loops = new Map(designs.map((design) => [design, { fill: fresh(fill), hold: fresh(hold), settledHold: fresh(settledHold) }]));

async function measure(design: Design, nodes: number, events: number, round: number, settle: boolean): Promise<number> {
  const { fill, hold, settledHold } = loops.get(design)!;
  (globalThis as { gc?: () => void }).gc?.();
  const random = createRandom(round, 'event-queue-limit', nodes);
  const queue = design.make();
  fill(queue, random, nodes);
  const began = performance.now();
  if (settle) await settledHold(queue, random, nodes, events, Settler);
  else hold(queue, random, nodes, events);
  return events / ((performance.now() - began) / 1000);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

const { values: options } = parseArgs({
  options: { designs: { type: 'string' }, nodes: { type: 'string', default: '10000,100000,1000000' }, rounds: { type: 'string', default: '7' }, settle: { type: 'boolean', default: false } },
});
// --designs binary,calendar: only those (the baseline always comes first).
if (options.designs !== undefined) {
  const wanted = new Set(['binary', ...options.designs.split(',')]);
  designs.splice(0, designs.length, ...designs.filter((design) => wanted.has(design.name)));
}
const sizes = options.nodes.split(',').map(Number);
const rounds = Number(options.rounds);

const correctness = designs.map((design) => {
  const failures = [check(design, 100_000, false, 1), design.anyTime ? check(design, 100_000, true, 2) : undefined].filter((failure) => failure !== undefined);
  return { design: design.name, exact: design.exact, acceptsAnyTime: design.anyTime, ok: failures.length === 0, failures };
});
console.error(JSON.stringify(correctness));

const results = [];
for (const settle of options.settle ? [false, true] : [false]) {
  for (const nodes of sizes) {
    // The probe's count, but at least 10⁶: at 10⁴ its 2·10⁵ events take under 0.1 s, which a neighbour's burst swamps.
    const events = Math.max(probeEvents(nodes), 1_000_000);
    // A round untimed first, so that every design runs optimised code from the first timed round.
    for (const design of designs) await measure(design, Math.min(nodes, 10_000), 200_000, -1, settle);
    const rates = new Map<Design, number[]>(designs.map((design) => [design, []]));
    for (let round = 0; round < rounds; round++) {
      // Rotated, so no design always runs first (just after the previous N's garbage) or last.
      for (let i = 0; i < designs.length; i++) {
        const design = designs[(i + round) % designs.length]!;
        rates.get(design)!.push(await measure(design, nodes, events, round, settle));
      }
      console.error(`${settle ? 'settled' : 'sync'} N=${nodes} round ${round + 1}/${rounds}`);
    }
    const baseline = rates.get(designs[0]!)!;
    for (const design of designs) {
      const rate = rates.get(design)!;
      results.push({
        design: design.name,
        loop: settle ? 'settled' : 'sync',
        nodes,
        events,
        eventsPerSecond: Math.round(median(rate)),
        /** The median of the rounds' ratios: each measured beside the baseline, in the same round. */
        ratioToBinary: Number(median(rate.map((value, round) => value / baseline[round]!)).toFixed(3)),
        rounds: rate.map(Math.round),
      });
    }
  }
}
console.log(JSON.stringify({ node: process.version, rounds, correctness, results }, null, 2));
