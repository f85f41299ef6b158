/**
 * etcd's primitives in the SDK (compare-and-swap, locks, elections) and membership events, in the simulator:
 * races, mutual exclusion, resigning, a leader whose lease runs out after it was killed, and neighbours that
 * leave or crash. The same host code (src/host/contention.ts) runs them in containers.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleAlgorithm } from '../../src/plugins/bundle.js';
import { REGISTRATION_TTL_SECONDS } from '../../src/coordination/protocol.js';
import { SimServices } from '../../src/runtime/sim/services.js';
import { Simulation } from '../../src/runtime/sim/simulation.js';
import { defineAlgorithm } from '../../src/sdk/index.js';
import type { Algorithm, Json } from '../../src/sdk/types.js';
import { topology } from './sim-helpers.js';

const TTL_MS = REGISTRATION_TTL_SECONDS * 1000;

async function simulation(algorithm: Algorithm, spec = 'complete:n=6'): Promise<Simulation> {
  const run = new Simulation({ graph: await topology(spec), algorithm, params: {}, seed: 7, maxPayloadBytes: 1 << 20, timeoutMs: 120_000 });
  run.startAll();
  return run;
}

describe('store.compareAndSwap in the simulator', () => {
  it('lets exactly one of several nodes create a key, and counts every increment of racing nodes once', async () => {
    const increments = 5;
    const run = await simulation(
      defineAlgorithm({
        name: 'cas-race',
        async run(node) {
          const created = await node.store.compareAndSwap('owner', undefined, node.id);
          await node.store.compareAndSwap('count', undefined, '0');
          for (let done = 0; done < increments; ) {
            const seen = (await node.store.get('count'))!;
            // Others may increment meanwhile: then this swap fails, and the node reads again.
            await node.sleep(node.random.int(3));
            if (await node.store.compareAndSwap('count', seen, String(Number(seen) + 1))) done++;
          }
          const swappedWrongly = await node.store.compareAndSwap('owner', 'nobody', 'x');
          await node.barrier('counted');
          node.result({ created, swappedWrongly, count: Number(await node.store.get('count')), owner: (await node.store.get('owner')) ?? null });
        },
      }),
    );
    const outcome = await run.run();
    expect(outcome.endReason).toBe('complete');
    const results = [...outcome.results.values()] as Array<{ created: boolean; swappedWrongly: boolean; count: number; owner: string }>;
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(results.every((r) => !r.swappedWrongly)).toBe(true);
    expect(new Set(results.map((r) => r.owner)).size).toBe(1);
    expect(results.map((r) => r.count)).toEqual(Array(6).fill(6 * increments));
  });
});

describe('node.lock in the simulator', () => {
  it('lets one node at a time in, in the order they asked, and a second caller on the same node waits too', async () => {
    const run = await simulation(
      defineAlgorithm({
        name: 'lock-probe',
        async run(node) {
          await node.sleep(Number(node.id));
          const visits: Json[] = [];
          await Promise.all(
            [0, 1].map(async (caller) => {
              const lock = await node.lock('critical');
              const entered = node.now();
              await node.sleep(10);
              visits.push({ caller, entered, left: node.now() });
              await lock.release();
              await lock.release();
            }),
          );
          node.result(visits);
        },
      }),
    );
    const outcome = await run.run();
    expect(outcome.endReason).toBe('complete');
    const visits = [...outcome.results.entries()].flatMap(([id, list]) => (list as Array<{ entered: number; left: number }>).map((visit) => ({ id, ...visit })));
    visits.sort((a, b) => a.entered - b.entered);
    expect(visits).toHaveLength(12);
    for (let i = 1; i < visits.length; i++) expect(visits[i]!.entered).toBeGreaterThanOrEqual(visits[i - 1]!.left);
    // Node i asked at i ms: the nodes go in that order. A node's second caller queues behind its first, and
    // asks the run only once the first has released, by when every other node is waiting: first come, first in.
    expect(visits.map((visit) => visit.id)).toEqual(['0', '1', '2', '3', '4', '5', '0', '1', '2', '3', '4', '5']);
  });

  it('hands a killed holder’s lock on when its lease runs out, not before', async () => {
    const run = await simulation(
      defineAlgorithm({
        name: 'lock-holder-dies',
        async run(node) {
          if (node.id !== '0') await node.sleep(1);
          await node.lock('critical');
          node.result({ at: node.now() });
        },
      }),
      'complete:n=3',
    );
    run.at(5, () => run.killNode('0'));
    const outcome = await run.run();
    const got = [...outcome.results].filter(([id]) => id !== '0').map(([id, result]) => [id, (result as { at: number }).at]);
    // Node 1 queued first after node 0; node 2 stays behind node 1, which never releases.
    expect(got).toEqual([['1', 5 + TTL_MS]]);
  });

  it('refuses a lock name that is not one key segment', async () => {
    const run = await simulation(defineAlgorithm({ name: 'bad-lock', run: async (node) => void (await node.lock('a/b')) }), 'complete:n=2');
    const outcome = await run.run();
    expect(outcome.failure?.message).toBe('node 0: lock name "a/b" is not letters, digits, ".", "_" and "-", starting with a letter or digit');
  });
});

describe('node.election in the simulator', () => {
  /** Every node campaigns (node i at i ms) and observes; the leader steps down after `leadMs`, or is killed. */
  function campaigner(leadMs: number) {
    return defineAlgorithm({
      name: 'election-probe',
      async run(node) {
        const election = node.election('boss');
        const seen: Json[] = [];
        election.observe((leader, value) => void seen.push({ at: node.now(), leader: leader ?? null, value: value ?? null }));
        await node.sleep(Number(node.id));
        await election.campaign(`value of ${node.id}`);
        const ledAt = node.now();
        const leaderThen = await election.leader();
        await node.sleep(leadMs);
        await election.resign();
        await node.sleep(10);
        node.result({ ledAt, leaderThen: leaderThen ?? null, seen });
      },
    });
  }

  it('makes the candidates lead one after the other as each resigns, and observers see every leader once', async () => {
    const run = await simulation(campaigner(100), 'complete:n=3');
    const outcome = await run.run();
    expect(outcome.endReason).toBe('complete');
    const result = (id: string) => outcome.results.get(id) as { ledAt: number; leaderThen: string; seen: Array<{ at: number; leader: string | null; value: string | null }> };
    expect(['0', '1', '2'].map((id) => result(id).ledAt)).toEqual([0, 100, 200]);
    expect(['0', '1', '2'].map((id) => result(id).leaderThen)).toEqual(['0', '1', '2']);
    // Node 2 began to observe before node 0 campaigned, at the same instant.
    expect(result('2').seen.map(({ at, leader, value }) => [at, leader, value])).toEqual([
      [0, null, null],
      [0, '0', 'value of 0'],
      [100, '1', 'value of 1'],
      [200, '2', 'value of 2'],
      [300, null, null],
    ]);
  });

  it('moves leadership on once a killed leader’s lease runs out', async () => {
    const run = await simulation(campaigner(30_000), 'complete:n=3');
    const leaders: Array<string | undefined> = [];
    // What the `leader:boss` fault selector reads when its event fires.
    run.at(40, () => leaders.push(run.leaderOf('boss'), run.leaderOf('other')));
    run.at(50, () => run.killNode('0'));
    run.at(50 + TTL_MS - 1, () => leaders.push(run.leaderOf('boss')));
    run.at(50 + TTL_MS + 1, () => leaders.push(run.leaderOf('boss')));
    const outcome = await run.run();
    expect(leaders).toEqual(['0', undefined, '0', '1']);
    expect((outcome.results.get('1') as { ledAt: number }).ledAt).toBe(50 + TTL_MS);
    const seen = (outcome.results.get('2') as { seen: Array<{ at: number; leader: string | null }> }).seen;
    expect(seen.slice(0, 3)).toEqual([
      { at: 0, leader: null, value: null },
      { at: 0, leader: '0', value: 'value of 0' },
      { at: 50 + TTL_MS, leader: '1', value: 'value of 1' },
    ]);
  });
});

describe('the simulator’s service registry across a lapsed lease', () => {
  it('gives back what a lease held when it ran out, and takes it back on registering again', async () => {
    const services = new SimServices();
    await services.forNode('1').register('weather', { city: 'Bern' });
    await services.forNode('2').register('weather', null);
    const lapsed = services.expire('1');
    expect(await services.forNode('3').discover('weather')).toEqual([{ node: '2', info: null }]);
    services.restore('1', lapsed);
    expect(await services.forNode('3').discover('weather')).toEqual([{ node: '2', info: null }, { node: '1', info: { city: 'Bern' } }]);
  });
});

describe('membership events in the simulator', () => {
  const watcher = defineAlgorithm({
    name: 'membership-probe',
    state: () => ({ events: [] as Json[] }),
    onNeighbourDown(node, id, reason) {
      node.state.events.push({ at: node.now(), down: id, reason, neighbours: node.neighbours.map((n) => n.id) });
    },
    onNeighbourUp(node, neighbour) {
      node.state.events.push({ at: node.now(), up: neighbour.id, neighbours: node.neighbours.map((n) => n.id) });
    },
    async run(node) {
      await node.sleep(40_000);
      node.result(node.state.events);
    },
  });

  it('tells the neighbours of a stopped node at once (left), of a killed one when its lease runs out, and of one that is back', async () => {
    const run = await simulation(watcher, 'ring:n=6');
    run.at(10, () => run.stopNode('1'));
    run.at(20, () => run.killNode('4'));
    run.at(30_000, () => run.nodeUp('4'));
    const outcome = await run.run();
    expect(outcome.results.get('0')).toEqual([{ at: 10, down: '1', reason: 'left', neighbours: ['5'] }]);
    expect(outcome.results.get('2')).toEqual([{ at: 10, down: '1', reason: 'left', neighbours: ['3'] }]);
    expect(outcome.results.get('3')).toEqual([
      { at: 20 + TTL_MS, down: '4', reason: 'lease-expired', neighbours: ['2'] },
      { at: 30_000, up: '4', neighbours: ['2', '4'] },
    ]);
    expect(outcome.results.get('5')).toEqual([
      { at: 20 + TTL_MS, down: '4', reason: 'lease-expired', neighbours: ['0'] },
      { at: 30_000, up: '4', neighbours: ['0', '4'] },
    ]);
  });

  it('drops a node paused past its lease, as a dead one, and takes it back when it resumes; a short pause goes unnoticed', async () => {
    const run = await simulation(watcher, 'ring:n=6');
    run.at(100, () => run.pauseNode('1'));
    run.at(5_000, () => run.resumeNode('1'));
    run.at(6_000, () => run.pauseNode('1'));
    run.at(30_000, () => run.resumeNode('1'));
    run.at(200, () => run.pauseNode('4'));
    run.at(10_000, () => run.resumeNode('4'));
    const outcome = await run.run();
    expect(outcome.results.get('0')).toEqual([
      { at: 6_000 + TTL_MS, down: '1', reason: 'lease-expired', neighbours: ['5'] },
      { at: 30_000, up: '1', neighbours: ['1', '5'] },
    ]);
    expect(outcome.results.get('3')).toEqual([]);
  });
});

/** An algorithm file from algorithms/, bundled as `peerlab run` bundles it, with its own check. */
async function example(name: string) {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-sdk-primitives-'));
  const { algorithm, check } = await bundleAlgorithm(path.resolve('algorithms', `${name}.ts`), outDir);
  return { algorithm, check: check! };
}

/**
 * Runs an example on `ba:n=30,m=2` with default parameters, killing `killed` and stopping `stopped` at
 * `atMs`, and judges it by its check.
 */
async function simulateExample(name: string, seed: number, atMs: number, killed: string[], stopped: string[] = []) {
  const { algorithm, check } = await example(name);
  const graph = await topology('ba:n=30,m=2');
  const params = algorithm.params!.parse({}) as Record<string, Json>;
  const run = new Simulation({ graph, algorithm, params, seed, maxPayloadBytes: 1 << 20, timeoutMs: 60_000 });
  run.startAll();
  run.at(atMs, () => {
    killed.forEach((id) => run.killNode(id));
    stopped.forEach((id) => run.stopNode(id));
  });
  const outcome = await run.run();
  // The departed report nothing; the run ends once every other node has.
  expect(outcome.endReason).toBe('complete');
  expect(graph.nodes().filter((id) => !outcome.results.has(id))).toEqual([...killed, ...stopped].sort((a, b) => Number(a) - Number(b)));
  return { graph, verdict: check({ graph, params, results: outcome.results }) };
}

describe('the leader-election example', () => {
  it('has one leader at a time and a new one within the lease time after the leader is killed, by its own check', async () => {
    // Node 0 campaigns first (the simulator starts the nodes in graph order), so it leads term 1.
    const { verdict } = await simulateExample('leader-election', 3, 5_000, ['0']);
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.metrics).toMatchObject({ terms: 2, failovers: 1 });
    expect(verdict.metrics!.maxFailoverMs).toBeLessThanOrEqual(TTL_MS + 250);
    expect(verdict.actual).toMatchObject([{ term: 1, leader: '0', since: 0 }, { term: 2, leader: '1' }]);
  });

  it('keeps a term that ended within a beat: the second leader stops 1 ms after it began', async () => {
    const { algorithm, check } = await example('leader-election');
    const graph = await topology('ring:n=5');
    const params = algorithm.params!.parse({}) as Record<string, Json>;
    const run = new Simulation({ graph, algorithm, params, seed: 3, maxPayloadBytes: 1 << 20, timeoutMs: 60_000 });
    run.startAll();
    run.at(5_000, () => run.killNode('0'));
    run.at(5_000 + TTL_MS + 1, () => run.stopNode(run.leaderOf('leader')!));
    const outcome = await run.run();
    expect(graph.nodes().filter((id) => !outcome.results.has(id))).toEqual(['0', '1']);
    const verdict = check({ graph, params, results: outcome.results });
    expect(verdict.failures).toEqual([]);
    expect(verdict.actual).toMatchObject([{ term: 1, leader: '0' }, { term: 2, leader: '1' }, { term: 3, leader: '2', since: 5_000 + TTL_MS + 1 }]);
  });

  it('passes under the fault `kill leader` at 5 s, which the simulator resolves when it fires', async () => {
    const { algorithm, check } = await example('leader-election');
    const graph = await topology('ba:n=30,m=2');
    const params = algorithm.params!.parse({}) as Record<string, Json>;
    const run = new Simulation({ graph, algorithm, params, seed: 3, maxPayloadBytes: 1 << 20, timeoutMs: 60_000 });
    run.startAll();
    run.scheduleFaults([{ atMs: 5_000, action: 'kill', nodes: [], edges: [], fault: 0, spec: 'at=5s kill leader', leader: 'leader' }]);
    const outcome = await run.run();
    expect(run.faults).toMatchObject([{ atMs: 5_000, appliedMs: 5_000, action: 'kill', nodes: ['0'] }]);
    expect(run.faults[0]!.error).toBeUndefined();
    const verdict = check({ graph, params, results: outcome.results });
    expect(verdict.failures).toEqual([]);
    expect(verdict.metrics).toMatchObject({ terms: 2, failovers: 1 });
  });

  it('fails its check when two leaders overlap or no one took over', () => {
    const term = (number: number, leader: string, since: number, lastBeat: number) => ({ term: number, leader, since, lastBeat });
    const params = { durationMs: 40_000, beatMs: 250, leaseMs: 20_000, slackMs: 1_000 };
    const results = (terms: ReturnType<typeof term>[]) => new Map<string, Json | undefined>([['0', undefined], ['1', { terms, led: [], observed: [] }]]);
    const judge = async (terms: ReturnType<typeof term>[]) => (await example('leader-election')).check({ graph: undefined as never, params, results: results(terms) as never });
    return Promise.all([
      judge([term(1, '0', 0, 6_000), term(2, '1', 5_000, 30_000)]).then((verdict) => expect(verdict.summary).toBe('two leaders at once: 0 (term 1) still beat at 6000 ms, after 1 began term 2 at 5000 ms')),
      judge([term(1, '0', 0, 5_000), term(2, '1', 27_000, 30_000)]).then((verdict) => expect(verdict.summary).toMatch(/^term 2 \(1\) began 22000 ms after the last beat of 0, more than the lease/)),
      judge([term(1, '0', 0, 5_000)]).then((verdict) => expect(verdict.summary).toBe('the last leader, 0, reported nothing: leadership did not move on after it died')),
    ]);
  });
});

describe('the heartbeat failure detector example', () => {
  it('suspects the killed and stopped nodes at every surviving neighbour within its timeout, and passes its own check', async () => {
    const gone = ['3', '11', '17', '25'];
    // Node 11 stops gracefully: its neighbours hear it from the registry before its silence would tell them.
    const { graph, verdict } = await simulateExample('heartbeat-detector', 5, 2_000, ['3', '17', '25'], ['11']);
    expect(verdict.failures).toEqual([]);
    const detections = gone.reduce((sum, id) => sum + graph.neighbors(id).filter((n) => !gone.includes(n)).length, 0);
    expect(verdict.metrics).toMatchObject({ crashed: 4, detections, falseSuspicions: 0, longestCheckGapMs: 200 });
    expect(verdict.metrics!.maxDetectMs).toBeLessThanOrEqual(1_200);
  });

  it('counts a suspicion taken back as false, and fails a survivor that still suspects a live neighbour', async () => {
    const { check } = await example('heartbeat-detector');
    const graph = await topology('line:n=2');
    const suspicion = { node: '1', at: 1_500, lastHeard: 200, timeout: 1_000, cleared: null };
    const verdict = check({
      graph,
      params: { beatMs: 200, suspectAfterMs: 1_000, durationMs: 10_000 },
      results: new Map([
        ['0', { suspected: ['1'], suspicions: [suspicion], down: [], longestCheckGapMs: 200 }],
        ['1', { suspected: [], suspicions: [], down: [], longestCheckGapMs: 200 }],
      ]),
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.summary).toBe('node 0 still suspects 1, which is alive');
    expect(verdict.metrics).toMatchObject({ falseSuspicions: 1 });
  });

  it('holds a suspicion to the timeout plus the longest gap between checks the node really had', async () => {
    const { check } = await example('heartbeat-detector');
    const graph = await topology('line:n=2');
    const judge = (longestCheckGapMs: number) =>
      check({
        graph,
        params: { beatMs: 200, suspectAfterMs: 1_000, durationMs: 10_000 },
        results: new Map([
          ['0', { suspected: ['1'], suspicions: [{ node: '1', at: 1_450, lastHeard: 200, timeout: 1_000, cleared: null }], down: [], longestCheckGapMs }],
          ['1', undefined],
        ]),
      });
    // 1,250 ms from the last beat to the suspicion: one check too late with checks a beat apart ...
    expect(judge(200).failures).toEqual(['node 0 took 1250 ms to suspect 1, over its timeout 1000 ms and its longest gap between checks (200 ms)']);
    // ... but on time when a late timer made one gap 260 ms.
    expect(judge(260)).toMatchObject({ passed: true, metrics: { detections: 1, maxDetectMs: 1_250, longestCheckGapMs: 260 } });
  });
});
