import { UndirectedGraph } from 'graphology';
import { beforeAll, describe, expect, it } from 'vitest';
import { simulate } from '../../src/runtime/sim/simulate.js';
import type { Algorithm, Json, Node } from '../../src/sdk/types.js';
import { loadTopology, type Topology } from '../../src/topology/index.js';
import { verifyRandomWalk, walkMoments } from '../../src/verify/random-walk.js';
import { loadAlgorithm } from './sim-helpers.js';
import { GTS_CE } from '../zoo.js';

/** The Topology Zoo map of the thesis-era tests; skipped where the shared folder is not mounted. */
const zoo: Array<[string, number]> = [[GTS_CE, 1]];
let randomWalk: Algorithm;

beforeAll(async () => {
  randomWalk = await loadAlgorithm('algorithms/random-walk.ts');
});

async function run(spec: string, seed: number, params: Record<string, Json>, algorithm = randomWalk) {
  const { graph } = await loadTopology(spec, { seed });
  const outcome = await simulate({ graph, algorithm, params, seed, maxPayloadBytes: 65_536 });
  expect(outcome.endReason).toBe('complete');
  // The oracle gets the parameters as the CLI hands them over: validated, with the algorithm's own defaults.
  const resolved = algorithm.params ? (algorithm.params.parse(params) as Record<string, Json>) : params;
  return { graph, outcome, verdict: verifyRandomWalk({ graph, results: outcome.results, params: resolved }) };
}

describe('random-walk in the simulator', () => {
  it.each<[string, number]>([
    ['ba:n=100,m=2', 1],
    ['ba:n=100,m=2', 2],
    ...zoo,
    ['grid:rows=6,cols=8', 3], // bipartite: the walk is periodic, its time averages still converge
  ])('%s seed %i: visit shares are within the TV bound of degree / 2|E|', async (spec, seed) => {
    const { verdict, graph } = await run(spec, seed, { walkers: 5, hops: 100 });
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.metrics.hops).toBe(graph.order * 5 * 100);
    expect(verdict.metrics.tv).toBeLessThan(verdict.metrics.tvBound!);
    expect(verdict.metrics.exactMoments).toBe(1);
    expect(verdict.metrics.chiSquareDf).toBe(graph.order - 1);
  });

  it('stops walkers by node time when durationMs is set', async () => {
    const { verdict, outcome } = await run('ba:n=60,m=3', 4, { walkers: 4, hops: 0, durationMs: 120 });
    expect(verdict.failures).toEqual([]);
    const lengths = [...outcome.results.values()].flatMap((r) => (r as { walkLengths: number[] }).walkLengths);
    expect(new Set(lengths).size).toBeGreaterThan(1); // exponential link delays: walks of different lengths
    expect(Math.max(...lengths)).toBeLessThan(120); // each hop rests 1 ms plus its delay
  });

  it('fails a walk that does not choose neighbours uniformly', async () => {
    // The same walk, but half the time a walker takes the node's first neighbour: a plausible bug.
    const biased: Algorithm = {
      ...randomWalk,
      init: (node: Node<any, any>) => randomWalk.init!(withBias(node)),
      onMessage: (node: Node<any, any>, message) => randomWalk.onMessage!(withBias(node), message),
    };
    const { verdict } = await run('ba:n=100,m=2', 1, { walkers: 5, hops: 100 }, biased);
    expect(verdict.passed).toBe(false);
    expect(verdict.failures[0]).toMatch(/total variation/);
    expect(verdict.metrics.tv).toBeGreaterThan(verdict.metrics.tvBound!);
  });

  it('fails inconsistent accounts', async () => {
    const { graph, outcome } = await run('ba:n=30,m=2', 5, { walkers: 2, hops: 20 });
    const results = new Map(outcome.results as Map<string, any>);
    const first = structuredClone(results.get('0'));
    first.visits += 1;
    results.set('0', first);
    results.delete('7');
    const verdict = verifyRandomWalk({ graph, results, params: { walkers: 2, hops: 20 } });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures.join('\n')).toMatch(/node 7: reported no result/);
    expect(verdict.failures.join('\n')).toMatch(/node 0: \d+ visits but \d+ walk messages received/);
  });

  it('fails visits spread uniformly instead of by degree', async () => {
    const { graph } = await loadTopology('star:n=11', { seed: 1 });
    // Hub 0 and ten leaves: π = ½ for the hub, 1/20 per leaf. Claim 10 visits everywhere, accounts balanced:
    // the hub receives 1 walker from each leaf and sends each leaf 10.
    const results = new Map<string, Json>();
    for (const id of graph.nodes()) {
      const hub = id === '0';
      const edges = Object.fromEntries(graph.neighbors(id).map((n) => [n, { sent: hub ? 10 : 1, received: hub ? 1 : 10 }]));
      results.set(id, { visits: 10, traffic: hub ? 110 : 11, edges, walkLengths: [10] });
    }
    const verdict = verifyRandomWalk({ graph, results, params: { walkers: 1, hops: 10 } });
    expect(verdict.failures[0]).toMatch(/total variation/);
    expect(verdict.metrics.tv).toBeCloseTo((0.5 - 1 / 11 + 10 * (1 / 11 - 1 / 20)) / 2, 9);
  });
});

describe('walkMoments', () => {
  it('gives the exact mean and variance of visit counts', () => {
    // Path 0 – 1 – 2, one walk of two hops from 0: step 1 is at 1, step 2 at 0 or 2 with probability ½.
    const graph: Topology = new UndirectedGraph();
    for (const id of ['0', '1', '2']) graph.addNode(id);
    graph.addEdge('0', '1', { weight: 1 });
    graph.addEdge('1', '2', { weight: 2 });
    const { expected, variance, exact } = walkMoments(graph, [{ origin: '0', length: 2 }]);
    expect(exact).toBe(true);
    expect([...expected]).toEqual([0.5, 1, 0.5]);
    expect([...variance]).toEqual([0.25, 0, 0.25]);
    // Two walks of three hops from 1: at 0 or 2, then 1, then 0 or 2. N_1 = 1 always; N_0 ~ Binomial(2, ½).
    const two = walkMoments(graph, [{ origin: '1', length: 3 }, { origin: '1', length: 3 }]);
    expect([...two.expected]).toEqual([2, 2, 2]);
    expect([...two.variance]).toEqual([1, 0, 1]);
  });
});

function withBias(node: Node<any, any>): Node<any, any> {
  return {
    ...node,
    random: {
      ...node.random,
      pick: <T>(items: readonly T[]): T => (node.random.next() < 0.5 ? items[0]! : node.random.pick(items)),
    },
  };
}
