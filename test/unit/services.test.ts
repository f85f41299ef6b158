/**
 * Groups and the service registry in the simulator: how roles get their nodes, what the registry lists and
 * when, the microservices example end to end (experiments/services.yaml), and that its check fails on
 * results that are wrong in each of the ways it promises to catch.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { prepareExperiment, runExperiment } from '../../src/experiment/experiment.js';
import { simulateRun } from '../../src/run/execute-sim.js';
import { prepareRun } from '../../src/run/prepare.js';
import { runStateDir } from '../../src/run/state.js';
import { assignRoles } from '../../src/run/roles.js';
import { runAlgorithm } from '../../src/run/run.js';
import { Simulation, type TraceEvent } from '../../src/runtime/sim/index.js';
import type { Json } from '../../src/sdk/types.js';
import { verifyServiceDiscovery } from '../../src/verify/service-discovery.js';
import type { OracleInput } from '../../src/verify/types.js';
import { tempDir } from './experiment-helpers.js';
import { loadAlgorithm, topology } from './sim-helpers.js';

const ids = (n: number) => Array.from({ length: n }, (_, i) => String(i));

describe('roles', () => {
  it('take consecutive node ids in the order given; the role without a count takes the rest where it stands', () => {
    expect(assignRoles(ids(6), [{ role: 'a', count: 2 }, { role: 'b' }, { role: 'c', count: 1 }])).toEqual([['0', '1'], ['2', '3', '4'], ['5']]);
    expect(assignRoles(['10', '9', '8', '2'], [{ role: 'a', count: 1 }, { role: 'b', count: 3 }])).toEqual([['2'], ['8', '9', '10']]);
  });

  it('must cover every node exactly', () => {
    const line = (roles: Parameters<typeof assignRoles>[1]) => {
      try {
        assignRoles(ids(5), roles);
        return 'no error';
      } catch (error) {
        return error instanceof PeerlabError ? error.line : String(error);
      }
    };
    expect(line([{ role: 'a', count: 2 }, { role: 'b', count: 2 }])).toMatch(/^the roles add up to 4 node\(s\), but the topology has 5 — /);
    expect(line([{ role: 'a', count: 5 }, { role: 'b' }])).toMatch(/^the counted roles take 5 of 5 node\(s\), leaving none for b — /);
    expect(line([{ role: 'a' }, { role: 'b' }])).toMatch(/^roles a and b both leave out their count — /);
  });
});

describe('the service registry in the simulator', () => {
  it('lists live instances sorted by node; deregistering removes one at once, a killed node’s go when its lease runs out', async () => {
    const trace: TraceEvent[] = [];
    const simulation = new Simulation({
      graph: await topology('ring:n=4'),
      algorithm: await loadAlgorithm('test/fixtures/sim-services.ts'),
      params: {},
      seed: 1,
      maxPayloadBytes: 1 << 20,
      trace: (event) => trace.push(event),
    });
    simulation.startAll();
    simulation.at(20, () => simulation.killNode('2'));
    const outcome = await simulation.run();
    expect(outcome.endReason).toBe('complete');
    const echo = (...entries: Array<[string, number]>) => entries.map(([node, n]) => ({ node, info: { n } }));
    expect(outcome.results.get('3')).toEqual({
      seen: [
        { at: 1, instances: echo(['0', 0], ['1', 1], ['2', 2]) },
        { at: 6, instances: echo(['0', 0], ['1', 11], ['2', 2]) },
        { at: 15, instances: echo(['1', 11], ['2', 2]) },
        { at: 30, instances: echo(['1', 11], ['2', 2]) }, // killed at 20 ms, but its lease still holds
        { at: 20_019, instances: echo(['1', 11], ['2', 2]) },
        { at: 20_021, instances: echo(['1', 11]) },
      ],
      other: [],
    });
    expect(trace).toContainEqual({ type: 'control', time: 20_020, action: 'lease expired', node: '2' });
  });

  it('fails a node that registers a name that is not one key segment', async () => {
    const simulation = new Simulation({ graph: await topology('ring:n=3'), algorithm: await loadAlgorithm('test/fixtures/bad-service-name.ts'), params: {}, seed: 1, maxPayloadBytes: 1 << 20 });
    simulation.startAll();
    const outcome = await simulation.run();
    expect(outcome.failure).toMatchObject({ nodeId: '1', message: 'node 1: service name "weather/north" is not letters, digits, ".", "_" and "-", starting with a letter or digit' });
  });
});

const SERVICES = {
  algorithm: 'groups',
  params: [],
  name: 'services',
  check: 'service-discovery',
  topology: 'complete:n=8',
  allowDisconnected: false,
  groups: [
    { role: 'weather', count: 2, algorithm: 'services/weather', params: [] },
    { role: 'weather-retiring', count: 1, algorithm: 'services/weather', params: ['stopAfterMs=2500'] },
    { role: 'feed', count: 1, algorithm: 'services/feed', params: [] },
    { role: 'client', algorithm: 'services/client', params: [] },
  ],
};

/** The example in the simulator, as the oracle sees it. */
async function simulateServices(seed = 1): Promise<OracleInput> {
  const prepared = await prepareRun({ ...SERVICES, seed });
  // runAlgorithm removes a run's state folder (its bundles) when it ends; a test that prepares one itself does.
  const execution = await simulateRun(prepared, { timeoutMs: 600_000, until: 'results' }).finally(() => rm(runStateDir(prepared.runId), { recursive: true, force: true }));
  expect(execution.missing).toEqual([]);
  return {
    graph: prepared.topology.graph,
    results: execution.results,
    params: {},
    groups: prepared.groups.map(({ role, algorithm, params, nodes }) => ({ role, algorithm: algorithm.name, params, nodes })),
  };
}

describe('the microservices example', () => {
  it('runs experiments/services.yaml in the simulator and passes its check, recording roles and groups', async () => {
    const prepared = await prepareExperiment('experiments/services.yaml', { runtime: 'sim' });
    const result = await runExperiment({ prepared, resultsRoot: tempDir(), resume: false, runner: runAlgorithm, render: async (plots) => plots.map((plot) => ({ ...plot, svg: '<svg/>' })) });
    expect(result).toMatchObject({ runs: 1, passed: 1, failed: 0, errors: 0 });
    const summary = readFileSync(result.files.summary, 'utf8');
    expect(summary).toMatch(/4 clients found every live instance of weather and feed \(4 in all\) in the registry; 96 of 96 calls answered correctly; after weather on node 2 left, no client found or called it/);

    const runDir = path.join(path.dirname(path.dirname(path.dirname(result.files.summary))), /services-\d{8}-\d{6}-[0-9a-f]{4}/.exec(summary)![0]);
    const nodesCsv = readFileSync(path.join(runDir, 'nodes.csv'), 'utf8').trim().split('\n');
    expect(nodesCsv[0]).toMatch(/^id,role,/);
    expect(nodesCsv.slice(1).map((row) => row.split(',').slice(0, 2).join(' '))).toEqual([
      '0 weather', '1 weather', '2 weather-retiring', '3 feed', '4 client', '5 client', '6 client', '7 client',
    ]);
    const record = JSON.parse(readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { groups: Array<{ role: string; algorithm: string; nodes: string[]; params: Record<string, Json> }>; check: string; replay: string };
    expect(record.groups.map(({ role, algorithm, nodes }) => [role, algorithm, nodes.join(' ')])).toEqual([
      ['weather', 'weather', '0 1'],
      ['weather-retiring', 'weather', '2'],
      ['feed', 'feed', '3'],
      ['client', 'service-client', '4 5 6 7'],
    ]);
    expect(record.groups[1]!.params.stopAfterMs).toBe(2500);
    expect(record.check).toBe('service-discovery');
    expect(record.replay).toBe('peerlab experiment run experiments/services.yaml --runtime sim');
  });

  it('bundles each algorithm once and tells the nodes their roles in the run config', async () => {
    const prepared = await prepareRun({ ...SERVICES, seed: 1 });
    await rm(runStateDir(prepared.runId), { recursive: true, force: true });
    expect(new Set(prepared.groups.map((group) => group.nodeBundleFile)).size).toBe(3);
    expect(prepared.config.groups.map(({ role, algorithm, nodes }) => `${role}:${algorithm}:${nodes}`)).toEqual([
      'weather:weather:0-1',
      'weather-retiring:weather:2',
      'feed:feed:3',
      'client:service-client:4-7',
    ]);
  });

  it('replays bit for bit', async () => {
    const [a, b] = [await simulateServices(3), await simulateServices(3)];
    expect(JSON.stringify([...a.results])).toBe(JSON.stringify([...b.results]));
  });
});

describe('the service-discovery check fails on wrong results', () => {
  type Client = { discoveries: Array<{ service: string; began: number; ended: number; instances: string[] }>; calls: Array<{ service: string; instance: string; discovery: number; query: string; sentAt: number; answer: string | null }> };
  type Service = { service: string; served: number; deregistered: { began: number; ended: number } | null };

  let honest: OracleInput | undefined;
  /** The example's results with one thing changed; the check must now fail, naming it. */
  async function tampered(change: (results: Map<string, Json | undefined>) => void, input?: Partial<OracleInput>) {
    honest ??= await simulateServices();
    const results = new Map(JSON.parse(JSON.stringify([...honest.results])) as Array<[string, Json]>) as Map<string, Json | undefined>;
    change(results);
    return verifyServiceDiscovery({ ...honest, results, ...input });
  }
  const client = (results: Map<string, Json | undefined>, id: string) => results.get(id) as unknown as Client;
  const stopped = (results: Map<string, Json | undefined>) => (results.get('2') as unknown as Service).deregistered!;

  it('passes the honest results', async () => {
    const verdict = await tampered(() => {});
    expect(verdict.passed, verdict.failures.join('\n')).toBe(true);
    expect(verdict.metrics).toMatchObject({ clients: 4, services: 2, instances: 4, stoppedInstances: 1, calls: 96, answered: 96 });
  });

  const cases: Array<{ what: string; change: (results: Map<string, Json | undefined>) => void; failure: RegExp }> = [
    {
      what: 'a client still finds the instance after it left',
      change: (results) => {
        const late = client(results, '4').discoveries.find((seen) => seen.service === 'weather' && seen.began > stopped(results).ended)!;
        late.instances = ['0', '1', '2'];
      },
      failure: /^client 4, discovery \d+ of weather at [\d.]+ ms: still listed instance 2, which had left at/,
    },
    {
      what: 'a client misses a live instance',
      change: (results) => {
        client(results, '5').discoveries[0]!.instances = ['1', '2'];
      },
      failure: /^client 5, discovery 0 of weather at [\d.]+ ms: missed instance 0, which was live/,
    },
    {
      what: 'a service answers wrongly',
      change: (results) => {
        client(results, '6').calls[0]!.answer = 'hail, 40 °C';
      },
      failure: /^client 6, call 0 to weather on node \d at [\d.]+ ms: answered "hail, 40 °C" to \w+, expected "/,
    },
    {
      what: 'a client calls an instance its discovery did not list',
      change: (results) => {
        client(results, '7').calls.filter((made) => made.service === 'weather').at(-1)!.instance = '2';
      },
      failure: /^client 7, call \d+ to weather on node 2 at [\d.]+ ms: not among the instances its discovery \(\d+\) listed/,
    },
    {
      what: 'a live instance leaves a call unanswered',
      change: (results) => {
        const call = client(results, '4').calls.find((made) => made.instance !== '2')!;
        call.answer = null;
      },
      failure: /^client 4, call \d+ to \w+ on node \d at [\d.]+ ms: no answer, though the instance never left/,
    },
    {
      what: 'the instance that left does not say so',
      change: (results) => {
        (results.get('2') as unknown as Service).deregistered = null;
      },
      failure: /^client \d, discovery \d+ of weather at [\d.]+ ms: missed instance 2, which was live/,
    },
    {
      what: 'a client stops looking before the instance leaves',
      change: (results) => {
        const own = client(results, '5');
        const cut = own.discoveries.findIndex((seen) => seen.began > stopped(results).began - 500);
        own.discoveries = own.discoveries.slice(0, cut);
        own.calls = own.calls.filter((made) => made.discovery < cut);
      },
      failure: /^client 5: never looked for weather after instance 2 left, so its leaving went untested/,
    },
    {
      what: 'a client reports nothing',
      change: (results) => {
        results.set('6', undefined);
      },
      failure: /^node 6: reported no result/,
    },
  ];

  for (const { what, change, failure } of cases) {
    it(`when ${what}`, async () => {
      const verdict = await tampered(change);
      expect(verdict.passed).toBe(false);
      expect(verdict.summary).toMatch(/^service discovery failed/);
      expect(verdict.failures.some((line) => failure.test(line)), verdict.failures.join('\n')).toBe(true);
    });
  }

  it('when it cannot know the right answers (no groups with answers)', async () => {
    const verdict = await tampered(() => {}, { groups: [] });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures[0]).toMatch(/answered ".*" to \w+, expected null/);
  });
});
