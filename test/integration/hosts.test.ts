/**
 * Hosts of different capacity on one Docker engine (issue 13), no mocks: seed 000's Table 6.1 extremes (central,
 * 5217.93 MIPS, and outpost_pi, 132.29) as CPU groups, a counting load on one node of each, and the CPU time each
 * got over the same wall time. Also the one-line refusals of `--hosts`. Moves between hosts: migration.test.ts.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlgorithm } from '../../src/run/run.js';
import { parseHostsSpec } from '../../src/runtime/emulated-hosts.js';
import { packageRoot } from '../../src/util/paths.js';
import { leftBehind, leftovers, nodeResults, peerlabIn } from './cli-helpers.js';

const TABLE_6_1 = 'central=5217.93,outpost_pi=132.29';
const CAPACITY_RATIO = 5217.93 / 132.29;

let resultsRoot: string;
beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-hosts-'));
});
afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

interface Work {
  readonly iterations: number;
  readonly overMs: number;
  readonly cpuMs: number;
}

describe('hosts of their own CPU quota', () => {
  it("gives Table 6.1's extremes CPU in the ratio of their capacities, records them, and leaves no group behind", async () => {
    let runId = '';
    // Half a CPU for the largest host, so that the rest of the machine (etcd, the CLI, the engine) does not take
    // from it on two cores; the smallest gets 0.0127 CPU.
    const summary = await runAlgorithm({
      algorithm: 'test/fixtures/cpu-work.ts',
      params: ['durationMs=9000', 'warmUpMs=1000'],
      topology: 'complete:n=2',
      seed: 1,
      allowDisconnected: false,
      timeoutMs: 120_000,
      resultsRoot,
      runtime: 'docker',
      hosts: parseHostsSpec(TABLE_6_1, 0.5),
      onRunId: (id) => (runId = id),
    });
    const [central, pi] = (await nodeResults(summary.resultsDir)) as unknown as [Work, Work];
    const cpuRatio = central.cpuMs / central.overMs / (pi.cpuMs / pi.overMs);
    const workRatio = central.iterations / central.overMs / (pi.iterations / pi.overMs);
    console.log(`CPU ms per ms: central ${(central.cpuMs / central.overMs).toFixed(4)}, outpost_pi ${(pi.cpuMs / pi.overMs).toFixed(4)}; ratio ${cpuRatio.toFixed(2)} (capacities ${CAPACITY_RATIO.toFixed(2)}); iterations per ms ratio ${workRatio.toFixed(2)}`);
    expect(cpuRatio).toBeGreaterThan(CAPACITY_RATIO * 0.9);
    expect(cpuRatio).toBeLessThan(CAPACITY_RATIO * 1.1);
    expect(summary.runtimeFacts['hosts']).toEqual([
      { name: 'central', capacity: 5217.93, cpus: 0.5, nodes: ['0'] },
      { name: 'outpost_pi', capacity: 132.29, cpus: expect.closeTo(0.5 / CAPACITY_RATIO, 6) as unknown as number, nodes: ['1'] },
    ]);
    expect(summary.replay).toContain(`--hosts ${TABLE_6_1} --host-cpus 0.5`);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
    for (const controller of ['cpu', 'cpuacct', 'memory', 'pids']) {
      await expect(access(`/sys/fs/cgroup/${controller}/peerlab/${runId}`), controller).rejects.toThrow(/ENOENT/);
    }
  }, 300_000);

  it('refuses a spec it cannot honour in one line, before anything is created', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--hosts', 'alone=1'], /--hosts "alone=1": one host is the engine itself/],
      [['--hosts', 'a=1,a=2'], /host a is listed twice/],
      [['--hosts', 'a=fast,b=1'], /host a's capacity "fast" is not a positive number/],
      [['--hosts', 'big=1000,tiny=1'], /host tiny would get 0\.0010 CPUs, below the least .* — raise --host-cpus to 10\.0 or more/],
      [['--host-cpus', '2'], /--host-cpus needs --hosts/],
      [['--hosts', 'a=1,b=2', '--runtime', 'sim'], /--hosts: the sim runtime cannot give nodes hosts of their own CPU quota — take --runtime docker/],
    ];
    for (const [flags, message] of cases) {
      const refused = await peerlabIn(packageRoot, 'run', 'flood', '--topology', 'ring:n=4', '--results', resultsRoot, ...flags);
      expect(refused.code, flags.join(' ')).toBe(2);
      expect(refused.stderr.trim().split('\n'), refused.stderr).toHaveLength(1);
      expect(refused.stderr).toMatch(message);
      expect(await leftBehind(refused.stderr)).toBe(0);
    }
  }, 120_000);
});
