/**
 * node.demand in a container (src/node/cpu-demand.ts): the agent keeps the demanded share of one CPU busy, in
 * the hosts' unit, capped at one CPU, and stops when the demand goes back to 0.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CpuDemand } from '../../src/node/cpu-demand.js';

/**
 * The CPU time this process spends, in ms, while `ms` of its timers' time passes. The timers are fake, so the
 * bursts run one after another however busy the host is: a burst is an amount of CPU time, and a wall-clock
 * window on CI's two cores, beside the Docker tests, gave the process less of a CPU than the demand asked.
 */
function cpuMsOver(ms: number): number {
  const before = process.cpuUsage();
  vi.advanceTimersByTime(ms);
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

describe('CpuDemand', () => {
  let demand: CpuDemand | undefined;
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    demand?.stop();
    vi.useRealTimers();
  });

  it('spins the share of a CPU its units are worth, and nothing once the demand is 0', () => {
    // 100 units a CPU: 40 units are 0.4 of one, 200 ms of CPU in 500 ms.
    demand = new CpuDemand(100);
    demand.set(40);
    const busy = cpuMsOver(500) / 500;
    expect(busy).toBeGreaterThanOrEqual(0.4);
    // Each burst overshoots by at most one reading of the CPU clock, and the timers' own work is small.
    expect(busy).toBeLessThan(0.45);
    // The work it counts is the bursts' (ten of 20 ms), not the CPU clock's overshoot.
    expect(demand.workMs).toBeCloseTo(200, 9);
    demand.set(0);
    expect(cpuMsOver(500) / 500).toBeLessThan(0.02);
  });

  it('caps a demand above one CPU at one', () => {
    demand = new CpuDemand(100);
    demand.set(250);
    const busy = cpuMsOver(200) / 200;
    expect(busy).toBeGreaterThanOrEqual(1);
    expect(busy).toBeLessThan(1.05);
    expect(demand.workMs).toBeCloseTo(200, 9);
  });

  it('counts a demand too small for the CPU clock to time as what it is, and says whether there was one', () => {
    // Seed 000's fibonacci agent: 0.0089 MIPS of the central server's 5217.93 on 2 CPUs, 0.17 µs a burst.
    demand = new CpuDemand(5217.93 / 2);
    expect(demand.declared).toBe(false);
    demand.set(0.0089);
    expect(demand.declared).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(demand.workMs).toBeCloseTo((0.0089 / (5217.93 / 2)) * 1000, 12);
  });
});
