/** An append-only typed array that doubles when full: millions of numbers without a boxed number for each. */
export class GrowingArray<T extends Uint32Array | Float64Array> {
  private array: T;
  length = 0;

  constructor(private readonly Kind: { new (length: number): T }) {
    this.array = new Kind(1 << 16);
  }

  push(element: number): void {
    if (this.length === this.array.length) {
      const grown = new this.Kind(this.array.length * 2);
      grown.set(this.array);
      this.array = grown;
    }
    this.array[this.length++] = element;
  }

  at(index: number): number {
    return this.array[index]!;
  }

  /** Overwrites an element already pushed (e.g. a count written before what it counts). */
  set(index: number, element: number): void {
    if (index >= this.length) throw new RangeError(`GrowingArray.set(${index}) past its length ${this.length}`);
    this.array[index] = element;
  }

  /** The elements pushed, in an array of their own size (a buffer that can be transferred to another thread). */
  trimmed(): T {
    return this.array.slice(0, this.length) as T;
  }
}
