import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { EventQueue } from '../../src/runtime/sim/event-queue.js';
import { DEFAULT_DELAY_SPEC, defaultDelay, parseDelay, type DelayContext } from '../../src/runtime/sim/delay.js';
import { createRandom } from '../../src/util/random.js';

function draws(spec: string, count = 2000, weight = 1): number[] {
  const model = parseDelay(spec);
  const random = createRandom(1, 'sim-delay', '0');
  const context: DelayContext = { from: '0', to: '1', weight, now: 0, payload: '{}', bytes: 2, random };
  return Array.from({ length: count }, () => model.delay(context));
}

describe('delay models', () => {
  it('parses the documented specs and round-trips them', () => {
    for (const spec of ['constant:2', 'uniform:0.5..3', 'exp:1', 'weight', 'weight:0.5']) expect(parseDelay(spec).spec).toBe(spec);
    expect(parseDelay('const:2').spec).toBe('constant:2');
    expect(parseDelay('exponential:4').spec).toBe('exp:4');
    expect(defaultDelay().spec).toBe(DEFAULT_DELAY_SPEC);
  });

  it('draws within range, with the right means', () => {
    expect(new Set(draws('constant:2'))).toEqual(new Set([2]));
    const uniform = draws('uniform:1..3');
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...uniform)).toBeLessThan(3);
    const exp = draws('exp:2', 20_000);
    expect(Math.min(...exp)).toBeGreaterThanOrEqual(0);
    expect(exp.reduce((a, b) => a + b, 0) / exp.length).toBeCloseTo(2, 1);
    expect(draws('weight:0.5', 3, 8)).toEqual([4, 4, 4]);
  });

  it('explains bad specs with a PeerlabError', () => {
    for (const spec of ['', 'exp', 'exp:', 'exp:0', 'exp:-1', 'uniform:3..1', 'uniform:1', 'constant:abc', 'normal:1', 'constant:Infinity']) {
      let caught: unknown;
      try {
        parseDelay(spec);
      } catch (error) {
        caught = error;
      }
      expect(caught, spec).toBeInstanceOf(PeerlabError);
      expect((caught as PeerlabError).line).toMatch(/--delay ".*":.* — use constant:MS/);
    }
  });
});

describe('EventQueue', () => {
  it('pops in (time, insertion) order', () => {
    const queue = new EventQueue<number>();
    const random = createRandom(3);
    const pushed: Array<{ time: number; value: number }> = [];
    for (let value = 0; value < 5000; value++) {
      const time = random.int(50);
      queue.push(time, value);
      pushed.push({ time, value });
    }
    const expected = [...pushed].sort((a, b) => a.time - b.time || a.value - b.value).map((entry) => entry.value);
    const popped: number[] = [];
    for (let value = queue.pop(); value !== undefined; value = queue.pop()) popped.push(value);
    expect(popped).toEqual(expected);
    expect(queue.size).toBe(0);
  });

  it('interleaves pushes and pops correctly', () => {
    const queue = new EventQueue<string>();
    queue.push(5, 'a');
    queue.push(1, 'b');
    expect(queue.nextTime).toBe(1);
    expect(queue.pop()).toBe('b');
    queue.push(5, 'c');
    queue.push(0, 'd');
    expect([queue.pop(), queue.pop(), queue.pop(), queue.pop()]).toEqual(['d', 'a', 'c', undefined]);
    expect(queue.nextTime).toBe(Infinity);
  });
});
