import { describe, expect, it } from 'vitest';
import { createRandom } from '../../src/util/random.js';

describe('createRandom', () => {
  it('replays the same stream for the same seed parts and diverges for others', () => {
    const draw = (...seed: Array<string | number>) => {
      const random = createRandom(...seed);
      return Array.from({ length: 5 }, () => random.next());
    };
    expect(draw(7, 'node-1')).toEqual(draw(7, 'node-1'));
    expect(draw(7, 'node-1')).not.toEqual(draw(7, 'node-2'));
    expect(draw(7, 'node-1')).not.toEqual(draw(8, 'node-1'));
  });

  it('keeps int() in range and covers it', () => {
    const random = createRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(random.int(6));
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => random.int(0)).toThrow(RangeError);
  });
});
