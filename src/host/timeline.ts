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
  private readonly buckets: Array<TimelineBucket | null> = [];
  private resultMs: number | undefined;

  sent(time: number): void {
    this.at(time).sent += 1;
  }

  received(time: number): void {
    this.at(time).received += 1;
  }

  metric(time: number, name: string, value: number): void {
    const bucket = this.at(time);
    (bucket.metrics ??= {})[name] = value;
  }

  result(time: number): void {
    this.resultMs = time;
  }

  toJSON(): TimelineJson {
    return { bucketMs: this.bucketMs, buckets: [...this.buckets], ...(this.resultMs === undefined ? {} : { resultMs: this.resultMs }) };
  }

  private at(time: number): TimelineBucket {
    const t = Math.max(0, time);
    while (t >= this.bucketMs * MAX_BUCKETS) this.coarsen();
    const index = Math.floor(t / this.bucketMs);
    for (let i = this.buckets.length; i <= index; i++) this.buckets.push(null);
    return (this.buckets[index] ??= { sent: 0, received: 0 });
  }

  /**
   * Doubles the bucket width: pairs merge, counts add up, the later metric values win. In place (pair i is read
   * before slot i is written): every node of a long simulated run coarsens a few times, and a fresh array grown
   * one push at a time was a good part of what the simulator allocated.
   */
  private coarsen(): void {
    const buckets = this.buckets;
    const merged = Math.ceil(buckets.length / 2);
    for (let i = 0; i < merged; i++) buckets[i] = mergeBuckets(buckets[2 * i] ?? null, buckets[2 * i + 1] ?? null);
    buckets.length = merged;
    this.bucketMs *= 2;
  }
}

export function mergeBuckets(a: TimelineBucket | null, b: TimelineBucket | null): TimelineBucket | null {
  if (!a || !b) return a ?? b;
  const metrics = a.metrics || b.metrics ? { ...a.metrics, ...b.metrics } : undefined;
  return { sent: a.sent + b.sent, received: a.received + b.received, ...(metrics ? { metrics } : {}) };
}
