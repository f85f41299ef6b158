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
  const text = parts.join('\u0000');
  let hash = 0x811c9dc5;
  // By index, not for…of: the same code points (a surrogate pair as one), without an iterator result per
  // character, which made a seeded stream cost about 500 bytes (the simulator makes one per sending node).
  for (let i = 0; i < text.length; ) {
    const code = text.codePointAt(i)!;
    hash ^= code;
    hash = Math.imul(hash, 0x01000193);
    i += code > 0xffff ? 2 : 1;
  }
  return hash | 0;
}

export function createRandom(...seedParts: Array<string | number>): Random {
  const stream = new RandomStream(seededGenerator(...seedParts));
  // Closures, not the class's methods: a node's random is spread (`{ ...node.random, pick }`) and its methods passed on.
  return {
    next: () => stream.next(),
    int: (n) => stream.int(n),
    pick: (items) => stream.pick(items),
    shuffle: (items) => stream.shuffle(items),
  };
}

export type RandomGenerator = ReturnType<typeof xoroshiro128plus>;

/** The generator behind `createRandom(...seedParts)`, alone: what a RandomStream draws from. */
export function seededGenerator(...seedParts: Array<string | number>): RandomGenerator {
  return xoroshiro128plus(hashSeed(...seedParts));
}

/**
 * A Random drawing from `generator`, which may be swapped: one object can serve many streams, each kept as its
 * bare generator (48 bytes), where a Random of closures per stream cost about 375 bytes (the simulator keeps one
 * delay stream per sending node). Its draws are createRandom's for the same generator.
 */
export class RandomStream implements Random {
  constructor(public generator: RandomGenerator) {}

  next(): number {
    return uniformFloat64(this.generator);
  }

  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`random.int(n) needs a positive integer, got ${n}`);
    return uniformInt(this.generator, 0, n - 1);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('random.pick() of an empty array');
    return items[this.int(items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let i = copy.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy;
  }
}
