import { describe, expect, it } from 'vitest';
import { describeTopology, exportTopology, loadTopology, type Topology } from '../../src/topology/index.js';
import { expectPeerlabError } from './topology-helpers.js';

// Random graphs may come out disconnected; connectivity checks have their own tests.
const generate = async (spec: string, seed: number | string = 1): Promise<Topology> =>
  (await loadTopology(spec, { seed, allowDisconnected: true })).graph;
const degrees = (graph: Topology): number[] => graph.mapNodes((node) => graph.degree(node));

describe('generated topologies', () => {
  it('ba grows m·(n−m) edges by preferential attachment', async () => {
    for (const [n, m] of [
      [50, 1],
      [200, 3],
      [30, 29],
    ] as const) {
      const graph = await generate(`ba:n=${n},m=${m}`, 5);
      expect(graph.order).toBe(n);
      expect(graph.size).toBe(m * (n - m));
      // Every node after the initial star (0..m, centre 0) arrived with m edges.
      for (let v = m + 1; v < n; v++) expect(graph.degree(String(v))).toBeGreaterThanOrEqual(m);
      expect(Math.min(...degrees(graph))).toBeGreaterThanOrEqual(1);
    }
    // Uniform attachment would keep the largest degree near log n; preferential attachment makes hubs.
    expect(Math.max(...degrees(await generate('ba:n=2000,m=2', 3)))).toBeGreaterThan(40);
  });

  it('replays the same graph for the same seed and a different one for another seed', async () => {
    for (const spec of ['ba:n=60,m=2', 'er:n=40,p=0.2', 'er:n=40,m=70', 'ws:n=40,k=4,p=0.3']) {
      const first = exportTopology(await generate(spec, 11));
      expect(exportTopology(await generate(spec, 11))).toEqual(first);
      expect(exportTopology(await generate(spec, 12))).not.toEqual(first);
    }
    // Deterministic models still differ by seed in their (unique) weights, and agree otherwise.
    const ring = exportTopology(await generate('ring:n=12', 'a'));
    expect(exportTopology(await generate('ring:n=12', 'a'))).toEqual(ring);
    expect(exportTopology(await generate('ring:n=12', 'b'))).not.toEqual(ring);
  });

  it('builds each deterministic model with its defining shape', async () => {
    const ring = await generate('ring:n=10');
    expect([ring.order, ring.size]).toEqual([10, 10]);
    expect(new Set(degrees(ring))).toEqual(new Set([2]));

    const line = await generate('line:n=7');
    expect([line.order, line.size]).toEqual([7, 6]);
    expect(degrees(line).sort()).toEqual([1, 1, 2, 2, 2, 2, 2]);

    const grid = await generate('grid:rows=3,cols=4');
    expect([grid.order, grid.size]).toEqual([12, 3 * 3 + 4 * 2]);
    for (const corner of ['0', '3', '8', '11']) expect(grid.degree(corner)).toBe(2);
    expect(grid.degree('5')).toBe(4);

    const torus = await generate('torus:rows=3,cols=5');
    expect([torus.order, torus.size]).toEqual([15, 30]);
    expect(new Set(degrees(torus))).toEqual(new Set([4]));

    const star = await generate('star:n=9');
    expect([star.order, star.size]).toEqual([9, 8]);
    expect(star.degree('0')).toBe(8);
    for (let i = 1; i < 9; i++) expect(star.neighbors(String(i))).toEqual(['0']);

    const complete = await generate('complete:n=7');
    expect([complete.order, complete.size]).toEqual([7, (7 * 6) / 2]);

    for (const [r, h] of [
      [2, 4],
      [3, 3],
      [1, 5],
    ] as const) {
      const tree = await generate(`tree:r=${r},h=${h}`);
      const n = r === 1 ? h + 1 : (r ** (h + 1) - 1) / (r - 1);
      expect([tree.order, tree.size]).toEqual([n, n - 1]);
      expect(tree.degree('0')).toBe(r);
      expect(describeTopology(tree).diameter).toBe(r === 1 ? h : 2 * h);
    }
  });

  it('draws random graphs to the requested size', async () => {
    const gnm = await generate('er:n=30,m=100', 4);
    expect([gnm.order, gnm.size]).toEqual([30, 100]);
    expect((await generate('er:n=30,m=435', 4)).size).toBe(435);

    // 0.3 · C(60,2) = 531 expected edges, standard deviation ≈ 20.
    const gnp = await generate('er:n=60,p=0.3', 4);
    expect(gnp.size).toBeGreaterThan(431);
    expect(gnp.size).toBeLessThan(631);
    expect((await generate('er:n=12,p=1', 4)).size).toBe(66);

    const ws = await generate('ws:n=50,k=6,p=0.5', 4);
    expect([ws.order, ws.size]).toEqual([50, 150]);
    expect(degrees(ws).reduce((sum, degree) => sum + degree, 0)).toBe(50 * 6);
    expect(new Set(degrees(ws)).size).toBeGreaterThan(1);
    expect(new Set(degrees(await generate('ws:n=50,k=6,p=0', 4)))).toEqual(new Set([6]));
  });

  it('numbers nodes "0".."n-1" and labels every node', async () => {
    const graph = await generate('ba:n=20,m=2');
    expect(graph.nodes()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    graph.forEachNode((node, attributes) => expect(attributes.label).toBe(node));
    graph.forEachEdge((_edge, attributes) => expect(Number.isFinite(attributes.weight)).toBe(true));
  });
});

describe('generator spec errors', () => {
  it('names the spec, the problem and the valid choices', async () => {
    await expectPeerlabError(
      generate('bx:n=10'),
      /unknown topology model "bx"/,
      /"bx:n=10"/,
      /ba, er, ws, ring, line, grid, torus, star, complete, tree/,
    );
    await expectPeerlabError(generate('ba:n=5,m=5'), /ba needs m < n \(got n=5, m=5\)/, /ba takes n .*, m /);
    await expectPeerlabError(generate('ring:n=10,k=2'), /ring has no parameter "k"/, /ring takes n/);
    await expectPeerlabError(generate('ring'), /ring needs parameter n/);
    await expectPeerlabError(generate('ring:n=ten'), /ring parameter n must be an integer ≥ 3, got "ten"/);
    await expectPeerlabError(generate('ring:n=2.5'), /must be an integer/);
    await expectPeerlabError(generate('er:n=10,p=1.5'), /er parameter p must be a probability in \[0, 1\]/);
    await expectPeerlabError(generate('er:n=10'), /er needs exactly one of p .* or m/);
    await expectPeerlabError(generate('er:n=10,p=0.5,m=3'), /exactly one of p/);
    await expectPeerlabError(generate('er:n=10,m=46'), /m ≤ n\(n−1\)\/2 = 45/);
    await expectPeerlabError(generate('ws:n=10,k=3,p=0.1'), /ws needs an even k < n/);
    await expectPeerlabError(generate('ring:n=5,n=6'), /given twice/);
    await expectPeerlabError(generate('ring:n5'), /malformed parameter "n5"/);
    await expectPeerlabError(generate('complete:n=90000'), /too large/);
  });
});
