import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convergenceBench } from '../../src/bench/convergence.js';
import { compareSamples, parseMaxRegression, type GatedMetric, type GateSample } from '../../src/bench/regression.js';
import { compareToBaseline, readBaseline } from '../../src/bench/report.js';
import { startupBench } from '../../src/bench/startup.js';
import { PeerlabError } from '../../src/errors.js';

const ratio: GatedMetric = { name: 'ratio', label: 'allConnected ratio', noiseFloor: 0.05, format: (value) => value.toFixed(2) };
const ms: GatedMetric = { name: 'ms', label: 'algorithm time', noiseFloor: 100, format: (value) => `${Math.round(value)} ms` };

const sample = (nodes: number, values: GateSample['values'], key = `ba:n=${nodes},m=2 seed 1`): GateSample => ({ label: `N=${nodes}`, key, values });

const compare = (current: GateSample[], baseline: GateSample[], metrics = [ratio], maxRegressionPercent = 20) =>
  compareSamples({ current, baseline, metrics, maxRegressionPercent });

describe('comparing samples with a baseline', () => {
  it('flags a regression beyond the tolerance with one line naming sample, metric, values and change', () => {
    const result = compare([sample(100, { ratio: 1.4 })], [sample(100, { ratio: 1.05 })]);
    expect(result.passed).toBe(false);
    expect(result.regressions).toEqual(['N=100 allConnected ratio 1.05 → 1.40 (+33% > 20%)']);
    expect(result.checks).toEqual([
      { sample: 'N=100', metric: 'ratio', baseline: 1.05, current: 1.4, changePercent: expect.closeTo(33.33, 1), status: 'regressed' },
    ]);
  });

  it('passes a change within the tolerance', () => {
    const result = compare([sample(100, { ratio: 1.2 })], [sample(100, { ratio: 1.05 })]);
    expect(result.passed).toBe(true);
    expect(result.regressions).toEqual([]);
    expect(result.checks[0]!.status).toBe('within');
  });

  it('uses the given tolerance', () => {
    expect(compare([sample(100, { ratio: 1.2 })], [sample(100, { ratio: 1.05 })], [ratio], 10).regressions).toEqual([
      'N=100 allConnected ratio 1.05 → 1.20 (+14% > 10%)',
    ]);
  });

  it('reports an improvement beyond the tolerance without failing', () => {
    const result = compare([sample(50, { ratio: 1.0 })], [sample(50, { ratio: 1.5 })]);
    expect(result.passed).toBe(true);
    expect(result.improvements).toEqual(['N=50 allConnected ratio 1.50 → 1.00 (−33%)']);
    expect(result.checks[0]!.status).toBe('improved');
  });

  it('reports a sample missing from the baseline, compares the rest, and does not fail for it', () => {
    const result = compare([sample(50, { ratio: 1.0 }), sample(200, { ratio: 3.0 })], [sample(50, { ratio: 1.0 })]);
    expect(result.passed).toBe(true);
    expect(result.missing).toEqual(['N=200 (ba:n=200,m=2 seed 1)']);
    expect(result.checks.map((check) => check.sample)).toEqual(['N=50']);
  });

  it('does not compare samples of a different workload, even under the same label', () => {
    const result = compare([sample(50, { ratio: 3.0 }, 'ba:n=50,m=3 seed 1')], [sample(50, { ratio: 1.0 })]);
    expect(result.passed).toBe(true);
    expect(result.missing).toEqual(['N=50 (ba:n=50,m=3 seed 1)']);
  });

  it('takes a change under the noise floor for noise, whatever its percentage', () => {
    const tiny = compare([sample(25, { ms: 59 })], [sample(25, { ms: 9 })], [ms]);
    expect(tiny.passed).toBe(true);
    const real = compare([sample(25, { ms: 400 })], [sample(25, { ms: 200 })], [ms]);
    expect(real.regressions).toEqual(['N=25 algorithm time 200 ms → 400 ms (+100% > 20%)']);
  });

  it('skips a metric that either side has no value for', () => {
    const result = compare([sample(25, { ratio: 9, ms: 100 })], [sample(25, { ms: 100 })], [ratio, ms]);
    expect(result.checks.map((check) => check.metric)).toEqual(['ms']);
    expect(result.passed).toBe(true);
  });

  it('flags growth from a baseline of zero', () => {
    const result = compare([sample(25, { ratio: 1 })], [sample(25, { ratio: 0 })]);
    expect(result.checks[0]).toMatchObject({ changePercent: null, status: 'regressed' });
    expect(result.regressions).toEqual(['N=25 allConnected ratio 0.00 → 1.00 (+∞% > 20%)']);
  });
});

describe('--max-regression', () => {
  it('reads a percentage with or without the sign', () => {
    expect(parseMaxRegression('20%')).toBe(20);
    expect(parseMaxRegression('12.5')).toBe(12.5);
    expect(parseMaxRegression('0%')).toBe(0);
  });

  it.each(['', 'abc', '-5%', '20%%'])('rejects %j naming the flag', (text) => {
    expect(() => parseMaxRegression(text)).toThrow(PeerlabError);
    expect(() => parseMaxRegression(text)).toThrow(/--max-regression/);
  });
});

describe('a baseline file', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-bench-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const written = path.join(dir, name);
    writeFileSync(written, content);
    return written;
  };
  const startupSample = (nodes: number, ratio: number, hostBytesPerNode: number, runtime = 'docker') => ({
    runtime,
    topology: `ba:n=${nodes},m=2`,
    seed: 1,
    nodes,
    edges: 2 * nodes - 4,
    ratio,
    memory: { hostBytesPerNode, cgroupBytesPerNode: 0 },
  });
  const startupOutput = (samples: unknown[], schema = 'peerlab.bench.startup/3') => JSON.stringify({ schema, peerlab: { version: '0.1.0' }, samples });
  const lineOf = async (promise: Promise<unknown>): Promise<string> => {
    const error = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(PeerlabError);
    return (error as PeerlabError).line;
  };

  it('of the same bench is read into samples and gates this run', async () => {
    const baseline = await readBaseline(file('startup.json', startupOutput([startupSample(50, 1.05, 30 * 2 ** 20), startupSample(100, 1.05, 30 * 2 ** 20)])), startupBench);
    expect(baseline.samples.map((gated) => gated.label)).toEqual(['N=50', 'N=100']);
    const comparison = compareToBaseline(startupBench, [startupSample(50, 1.06, 31 * 2 ** 20), startupSample(100, 1.4, 40 * 2 ** 20)], baseline, 20);
    expect(comparison.passed).toBe(false);
    expect(comparison.regressions).toEqual([
      'N=100 allConnected ratio 1.05 → 1.40 (+33% > 20%)',
      'N=100 host memory per node 30.0 MiB → 40.0 MiB (+33% > 20%)',
    ]);
    expect(comparison.baseline).toEqual({ file: baseline.file, peerlab: { version: '0.1.0' } });
  });

  it('that cannot be read is an error naming it', async () => {
    const missing = path.join(dir, 'missing.json');
    expect(await lineOf(readBaseline(missing, startupBench))).toMatch(
      new RegExp(`^cannot read the baseline ${missing}: no such file — .*peerlab bench startup --json`),
    );
  });

  it('that is not JSON is an error naming it', async () => {
    const bad = file('truncated.json', '{"schema": "peerlab.bench.startup/2", "samp');
    expect(await lineOf(readBaseline(bad, startupBench))).toMatch(new RegExp(`^the baseline ${bad} is not JSON: .* — `));
  });

  it('of another bench is an error naming both schemas', async () => {
    const other = file('startup-for-convergence.json', startupOutput([]));
    expect(await lineOf(readBaseline(other, convergenceBench))).toMatch(
      new RegExp(`^the baseline ${other} has schema "peerlab.bench.startup/3", not "peerlab.bench.convergence/1" — .*peerlab bench convergence --json`),
    );
  });

  it('of the start-up bench before its baseline ran in parallel is refused: its ratios are to a slower baseline', async () => {
    const sequential = file('sequential.json', startupOutput([startupSample(100, 0.9, 15 * 2 ** 20)], 'peerlab.bench.startup/1'));
    expect(await lineOf(readBaseline(sequential, startupBench))).toMatch(
      new RegExp(`^the baseline ${sequential} has schema "peerlab.bench.startup/1", not "peerlab.bench.startup/3" — `),
    );
  });

  it('of the start-up bench on one runtime does not gate a run on another: their baselines differ', async () => {
    const baseline = await readBaseline(file('docker.json', startupOutput([startupSample(100, 1.05, 30 * 2 ** 20)])), startupBench);
    const comparison = compareToBaseline(startupBench, [startupSample(100, 3, 60 * 2 ** 20, 'swarm')], baseline, 20);
    expect(comparison.passed).toBe(true);
    expect(comparison.checks).toEqual([]);
    expect(comparison.missing).toEqual(['N=100 (ba:n=100,m=2 seed 1 on swarm)']);
  });

  it('without a schema (e.g. an error object) is an error', async () => {
    const error = file('error.json', JSON.stringify({ error: { message: 'no Docker' } }));
    expect(await lineOf(readBaseline(error, startupBench))).toMatch(/has no "schema" field/);
  });

  it('with a sample lacking a gated field is an error naming the field', async () => {
    const { ratio: _dropped, ...withoutRatio } = startupSample(100, 1, 1);
    const partial = file('partial.json', startupOutput([startupSample(50, 1, 1), withoutRatio]));
    expect(await lineOf(readBaseline(partial, startupBench))).toMatch(new RegExp(`^the baseline ${partial}: field samples\\[1\\]\\.ratio: `));
  });
});
