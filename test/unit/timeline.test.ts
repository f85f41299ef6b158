import { describe, expect, it } from 'vitest';
import { MAX_BUCKETS, Timeline, type TimelineBucket, type TimelineJson } from '../../src/host/timeline.js';
import { createRandom } from '../../src/util/random.js';

/**
 * The timeline as plainly as it can be written: an object per bucket, keyed by its index, and a coarsening that
 * merges two buckets' metrics with Object.assign (the earlier's names first, the later's values win). The real
 * one keeps the same buckets in two arrays of numbers; their JSON must be the same, key order included.
 */
class ReferenceTimeline {
  private bucketMs = 1;
  private buckets = new Map<number, TimelineBucket>();
  private resultMs: number | undefined;

  sent(time: number): void {
    this.bucket(time).sent += 1;
  }

  received(time: number): void {
    this.bucket(time).received += 1;
  }

  metric(time: number, name: string, value: number): void {
    (this.bucket(time).metrics ??= {})[name] = value;
  }

  result(time: number): void {
    this.resultMs = time;
    this.widen(time);
  }

  toJSON(): TimelineJson {
    const last = Math.max(-1, ...this.buckets.keys());
    const buckets = Array.from({ length: last + 1 }, (_, index) => this.buckets.get(index) ?? null);
    return { bucketMs: this.bucketMs, buckets, ...(this.resultMs === undefined ? {} : { resultMs: this.resultMs }) };
  }

  private bucket(time: number): TimelineBucket {
    this.widen(time);
    const index = Math.floor(Math.max(0, time) / this.bucketMs);
    let bucket = this.buckets.get(index);
    if (bucket === undefined) this.buckets.set(index, (bucket = { sent: 0, received: 0 }));
    return bucket;
  }

  private widen(time: number): void {
    while (Math.max(0, time) >= this.bucketMs * MAX_BUCKETS) {
      const merged = new Map<number, TimelineBucket>();
      for (const [index, bucket] of [...this.buckets].sort(([a], [b]) => a - b)) {
        const into = merged.get(Math.floor(index / 2));
        if (into === undefined) {
          merged.set(Math.floor(index / 2), bucket);
          continue;
        }
        into.sent += bucket.sent;
        into.received += bucket.received;
        if (bucket.metrics) into.metrics = Object.assign(into.metrics ?? {}, bucket.metrics);
      }
      this.buckets = merged;
      this.bucketMs *= 2;
    }
  }
}

describe('Timeline', () => {
  it('keeps the buckets, counts and metrics of a plain object-per-bucket timeline, key order included, through coarsening and late times', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = createRandom(seed, 'timeline-test');
      const below = (n: number): number => Math.floor(random.next() * n);
      const real = new Timeline();
      const reference = new ReferenceTimeline();
      const names = ['level', 'x', 'fragment', 'msg_Test', 'msg_Accept'].slice(0, 1 + below(5));
      let time = 0;
      const operations = below(400);
      for (let step = 0; step < operations; step++) {
        // Mostly forward, by steps that cross several widths; now and then a time before the latest.
        const at = below(8) === 0 ? time * random.next() : (time += random.next() * [0.5, 5, 60][below(3)]!);
        const kind = below(4);
        const name = names[below(names.length)]!;
        const value = below(2) === 0 ? below(50) : random.next() * 1e6 - 5e5;
        for (const timeline of [real, reference]) {
          if (kind === 0) timeline.sent(at);
          else if (kind === 1) timeline.received(at);
          else timeline.metric(at, name, value);
        }
      }
      if (below(3) === 0) {
        const resultAt = time + random.next() * 1_000;
        for (const timeline of [real, reference]) timeline.result(resultAt);
      }
      expect(JSON.stringify(real.toJSON()), `seed ${seed}`).toBe(JSON.stringify(reference.toJSON()));
    }
  });

  it('gives a bucket with only metrics its counts of zero, and leaves empty buckets null', () => {
    const timeline = new Timeline();
    timeline.metric(3.5, 'level', 2);
    timeline.sent(1);
    timeline.metric(3.9, 'x', 1);
    timeline.metric(3.2, 'level', 3);
    expect(timeline.toJSON()).toEqual({ bucketMs: 1, buckets: [null, { sent: 1, received: 0 }, null, { sent: 0, received: 0, metrics: { level: 3, x: 1 } }] });
  });
});
