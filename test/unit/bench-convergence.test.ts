import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchConvergence, convergenceBench } from '../../src/bench/convergence.js';
import { compareToBaseline } from '../../src/bench/report.js';
import type { RunRequest } from '../../src/run/run.js';
import { simRunRequest } from './sim-helpers.js';

const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-bench-convergence-'));
afterAll(() => rmSync(resultsRoot, { recursive: true, force: true }));

const simRequest = (algorithm: string, topology: string): RunRequest => simRunRequest(resultsRoot, algorithm, topology);

describe('bench convergence in the simulator', () => {
  it('runs push-sum to a passing verdict and reports its messages and times', async () => {
    const sample = await benchConvergence({ request: simRequest('push-sum', 'ba:n=20,m=2'), repetitions: 1 });
    expect(sample).toMatchObject({ algorithm: 'push-sum', runtime: 'sim', topology: 'ba:n=20,m=2', nodes: 20, edges: 36 });
    expect(sample.verdict).toMatchObject({ passed: true, failed: false, outcome: 'pass' });
    expect(sample.verdict.summary).toMatch(/^push-sum: all 20 nodes within 0\.0001 of the mean/);
    expect(sample.messages).toBeGreaterThan(0);
    expect(sample.messagesPerNode).toBe(sample.messages / 20);
    expect(sample.bytes).toBeGreaterThan(sample.messages);
    expect(sample.virtualTimeMs).toBeGreaterThan(0);
    expect(sample.allConnectedMs).toBeUndefined();
    // The rounds push-sum derived from the graph (its graphDefaults) are in the replay line, so a replay repeats them.
    expect(sample.replay).toBe('peerlab run push-sum --topology ba:n=20,m=2 --seed 1 --param rounds=106 --runtime sim --timeout 60');
    expect(sample.runs).toHaveLength(1);
    expect(sample.runs[0]!.resultsDir).toBe(path.join(resultsRoot, sample.runs[0]!.runId));
  });

  it('repeats the same run: the simulator gives the same messages and virtual time, and the medians are theirs', async () => {
    const sample = await benchConvergence({ request: simRequest('flood', 'ba:n=30,m=2'), repetitions: 3 });
    expect(sample.runs).toHaveLength(3);
    expect(new Set(sample.runs.map((run) => run.runId)).size).toBe(3);
    expect(new Set(sample.runs.map((run) => run.messages))).toEqual(new Set([sample.messages]));
    expect(new Set(sample.runs.map((run) => run.virtualTimeMs))).toEqual(new Set([sample.virtualTimeMs]));
    const times = sample.runs.map((run) => run.algorithmMs).sort((a, b) => a - b);
    expect(sample.algorithmMs).toBe(times[1]);
  });

  it('reports a failed verdict with the failing run\'s summary', async () => {
    const sample = await benchConvergence({ request: simRequest('test/fixtures/silent-node-3.ts', 'ba:n=10,m=2'), repetitions: 1 });
    expect(sample.verdict.passed).toBe(false);
    expect(sample.verdict.summary).toMatch(/^1 of 1 run\(s\) failed; timed out: 1 node\(s\) reported no result \(3\)/);
  });

  it('does not count an unchecked run as passed, and fails it under --require-check', async () => {
    const sample = await benchConvergence({ request: simRequest('test/fixtures/async-relay.ts', 'ba:n=10,m=2'), repetitions: 1 });
    expect(sample.verdict).toMatchObject({ passed: false, failed: false, outcome: 'unchecked' });
    expect(sample.runs[0]).toMatchObject({ outcome: 'unchecked', passed: false });
    const required = await benchConvergence({ request: { ...simRequest('test/fixtures/async-relay.ts', 'ba:n=10,m=2'), requireCheck: true }, repetitions: 1 });
    expect(required.verdict).toMatchObject({ passed: false, failed: true, outcome: 'unchecked' });
    expect(required.verdict.summary).toMatch(/^1 of 1 run\(s\) failed; no oracle for async-relay: results recorded, not checked$/);
  });

  it('gates a sample against itself as unchanged, and against fewer messages as a regression', async () => {
    const sample = await benchConvergence({ request: simRequest('flood', 'ba:n=20,m=2'), repetitions: 1 });
    const gated = convergenceBench.gateSample.parse(sample);
    const same = compareToBaseline(convergenceBench, [sample], { file: 'same.json', peerlab: {}, samples: [gated] }, 20);
    expect(same.passed).toBe(true);
    expect(same.checks.map((check) => check.metric)).toEqual(['algorithmMs', 'virtualTimeMs', 'messages']);
    const fewer = { ...gated, values: { ...gated.values, messages: sample.messages / 2 } };
    const worse = compareToBaseline(convergenceBench, [sample], { file: 'fewer.json', peerlab: {}, samples: [fewer] }, 20);
    expect(worse.passed).toBe(false);
    expect(worse.regressions).toEqual([expect.stringMatching(new RegExp(`^flood N=20 messages \\d+ → ${sample.messages} \\(\\+100% > 20%\\)$`))]);
  });
});
