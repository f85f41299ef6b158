/**
 * The simulator's agenda: a binary min-heap of events ordered by (virtual time, sequence number). The
 * sequence number is handed out at push time, so events at the same instant come out in the order they were
 * scheduled: ties never depend on heap layout, which keeps runs replayable.
 */
export interface QueuedEvent<T> {
  readonly time: number;
  readonly seq: number;
  readonly value: T;
}

export class EventQueue<T> {
  private readonly heap: Array<QueuedEvent<T>> = [];
  private nextSeq = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `value` at `time`; returns the queued entry (its `seq` breaks ties with other events at `time`). */
  push(time: number, value: T): QueuedEvent<T> {
    if (Number.isNaN(time)) throw new RangeError('event time is NaN');
    const entry: QueuedEvent<T> = { time, seq: this.nextSeq++, value };
    const heap = this.heap;
    let index = heap.length;
    heap.push(entry);
    while (index > 0) {
      const parentIndex = (index - 1) >> 1;
      const parent = heap[parentIndex]!;
      if (!before(entry, parent)) break;
      heap[index] = parent;
      index = parentIndex;
    }
    heap[index] = entry;
    return entry;
  }

  peek(): QueuedEvent<T> | undefined {
    return this.heap[0];
  }

  pop(): QueuedEvent<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      // Sift `last` down from the root.
      const length = heap.length;
      let index = 0;
      for (;;) {
        const left = 2 * index + 1;
        if (left >= length) break;
        const right = left + 1;
        const child = right < length && before(heap[right]!, heap[left]!) ? right : left;
        if (!before(heap[child]!, last)) break;
        heap[index] = heap[child]!;
        index = child;
      }
      heap[index] = last;
    }
    return top;
  }

  clear(): void {
    this.heap.length = 0;
  }
}

function before<T>(a: QueuedEvent<T>, b: QueuedEvent<T>): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}
