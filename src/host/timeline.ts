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
   * Messages sent and received per bucket, in pairs (bucket i at 2i and 2i + 1), one small-integer array: an
   * object per bucket behind an array of them cost a simulated node two memory loads more per message and an
   * allocation per bucket, and a tenth of the simulator's collection. Its length is twice the buckets'.
   */
  private readonly counts: number[] = [];
  /** The last value of each metric set in a bucket, by bucket index; made on the first metric. */
  private metrics: Array<Record<string, number> | undefined> | undefined;
  private resultMs: number | undefined;

  sent(time: number): void {
    this.counts[2 * this.at(time)]! += 1;
  }

  received(time: number): void {
    this.counts[2 * this.at(time) + 1]! += 1;
  }

  metric(time: number, name: string, value: number): void {
    const index = this.at(time);
    const metrics = (this.metrics ??= []);
    while (metrics.length <= index) metrics.push(undefined);
    (metrics[index] ??= {})[name] = value;
  }

  result(time: number): void {
    this.resultMs = time;
  }

  /** A bucket in which nothing was counted and no metric set is null. */
  toJSON(): TimelineJson {
    const { counts, metrics } = this;
    const buckets: Array<TimelineBucket | null> = [];
    for (let index = 0; 2 * index < counts.length; index++) {
      const sent = counts[2 * index]!;
      const received = counts[2 * index + 1]!;
      const bucketMetrics = metrics?.[index];
      if (sent === 0 && received === 0 && bucketMetrics === undefined) buckets.push(null);
      else buckets.push(bucketMetrics === undefined ? { sent, received } : { sent, received, metrics: bucketMetrics });
    }
    return { bucketMs: this.bucketMs, buckets, ...(this.resultMs === undefined ? {} : { resultMs: this.resultMs }) };
  }

  /** The index of the bucket `time` falls in, made (with those before it) if need be. */
  private at(time: number): number {
    const t = Math.max(0, time);
    while (t >= this.bucketMs * MAX_BUCKETS) this.coarsen();
    const index = Math.floor(t / this.bucketMs);
    const counts = this.counts;
    while (counts.length <= 2 * index) counts.push(0, 0);
    return index;
  }

  /**
   * Doubles the bucket width: pairs merge, counts add up, the later metric values win. In place (pair i is read
   * before slot i is written), the earlier bucket's metrics taking the later's, and shortened by pops, not by
   * setting the length (a runtime call): every node of a long simulated run coarsens a few times, and a GHS at
   * 10⁵ nodes spent 4 % of its event loop here with a fresh object per merged pair.
   */
  private coarsen(): void {
    const counts = this.counts;
    const merged = Math.ceil(counts.length / 4);
    for (let i = 0; i < merged; i++) {
      counts[2 * i] = counts[4 * i]! + (counts[4 * i + 2] ?? 0);
      counts[2 * i + 1] = counts[4 * i + 1]! + (counts[4 * i + 3] ?? 0);
    }
    while (counts.length > 2 * merged) counts.pop();
    const metrics = this.metrics;
    if (metrics !== undefined) {
      const kept = Math.ceil(metrics.length / 2);
      for (let i = 0; i < kept; i++) {
        const a = metrics[2 * i];
        const b = metrics[2 * i + 1];
        metrics[i] = a && b ? Object.assign(a, b) : (a ?? b);
      }
      while (metrics.length > kept) metrics.pop();
    }
    this.bucketMs *= 2;
  }
}

export function mergeBuckets(a: TimelineBucket | null, b: TimelineBucket | null): TimelineBucket | null {
  if (!a || !b) return a ?? b;
  const metrics = a.metrics || b.metrics ? { ...a.metrics, ...b.metrics } : undefined;
  return { sent: a.sent + b.sent, received: a.received + b.received, ...(metrics ? { metrics } : {}) };
}
