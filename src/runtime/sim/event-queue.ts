/**
 * The simulator's agenda: a binary min-heap of events ordered by (virtual time, sequence number). The
 * sequence number is handed out at push time, so events at the same instant come out in the order they were
 * scheduled: ties never depend on heap layout, which keeps runs replayable.
 *
 * The heap is kept as parallel arrays (times and sequence numbers in typed arrays, values in a plain array)
 * rather than one entry object per event: at 10⁵–10⁶ pending events an entry object per push is garbage the
 * collector must trace and promote, and the comparisons would chase a pointer per heap level.
 */
const INITIAL_CAPACITY = 1024;

export class EventQueue<T> {
  private times = new Float64Array(INITIAL_CAPACITY);
  /** Doubles, not integers: exact up to 2⁵³ events, where 32 bits would wrap within a long run. */
  private seqs = new Float64Array(INITIAL_CAPACITY);
  private values: Array<T | undefined> = [];
  private length = 0;
  private nextSeq = 0;

  get size(): number {
    return this.length;
  }

  /** The time of the earliest event; Infinity when the queue is empty. */
  get nextTime(): number {
    return this.length === 0 ? Infinity : this.times[0]!;
  }

  /** Schedules `value` at `time`; among events at one time, those pushed first come out first. */
  push(time: number, value: T): void {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    if (this.length === this.times.length) this.grow();
    const { times, seqs, values } = this;
    const seq = this.nextSeq++;
    // Sift the hole up from the end, then fill it.
    let index = this.length++;
    while (index > 0) {
      const parent = (index - 1) >> 1;
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

  /** Removes and returns the earliest event's value (undefined when the queue is empty). */
  pop(): T | undefined {
    if (this.length === 0) return undefined;
    const { times, seqs, values } = this;
    const top = values[0];
    const last = --this.length;
    const time = times[last]!;
    const seq = seqs[last]!;
    const value = values[last];
    values[last] = undefined;
    if (last > 0) {
      // Sift the hole down from the root, then put the last entry in it.
      let index = 0;
      for (;;) {
        let child = 2 * index + 1;
        if (child >= last) break;
        const right = child + 1;
        if (right < last && (times[right]! < times[child]! || (times[right] === times[child] && seqs[right]! < seqs[child]!))) child = right;
        const childTime = times[child]!;
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
