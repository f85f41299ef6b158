/**
 * `peerlab bench convergence` through the built CLI: a small flood on real Docker and etcd, and the regression
 * gate (in the simulator, where messages are fixed by the seed) passing, failing and refusing bad baselines.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvergenceSample } from '../../src/bench/convergence.js';
import type { BenchReport } from '../../src/bench/report.js';
import { leftBehind, peerlabIn } from './cli-helpers.js';

let workDir: string;
const peerlab = (...args: string[]) => peerlabIn(workDir, ...args);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-bench-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('bench convergence', () => {
  it('measures flood on 10 containers with a passing verdict, and leaves nothing', async () => {
    const { code, stdout, stderr } = await peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10', '--runtime', 'docker', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
    expect(report.schema).toBe('peerlab.bench.convergence/1');
    expect(report.peerlab.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.host.cpus).toBeGreaterThan(0);
    expect(report.comparison).toBeUndefined();
    expect(report.samples).toHaveLength(1);
    const [sample] = report.samples;
    expect(sample).toMatchObject({ algorithm: 'flood', runtime: 'docker', topology: 'ba:n=10,m=2', nodes: 10, edges: 16 });
    expect(sample!.verdict.passed).toBe(true);
    // Flood sends over every edge once in each direction but the one its token came by: 2E − (N − 1).
    expect(sample!.messages).toBe(2 * 16 - 9);
    expect(sample!.algorithmMs).toBeGreaterThan(0);
    expect(sample!.allConnectedMs).toBeGreaterThan(0);
    expect(sample!.virtualTimeMs).toBeUndefined();
    expect(await leftBehind(stderr)).toBe(0);
  });

  describe('against a baseline', () => {
    const bench = (...extra: string[]) => peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10,20', '--runtime', 'sim', '--json', ...extra);
    let baseline: BenchReport<ConvergenceSample>;

    beforeAll(async () => {
      const { code, stdout } = await bench();
      expect(code).toBe(0);
      baseline = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
      await writeFile(path.join(workDir, 'baseline.json'), stdout);
    });

    it('passes when nothing regressed, with the comparison in the JSON', async () => {
      const { code, stdout, stderr } = await bench('--baseline', 'baseline.json', '--max-regression', '20%');
      expect(code, stderr).toBe(0);
      const report = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
      expect(report.comparison).toMatchObject({ passed: true, maxRegressionPercent: 20, regressions: [], missing: [], baseline: { file: 'baseline.json' } });
      expect(report.comparison!.checks.filter((check) => check.metric === 'messages').map((check) => check.status)).toEqual(['within', 'within']);
      expect(stderr).toContain('✔ no gated metric regressed by more than 20% against baseline.json');
    });

    it('exits 1 with one line per regressed metric, after printing the JSON', async () => {
      const fewer = { ...baseline, samples: baseline.samples.map((sample) => (sample.nodes === 20 ? { ...sample, messages: sample.messages / 2 } : sample)) };
      await writeFile(path.join(workDir, 'fewer.json'), JSON.stringify(fewer));
      const { code, stdout, stderr } = await bench('--baseline', 'fewer.json');
      expect(code).toBe(1);
      const report = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
      expect(report.comparison?.passed).toBe(false);
      const messages = report.samples[1]!.messages;
      expect(stderr.split('\n').filter((line) => line.startsWith('regression: '))).toEqual([
        `regression: flood N=20 messages ${Math.round(messages / 2)} → ${messages} (+100% > 20%)`,
      ]);
    });

    const badBaselines: Array<{ name: string; content: string | undefined; message: RegExp }> = [
      { name: 'a missing file', content: undefined, message: /cannot read the baseline bad\.json: no such file/ },
      { name: 'a file that is not JSON', content: 'N=10 1.2 s', message: /the baseline bad\.json is not JSON/ },
      { name: 'the output of another bench', content: '{"schema":"peerlab.bench.startup/1","samples":[]}', message: /has schema "peerlab.bench.startup\/1", not "peerlab.bench.convergence\/1"/ },
    ];
    for (const { name, content, message } of badBaselines) {
      it(`rejects ${name} in one line before anything starts`, async () => {
        const file = path.join(workDir, 'bad.json');
        await rm(file, { force: true });
        if (content !== undefined) await writeFile(file, content);
        // Docker: a run would start containers, so "before anything starts" is checked where it matters.
        const { code, stdout, stderr } = await peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10', '--baseline', 'bad.json');
        expect(code).not.toBe(0);
        const lines = stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^error: /);
        expect(lines[0]).toMatch(message);
        expect(lines[0]).toContain(' — ');
        expect(stdout).toBe('');
      });
    }
  });
});
