/**
 * Names that become paths accept only their own shape: a run id, an experiment name, a result id, a service
 * name, `--results`, and the run id a resume reads from in-flight.json. Nothing outside peerlab's folders is
 * read as a result or removed. (The CLI side, `peerlab down ../x` and friends, is in
 * test/integration/path-safety.test.ts.)
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { runExperiment } from '../../src/experiment/experiment.js';
import { findResult } from '../../src/results/catalog.js';
import { resultsRoot } from '../../src/util/files.js';
import { newRunId } from '../../src/run/run-id.js';
import { runStateDir, STATE_ROOT } from '../../src/run/state.js';
import { parseExperimentName, parseRunId, parseServiceName } from '../../src/util/names.js';
import { errorOf, fakeRunner, prepared, tempDir } from './experiment-helpers.js';

/** The one line the PeerlabError that `work` throws (or rejects with) prints. */
async function lineOf(work: () => unknown): Promise<string> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(PeerlabError);
    return (error as PeerlabError).line;
  }
  throw new Error('expected a PeerlabError');
}

const ESCAPES = ['..', '../x', '../../etc', 'a/../../b', '/etc', '.', '', 'a/b', 'a\\b', 'x\0y', ' flood'];

describe('names that become paths', () => {
  it('a run id is one segment of lowercase letters, digits and "-"; anything else is refused in one line', async () => {
    for (const good of ['flood-20250101-120000-ab12', 'test-0a1b2c3d', newRunId('My Algo!')]) expect(parseRunId(good, 'x')).toBe(good);
    for (const bad of [...ESCAPES, 'Flood-1', '-x', 42, undefined]) {
      const line = await lineOf(() => parseRunId(bad, 'the run argument', 'see `peerlab status`'));
      expect(line).toMatch(/^the run argument: .* is not a run id \(.*\) — see `peerlab status`$/);
      expect(line).not.toContain('\n');
    }
  });

  it('the state folder of a run is always directly inside peerlab\'s own', () => {
    const id = newRunId('flood');
    expect(path.dirname(runStateDir(id))).toBe(STATE_ROOT);
  });

  it('experiment and service names are one segment', () => {
    expect(parseExperimentName('flood-ba.v2', 'x')).toBe('flood-ba.v2');
    expect(parseServiceName('weather', 'x')).toBe('weather');
    for (const bad of ESCAPES) {
      expect(() => parseExperimentName(bad, 'x')).toThrow(PeerlabError);
      expect(() => parseServiceName(bad, 'x')).toThrow(PeerlabError);
    }
  });

  it('an experiment file with a name or a service that leaves its folder is refused with its line', () => {
    expect(errorOf('name: ../../victim\ntopology: { spec: "ring:n=5" }\nalgorithm: flood\n')).toMatch(/^bad\.yaml line 1: name: expected a name made of letters/);
    expect(
      errorOf('name: g\ntopology: { spec: "ring:n=5" }\ngroups:\n  - { role: a, count: 1, service: ../../../tmp/evil }\n  - { role: b, algorithm: flood }\n'),
    ).toMatch(/^bad\.yaml line 4: groups\[0\]\.service: expected a service name in algorithms\/services\//);
  });
});

describe('results by id', () => {
  function resultsWithOneRun(): { root: string; run: string } {
    const root = tempDir('peerlab-results-');
    const run = path.join(root, 'flood-20250101-120000-ab12');
    mkdirSync(run);
    writeFileSync(path.join(run, 'run.json'), JSON.stringify({ runId: 'flood-20250101-120000-ab12', algorithm: { name: 'flood' } }));
    return { root, run };
  }

  it('finds a run by id, by prefix, and by its folder inside the results folder', async () => {
    const { root, run } = resultsWithOneRun();
    expect((await findResult(root, 'flood-20250101-120000-ab12')).dir).toBe(run);
    expect((await findResult(root, 'flood-2025')).dir).toBe(run);
    expect((await findResult(root, run)).id).toBe('flood-20250101-120000-ab12');
  });

  it('refuses a path out of the results folder, even one that holds a run.json', async () => {
    const { root } = resultsWithOneRun();
    // A run folder beside the results folder: readable, but not inside it.
    const outside = tempDir('peerlab-outside-');
    writeFileSync(path.join(outside, 'run.json'), JSON.stringify({ runId: 'outside' }));
    // And a link inside the results folder that leads out of it.
    symlinkSync(outside, path.join(root, 'link-out'));
    for (const id of ['../../etc', '/etc', outside, path.relative(process.cwd(), outside), `${root}/../${path.basename(outside)}`]) {
      const line = await lineOf(() => findResult(root, id));
      expect(line, id).toMatch(/is neither a result id .* nor a run or experiment folder inside .* — see `peerlab results list`/);
    }
    // The link's name is a result id, but no run is listed under it.
    expect(await lineOf(() => findResult(root, 'link-out'))).toMatch(/^no run or experiment "link-out" under /);
  });

  it('--results must be a folder', async () => {
    const file = path.join(tempDir('peerlab-results-'), 'a-file');
    writeFileSync(file, 'x');
    expect(await lineOf(() => resultsRoot(file))).toMatch(/^--results .* is a file, not a folder — give a folder/);
    expect(await lineOf(() => resultsRoot(''))).toMatch(/^--results "" is not a folder path — /);
    expect(resultsRoot('results')).toBe(path.resolve('results'));
  });
});

describe('resuming an experiment with a doctored in-flight.json', () => {
  const SWEEP = 'name: sweep\ntopology: { model: ba, n: 20, m: 2 }\nalgorithm: { name: flood, params: { root: "0" } }\nrepetitions: 2\ntimeout: 30\n';
  const noPlots = async (plots: ReadonlyArray<{ id: string }>) => plots.map((plot) => ({ ...plot, svg: '<svg/>' }));

  it.each([
    ['a path for a run id', { key: 'c1-r2', runId: '../victim' }],
    ['an absolute path', { key: 'c1-r2', runId: '/tmp' }],
    ['no run id', { key: 'c1-r2' }],
    ['a number', { key: 'c1-r2', runId: 7 }],
    ['no key', { runId: 'flood-20250101-999999-dead' }],
  ])('%s: refused in one line, nothing removed and nothing run', async (_name, mark) => {
    const root = tempDir();
    const victim = tempDir('peerlab-victim-');
    writeFileSync(path.join(victim, 'keep.txt'), 'still here');
    let started = 0;
    const first = await runExperiment({
      prepared: prepared(SWEEP),
      resultsRoot: root,
      resume: false,
      runner: fakeRunner().runner,
      render: noPlots as never,
      shouldStop: () => started >= 1,
      hooks: { onRunStart: () => started++ },
    });
    writeFileSync(path.join(first.folder, 'in-flight.json'), JSON.stringify(mark));
    const removed: string[] = [];
    const fake = fakeRunner();
    const line = await lineOf(() =>
      runExperiment({
        prepared: prepared(SWEEP),
        resultsRoot: root,
        resume: true,
        runner: fake.runner,
        render: noPlots as never,
        removeRun: async (runId) => {
          removed.push(runId);
          return 0;
        },
      }),
    );
    expect(line).toContain(path.join(first.folder, 'in-flight.json'));
    expect(line).toMatch(/ — remove that run yourself if it is still up/);
    expect(line).not.toContain('\n');
    expect(removed).toEqual([]);
    expect(fake.requests).toHaveLength(0);
    expect(readdirSync(victim)).toEqual(['keep.txt']);
    expect(existsSync(path.join(first.folder, 'in-flight.json'))).toBe(true);
  });
});
