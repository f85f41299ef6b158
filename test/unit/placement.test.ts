/**
 * Placement policies (issue 13): seed 000's Equal and Prio computed on the inputs of its tables give the tables'
 * placements, and `peerlab policy simulate` prints them without starting anything.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlacementInput } from '../../src/placement/input.js';
import { simulatePlacement } from '../../src/placement/simulate.js';
import { bundlePolicy } from '../../src/plugins/bundle.js';
import { resolvePolicy } from '../../src/plugins/resolve.js';
import { packageRoot } from '../../src/util/paths.js';
import { peerlabIn } from '../integration/cli-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-placement-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const zoe = (file: string) => path.join(packageRoot, 'experiments', 'zoe', file);
const simulate = async (policy: string, input: string) => simulatePlacement((await bundlePolicy(resolvePolicy(policy), dir)).policy, await loadPlacementInput(input));
const byHost = (outcome: Awaited<ReturnType<typeof simulate>>) => Object.fromEntries(outcome.hosts.map((host) => [host.host, host.nodes]));

describe("seed 000's tables", () => {
  it('equal on the normal-load Free input gives Table 6.2 and the loads of Table 6.3', async () => {
    const outcome = await simulate('equal', zoe('table-6.2-migration-1.yaml'));
    expect(byHost(outcome)).toEqual({
      central: ['dummy1'],
      outpost_pi: ['dummy2'],
      outpost_arco1: ['dummy3'],
      outpost_arco2: ['fibonacci', 'madtrans', 'outpostest'],
    });
    const loads = outcome.hosts.map((host) => Number(host.load.toFixed(6)));
    expect(loads).toEqual([0.00093, 0.036216, 0.034872, 0.000186]);
    expect(outcome.moves.map((move) => move.node)).toEqual(['dummy2', 'dummy3', 'fibonacci', 'madtrans', 'outpostest']);
  });

  it('prio with dummy2 and dummy3 held gives Table 6.8', async () => {
    expect(byHost(await simulate('prio', zoe('table-6.8-migration-1.yaml')))).toEqual({
      central: ['dummy2', 'dummy3'],
      outpost_pi: [],
      outpost_arco1: ['dummy1', 'fibonacci', 'madtrans', 'outpostest'],
      outpost_arco2: [],
    });
  });

  it('prio sends what fits under no limit to the central host, and fills by priority up to the limit', async () => {
    const input = path.join(dir, 'overload.yaml');
    await writeFile(
      input,
      [
        'hosts:',
        '  - { name: big, capacity: 1000, priority: 3, central: true }',
        '  - { name: small, capacity: 10, priority: 1 }',
        'nodes:',
        '  - { name: a, host: big, load: 7 }', // 0.7 of small: fits
        '  - { name: b, host: big, load: 2 }', // 0.9 of small with a: over 0.8, so big
        '  - { name: c, host: big, load: 1 }', // 0.8 of small: fits exactly
      ].join('\n'),
    );
    expect(byHost(await simulate('prio', input))).toEqual({ big: ['b'], small: ['a', 'c'] });
  });
});

describe('policy simulate on the command line', () => {
  it('prints the placement, and --json the same as data', async () => {
    const shown = await peerlabIn(packageRoot, 'policy', 'simulate', 'equal', 'experiments/zoe/table-6.2-migration-1.yaml');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^outpost_arco2\s+1\s+138\.48\s+0\.000186\s+fibonacci, madtrans, outpostest$/m);
    const json = await peerlabIn(packageRoot, 'policy', 'simulate', 'equal', 'experiments/zoe/table-6.2-migration-1.yaml', '--json');
    expect((JSON.parse(json.stdout) as { placement: Record<string, string> }).placement).toMatchObject({ dummy1: 'central', dummy2: 'outpost_pi' });
  });

  it.each([
    ['a node on a host that is not listed', 'hosts:\n  - { name: a, capacity: 1 }\nnodes:\n  - { name: n, host: b, load: 1 }\n', /^error: \S+bad\.yaml line 4: nodes\[0\]\.host: no host "b" — the hosts are a$/m],
    ['a negative capacity', 'hosts:\n  - { name: a, capacity: -1 }\nnodes: []\n', /^error: \S+bad\.yaml line 2: hosts\[0\]\.capacity: expected a number > 0, got -1 — /m],
    ['an unknown field', 'hosts:\n  - { name: a, capacity: 1, cores: 4 }\nnodes: []\n', /^error: \S+bad\.yaml line 2: hosts\[0\]: unknown field "cores"/m],
    [
      'requests from a site that is not a host',
      'hosts:\n  - { name: a, capacity: 1 }\nnodes:\n  - { name: n, host: a, load: 1, requests: [{ at: 60, from: { a: 2, b: 3 } }] }\n',
      /^error: \S+bad\.yaml line 4: nodes\[0\]\.requests\[0\]\.from\.b: site "b" is not a host — name each site by the host nearest its users: the hosts are a$/m,
    ],
    [
      'a utility series out of time order',
      'hosts:\n  - name: a\n    capacity: 1\n    utility:\n      - { at: 60, components: { cpu: 0.5 } }\n      - { at: 30, components: { cpu: 0.4 } }\nnodes: []\n',
      /^error: \S+bad\.yaml line 6: hosts\[0\]\.utility\[1\]\.at: at 30 is not after the sample before it \(at 60\) — list the samples oldest first/m,
    ],
    [
      'a latitude without a longitude',
      'hosts:\n  - { name: a, capacity: 1, latitude: 59.9 }\n  - { name: b, capacity: 1 }\nnodes: []\n',
      /^error: \S+bad\.yaml line 2: hosts\[0\]: host "a" has a latitude but no longitude — latitude and longitude are degrees, both or neither/m,
    ],
    [
      'one host placed and another not',
      'hosts:\n  - { name: a, capacity: 1, latitude: 59.9, longitude: 10.7 }\n  - { name: b, capacity: 1 }\nnodes: []\n',
      /^error: \S+bad\.yaml line 3: hosts\[1\]: host "b" has no coordinates, and others have — place every host \(latitude and longitude\) or none/m,
    ],
    ['a maxNodes of 0', 'hosts:\n  - { name: a, capacity: 1, maxNodes: 0 }\nnodes: []\n', /^error: \S+bad\.yaml line 2: hosts\[0\]\.maxNodes: expected a number > 0, got 0 — maxNodes is how many nodes the host can hold at once/m],
    ['a latitude past the pole', 'hosts:\n  - { name: a, capacity: 1, latitude: 95, longitude: 10 }\nnodes: []\n', /^error: \S+bad\.yaml line 2: hosts\[0\]\.latitude: expected a number ≤ 90, got 95 — latitude and longitude are degrees/m],
  ])('refuses %s with one line naming file, line and field', async (_name, text, message) => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, text);
    const { code, stderr } = await peerlabIn(packageRoot, 'policy', 'simulate', 'equal', file);
    expect(code).not.toBe(0);
    expect(stderr.split('\n').filter((line) => line.startsWith('error:'))).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('refuses a policy that moves a held node', async () => {
    const policy = path.join(dir, 'restless.ts');
    await writeFile(policy, "import { definePolicy } from 'peerlab';\nexport default definePolicy({ name: 'restless', place: ({ nodes }) => Object.fromEntries(nodes.map((n) => [n.name, 'b'])) });\n");
    const input = path.join(dir, 'held.yaml');
    await writeFile(input, 'hosts:\n  - { name: a, capacity: 1 }\n  - { name: b, capacity: 1 }\nnodes:\n  - { name: n, host: a, load: 1, hold: true }\n');
    const { code, stderr } = await peerlabIn(packageRoot, 'policy', 'simulate', policy, input);
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/^error: policy restless moved node n, which is held on a — /m);
  });
});

describe("a host's room (maxNodes)", () => {
  const hosts = async (): Promise<string> => {
    const file = path.join(dir, 'room.yaml');
    await writeFile(file, 'hosts:\n  - { name: a, capacity: 2, maxNodes: 3 }\n  - { name: b, capacity: 1, maxNodes: 1 }\n');
    return file;
  };

  it('refuses a first placement that puts more nodes on a host than it holds, in one line, before the run', async () => {
    const results = await mkdtemp(path.join(dir, 'results-'));
    const { code, stderr } = await peerlabIn(packageRoot, 'run', 'flood', '--runtime', 'sim', '--topology', 'complete:n=4', '--hosts', await hosts(), '--placement', 'first', '--results', results);
    expect(code).not.toBe(0);
    expect(stderr.split('\n').filter((line) => line.startsWith('error:'))).toEqual([
      "error: --placement first: host a would start with 4 nodes, over its maxNodes of 3 — raise a's maxNodes in the hosts file, place the nodes otherwise (--placement spread or --placement partition), or run fewer",
    ]);
    expect(await readdir(results)).toEqual([]);
  });

  it('refuses a move when no other host has room: the fault records why, and the node and the run go on', async () => {
    const results = await mkdtemp(path.join(dir, 'results-'));
    // Spread: 0 and 2 on a, which holds up to 3; 1 on b, which holds up to 1. Node 0's only other host is full.
    const run = await peerlabIn(packageRoot, 'run', 'test/fixtures/seq-stream.ts', '--runtime', 'sim', '--topology', 'line:n=3', '--hosts', await hosts(), '--param', 'durationMs=3000', '--fault', 'at=1s migrate ids:0', '--results', results);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const [runId] = await readdir(results);
    const faults = (await readFile(path.join(results, runId!, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { error?: string });
    expect(faults.map((fault) => fault.error)).toEqual(['no host other than a has room for another node: each holds its maxNodes']);
    const record = JSON.parse(await readFile(path.join(results, runId!, 'run.json'), 'utf8')) as { runtimeFacts: { hosts: Array<{ name: string; maxNodes?: number; nodes: string[] }> } };
    expect(record.runtimeFacts.hosts.map(({ name, maxNodes, nodes }) => [name, maxNodes, nodes])).toEqual([
      ['a', 3, ['0', '2']],
      ['b', 1, ['1']],
    ]);
  });
});
