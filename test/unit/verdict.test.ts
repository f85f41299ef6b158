/**
 * A verdict means what it says: PASS only when a check judged the run. An algorithm without an oracle is
 * UNCHECKED (and fails only under --require-check); an algorithm file's own `check` export judges its runs,
 * in the CLI only (the node bundle leaves it out).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleAlgorithm, bundleForNodes } from '../../src/plugins/bundle.js';
import { requireAlgorithm } from '../../src/host/load.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { packageRoot } from '../../src/util/paths.js';

const fixture = (name: string) => path.join(packageRoot, 'test', 'fixtures', `${name}.ts`);
const results = mkdtempSync(path.join(os.tmpdir(), 'peerlab-verdict-'));

const run = (algorithm: string, extra: Partial<RunRequest> = {}) =>
  runAlgorithm({
    algorithm,
    params: [],
    topology: 'ba:n=30,m=2',
    seed: 3,
    allowDisconnected: false,
    timeoutMs: 600_000,
    resultsRoot: results,
    runtime: 'sim',
    ...extra,
  });

const verifyJson = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'verify.json'), 'utf8')) as Record<string, unknown>;

describe('a run with no check', () => {
  it('is UNCHECKED, not passed, in the summary and verify.json; it fails only when a check is required', async () => {
    const summary = await run(fixture('async-relay'));
    expect(summary).toMatchObject({ outcome: 'unchecked', passed: false, failed: false });
    expect(summary.verdict).toMatch(/no oracle for async-relay: results recorded, not checked/);
    expect(verifyJson(summary.resultsDir)).toMatchObject({ outcome: 'unchecked', passed: false });
    expect(JSON.parse(readFileSync(path.join(summary.resultsDir, 'run.json'), 'utf8'))).toMatchObject({ check: null });

    const required = await run(fixture('async-relay'), { requireCheck: true });
    expect(required).toMatchObject({ outcome: 'unchecked', passed: false, failed: true });
  });
});

describe("an algorithm file's own check", () => {
  it('judges the run: pass when it passes, fail when it fails, recorded in verify.json and run.json', async () => {
    const good = await run(fixture('max-with-check'));
    expect(good).toMatchObject({ outcome: 'pass', passed: true, failed: false, verdict: 'every node knows the maximum 29' });
    expect(verifyJson(good.resultsDir)).toMatchObject({ outcome: 'pass', metrics: { wrong: 0 } });
    expect(JSON.parse(readFileSync(path.join(good.resultsDir, 'run.json'), 'utf8'))).toMatchObject({ check: 'max-with-check.ts#check' });

    const bad = await run(fixture('max-with-check'), { params: ['lie=true'] });
    expect(bad).toMatchObject({ outcome: 'fail', passed: false, failed: true, verdict: '1 node(s) do not know the maximum' });
    expect(verifyJson(bad.resultsDir)).toMatchObject({ failures: ['node 0: {"max":-1}, expected max 29'] });
  });

  it('that throws fails the run and says the check threw, keeping the results', async () => {
    const broken = await run(fixture('max-with-check'), { params: ['checkThrows=true'] });
    expect(broken).toMatchObject({ outcome: 'fail', failed: true });
    expect(broken.verdict).toBe('the check in max-with-check.ts threw: CHECK-ONLY-MARKER: the check broke');
    expect(readFileSync(path.join(broken.resultsDir, 'nodes.csv'), 'utf8')).toContain('"{""max"":29}"');
  });

  it('is in the CLI bundle but not in the node bundle', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-verdict-bundle-'));
    const [cli, nodeFile] = await Promise.all([bundleAlgorithm(fixture('max-with-check'), outDir), bundleForNodes(fixture('max-with-check'), outDir)]);
    expect(typeof cli.check).toBe('function');
    expect(readFileSync(cli.file, 'utf8')).toContain('CHECK-ONLY-MARKER');
    const nodeCode = readFileSync(nodeFile, 'utf8');
    expect(nodeCode).not.toContain('CHECK-ONLY-MARKER');
    expect(requireAlgorithm(nodeFile, { sourceMaps: false }).name).toBe('max-with-check');
    expect((await import(nodeFile)) as Record<string, unknown>).not.toHaveProperty('check');
  });
});

describe('the end of a run', () => {
  it('comes when every node has a result, with the messages still in flight reported (a livelock too)', async () => {
    const walk = await run(fixture('token-walk'), { params: ['hops=500'] });
    expect(walk.missing).toEqual([]);
    expect(walk.inFlight).toBe(1);
    expect(walk.metrics).toMatchObject({ messages: 1, messagesInFlight: 1 });
    expect(JSON.parse(readFileSync(path.join(walk.resultsDir, 'run.json'), 'utf8'))).toMatchObject({ until: 'results', runtimeFacts: { messagesInFlight: 1 } });

    const livelock = await run(fixture('token-walk'), { params: ['hops=0'] });
    expect(livelock).toMatchObject({ missing: [], inFlight: 1, outcome: 'unchecked' });
  });

  it('--until quiescent waits until no message is in flight, and fails a run that never gets there', async () => {
    const walk = await run(fixture('token-walk'), { params: ['hops=500'], until: 'quiescent' });
    expect(walk).toMatchObject({ inFlight: 0, outcome: 'unchecked', failed: false });
    expect(walk.metrics).toMatchObject({ messages: 500, messagesInFlight: 0 });
    expect(walk.replay).toContain('--until quiescent');

    const livelock = await run(fixture('token-walk'), { params: ['hops=0'], until: 'quiescent', timeoutMs: 5_000 });
    expect(livelock).toMatchObject({ outcome: 'fail', failed: true, inFlight: 1 });
    expect(livelock.verdict).toBe('timed out: every node has a result, but 1 message(s) were still in flight (--until quiescent)');
  });
});

describe('a variant that reproduces an inexact method', () => {
  it("is REPRODUCED, with its error, not PASS (push-sum's thesis variant); the default push-sum passes", async () => {
    const thesis = await run('push-sum', { params: ['variant=thesis', 'iterations=5'] });
    expect(thesis).toMatchObject({ outcome: 'reproduced', passed: false, failed: false });
    expect(thesis.verdict).toMatch(/^reproduced the thesis's push-sum \(early release\), inexact by design: mean [\d.]+, system average [\d.]+ \([\d.]+ % off\)/);
    expect(thesis.metrics.systemAverageRelError).toBeGreaterThan(0);
    expect(verifyJson(thesis.resultsDir)).toMatchObject({ outcome: 'reproduced', passed: false, reproduced: true });

    const kempe = await run('push-sum');
    expect(kempe).toMatchObject({ outcome: 'pass', passed: true });
    expect(kempe.metrics.maxRelError).toBeLessThanOrEqual(1e-4);
  });
});
