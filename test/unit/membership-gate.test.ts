/**
 * The agent follows the registry as soon as it reads the start, a lead ahead of the start moment: what the
 * registry says in that lead must reach the algorithm after init, in order, as if the watch had opened at start.
 */
import { describe, expect, it } from 'vitest';
import { HeldUntilStart } from '../../src/node/membership.js';

describe('registry news before the start', () => {
  it('is held until the algorithm has begun, then told in order; later news is told at once', () => {
    const told: string[] = [];
    const host = { neighbourDown: (id: string, reason: string) => void told.push(`${id} down (${reason})`), neighbourUp: ({ id }: { id: string }) => void told.push(`${id} up`) };
    const membership = new HeldUntilStart(host);
    membership.neighbourDown('3', 'lease-expired');
    membership.neighbourUp({ id: '3', weight: 1 });
    expect(told).toEqual([]);
    membership.release();
    expect(told).toEqual(['3 down (lease-expired)', '3 up']);
    membership.neighbourDown('5', 'left');
    expect(told.at(-1)).toBe('5 down (left)');
  });
});
