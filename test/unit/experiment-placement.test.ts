/**
 * An experiment's hosts and live placement policy (`hosts:` as a spec or a placement input file, `placement:`,
 * `policy:`, `policyEvery:`, `hold:`, `policySettings:`): read by the functions that read `--hosts` and `--policy`,
 * each refusal one line naming the file's line and field, and handed to each run's request; a list of policies or
 * of holds is swept. The refusals of the fields alone are in experiment-schema.test.ts; a run that applies the
 * policy, in test/integration/hosts.test.ts.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { requestFor } from '../../src/experiment/execute.js';
import { expandExperiment, resolvedExperiment } from '../../src/experiment/expand.js';
import { experimentFileResolver, parseExperiment, type LoadedExperiment } from '../../src/experiment/load.js';
import { preflight } from '../../src/experiment/preflight.js';
import { readHosts } from '../../src/runtime/emulated-hosts.js';
import { tempDir } from './experiment-helpers.js';

const BASE = 'name: x\ntopology: { model: complete, n: 4 }\nalgorithm: flood\n';
const HOSTS_FILE = 'hosts:\n  - { name: central, capacity: 4, priority: 2, central: true }\n  - { name: edge, capacity: 1 }\nsettings: { limit: 0.5, spare: 2 }\n';

/** The experiment `text` as x.yaml in a folder of its own, beside `files` (name → text). */
function experimentIn(text: string, files: Record<string, string> = {}): { dir: string; file: string; load: () => LoadedExperiment } {
  const dir = tempDir();
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  const file = path.join(dir, 'x.yaml');
  writeFileSync(file, text);
  return { dir, file, load: () => parseExperiment(text, 'x.yaml', file) };
}

function refusalOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(PeerlabError);
    return (error as PeerlabError).line;
  }
  throw new Error('expected the file to be refused');
}

describe('hosts: a placement input file', () => {
  it('is found beside the experiment file and read as --hosts reads it, its settings under the policy\'s own', () => {
    const { dir, load } = experimentIn(`${BASE}hosts: zoe.yaml\nhostCpus: 0.5\nplacement: first\npolicy: prio\npolicyEvery: 3\nhold: [2, "3"]\npolicySettings: { limit: 0.8 }\n`, {
      'zoe.yaml': HOSTS_FILE,
    });
    const loaded = load();
    const hostsFile = path.join(dir, 'zoe.yaml');
    // The runs (and their replay line) get the file as the current folder sees it: here, outside it, its full path.
    expect(loaded.placement.hosts).toEqual(readHosts(hostsFile, 0.5).request);
    expect(loaded.placement.hosts!.list).toEqual([
      { name: 'central', capacity: 4, priority: 2, central: true, cpus: 0.5 },
      { name: 'edge', capacity: 1, priority: 1, central: false, cpus: 0.125 },
    ]);
    expect(expandExperiment(loaded).cells.map((cell) => cell.livePlacement)).toEqual([
      {
        policy: 'prio',
        policySource: expect.stringMatching(/policies\/prio\.ts$/) as unknown as string,
        everyMs: 3000,
        hold: ['2', '3'],
        settings: { limit: 0.8, spare: 2 },
      },
    ]);
  });

  it('refuses a file it cannot read or that gives no hosts to run on, pointing at hosts:', () => {
    expect(refusalOf(experimentIn(`${BASE}hosts: nowhere.yaml\n`).load)).toMatch(/^x\.yaml line 4: hosts: cannot read placement input \S*nowhere\.yaml: no such file — give a YAML file of hosts/);
    const one = experimentIn(`${BASE}hosts: one.yaml\n`, { 'one.yaml': 'hosts:\n  - { name: solo, capacity: 1 }\n' });
    expect(refusalOf(one.load)).toMatch(/^x\.yaml line 4: hosts: one host is the engine itself — e\.g\. hosts: /);
    const bad = experimentIn(`${BASE}\nhosts: bad.yaml\n`, { 'bad.yaml': 'hosts:\n  - { name: a, capacity: -1 }\n  - { name: b, capacity: 1 }\n' });
    expect(refusalOf(bad.load)).toMatch(/^x\.yaml line 5: hosts: \S*bad\.yaml line 2: hosts\[0\]\.capacity: expected a number > 0, got -1 — /);
    const small = experimentIn(`${BASE}hosts: small.yaml\nhostCpus: 1\n`, { 'small.yaml': 'hosts:\n  - { name: big, capacity: 1000 }\n  - { name: tiny, capacity: 1 }\n' });
    expect(refusalOf(small.load)).toMatch(/^x\.yaml line 4: hosts: host tiny would get 0\.0010 CPUs, below the least/);
  });

  it('takes a policy file beside the experiment file', () => {
    const { dir, load } = experimentIn(`${BASE}hosts: "a=1,b=1"\npolicy: mine.ts\n`, { 'mine.ts': 'export default {};\n' });
    expect(expandExperiment(load()).cells[0]!.livePlacement).toMatchObject({ policy: path.join(dir, 'mine.ts'), policySource: path.join(dir, 'mine.ts'), everyMs: 10_000, hold: [], settings: {} });
  });
});

describe('the policy of each run', () => {
  const plan = (text: string) => expandExperiment(parseExperiment(text, 'x.yaml'));

  it('goes into each request with the hosts and the placement, as the flags give them to `peerlab run`', () => {
    const p = plan(`${BASE}hosts: "a=2,b=1"\nhostCpus: 0.6\nplacement: first\npolicy: equal\npolicyEvery: 3\n`);
    const request = requestFor(p, p.runs[0]!, { resultsRoot: '/r' });
    expect(request.hosts?.given).toBe('a=2,b=1');
    expect(request.placement).toBe('first');
    expect(request.livePlacement).toMatchObject({ policy: 'equal', everyMs: 3000, hold: [], settings: {} });
    expect(resolvedExperiment(p)).toMatchObject({ placement: 'first', cells: [{ policy: { policy: 'equal', everyMs: 3000, hold: [], settings: {} }, inputs: { policy: 'equal', hold: 'none' } }] });
    const without = plan(`${BASE}hosts: "a=2,b=1"\nhostCpus: 0.6\n`);
    expect(requestFor(without, without.runs[0]!, { resultsRoot: '/r' })).not.toHaveProperty('livePlacement');
    expect(requestFor(without, without.runs[0]!, { resultsRoot: '/r' })).not.toHaveProperty('placement');
    // A resumed experiment whose policy changed is another experiment.
    expect(p.fingerprint).not.toBe(without.fingerprint);
    expect(p.fingerprint).not.toBe(plan(`${BASE}hosts: "a=2,b=1"\nhostCpus: 0.6\nplacement: first\npolicy: equal\npolicyEvery: 4\n`).fingerprint);
  });

  /** What preflight says of a file of complete graphs of 3 and 5 nodes whose policy holds `hold` (its YAML lines). */
  const heldRefusal = async (hold: string) => {
    const { file, load } = experimentIn(`name: x\ntopology: { model: complete, n: [3, 5] }\nalgorithm: flood\nhosts: "a=1,b=1"\npolicy: equal\nhold:\n${hold}`);
    const loaded = load();
    return preflight(loaded, expandExperiment(loaded, { resolveFile: experimentFileResolver(file) })).then(
      () => 'no error',
      (error: unknown) => (error as PeerlabError).line,
    );
  };

  it('holds only nodes every topology has', async () => {
    expect(await heldRefusal('  - 1\n  - 4\n')).toBe('x.yaml line 8: hold[1]: the topology in cell n=3 has no node 4 — hold node ids of the topology (peerlab topology show lists them)');
  });

  it('holds only nodes of each cell\'s topology, naming the listed hold', async () => {
    expect(await heldRefusal('  - [1, 2]\n  - [1, 4]\n')).toBe(
      'x.yaml line 8: hold[1][1]: the topology in cell n=3 · hold=1,4 has no node 4 — hold node ids of the topology (peerlab topology show lists them)',
    );
  });
});

describe('a sweep of policies and holds', () => {
  const plan = (text: string) => expandExperiment(parseExperiment(text, 'x.yaml'));
  const SOURCE = (policy: string) => expect.stringMatching(new RegExp(`policies/${policy}\\.ts$`)) as unknown as string;

  it('runs Equal and Prio, Free and Hold, as four cells, each run with its cell\'s policy', () => {
    const p = plan(`${BASE}hosts: "a=2,b=1"\npolicy: [equal, prio]\npolicyEvery: 5\nhold: [[], [1, 2]]\npolicySettings: { limit: 0.8 }\n`);
    expect(p.axes.filter((axis) => axis.swept).map((axis) => axis.column)).toEqual(['policy', 'hold']);
    expect(p.cells.map((cell) => [cell.label, cell.inputs.policy, cell.inputs.hold])).toEqual([
      ['policy=equal · hold=none', 'equal', 'none'],
      ['policy=equal · hold=1,2', 'equal', '1,2'],
      ['policy=prio · hold=none', 'prio', 'none'],
      ['policy=prio · hold=1,2', 'prio', '1,2'],
    ]);
    const request = (policy: string, hold: string[]) => ({ policy, policySource: SOURCE(policy), everyMs: 5000, hold, settings: { limit: 0.8 } });
    const expected = [request('equal', []), request('equal', ['1', '2']), request('prio', []), request('prio', ['1', '2'])];
    expect(p.cells.map((cell) => cell.livePlacement)).toEqual(expected);
    expect(p.runs.map((run) => requestFor(p, run, { resultsRoot: '/r' }).livePlacement)).toEqual(expected);
    expect(resolvedExperiment(p)).not.toHaveProperty('policy');
    expect((resolvedExperiment(p).cells as Array<{ policy: unknown }>).map((cell) => cell.policy)).toEqual(expected.map(({ policySource: _found, ...given }) => given));
    // Another order of the same cells is another experiment: cell c1 would run prio.
    expect(p.fingerprint).not.toBe(plan(`${BASE}hosts: "a=2,b=1"\npolicy: [prio, equal]\npolicyEvery: 5\nhold: [[], [1, 2]]\npolicySettings: { limit: 0.8 }\n`).fingerprint);
  });

  it('keeps one policy and one hold a single cell, fingerprinted as before policies were swept', () => {
    const p = plan(`${BASE}hosts: "a=2,b=1"\npolicy: equal\nhold: [1, 2]\n`);
    expect(p.cells.map((cell) => [cell.label, cell.inputs.policy, cell.inputs.hold, cell.livePlacement])).toEqual([
      ['complete:n=4', 'equal', '1,2', { policy: 'equal', policySource: SOURCE('equal'), everyMs: 10_000, hold: ['1', '2'], settings: {} }],
    ]);
    // Pinned from the code before the sweep: a results folder of this file still resumes.
    expect(p.fingerprint).toBe('e020029fb677d193');
    expect(plan(`${BASE}hosts: "a=2,b=1"\npolicy: [equal]\nhold: [[1, 2]]\n`).fingerprint).toBe('e020029fb677d193');
    expect(plan(`${BASE}hosts: "a=2,b=1"\npolicy: [equal, prio]\nhold: [1, 2]\n`).cells.map((cell) => [cell.label, cell.livePlacement?.hold])).toEqual([
      ['policy=equal', ['1', '2']],
      ['policy=prio', ['1', '2']],
    ]);
  });

  it('leaves the fingerprint and the resolved experiment of a file without a policy as they were', () => {
    const p = plan(`${BASE}hosts: "a=2,b=1"\nweights: [unique, uniform:1..10]\n`);
    // Pinned from the code before the sweep.
    expect(p.fingerprint).toBe('e8d99b9edbc64abb');
    expect(resolvedExperiment(p)).toEqual({
      name: 'x',
      fingerprint: 'e8d99b9edbc64abb',
      runtime: 'docker',
      timeout: 300,
      allowDisconnected: false,
      repetitions: 1,
      seeds: [1],
      swept: ['weights'],
      cells: ['unique', 'uniform:1..10'].map((weights, index) => ({
        id: `c${index + 1}`,
        label: `weights=${weights}`,
        topology: 'complete:n=4',
        weights,
        algorithm: 'flood',
        params: {},
        inputs: { topology: 'complete:n=4', 'topology.n': 4, weights, algorithm: 'flood' },
      })),
      runs: 2,
      hosts: [
        { name: 'a', capacity: 2, priority: 1, central: false, cpus: 1 },
        { name: 'b', capacity: 1, priority: 1, central: false, cpus: 0.5 },
      ],
    });
  });
});
