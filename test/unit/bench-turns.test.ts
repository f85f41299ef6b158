/** The side-by-side benches (startup, links, dashboard) measure both sides in turns, alternating who goes first. */
import { describe, expect, it } from 'vitest';
import { growthPercent, inTurns } from '../../src/bench/turns.js';

describe('inTurns', () => {
  it('runs each side once per repetition, alternating which goes first, and pairs what each measured', async () => {
    const order: string[] = [];
    const turns = await inTurns(3, {
      without: async (repetition) => (order.push(`without ${repetition}`), `w${repetition}`),
      with: async (repetition) => (order.push(`with ${repetition}`), repetition * 10),
    });
    expect(order).toEqual(['without 0', 'with 0', 'with 1', 'without 1', 'without 2', 'with 2']);
    expect(turns).toEqual([
      { first: 'without', without: 'w0', with: 0 },
      { first: 'with', without: 'w1', with: 10 },
      { first: 'without', without: 'w2', with: 20 },
    ]);
  });

  it('says how much the second side grew, and nothing when a side was not measured', () => {
    expect(growthPercent(200, 230)).toBeCloseTo(15, 10);
    expect(growthPercent(100, 88.3)).toBeCloseTo(-11.7, 10);
    expect(growthPercent(undefined, 1)).toBeUndefined();
    expect(growthPercent(1, undefined)).toBeUndefined();
  });
});
