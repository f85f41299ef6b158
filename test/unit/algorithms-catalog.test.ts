import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAlgorithms } from '../../src/plugins/catalog.js';
import { scaffoldAlgorithm } from '../../src/plugins/scaffold.js';
import { runAlgorithm } from '../../src/run/run.js';

let cwd: string;

beforeEach(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'peerlab-student-'));
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('algorithms new and list', () => {
  it('scaffolds a template that runs unchanged in the simulator', async () => {
    const file = await scaffoldAlgorithm('echo-wave', cwd);
    const summary = await runAlgorithm({
      algorithm: file,
      params: ['starter=2'],
      topology: 'ring:n=9',
      seed: 1,
      allowDisconnected: false,
      timeoutMs: 60_000,
      resultsRoot: path.join(cwd, 'results'),
      runtime: 'sim',
      delay: 'constant:1',
    });
    expect(summary.missing).toEqual([]);
    expect(summary.nodes).toBe(9);
    expect(summary.metrics.messages).toBe(2 * 9 - 9 + 1); // a flood on a ring: 2E − N + 1
    expect(summary).toMatchObject({ outcome: 'unchecked', passed: false, failed: false });

    // Its commented example check, uncommented, judges the run.
    const source = await readFile(file, 'utf8');
    await writeFile(file, source.replace(/^\/\/ ( {2}|export |};)/gm, '$1').replace(/^\/\/ {3}/gm, '  '));
    const checked = await runAlgorithm({ algorithm: file, params: ['starter=2'], topology: 'ring:n=9', seed: 1, allowDisconnected: false, timeoutMs: 60_000, resultsRoot: path.join(cwd, 'results'), runtime: 'sim' });
    expect(checked).toMatchObject({ outcome: 'pass', passed: true, verdict: 'all 9 nodes have a hop count', metrics: { wrong: 0 } });
    // And its commented graphDefaults, uncommented with it, picks the starter of highest degree (the star's hub)
    // when the user names none, and the replay line says which.
    const derived = await runAlgorithm({ algorithm: file, params: [], topology: 'star:n=6', seed: 1, allowDisconnected: false, timeoutMs: 60_000, resultsRoot: path.join(cwd, 'results'), runtime: 'sim' });
    expect(derived).toMatchObject({ outcome: 'pass', passed: true });
    expect(derived.replay).toContain('--param starter=0');
    expect((await listAlgorithms(cwd)).find((entry) => entry.name === 'echo-wave')).toMatchObject({ oracle: true });
    await expect(scaffoldAlgorithm('echo-wave', cwd)).rejects.toThrow(/already exists/);
    await expect(scaffoldAlgorithm('Bad Name', cwd)).rejects.toThrow(/lowercase/);
  });

  it("lists the user's algorithms beside peerlab's, with parameters from their schemas", async () => {
    await scaffoldAlgorithm('echo-wave', cwd);
    const entries = await listAlgorithms(cwd);
    const names = entries.map((entry) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['echo-wave', 'flood', 'ghs', 'push-sum', 'random-walk', 'high-risk-edges', 'weather', 'feed', 'service-client']));
    expect(entries.find((entry) => entry.name === 'weather')).toMatchObject({ file: expect.stringMatching(/algorithms\/services\/weather\.ts$/), params: { stopAfterMs: { type: 'number' } } });
    expect(entries.find((entry) => entry.name === 'echo-wave')).toMatchObject({ oracle: false, params: { starter: { type: 'node id', nodeId: true, default: '0' } } });
    expect(entries.find((entry) => entry.name === 'ghs')).toMatchObject({ oracle: true, params: { wakeup: { type: 'one|all' } } });
  });
});
