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
   * The buckets something was counted or set in, in order, as triples in one small-integer array: bucket index,
   * messages sent, messages received. Only those: a node is busy in a few buckets of a long run, and an entry for
   * every bucket up to the latest (padded with zeros, pushed again after each coarsening) was a tenth of a
   * 10⁵-node GHS's event loop and most of a node's memory. An object per bucket cost a simulated node two memory
   * loads more per message and an allocation per bucket.
   */
  private readonly buckets: number[] = [];
  /** The last value of each metric set in a bucket, by the bucket's place in `buckets` (a third of its index); made on the first metric. */
  private metrics: Array<Record<string, number> | undefined> | undefined;
  private resultMs: number | undefined;

  sent(time: number): void {
    this.buckets[this.at(time) + 1]! += 1;
  }

  received(time: number): void {
    this.buckets[this.at(time) + 2]! += 1;
  }

  metric(time: number, name: string, value: number): void {
    const place = this.at(time) / 3;
    const metrics = (this.metrics ??= []);
    while (metrics.length <= place) metrics.push(undefined);
    (metrics[place] ??= {})[name] = value;
  }

  result(time: number): void {
    this.resultMs = time;
    // The run's series reaches the result too: buckets as wide as its time needs, or a node that sent nothing for
    // a long (virtual) while before it reported gave the report a step per millisecond of it.
    while (Math.max(0, time) >= this.bucketMs * MAX_BUCKETS) this.coarsen();
  }

  /** A bucket in which nothing was counted and no metric set is null. */
  toJSON(): TimelineJson {
    const { buckets: used, metrics } = this;
    const buckets: Array<TimelineBucket | null> = [];
    for (let at = 0; at < used.length; at += 3) {
      while (buckets.length < used[at]!) buckets.push(null);
      const sent = used[at + 1]!;
      const received = used[at + 2]!;
      const bucketMetrics = metrics?.[at / 3];
      if (sent === 0 && received === 0 && bucketMetrics === undefined) buckets.push(null);
      else buckets.push(bucketMetrics === undefined ? { sent, received } : { sent, received, metrics: bucketMetrics });
    }
    return { bucketMs: this.bucketMs, buckets, ...(this.resultMs === undefined ? {} : { resultMs: this.resultMs }) };
  }

  /**
   * Where in `buckets` the triple of the bucket `time` falls in is, made if need be. Times come in order (the run's
   * clock), so that is the last triple or a new one after it; an earlier time is placed among the others.
   */
  private at(time: number): number {
    const t = Math.max(0, time);
    while (t >= this.bucketMs * MAX_BUCKETS) this.coarsen();
    const index = Math.floor(t / this.bucketMs);
    const buckets = this.buckets;
    let at = buckets.length - 3;
    if (at >= 0 && buckets[at] === index) return at;
    if (at < 0 || buckets[at]! < index) {
      buckets.push(index, 0, 0);
      return at + 3;
    }
    while (at >= 0 && buckets[at]! > index) at -= 3;
    if (at >= 0 && buckets[at] === index) return at;
    buckets.splice(at + 3, 0, index, 0, 0);
    // Metrics are by place: those of the buckets after it move up one.
    if (this.metrics !== undefined && this.metrics.length > (at + 3) / 3) this.metrics.splice((at + 3) / 3, 0, undefined);
    return at + 3;
  }

  /**
   * Doubles the bucket width: buckets that fall into one merge, counts add up, the later metric values win. In
   * place (a triple is read before its place is written), the earlier bucket's metrics taking the later's, and
   * shortened by pops, not by setting the length (a runtime call): every node of a long simulated run coarsens a
   * few times, and a GHS at 10⁵ nodes spent 4 % of its event loop here with a fresh object per merged pair.
   */
  private coarsen(): void {
    const { buckets, metrics } = this;
    let to = -3;
    for (let from = 0; from < buckets.length; from += 3) {
      const index = Math.floor(buckets[from]! / 2);
      if (to >= 0 && buckets[to] === index) {
        buckets[to + 1]! += buckets[from + 1]!;
        buckets[to + 2]! += buckets[from + 2]!;
        if (metrics !== undefined && to / 3 < metrics.length) {
          const a = metrics[to / 3];
          const b = metrics[from / 3];
          metrics[to / 3] = a && b ? Object.assign(a, b) : (a ?? b);
        }
      } else {
        to += 3;
        buckets[to] = index;
        buckets[to + 1] = buckets[from + 1]!;
        buckets[to + 2] = buckets[from + 2]!;
        // Past the end of `metrics`, no bucket has any: nothing to move.
        if (metrics !== undefined && to / 3 < metrics.length) metrics[to / 3] = metrics[from / 3];
      }
    }
    while (buckets.length > to + 3) buckets.pop();
    if (metrics !== undefined) while (metrics.length > (to + 3) / 3) metrics.pop();
    this.bucketMs *= 2;
  }
}
