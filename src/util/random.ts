import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';

/** A seeded random source. Every random choice in peerlab goes through one, so runs replay exactly. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** A uniformly chosen element; throws on an empty array. */
  pick<T>(items: readonly T[]): T;
  /** A new array with the items in random order. */
  shuffle<T>(items: readonly T[]): T[];
}

/** 32-bit FNV-1a: turns a run seed plus a label (a node id, a purpose) into an independent stream seed. */
export function hashSeed(...parts: Array<string | number>): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join('\u0000')) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
}

export function createRandom(...seedParts: Array<string | number>): Random {
  const generator = xoroshiro128plus(hashSeed(...seedParts));
  const int = (n: number): number => {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`random.int(n) needs a positive integer, got ${n}`);
    return uniformInt(generator, 0, n - 1);
  };
  return {
    next: () => uniformFloat64(generator),
    int,
    pick(items) {
      if (items.length === 0) throw new RangeError('random.pick() of an empty array');
      return items[int(items.length)]!;
    },
    shuffle(items) {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [copy[i], copy[j]] = [copy[j]!, copy[i]!];
      }
      return copy;
    },
  };
}
