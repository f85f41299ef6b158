/**
 * The agenda keeps every timer of one instant in one queue entry (src/runtime/sim/agenda.ts): the order events
 * come out in must still be (time, order scheduled), with an instant's timers at the place of the first of them.
 */
import { describe, expect, it } from 'vitest';
import { Agenda } from '../../src/runtime/sim/agenda.js';

const drain = (agenda: Agenda<{ name: string }>): string[] => {
  const out: string[] = [];
  for (let event = agenda.pop(); event !== undefined; event = agenda.pop()) out.push(event.name);
  return out;
};

describe('the agenda', () => {
  it('gives an instant’s timers out one by one, in the order set, where the first of them was queued', () => {
    const agenda = new Agenda<{ name: string }>();
    agenda.pushTimer(10, { name: 'timer a' });
    agenda.push(10, { name: 'message 1' });
    agenda.pushTimer(10, { name: 'timer b' });
    agenda.push(5, { name: 'message 0' });
    agenda.pushTimer(20, { name: 'timer c' });
    expect(agenda.nextTime).toBe(5);
    expect(drain(agenda)).toEqual(['message 0', 'timer a', 'timer b', 'message 1', 'timer c']);
    expect(agenda.empty).toBe(true);
    expect(agenda.nextTime).toBe(Infinity);
  });

  it('puts a timer set for an instant whose timers are coming out behind what was queued meanwhile', () => {
    const agenda = new Agenda<{ name: string }>();
    agenda.pushTimer(10, { name: 'timer a' });
    agenda.pushTimer(10, { name: 'timer b' });
    expect(agenda.pop()!.name).toBe('timer a');
    agenda.push(10, { name: 'message' });
    agenda.pushTimer(10, { name: 'timer c' });
    expect(agenda.empty).toBe(false);
    expect(agenda.nextTime).toBe(10);
    expect(drain(agenda)).toEqual(['timer b', 'message', 'timer c']);
  });
});
