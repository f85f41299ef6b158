/** A typed array pushed onto, doubling when full: millions of numbers without a boxed number for each. */
export class GrowingArray<T extends Uint32Array | Float64Array> {
  private array: T;
  private count = 0;

  constructor(private readonly Kind: { new (length: number): T }) {
    this.array = new Kind(1 << 16);
  }

  get length(): number {
    return this.count;
  }

  push(element: number): void {
    if (this.count === this.array.length) {
      const grown = new this.Kind(this.array.length * 2);
      grown.set(this.array);
      this.array = grown;
    }
    this.array[this.count++] = element;
  }

  at(index: number): number {
    return this.array[index]!;
  }

  /** Overwrites an element already pushed (e.g. a count written before what it counts). */
  set(index: number, element: number): void {
    if (index >= this.count) throw new RangeError(`GrowingArray.set(${index}) past its length ${this.count}`);
    this.array[index] = element;
  }

  /** Keeps the first `length` elements (rewritten in place with set, as the run series compacts its buckets). */
  truncate(length: number): void {
    if (length > this.count) throw new RangeError(`GrowingArray.truncate(${length}) past its length ${this.count}`);
    this.count = length;
  }

  /**
   * The elements pushed, as a view of the array they were pushed into: its buffer can be transferred to another
   * thread without a copy. The part of it past them was never written, and a large typed array's unwritten pages
   * take no memory (the kernel backs a page when it is first written). A copy of their own size (slice) held them
   * twice at the worst moment, the end of a simulation, when every node's state is still alive: about 1 GiB for
   * a 10⁶-node GHS's reports.
   */
  view(): T {
    return this.array.subarray(0, this.count) as T;
  }
}
