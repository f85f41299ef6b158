/**
 * The CLI refuses names that would lead out of peerlab's folders, with one `error:` line and a non-zero exit,
 * and changes nothing outside: `peerlab down ../x` once removed the folder x beside peerlab's state folder.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STATE_ROOT } from '../../src/run/state.js';
import { peerlabIn } from './cli-helpers.js';

/** A folder with one file, to show that it is still there afterwards. */
function victim(parent: string, name: string): string {
  const dir = path.join(parent, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'keep.txt'), 'still here');
  return dir;
}

/** A non-zero exit whose stderr ends in one `error: … — how to fix` line (an experiment first names its folder). */
function expectOneErrorLine(result: { code: number; stdout: string; stderr: string }, pattern: RegExp): void {
  expect(result.code, result.stderr).not.toBe(0);
  const lines = result.stderr.trim().split('\n');
  expect(lines.filter((line) => line.startsWith('error:')), result.stderr).toHaveLength(1);
  expect(lines.at(-1)).toMatch(/^error: .+ — .+/);
  expect(lines.at(-1)).toMatch(pattern);
}

const cwd = mkdtempSync(path.join(os.tmpdir(), 'peerlab-path-safety-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('names that would leave peerlab\'s folders', () => {
  it('`peerlab down ../x` and `peerlab status ../x` are refused, and the folder beside the state folder stays', async () => {
    mkdirSync(STATE_ROOT, { recursive: true });
    const name = `victim-${process.pid}`;
    const beside = victim(os.tmpdir(), name);
    try {
      for (const args of [['down', `../${name}`], ['status', `../${name}`], ['down', beside], ['down', '..']]) {
        const result = await peerlabIn(cwd, ...args);
        expectOneErrorLine(result, /the run argument: ".*" is not a run id .* — see `peerlab status`/);
      }
      expect(readdirSync(beside)).toEqual(['keep.txt']);
    } finally {
      rmSync(beside, { recursive: true, force: true });
    }
  });

  it('`results show ../../etc` and `results compare` with a path out of the results folder are refused', async () => {
    const outside = victim(cwd, 'outside');
    writeFileSync(path.join(outside, 'run.json'), JSON.stringify({ runId: 'outside' }));
    mkdirSync(path.join(cwd, 'results'), { recursive: true });
    for (const args of [['results', 'show', '../../etc'], ['results', 'show', outside], ['results', 'compare', 'outside', '../outside']]) {
      const result = await peerlabIn(cwd, ...args);
      expectOneErrorLine(result, /is neither a result id .* nor a run or experiment folder inside .* — see `peerlab results list`|no run or experiment "outside"/);
    }
    const onFile = await peerlabIn(cwd, 'results', 'list', '--results', path.join(outside, 'keep.txt'));
    expectOneErrorLine(onFile, /--results .* is a file, not a folder/);
  });

  it('a resumed experiment with a doctored in-flight.json is refused before it removes or runs anything', async () => {
    const beside = victim(cwd, 'victim');
    writeFileSync(path.join(cwd, 'tiny.yaml'), 'name: tiny\nruntime: sim\ntopology: { spec: "ring:n=4" }\nalgorithm: flood\nrepetitions: 2\ntimeout: 30\n');
    const first = await peerlabIn(cwd, 'experiment', 'run', 'tiny.yaml');
    expect(first.code, first.stderr).toBe(0);
    const [stamp] = readdirSync(path.join(cwd, 'results', 'tiny'));
    const folder = path.join(cwd, 'results', 'tiny', stamp!);
    writeFileSync(path.join(folder, 'in-flight.json'), JSON.stringify({ key: 'c1-r2', runId: `../../../${path.basename(beside)}` }));
    const before = readdirSync(folder).sort();

    const resumed = await peerlabIn(cwd, 'experiment', 'run', 'tiny.yaml', '--resume');
    expectOneErrorLine(resumed, /in-flight\.json: runId: ".*" is not a run id .* — remove that run yourself if it is still up/);
    expect(readdirSync(beside)).toEqual(['keep.txt']);
    expect(readdirSync(folder).sort()).toEqual(before);
  });
});
