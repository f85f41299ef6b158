import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UndirectedGraph } from 'graphology';
import { describe, expect, it } from 'vitest';
import ghs from '../../algorithms/ghs.js';
import { bundleAlgorithm } from '../../src/plugins/bundle.js';
import { constantDelay, EventQueue, exponentialDelay, simulate, type TraceEvent } from '../../src/runtime/sim/index.js';
import type { Algorithm, Json } from '../../src/sdk/types.js';
import { loadTopology, type EdgeAttributes, type NodeAttributes, type Topology } from '../../src/topology/index.js';
import { minimumSpanningForest, verifyGhs } from '../../src/verify/ghs.js';
import { oracleFor } from '../../src/verify/index.js';
import { caseGraph, runCase, type SoakCase } from '../../scripts/ghs-soak.js';
import { ZOO_DIR } from '../zoo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A graph from [u, v, weight] triples (ids "0".."n-1"). */
function weighted(n: number, edges: Array<[number, number, number]>): Topology {
  const graph = new UndirectedGraph<NodeAttributes, EdgeAttributes>();
  for (let i = 0; i < n; i++) graph.addNode(String(i), { label: String(i) });
  for (const [u, v, weight] of edges) graph.addEdge(String(u), String(v), { weight });
  return graph;
}

/** What every node of a correct run reports, from a list of tree edges. */
function branchesOf(n: number, tree: Array<[number, number]>): Map<string, Json> {
  const results = new Map<string, Json>();
  for (let i = 0; i < n; i++) {
    const branches = tree
      .flatMap(([u, v]) => (u === i ? [v] : v === i ? [u] : []))
      .sort((a, b) => a - b)
      .map(String);
    results.set(String(i), { branches, level: 1, messages: 3, sent: { Done: 0 } });
  }
  return results;
}

async function run(graph: Topology, params: Json, seed: number, options: { delay?: ReturnType<typeof constantDelay>; algorithm?: Algorithm; trace?: (event: TraceEvent) => void } = {}) {
  const outcome = await simulate({
    graph,
    algorithm: options.algorithm ?? ghs,
    params,
    seed,
    maxPayloadBytes: 4096,
    delay: options.delay,
    trace: options.trace,
    timeoutMs: 1e12,
  });
  const verdict = verifyGhs({ graph, results: outcome.results, params: params as Record<string, unknown> });
  return { outcome, verdict };
}

describe('GHS oracle (Kruskal with the (weight, id, id) tie rule)', () => {
  // A square 0-1-2-3 with the diagonal 0-2, every weight 1: only the tie rule decides.
  const square = weighted(4, [
    [0, 1, 1],
    [1, 2, 1],
    [2, 3, 1],
    [3, 0, 1],
    [0, 2, 1],
  ]);

  it('breaks ties by the smaller id, then the larger, numerically', () => {
    expect(minimumSpanningForest(square)).toEqual([
      ['0', '1', 1],
      ['0', '2', 1],
      ['0', '3', 1],
    ]);
    // "10" sorts after "9" as a number, not as a string.
    const ids = weighted(11, [
      ...Array.from({ length: 9 }, (_, i): [number, number, number] => [i, i + 1, 1]),
      [9, 10, 2],
      [2, 10, 2],
    ]);
    expect(minimumSpanningForest(ids).at(-1)).toEqual(['2', '10', 2]);
  });

  it('passes a correct report and adds up the weights and the message bound', () => {
    const graph = weighted(5, [
      [0, 1, 4],
      [1, 2, 1],
      [2, 3, 3],
      [3, 4, 2],
      [4, 0, 5],
      [1, 3, 6],
    ]);
    const verdict = verifyGhs({ graph, results: branchesOf(5, [[0, 1], [1, 2], [2, 3], [3, 4]]), params: {} });
    expect(verdict.failures).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.metrics).toMatchObject({ mstWeight: 10, reportedWeight: 10, mstEdges: 4, reportedEdges: 4, messages: 15, maxLevel: 1 });
    expect(verdict.metrics['messageBound']).toBeCloseTo(5 * 5 * Math.log2(5) + 2 * 6);
    expect(verdict.actual).toEqual([
      ['1', '2', 1],
      ['3', '4', 2],
      ['2', '3', 3],
      ['0', '1', 4],
    ]);
  });

  it('fails when an MST edge is missing', () => {
    const verdict = verifyGhs({ graph: square, results: branchesOf(4, [[0, 1], [0, 2]]), params: {} });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toContain('MST edge 0–3 (weight 1) is missing from the reported branches');
  });

  it('fails when a branch is listed by one end only', () => {
    const results = branchesOf(4, [[0, 1], [0, 2], [0, 3]]);
    results.set('3', { branches: [] });
    const verdict = verifyGhs({ graph: square, results, params: {} });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toContain('edge 0–3: node 0 lists it as a branch but node 3 does not');
  });

  it('fails when a hub leaves out a branch its leaf lists (a long list of branches is looked up, not scanned)', () => {
    const leaves = 40;
    const star = weighted(leaves + 1, Array.from({ length: leaves }, (_, leaf): [number, number, number] => [0, leaf + 1, leaf + 1]));
    const results = branchesOf(leaves + 1, Array.from({ length: leaves }, (_, leaf): [number, number] => [0, leaf + 1]));
    expect(verifyGhs({ graph: star, results, params: {} }).passed).toBe(true);
    results.set('0', { branches: Array.from({ length: leaves }, (_, leaf) => String(leaf + 1)).filter((leaf) => leaf !== '17') });
    const verdict = verifyGhs({ graph: star, results, params: {} });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toContain('edge 17–0: node 17 lists it as a branch but node 0 does not');
  });

  it('fails on a spanning tree that is not the minimum one (ties included)', () => {
    const verdict = verifyGhs({ graph: square, results: branchesOf(4, [[0, 1], [1, 2], [2, 3]]), params: {} });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures.join('\n')).toMatch(/edge 1–2 \(weight 1\) is reported as a branch but is not in the MST/);
  });

  it('fails on a missing result, a non-neighbour branch and an impossible level', () => {
    const results = branchesOf(4, [[0, 1], [0, 2], [0, 3]]);
    results.set('1', { branches: ['0', '3'], level: 1 });
    results.set('2', { branches: ['0'], level: 5 });
    results.delete('3');
    const withMissing = new Map<string, Json | undefined>(results);
    withMissing.set('3', undefined);
    const verdict = verifyGhs({ graph: square, results: withMissing, params: {} });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toEqual(
      expect.arrayContaining([
        'node 3: reported no result',
        'node 1: branch 3 is not an overlay neighbour',
        'a node reports level 5, impossible with 4 nodes (2^level ≤ N)',
      ]),
    );
  });

  it('expects a spanning forest on a disconnected graph', () => {
    const graph = weighted(5, [
      [0, 1, 2],
      [1, 2, 1],
      [0, 2, 3],
      [3, 4, 7],
    ]);
    expect(minimumSpanningForest(graph)).toHaveLength(3);
    expect(verifyGhs({ graph, results: branchesOf(5, [[0, 1], [1, 2], [3, 4]]), params: {} }).passed).toBe(true);
  });

  it('is the registered oracle for ghs', () => {
    expect(oracleFor('ghs')).toBe(verifyGhs);
  });
});

describe('GHS in the simulator', () => {
  const specs = [
    'ba:n=60,m=2',
    'er:n=40,p=0.15',
    'grid:rows=5,cols=6',
    'ring:n=10',
    'complete:n=8',
    'tree:r=2,h=5',
    'ws:n=30,k=4,p=0.2',
    'line:n=2',
    'star:n=12',
    path.join(ZOO_DIR, 'Abilene.graphml'),
    path.join(ZOO_DIR, 'Geant2012.graphml'),
    path.join(ZOO_DIR, 'GtsCe.graphml'),
  ];
  const cases = specs.flatMap((spec) =>
    (['one', 'all'] as const).map((wakeup) => ({ spec, wakeup, name: spec.startsWith('/') ? `zoo ${path.basename(spec)}` : spec })),
  );

  it.each(cases)('$name, wakeup $wakeup: terminates with the exact MST on 6 seeds', async ({ spec, wakeup }) => {
    for (let seed = 1; seed <= 6; seed++) {
      const { graph } = await loadTopology(spec, { seed, weights: 'unique' });
      const params: Json = wakeup === 'one' ? { wakeup, wakeupNode: String((seed * 7) % graph.order) } : { wakeup };
      const delay = seed % 2 === 0 ? constantDelay(1) : exponentialDelay(1 + seed);
      const { outcome, verdict } = await run(graph, params, seed, { delay });
      const where = `${spec} seed ${seed}`;
      expect(outcome.failure, where).toBeUndefined();
      expect(outcome.endReason, where).toBe('complete');
      expect(verdict.failures, where).toEqual([]);
      expect(verdict.metrics['boundRatio'], where).toBeLessThanOrEqual(1);
    }
  });

  it('reports the tree an independent MST algorithm finds (Prim, not the oracle\'s Kruskal) on 5,000 nodes', async () => {
    const { graph } = await loadTopology('ba:n=5000,m=2', { seed: 3, weights: 'unique' });
    const { outcome, verdict } = await run(graph, { wakeup: 'one' }, 3, { delay: exponentialDelay(1) });
    expect(outcome.endReason).toBe('complete');
    expect(verdict.passed).toBe(true);
    const reported = new Set<string>();
    for (const [id, result] of outcome.results) {
      for (const other of (result as { branches: string[] }).branches) reported.add(edgeKey(id, other));
    }
    const prim = primTree(graph);
    expect(prim.size).toBe(graph.order - 1);
    expect([...reported].sort()).toEqual([...prim].sort());
  });

  it('builds the MST when every weight is equal (the tie rule decides everything)', async () => {
    for (const spec of ['complete:n=12', 'grid:rows=4,cols=4', 'ba:n=40,m=3']) {
      for (const delay of ['exp:1', 'pareto:0.6', 'kind-skew', 'constant:0']) {
        const c: SoakCase = { seed: 7, family: 'ba', spec, weights: 'ties:1', delay, wakeup: 'one', wakeupPick: 5 };
        const outcome = await runCase(c);
        expect(outcome.detail, `${spec} ${delay}`).toBeUndefined();
        expect(outcome.ok).toBe(true);
      }
    }
    const graph = await caseGraph({ seed: 7, family: 'ba', spec: 'complete:n=6', weights: 'ties:1', delay: 'exp:1', wakeup: 'one', wakeupPick: 0 });
    expect(new Set(graph.mapEdges((_e, a) => a.weight))).toEqual(new Set([1]));
  });

  it('runs bundled, as `peerlab run` loads it', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-ghs-'));
    const { algorithm } = await bundleAlgorithm(path.join(root, 'algorithms', 'ghs.ts'), outDir);
    expect(algorithm.name).toBe('ghs');
    const { graph } = await loadTopology('ba:n=30,m=2', { seed: 3 });
    const { outcome, verdict } = await run(graph, {}, 3, { algorithm });
    expect(outcome.endReason).toBe('complete');
    expect(verdict.passed).toBe(true);
  });

  it('wakes exactly the chosen node under wakeup one, the same node at every node', async () => {
    const { graph } = await loadTopology('ring:n=9', { seed: 2 });
    const firstSender = async (params: Json): Promise<string | undefined> => {
      let first: string | undefined;
      await run(graph, params, 2, {
        delay: constantDelay(1),
        trace: (event) => {
          if (event.type === 'send' && first === undefined) first = event.from;
        },
      });
      return first;
    };
    expect(await firstSender({ wakeup: 'one', wakeupNode: '5' })).toBe('5');
    // Without wakeupNode the seed picks: replayable, and different seeds reach different nodes.
    const picks = new Set<string | undefined>();
    for (let wakeupSeed = 0; wakeupSeed < 12; wakeupSeed++) {
      const pick = await firstSender({ wakeup: 'one', wakeupSeed });
      expect(await firstSender({ wakeup: 'one', wakeupSeed })).toBe(pick);
      picks.add(pick);
    }
    expect(picks.size).toBeGreaterThan(3);
  });

  it('refuses a wakeupNode that is not a node', async () => {
    const { graph } = await loadTopology('ring:n=5', { seed: 1 });
    const { outcome } = await run(graph, { wakeupNode: '7' }, 1);
    expect(outcome.endReason).toBe('failure');
    expect(outcome.failure?.message).toMatch(/wakeupNode "7" is not a node id/);
  });

  it('counts messages by kind in metrics and results, matching the simulator', async () => {
    const { graph } = await loadTopology('ws:n=50,k=4,p=0.3', { seed: 9 });
    const { outcome, verdict } = await run(graph, { wakeup: 'all' }, 9);
    expect(verdict.passed).toBe(true);
    let fromMetrics = 0;
    let done = 0;
    for (const report of outcome.reports.values()) {
      for (const [name, value] of Object.entries(report.metrics)) {
        expect(name).toMatch(/^msg_(Connect|Initiate|Test|Accept|Reject|Report|ChangeRoot|Done)$/);
        fromMetrics += value;
        if (name === 'msg_Done') done += value;
      }
    }
    expect(fromMetrics).toBe(outcome.messages);
    expect(verdict.metrics['messages']).toBe(outcome.messages);
    // The core's two nodes hear "halt" from each other; everyone else gets one Done.
    expect(done).toBe(graph.order - 2);
    expect(verdict.metrics['ghsMessages']).toBe(outcome.messages - done);
  });

  it('replays: the same seed gives the same run', async () => {
    const { graph } = await loadTopology('ba:n=80,m=2', { seed: 4 });
    const a = await run(graph, { wakeup: 'all' }, 4);
    const b = await run(graph, { wakeup: 'all' }, 4);
    expect(b.outcome.messages).toBe(a.outcome.messages);
    expect(b.outcome.virtualTimeMs).toBe(a.outcome.virtualTimeMs);
    expect([...b.outcome.results]).toEqual([...a.outcome.results]);
  });

  it('reports an empty tree on a single node', async () => {
    const { graph } = await loadTopology('line:n=1', { seed: 1 });
    const { outcome, verdict } = await run(graph, {}, 1);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.results.get('0')).toMatchObject({ branches: [] });
    expect(verdict.passed).toBe(true);
  });
});

function edgeKey(u: string, v: string): string {
  return Number(u) < Number(v) ? `${u}-${v}` : `${v}-${u}`;
}

/**
 * Prim's algorithm, its candidate edges in the simulator's binary heap keyed on weight: a second MST
 * implementation, independent of the oracle's Kruskal, for a graph whose weights are unique (so the MST is unique
 * and no tie rule is involved).
 */
function primTree(graph: Topology): Set<string> {
  const candidates = new EventQueue<readonly [string, string]>();
  const inTree = new Set<string>();
  const tree = new Set<string>();
  const add = (node: string): void => {
    inTree.add(node);
    graph.forEachEdge(node, (_edge, { weight }, source, target) => {
      const other = source === node ? target : source;
      if (!inTree.has(other)) candidates.push(weight, [node, other]);
    });
  };
  add(graph.nodes()[0]!);
  while (candidates.size > 0) {
    const [from, to] = candidates.pop()!;
    if (inTree.has(to)) continue;
    tree.add(edgeKey(from, to));
    add(to);
  }
  return tree;
}
