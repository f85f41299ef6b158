/**
 * What one node did over time, kept small enough to ride in its final report: messages sent and received and
 * the algorithm's metrics, in at most MAX_BUCKETS time buckets. Buckets start 1 ms wide and double (merging
 * pairs) whenever the run outlasts them, so a run of 50 ms and a run of an hour both end with a usable series,
 * and recording costs O(1) per message whatever the run's length. Times are the node's run clock (ms since
 * start; virtual ms in the simulator).
 */
export const MAX_BUCKETS = 128;

export interface TimelineBucket {
  /** Messages sent and received in this bucket. */
  sent: number;
  received: number;
  /** The last value of each metric set in this bucket. */
  metrics?: Record<string, number>;
}

/** A node's timeline as JSON: bucket i covers [i·bucketMs, (i+1)·bucketMs); buckets with nothing in them are null. */
export interface TimelineJson {
  readonly bucketMs: number;
  readonly buckets: Array<TimelineBucket | null>;
  /** When the node reported its result, if it did. */
  readonly resultMs?: number;
}

export class Timeline {
  private bucketMs = 1;
  /**
   * The buckets something was counted or set in, in order, as pairs in one array of numbers: the bucket's index
   * and its messages sent in one (index + MAX_BUCKETS · sent: exact up to 2⁴⁶ messages, see bucketIndex), and its
   * messages received. Only those: a node is busy in a few buckets of a long run, and an entry for every bucket up
   * to the latest (padded with zeros, pushed again after each coarsening) was a tenth of a 10⁵-node GHS's event
   * loop and most of a node's memory. An object per bucket cost a simulated node two memory loads more per message
   * and an allocation per bucket; triples (index, sent, received) 120 bytes more of a 10⁴-node GHS's node.
   */
  private readonly buckets: number[] = [];
  /**
   * The last value of each metric set in a bucket, as pairs in one array of numbers: a key (metricKey: the
   * metric's name and the bucket's index) and the value. In bucket order, and within a bucket in the order the
   * names were first set, which is the order of their keys in the bucket's JSON. Made on the first metric. An
   * object per bucket (with a slot per bucket to find it by) was 1.1 KB of a 10⁴-node GHS's node, whose every
   * send sets a metric; the pairs are about two fifths of that.
   */
  private metricPairs: number[] | undefined;
  private resultMs: number | undefined;

  sent(time: number): void {
    this.buckets[this.at(time)]! += MAX_BUCKETS;
  }

  received(time: number): void {
    this.buckets[this.at(time) + 1]! += 1;
  }

  metric(time: number, name: string, value: number): void {
    const index = bucketIndex(this.buckets[this.at(time)]!);
    const key = metricKey(name, index);
    const pairs = (this.metricPairs ??= []);
    const last = lastPairUpTo(pairs, index);
    for (let own = last; own >= 0 && bucketIndex(pairs[own]!) === index; own -= 2) {
      if (pairs[own] === key) {
        pairs[own + 1] = value;
        return;
      }
    }
    insertPair(pairs, last + 2, key, value);
  }

  result(time: number): void {
    this.resultMs = time;
    // The run's series reaches the result too: buckets as wide as its time needs, or a node that sent nothing for
    // a long (virtual) while before it reported gave the report a step per millisecond of it.
    while (Math.max(0, time) >= this.bucketMs * MAX_BUCKETS) this.coarsen();
  }

  /** A bucket in which nothing was counted and no metric set is null. */
  toJSON(): TimelineJson {
    const { buckets: used, metricPairs: pairs = [] } = this;
    const buckets: Array<TimelineBucket | null> = [];
    let pair = 0;
    for (let at = 0; at < used.length; at += 2) {
      const index = bucketIndex(used[at]!);
      while (buckets.length < index) buckets.push(null);
      const sent = (used[at]! - index) / MAX_BUCKETS;
      const received = used[at + 1]!;
      let metrics: Record<string, number> | undefined;
      for (; pair < pairs.length && bucketIndex(pairs[pair]!) === index; pair += 2) (metrics ??= {})[metricName(pairs[pair]!)] = pairs[pair + 1]!;
      if (sent === 0 && received === 0 && metrics === undefined) buckets.push(null);
      else buckets.push(metrics === undefined ? { sent, received } : { sent, received, metrics });
    }
    return { bucketMs: this.bucketMs, buckets, ...(this.resultMs === undefined ? {} : { resultMs: this.resultMs }) };
  }

  /** Where in `buckets` the pair of the bucket `time` falls in is, made if need be. */
  private at(time: number): number {
    const t = Math.max(0, time);
    while (t >= this.bucketMs * MAX_BUCKETS) this.coarsen();
    const index = Math.floor(t / this.bucketMs);
    const last = lastPairUpTo(this.buckets, index);
    if (last >= 0 && bucketIndex(this.buckets[last]!) === index) return last;
    insertPair(this.buckets, last + 2, index, 0);
    return last + 2;
  }

  /**
   * Doubles the bucket width: buckets that fall into one merge, counts add up, and of a metric set in both the
   * later bucket's value wins (as Object.assign of the earlier's metrics and the later's would). In place (a
   * pair is read before its place is written), and shortened by pops, not by setting the length (a
   * runtime call): every node of a long simulated run coarsens a few times, and a GHS at 10⁵ nodes spent 4 % of
   * its event loop here with a fresh object per merged pair.
   */
  private coarsen(): void {
    const { buckets } = this;
    let to = -2;
    for (let from = 0; from < buckets.length; from += 2) {
      const old = bucketIndex(buckets[from]!);
      const index = Math.floor(old / 2);
      const sentPart = buckets[from]! - old;
      if (to >= 0 && bucketIndex(buckets[to]!) === index) {
        buckets[to]! += sentPart;
        buckets[to + 1]! += buckets[from + 1]!;
      } else {
        to += 2;
        buckets[to] = index + sentPart;
        buckets[to + 1] = buckets[from + 1]!;
      }
    }
    while (buckets.length > to + 2) buckets.pop();
    this.bucketMs *= 2;
    if (this.metricPairs !== undefined) coarsenMetrics(this.metricPairs);
  }
}

/**
 * Metric names by number, for every timeline of the process: a pair's key is a name's number and a bucket's
 * index in one exact integer. Names are few (an algorithm's own), so the table stays small.
 */
const metricNames: string[] = [];
const metricNumbers = new Map<string, number>();

function metricKey(name: string, index: number): number {
  let number = metricNumbers.get(name);
  if (number === undefined) {
    number = metricNames.push(name) - 1;
    metricNumbers.set(name, number);
  }
  return number * MAX_BUCKETS + index;
}

/** The bucket index of a key that holds one below MAX_BUCKETS (a bucket's pair, a metric's key). */
function bucketIndex(key: number): number {
  return key % MAX_BUCKETS;
}

/**
 * The place of the last pair whose bucket index is `index` or less in pairs kept in bucket order (-2 if none).
 * Times come in order (the run's clock), so that is the last pair or the one before; an earlier time is placed
 * among the others.
 */
function lastPairUpTo(pairs: readonly number[], index: number): number {
  let at = pairs.length - 2;
  while (at >= 0 && bucketIndex(pairs[at]!) > index) at -= 2;
  return at;
}

/** Puts a pair at `at`: pushed at the end, as nearly every one is, else spliced in. */
function insertPair(pairs: number[], at: number, first: number, second: number): void {
  if (at === pairs.length) pairs.push(first, second);
  else pairs.splice(at, 0, first, second);
}

function metricName(key: number): string {
  return metricNames[Math.floor(key / MAX_BUCKETS)]!;
}

/**
 * The pairs' buckets after Timeline.coarsen: each index halves, and the pairs of two buckets that merge become
 * one bucket's, the earlier bucket's names first and then the later's new ones, a name in both keeping the
 * later value (the pairs of a bucket run in bucket order, so the later bucket's come after).
 */
function coarsenMetrics(pairs: number[]): void {
  let to = -2;
  let bucketFrom = 0;
  for (let from = 0; from < pairs.length; from += 2) {
    const old = bucketIndex(pairs[from]!);
    const index = Math.floor(old / 2);
    const key = pairs[from]! - old + index;
    if (to < 0 || bucketIndex(pairs[to]!) !== index) bucketFrom = to + 2;
    let same = bucketFrom;
    while (same <= to && pairs[same] !== key) same += 2;
    if (same <= to) {
      pairs[same + 1] = pairs[from + 1]!;
    } else {
      to += 2;
      pairs[to] = key;
      pairs[to + 1] = pairs[from + 1]!;
    }
  }
  while (pairs.length > to + 2) pairs.pop();
}
