/**
 * Placement in the simulator (issue 13): hosts of declared capacity shared max-min fair among their nodes'
 * demands, a policy's rounds at virtual-time periods that move nodes with the simulator's migrate, request counts
 * by the sender's site, and the checks of seed 000's and seed 001's case studies on what the rounds did.
 */
import { describe, expect, it } from 'vitest';
import equal from '../../policies/equal.js';
import prio from '../../policies/prio.js';
import selfPlacement from '../../policies/self-placement.js';
import threshold from '../../policies/threshold.js';
import type { PlacementRound } from '../../src/placement/simulate.js';
import { SimHosts } from '../../src/runtime/sim/hosts.js';
import { Simulation, type SimulationOutcome } from '../../src/runtime/sim/index.js';
import type { PlacementHost, PlacementPolicy } from '../../src/sdk/placement.js';
import type { Algorithm, Json } from '../../src/sdk/types.js';
import { verifySineUsers } from '../../src/verify/sine-users.js';
import { verifyZoeAgent } from '../../src/verify/zoe-agent.js';
import { loadAlgorithm, topology } from './sim-helpers.js';
import { zoeAgents } from '../zoe-agents.js';

const host = (name: string, capacity: number, priority = 1, central = false): PlacementHost => ({ name, capacity, priority, central });
/** Table 6.1's machines, as experiments/zoe/table-6.2-migration-1.yaml gives them. */
const TABLE_6_1 = [
  host('central', 5217.933559389, 3, true),
  host('outpost_pi', 132.287849904, 2),
  host('outpost_arco1', 138.476783011, 1),
  host('outpost_arco2', 138.476783011, 1),
];
const AGENTS = zoeAgents('zoe-balancers.yaml');

describe('SimHosts', () => {
  const hosts = new SimHosts({ list: [host('a', 10), host('b', 5)], hostOf: { '0': 'a', '1': 'a', '2': 'a', '3': 'b' } });

  it('shares a host max-min fair: a node wanting less than an equal share gets it, the rest is split evenly', () => {
    expect(Object.fromEntries(hosts.granted('a', new Map([['0', 2], ['1', 5], ['2', 8]])))).toEqual({ '0': 2, '1': 4, '2': 4 });
    expect(Object.fromEntries(hosts.granted('a', new Map([['0', 1], ['1', 2]])))).toEqual({ '0': 1, '1': 2 });
    expect(Object.fromEntries(hosts.granted('b', new Map([['3', 0]])))).toEqual({ '3': 0 });
  });

  it('sends a node without a target to the host with the fewest nodes per unit of capacity, the first listed on a tie', () => {
    expect(hosts.leastCrowded(['0', '1', '2', '3'])).toBe('b');
    expect(hosts.leastCrowded(['0', '3'], 'b')).toBe('a');
    expect(hosts.leastCrowded(['0', '3'])).toBe('a');
  });

  it('sends such a node only to a host with room (maxNodes), and refuses when there is none', () => {
    const small = new SimHosts({ list: [{ ...host('a', 10), maxNodes: 2 }, { ...host('b', 1), maxNodes: 1 }], hostOf: { '0': 'a', '1': 'a', '2': 'b' } });
    // b is the least crowded per unit of capacity below, but holds its one node.
    expect(small.leastCrowded(['0', '2'])).toBe('a');
    expect(() => small.leastCrowded(['0', '1', '2'])).toThrow('no host has room for another node: each holds its maxNodes');
    expect(() => small.leastCrowded(['0', '2'], 'a')).toThrow('no host other than a has room for another node');
    expect(small.whyNoRoom('a', ['0', '2'])).toBeUndefined();
    expect(small.whyNoRoom('b', ['0', '2'])?.message).toBe('--to b: host b has no room: it holds 1 node(s), its maxNodes');
    expect(small.whyNoRoom('b', ['0', '2'])?.hint).toBe('name a host with room (a), or move a node off b first');
    expect(small.whyNoRoom('b', ['0', '1', '2'])?.hint).toBe("every host is full: raise a host's maxNodes in the hosts file");
  });

  it("counts a node's requests by its senders' hosts, per interval, and keeps the last samples", () => {
    const counting = new SimHosts({ list: [host('a', 1), host('b', 1)], hostOf: { '0': 'a', '1': 'a', '2': 'b' } });
    expect(counting.requestsOf('0')).toBeUndefined();
    counting.countRequest('0', '1');
    counting.countRequest('0', '2');
    counting.countRequest('0', '2');
    counting.closeRequestInterval(['0', '1', '2'], 60);
    counting.closeRequestInterval(['0', '1', '2'], 120);
    expect(counting.requestsOf('0')).toEqual([
      { at: 60, from: { a: 1, b: 2 } },
      { at: 120, from: {} },
    ]);
    expect(counting.requestsOf('1')).toBeUndefined();
  });
});

/** The Zoe agents on Table 6.1's machines, all on central, moved by `policy` every 300 s of virtual time. */
async function zoe(policy: PlacementPolicy, options: { agents: number; hold?: string[]; settings?: Record<string, number> }): Promise<SimulationOutcome> {
  const algorithm = await loadAlgorithm('algorithms/zoe-agent.ts');
  const agents = AGENTS.slice(0, options.agents);
  const simulation = new Simulation({
    graph: await topology(`complete:n=${agents.length}`),
    algorithm,
    params: { agents, durationMs: 1_000_000 } as Json,
    seed: 1,
    maxPayloadBytes: 65_536,
    timeoutMs: 1_200_000,
    hosts: { list: TABLE_6_1, hostOf: Object.fromEntries(agents.map((_agent, index) => [String(index), 'central'])) },
    placement: { policy, everyMs: 300_000, hold: options.hold ?? [], settings: options.settings ?? {} },
  });
  simulation.startAll();
  return simulation.run();
}

const byHost = (round: PlacementRound) => {
  const hosts: Record<string, string[]> = {};
  for (const [node, on] of Object.entries(round.placement)) (hosts[on] ??= []).push(AGENTS[Number(node)]!.name);
  return hosts;
};
const judgeZoe = (outcome: SimulationOutcome, policy: string) =>
  verifyZoeAgent({ graph: undefined as never, results: outcome.results, params: {}, placement: { policy, rounds: outcome.placements ?? [] } });

describe('a placement policy in the simulator', () => {
  it("moves seed 000's agents as Table 6.2 says, at the policy's period, each agent's load what it wants where it fits", async () => {
    const outcome = await zoe(equal, { agents: 6 });
    expect(outcome.endReason).toBe('complete');
    const rounds = outcome.placements!;
    expect(rounds.map((round) => round.atMs)).toEqual([300_000, 600_000, 900_000]);
    for (const round of rounds) {
      expect(byHost(round)).toEqual({ central: ['dummy1'], outpost_pi: ['dummy2'], outpost_arco1: ['dummy3'], outpost_arco2: ['fibonacci', 'madtrans', 'outpostest'] });
      expect(round.input.nodes.map((node) => node.load)).toEqual(AGENTS.slice(0, 6).map((agent) => agent.mips));
    }
    // The first round moves five agents off central, one at a time; the later ones find nothing to move.
    expect(rounds[0]!.moves.map((move) => [move.node, move.to, move.moved])).toEqual([
      ['1', 'outpost_pi', true],
      ['2', 'outpost_arco1', true],
      ['3', 'outpost_arco2', true],
      ['4', 'outpost_arco2', true],
      ['5', 'outpost_arco2', true],
    ]);
    expect(rounds[1]!.moves).toEqual([]);
    expect(outcome.migrations.map((move) => [move.node, move.kind, move.frozenAt])).toEqual(['1', '2', '3', '4', '5'].map((node) => [node, 'migrate', 300_000]));
    expect(judgeZoe(outcome, 'equal')).toMatchObject({ passed: true, summary: 'equal free normal: Table 6.2 reproduced in rounds 1–3' });
  });

  it('measures a CPU-bound agent at what its machine has left: the overload agent on central, then on an outpost', async () => {
    const outcome = await zoe(equal, { agents: 7, hold: ['1', '2'], settings: { scoutOrder: 1 } });
    const overloadLoads = outcome.placements!.map((round) => round.input.nodes.find((node) => node.name === '6')!.load);
    const smallOnArco1 = AGENTS[4]!.mips;
    expect(overloadLoads[0]).toBeCloseTo(TABLE_6_1[0]!.capacity - AGENTS.slice(0, 6).reduce((sum, agent) => sum + agent.mips, 0), 6);
    expect(overloadLoads[1]).toBeCloseTo(TABLE_6_1[2]!.capacity - smallOnArco1, 6);
  });

  it('is deterministic: the same run makes the same rounds', async () => {
    const once = await zoe(equal, { agents: 7, hold: ['1', '2'], settings: { scoutOrder: 1 } });
    const again = await zoe(equal, { agents: 7, hold: ['1', '2'], settings: { scoutOrder: 1 } });
    expect(JSON.stringify(again.placements)).toBe(JSON.stringify(once.placements));
  });

  it("judges seed 000's scenarios: Prio up to its tie, Equal's oscillation under overload with the Scout's order, and fails without it", async () => {
    expect(judgeZoe(await zoe(prio, { agents: 7 }), 'prio')).toMatchObject({ passed: true, summary: expect.stringContaining('Table 6.14 reproduced (up to arco1 ↔ arco2)') });
    const scout = judgeZoe(await zoe(equal, { agents: 7, hold: ['1', '2'], settings: { scoutOrder: 1 } }), 'equal');
    expect(scout).toMatchObject({ passed: true, metrics: { overloadMoves: 3 } });
    // In node order the overload agent settles on its first outpost: no oscillation, which Table 6.12 shows.
    const settled = judgeZoe(await zoe(equal, { agents: 7, hold: ['1', '2'] }), 'equal');
    expect(settled.passed).toBe(false);
    expect(settled.failures).toContain('the overload agent moved in 1 round(s): Equal settled it, where Table 6.12 shows it moved again');
    // A Prio run judged against Equal's table: the placement is not Table 6.2's.
    const wrong = judgeZoe(await zoe(prio, { agents: 6 }), 'equal');
    expect(wrong.passed).toBe(false);
    expect(wrong.failures[0]).toBe('round 1: dummy1, dummy2, fibonacci, madtrans, outpostest not where Table 6.2 puts them (1 of 6 agents are)');
  });

  it("rates each host by the capacity its nodes leave free, so that threshold leaves a host below it for its duration", async () => {
    const simulation = new Simulation({
      graph: await topology('complete:n=2'),
      algorithm: await loadAlgorithm('algorithms/zoe-agent.ts'),
      params: { agents: [{ name: 'busy', mips: 2 }], durationMs: 600_000 } as Json,
      seed: 1,
      maxPayloadBytes: 65_536,
      hosts: { list: [host('poor', 1), host('rich', 10)], hostOf: { '0': 'poor', '1': 'poor' } },
      placement: { policy: threshold, everyMs: 60_000, hold: [], settings: {} },
    });
    simulation.startAll();
    const rounds = (await simulation.run()).placements!;
    // The busy agent takes all of poor (utility 0), rich is idle (1): below 0.5 since the first round, 300 s later it goes.
    expect(rounds[0]!.input.hosts.map((candidate) => candidate.utility!.at(-1)!.components.cpu)).toEqual([0, 1]);
    const moving = rounds.filter((round) => round.moves.length > 0);
    expect(moving.map((round) => [round.atMs, round.moves.map((move) => `${move.node} ${move.from}→${move.to} ${move.moved}`)])).toEqual([
      [360_000, ['0 poor→rich true', '1 poor→rich true']],
    ]);
    expect(rounds.at(-1)!.input.hosts.map((candidate) => candidate.utility!.at(-1)!.components.cpu)).toEqual([1, 0.8]);
  });

  it("refuses a move or a policy's move to a full host, and records the move the policy could not make", async () => {
    const algorithm = await loadAlgorithm('algorithms/zoe-agent.ts');
    const graph = await topology('complete:n=3');
    // b holds one node; equal would put two there (each of the three wants 1 of a's 10 and b's 10).
    const hosts = { list: [host('a', 10), { ...host('b', 10), maxNodes: 1 }], hostOf: { '0': 'a', '1': 'a', '2': 'b' } };
    const agents = [{ name: 'x', mips: 1 }, { name: 'y', mips: 1 }, { name: 'z', mips: 1 }];
    const simulation = new Simulation({ graph, algorithm, params: { agents, durationMs: 2500 }, seed: 1, maxPayloadBytes: 65_536, hosts, placement: { policy: equal, everyMs: 1000, hold: [], settings: {} } });
    simulation.startAll();
    simulation.at(10, () => expect(() => simulation.migrateNode('0', () => {}, 'b')).toThrow('--to b: host b has no room: it holds 1 node(s), its maxNodes'));
    const outcome = await simulation.run();
    // Equal puts 0 on a, 1 on b, 2 on a. Its first move finds b full (2 is still there) and is not made; the
    // second empties b, so the next round makes the first.
    expect(outcome.placements!.map((round) => round.moves)).toEqual([
      [
        { node: '1', from: 'a', to: 'b', moved: false, why: '--to b: host b has no room: it holds 1 node(s), its maxNodes' },
        { node: '2', from: 'b', to: 'a', moved: true },
      ],
      [{ node: '1', from: 'a', to: 'b', moved: true }],
    ]);
  });

  it('refuses a move to a host that does not exist or that the node is on, and a target in a run without hosts', async () => {
    const algorithm = await loadAlgorithm('algorithms/zoe-agent.ts');
    const graph = await topology('complete:n=2');
    const withHosts = new Simulation({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 65_536, hosts: { list: [host('a', 1), host('b', 1)], hostOf: { '0': 'a', '1': 'b' } } });
    withHosts.startAll();
    withHosts.at(10, () => {
      expect(() => withHosts.migrateNode('0', () => {}, 'nowhere')).toThrow('--to nowhere: the run has no host nowhere');
      expect(() => withHosts.migrateNode('0', () => {}, 'a')).toThrow('node 0 is on a already');
      withHosts.destroy();
    });
    await withHosts.run();
    const without = new Simulation({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 65_536 });
    without.startAll();
    without.at(10, () => {
      expect(() => without.migrateNode('0', () => {}, 'a')).toThrow('--to a: the run has no hosts to move node 0 to');
      without.destroy();
    });
    await without.run();
    expect(() => new Simulation({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 65_536, placement: { policy: equal, everyMs: 1000, hold: [], settings: {} } })).toThrow(
      'a placement policy needs hosts',
    );
  });
});

describe("seed 001's server in the simulator", () => {
  const SITES = [
    { name: 'oslo', offsetHours: 0, amplitude: 0.9 },
    { name: 'gjovik', offsetHours: 8, amplitude: 0.9 },
    { name: 'connecticut', offsetHours: 16, amplitude: 0.9 },
  ];
  async function serve(policy: PlacementPolicy, algorithm: Algorithm) {
    const simulation = new Simulation({
      graph: await topology('complete:n=4'),
      algorithm,
      params: { server: '3', sites: SITES, durationMs: 172_800_000 } as Json,
      seed: 1,
      maxPayloadBytes: 65_536,
      timeoutMs: 180_000_000,
      hosts: { list: SITES.map((site) => host(site.name, 1)), hostOf: { '0': 'oslo', '1': 'gjovik', '2': 'connecticut', '3': 'oslo' } },
      placement: { policy, everyMs: 600_000, hold: [], settings: {} },
    });
    simulation.startAll();
    const outcome = await simulation.run();
    const params = { server: '3', sites: SITES, dayMs: 86_400_000, durationMs: 172_800_000, noise: 0 };
    return { outcome, verdict: verifySineUsers({ graph: undefined as never, results: outcome.results, params, placement: { policy: policy.name, rounds: outcome.placements ?? [] } }) };
  }

  it('follows the sun as the curves say, counting each minute of requests by the site they came from', async () => {
    const { outcome, verdict } = await serve(selfPlacement, await loadAlgorithm('algorithms/sine-users.ts'));
    const server = outcome.placements![0]!.input.nodes.find((node) => node.name === '3')!;
    expect(server.requests!.map((sample) => sample.at)).toEqual([0, 60, 120, 180, 240, 300, 360, 420, 480, 540, 600].slice(-11).slice(1));
    expect(Object.keys(server.requests!.at(-1)!.from).sort()).toEqual(['connecticut', 'gjovik', 'oslo']);
    expect(verdict).toMatchObject({ passed: true, metrics: { serverMoves: 6, expectedMoves: 6, movesPerDay: 3 } });
  }, 60_000);

  it('fails a policy that does not follow the users', async () => {
    const { verdict } = await serve(threshold, await loadAlgorithm('algorithms/sine-users.ts'));
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toContain('the server moved to nowhere; the curves say connecticut, oslo, gjovik, connecticut, oslo, gjovik');
  }, 60_000);
});
