/**
 * node.demand in a container (src/node/cpu-demand.ts): the agent keeps the demanded share of one CPU busy, in
 * the hosts' unit, capped at one CPU, and stops when the demand goes back to 0.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CpuDemand } from '../../src/node/cpu-demand.js';

/** The share of one CPU this process used over `ms` of waiting on its event loop. */
async function cpuShareOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const began = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / (performance.now() - began);
}

describe('CpuDemand', () => {
  let demand: CpuDemand | undefined;
  afterEach(() => demand?.stop());

  it('spins the share of a CPU its units are worth, and nothing once the demand is 0', async () => {
    // 100 units a CPU: 40 units are 0.4 of one.
    demand = new CpuDemand(100);
    demand.set(40);
    const busy = await cpuShareOver(1500);
    // The spin counts CPU time, so a host busy with other tests delays it without taking from it: 0.4 and the
    // timers' own work.
    expect(busy).toBeGreaterThan(0.3);
    expect(busy).toBeLessThan(0.55);
    demand.set(0);
    expect(await cpuShareOver(500)).toBeLessThan(0.1);
  });
});
