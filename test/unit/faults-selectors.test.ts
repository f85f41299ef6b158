import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { countConnectedComponents } from 'graphology-components';
import { describe, expect, it } from 'vitest';
import { bridges, minCutPartition, resolveEdges, resolveNodes, resolveTarget, stoerWagner } from '../../src/faults/selectors.js';
import { parseFaultSpec, type EdgeSelector, type NodeSelector } from '../../src/faults/spec.js';
import { generateTopology } from '../../src/topology/generators.js';
import { buildTopology } from '../../src/topology/build.js';
import type { Topology } from '../../src/topology/index.js';
import { errorLine, graphOf } from './faults-helpers.js';

const fault = { index: 1, name: '--fault 1', text: 'test' };
const nodesOf = (graph: Topology, selector: NodeSelector, extra: object = {}) =>
  resolveNodes(fault, selector as Exclude<NodeSelector, { kind: 'leader' }>, { graph, seed: 7, ...extra });
const edgesOf = (graph: Topology, selector: EdgeSelector) => resolveEdges(fault, selector, { graph, seed: 7 });
const ba = (n: number, seed = 3): Topology => {
  const draft = generateTopology(`ba:n=${n},m=2`, seed);
  return buildTopology(draft, draft.edges.map((_e, i) => i + 1));
};
const key = ([u, v]: readonly [string, string]) => (Number(u) < Number(v) ? `${u}-${v}` : `${v}-${u}`);

describe('node selectors', () => {
  it('top-degree:K is the K highest degrees, ties to the smaller id', () => {
    const graph = ba(60);
    const expected = graph
      .nodes()
      .map((id) => ({ id, degree: graph.edges(id).length }))
      .sort((a, b) => b.degree - a.degree || Number(a.id) - Number(b.id))
      .slice(0, 5)
      .map((n) => n.id);
    expect(nodesOf(graph, { kind: 'top-degree', count: 5 })).toEqual(expected);
    // A star with equal leaves: the hub, then the smallest leaves.
    expect(nodesOf(graphOf(5, [[4, 0], [4, 1], [4, 2], [4, 3]]), { kind: 'top-degree', count: 3 })).toEqual(['4', '0', '1']);
  });

  it('top-betweenness:K on a path is the middle first (betweenness of i on a path of n is i·(n−1−i))', () => {
    const n = 7;
    const path7 = graphOf(n, Array.from({ length: n - 1 }, (_x, i) => [i, i + 1] as const));
    const expected = Array.from({ length: n }, (_x, i) => ({ id: String(i), score: i * (n - 1 - i) }))
      .sort((a, b) => b.score - a.score || Number(a.id) - Number(b.id))
      .slice(0, 3)
      .map((e) => e.id);
    expect(nodesOf(path7, { kind: 'top-betweenness', count: 3 })).toEqual(expected);
    expect(expected).toEqual(['3', '2', '4']);
  });

  it('more nodes than exist is one line naming the fault', () => {
    expect(errorLine(() => nodesOf(graphOf(3, [[0, 1], [1, 2]]), { kind: 'top-degree', count: 5 }))).toBe(
      '--fault 1 "test": top-degree:5 asks for 5 nodes, but the graph has 3 — ask for at most 3',
    );
    expect(errorLine(() => nodesOf(graphOf(3, [[0, 1], [1, 2]]), { kind: 'random', count: 4 }))).toMatch(/random:4 asks for 4 nodes, but the graph has 3/);
  });

  it('random:K and random:P% are seeded, distinct, and skip nodes already gone', () => {
    const graph = ba(50);
    const first = nodesOf(graph, { kind: 'random', count: 5 });
    expect(new Set(first).size).toBe(5);
    expect(nodesOf(graph, { kind: 'random', count: 5 })).toEqual(first);
    expect(resolveNodes(fault, { kind: 'random', count: 5 }, { graph, seed: 8 })).not.toEqual(first);
    expect(resolveNodes(fault, { kind: 'random', count: 5 }, { graph, seed: 7, occurrence: 1 })).not.toEqual(first);
    expect(nodesOf(graph, { kind: 'random-share', percent: 10 })).toHaveLength(5);
    const gone = new Set(graph.nodes().slice(0, 45));
    const rest = nodesOf(graph, { kind: 'random', count: 5 }, { gone });
    expect(rest.sort()).toEqual(graph.nodes().slice(45).sort());
    expect(errorLine(() => nodesOf(graphOf(5, [[0, 1]]), { kind: 'random-share', percent: 5 }))).toMatch(/random:5% of 5 nodes is none/);
  });

  it('ids: are checked against the graph', () => {
    expect(nodesOf(graphOf(3, [[0, 1]]), { kind: 'ids', ids: ['2', '0'] })).toEqual(['2', '0']);
    expect(errorLine(() => nodesOf(graphOf(3, [[0, 1]]), { kind: 'ids', ids: ['1', '9'] }))).toBe('--fault 1 "test": no node 9 in the graph — nodes are 0, 1, 2');
  });

  it('region: the nodes inside the box, whichever corners are given; refused on a map without coordinates', () => {
    const places = [
      { latitude: 48.8, longitude: 2.3 }, // Paris
      { latitude: 52.5, longitude: 13.4 }, // Berlin
      { latitude: 40.4, longitude: -3.7 }, // Madrid
      {},
    ];
    const graph = graphOf(4, [[0, 1], [1, 2], [2, 3]], places);
    expect(nodesOf(graph, { kind: 'region', lat1: 55, lon1: 15, lat2: 45, lon2: 0 })).toEqual(['0', '1']);
    expect(errorLine(() => nodesOf(graph, { kind: 'region', lat1: 0, lon1: 0, lat2: 1, lon2: 1 }))).toMatch(/no node lies in the region/);
    expect(errorLine(() => nodesOf(graphOf(2, [[0, 1]]), { kind: 'region', lat1: 0, lon1: 0, lat2: 1, lon2: 1 }))).toMatch(
      /^--fault 1 "test": region needs node coordinates, and this graph has none — use a map with Latitude\/Longitude/,
    );
  });

  it('role:NAME takes the role\'s nodes from the groups, and needs groups', () => {
    const graph = graphOf(4, [[0, 1], [1, 2], [2, 3]]);
    const roles = new Map([['client', ['2', '3']], ['server', ['0', '1']]]);
    expect(nodesOf(graph, { kind: 'role', role: 'client' }, { roles })).toEqual(['2', '3']);
    expect(errorLine(() => nodesOf(graph, { kind: 'role', role: 'db' }, { roles }))).toMatch(/no role db — the roles are client, server/);
    expect(errorLine(() => nodesOf(graph, { kind: 'role', role: 'db' }))).toMatch(/role:db needs a run with groups/);
  });

  it('leader stays symbolic: the runtime resolves it when the event fires', () => {
    expect(resolveTarget(fault, { kind: 'leader', election: 'db' }, { graph: graphOf(2, [[0, 1]]), seed: 1 })).toEqual({ kind: 'leader', election: 'db' });
  });
});

/** The minimum number of edges between the two sides over every bipartition (2^(n−1) of them). */
function bruteForceMinCut(graph: Topology): number {
  const ids = graph.nodes();
  let best = Infinity;
  for (let mask = 1; mask < 2 ** (ids.length - 1); mask++) {
    const side = new Set(ids.filter((_id, i) => (mask >> i) & 1));
    let cut = 0;
    graph.forEachEdge((_e, _a, s, t) => {
      if (side.has(s) !== side.has(t)) cut += 1;
    });
    best = Math.min(best, cut);
  }
  return best;
}

describe('edge selectors', () => {
  it('Stoer–Wagner finds the minimum cut that brute force finds', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const draft = generateTopology(`er:n=10,p=0.4`, seed);
      const graph = buildTopology(draft, draft.edges.map(() => 1));
      expect(stoerWagner(graph, graph.nodes()).weight).toBe(bruteForceMinCut(graph));
    }
  });

  it('mincut:2 of two cliques joined by one edge is that edge; mincut:3 of three is the two joining edges', () => {
    const clique = (base: number): Array<[number, number]> => [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]].map(([a, b]) => [a! + base, b! + base]);
    const two = graphOf(8, [...clique(0), ...clique(4), [3, 4]]);
    expect(minCutPartition(two, 2)).toEqual([['0', '1', '2', '3'], ['4', '5', '6', '7']]);
    expect(edgesOf(two, { kind: 'mincut', parts: 2 })).toEqual([['3', '4']]);
    const three = graphOf(12, [...clique(0), ...clique(4), ...clique(8), [3, 4], [7, 8]]);
    expect(minCutPartition(three, 3)).toEqual([['0', '1', '2', '3'], ['4', '5', '6', '7'], ['8', '9', '10', '11']]);
    expect(edgesOf(three, { kind: 'mincut', parts: 3 }).map(key)).toEqual(['3-4', '7-8']);
    expect(errorLine(() => edgesOf(graphOf(2, [[0, 1]]), { kind: 'mincut', parts: 3 }))).toMatch(/mincut:3 asks for 3 parts, but the graph has 2 nodes/);
  });

  it('bridges are the edges whose removal disconnects the graph', () => {
    const graph = ba(40, 5);
    graph.addNode('40');
    graph.addNode('41');
    graph.addEdgeWithKey('x', '40', '0', { weight: 1 });
    graph.addEdgeWithKey('y', '41', '40', { weight: 1 });
    const expected = graph
      .mapEdges((edge, _a, s, t) => ({ edge, s, t }))
      .filter(({ edge }) => {
        const copy = graph.copy();
        copy.dropEdge(edge);
        return countConnectedComponents(copy) > countConnectedComponents(graph);
      })
      .map(({ s, t }) => key([s, t]))
      .sort();
    expect(bridges(graph).map(key).sort()).toEqual(expected);
    expect(expected).toEqual(expect.arrayContaining(['0-40', '40-41']));
    expect(errorLine(() => edgesOf(graphOf(3, [[0, 1], [1, 2], [2, 0]]), { kind: 'bridges' }))).toMatch(/the graph has no bridges/);
  });

  it('heavier-than:W, random-edges:P% and edges:u-v', () => {
    const graph = graphOf(4, [[0, 1, 1], [1, 2, 5], [2, 3, 9], [3, 0, 3]]);
    expect(edgesOf(graph, { kind: 'heavier-than', weight: 3 }).map(key)).toEqual(['1-2', '2-3']);
    expect(errorLine(() => edgesOf(graph, { kind: 'heavier-than', weight: 9 }))).toMatch(/no edge weighs more than 9 — the heaviest weighs 9/);
    const many = ba(50);
    const picked = edgesOf(many, { kind: 'random-edges', percent: 10 });
    expect(picked).toHaveLength(Math.round(many.size / 10));
    expect(new Set(picked.map(key)).size).toBe(picked.length);
    expect(edgesOf(many, { kind: 'random-edges', percent: 10 })).toEqual(picked);
    expect(edgesOf(graph, { kind: 'edges', pairs: [['2', '1']] })).toEqual([['2', '1']]);
    expect(errorLine(() => edgesOf(graph, { kind: 'edges', pairs: [['0', '2']] }))).toMatch(/no edge 0-2 in the graph/);
  });

  it('high-risk:FOLDER reads the edges a high-risk-edges run flagged', () => {
    const graph = graphOf(4, [[0, 1], [1, 2], [2, 3]]);
    const folder = mkdtempSync(path.join(tmpdir(), 'peerlab-high-risk-'));
    writeFileSync(path.join(folder, 'run.json'), JSON.stringify({ algorithm: { name: 'high-risk-edges' }, topology: { spec: 'x' } }));
    const rows = [
      ['0', { highRiskEdges: [] }],
      ['1', { highRiskEdges: ['2'] }],
      ['2', { highRiskEdges: ['1', '3'] }],
      ['3', { highRiskEdges: ['2'] }],
    ] as const;
    const csv = `id,role,result\n${rows.map(([id, result]) => `${id},high-risk-edges,"${JSON.stringify(result).replaceAll('"', '""')}"`).join('\n')}\n`;
    writeFileSync(path.join(folder, 'nodes.csv.gz'), gzipSync(csv));
    const spec = parseFaultSpec(`at=1s cut high-risk:${folder}`, 1);
    expect(resolveEdges(spec, spec.selector as EdgeSelector, { graph, seed: 1 })).toEqual([['1', '2'], ['2', '3']]);
    expect(errorLine(() => resolveEdges(spec, spec.selector as EdgeSelector, { graph: graphOf(4, [[0, 1], [1, 2]]), seed: 1 }))).toMatch(/flags edge 2-3, which this graph does not have/);
    writeFileSync(path.join(folder, 'run.json'), JSON.stringify({ algorithm: { name: 'flood' } }));
    expect(errorLine(() => resolveEdges(spec, spec.selector as EdgeSelector, { graph, seed: 1 }))).toMatch(/is a run of flood, not of high-risk-edges/);
    expect(errorLine(() => resolveEdges(spec, { kind: 'high-risk', folder: path.join(folder, 'none') }, { graph, seed: 1 }))).toMatch(/is not a run's results folder/);
  });
});
