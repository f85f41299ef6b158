import { describe, expect, it } from 'vitest';
import type { FaultAction } from '../../src/faults/events.js';
import type { Json } from '../../src/sdk/types.js';
import { faultsSeenOf, survivingGraph } from '../../src/verify/faults.js';
import { verifyFlood } from '../../src/verify/flood.js';
import { verifyGhs } from '../../src/verify/ghs.js';
import { verifyPushSum } from '../../src/verify/push-sum.js';
import { graphOf } from './faults-helpers.js';

const resultsOf = (entries: Record<string, Json>) => new Map<string, Json | undefined>(Object.entries(entries));

describe('the nodes a schedule removes', () => {
  it('counts kills and stops, not pauses, and a restart brings a node back; links down unless brought up', () => {
    const event = (atMs: number, action: FaultAction, nodes: string[], edges: Array<[string, string]> = []) => ({ atMs, action, nodes, edges, fault: 1, spec: 'x' });
    const seen = faultsSeenOf([
      event(0, 'kill', ['1', '2']),
      event(1, 'pause', ['3']),
      event(2, 'stop', ['4']),
      event(3, 'restart', ['2']),
      event(1, 'link-down', [], [['5', '6'], ['6', '5'], ['7', '8']]),
      event(4, 'link-up', [], [['6', '5']]),
    ]);
    expect([...seen.removedNodes].sort()).toEqual(['1', '4']);
    expect(seen.downLinks).toEqual([['5', '6'], ['7', '8']]);
    const graph = graphOf(3, [[0, 1], [1, 2]]);
    expect(survivingGraph(graph, { removedNodes: ['1'] }).nodes()).toEqual(['0', '2']);
    expect(graph.order).toBe(3);
  });
});

describe('flood under faults', () => {
  // 0–1–2–3 and 0–4: killing 2 leaves {0, 1, 4} with the root and cuts 3 off.
  const graph = graphOf(5, [[0, 1], [1, 2], [2, 3], [0, 4]]);
  const survivors = { '0': { distance: 0, parent: null }, '1': { distance: 1, parent: '0' }, '4': { distance: 1, parent: '0' } };

  it("passes when the root's surviving component is reached, and names what it left out", () => {
    const verdict = verifyFlood({ graph, results: resultsOf(survivors), params: {}, faults: { removedNodes: ['2'] } });
    expect(verdict.passed).toBe(true);
    expect(verdict.summary).toMatch(/reached all 3 nodes of the root's surviving component \(1 removed by faults, 1 cut off from the root\)/);
    expect(verdict.metrics).toMatchObject({ removedNodes: 1, cutOffNodes: 1 });
    // Without the faults the same results fail: 2 and 3 reported nothing.
    expect(verifyFlood({ graph, results: resultsOf(survivors), params: {} }).passed).toBe(false);
  });

  it('fails when a node of the surviving component was not reached', () => {
    const { '4': _missed, ...rest } = survivors;
    const verdict = verifyFlood({ graph, results: resultsOf(rest), params: {}, faults: { removedNodes: ['2'] } });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toEqual(['node 4: reported no result']);
  });

  it('leaves out the nodes behind links still down at the end, direction by direction', () => {
    // 0–1 cut both ways: 1, 2 and 3 are beyond it. Only 1 → 0 down: the token still gets from 0 to 1.
    const results = resultsOf({ '0': { distance: 0, parent: null }, '4': { distance: 1, parent: '0' } });
    const cut = verifyFlood({ graph, results, params: {}, faults: { removedNodes: [], downLinks: [['0', '1'], ['1', '0']] } });
    expect(cut.passed).toBe(true);
    expect(cut.metrics).toMatchObject({ removedNodes: 0, cutOffNodes: 3 });
    const oneway = verifyFlood({ graph, results, params: {}, faults: { removedNodes: [], downLinks: [['1', '0']] } });
    expect(oneway.passed).toBe(false);
    expect(oneway.failures).toEqual(['node 1: reported no result', 'node 2: reported no result', 'node 3: reported no result']);
  });

  it('accepts a parent removed after it forwarded the token, and fails when the root itself was removed', () => {
    // A square 0–1–3–2–0: 3 got the token through 1, then 1 died; 3 is still reachable through 2.
    const square = graphOf(4, [[0, 1], [1, 3], [3, 2], [2, 0]]);
    const results = resultsOf({ '0': { distance: 0, parent: null }, '2': { distance: 1, parent: '0' }, '3': { distance: 2, parent: '1' } });
    expect(verifyFlood({ graph: square, results, params: {}, faults: { removedNodes: ['1'] } }).passed).toBe(true);
    const rootGone = verifyFlood({ graph: square, results, params: {}, faults: { removedNodes: ['0'] } });
    expect(rootGone.passed).toBe(false);
    expect(rootGone.summary).toMatch(/its root 0 was removed by a fault/);
  });
});

describe('GHS under faults', () => {
  // A triangle 0–1 (1), 1–2 (2), 0–2 (3), and node 3 tied to 0 and 2 by the lightest edges.
  const graph = graphOf(4, [[0, 1, 1], [1, 2, 2], [0, 2, 3], [3, 0, 0.5], [3, 2, 0.6]]);

  it("checks the survivors' MST: without 3, the tree is 0–1, 1–2", () => {
    const results = resultsOf({ '0': { branches: ['1'] }, '1': { branches: ['0', '2'] }, '2': { branches: ['1'] } });
    const verdict = verifyGhs({ graph, results, params: {}, faults: { removedNodes: ['3'] } });
    expect(verdict.passed).toBe(true);
    expect(verdict.summary).toMatch(/minimum spanning forest of the 3 survivors \(1 removed by faults\): 2 edges, weight 3/);
    expect(verifyGhs({ graph, results, params: {} }).passed).toBe(false);
  });

  it('one MST per surviving component, and a branch to a removed node fails', () => {
    const path = graphOf(4, [[0, 1, 1], [1, 2, 2], [2, 3, 3]]);
    const split = resultsOf({ '0': { branches: [] }, '2': { branches: ['3'] }, '3': { branches: ['2'] } });
    expect(verifyGhs({ graph: path, results: split, params: {}, faults: { removedNodes: ['1'] } }).passed).toBe(true);
    const stale = resultsOf({ '0': { branches: ['1'] }, '2': { branches: ['3'] }, '3': { branches: ['2'] } });
    const verdict = verifyGhs({ graph: path, results: stale, params: {}, faults: { removedNodes: ['1'] } });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toContain('node 0: branch 1 was removed by a fault');
  });
});

describe('GHS when nodes die during it', () => {
  // The triangle and node 3 as above: the MST is 3–0 (0.5), 3–2 (0.6), 0–1 (1).
  const graph = graphOf(4, [[0, 1, 1], [1, 2, 2], [0, 2, 3], [3, 0, 0.5], [3, 2, 0.6]]);
  const aborted = (branches: string[]) => ({ branches, terminated: false });

  it('says it did not terminate, and checks that what it built is made of MST edges', () => {
    // 3 died after 0 and 2 had joined it: 0–3 and 2–3 are MST edges to a lost node, 0–1 one among survivors.
    const results = resultsOf({ '0': aborted(['1', '3']), '1': aborted(['0']), '2': aborted(['3']) });
    const verdict = verifyGhs({ graph, results, params: {}, faults: { removedNodes: ['3'] } });
    expect(verdict.passed).toBe(true);
    expect(verdict.summary).toBe(
      "GHS did not terminate: 3 of the 3 survivors aborted when a neighbour went down (1 node(s) removed by faults); what it built checks: 1 MST edges among survivors in 2 fragment(s), 1 of the 2 edges of the survivors' minimum spanning forest",
    );
    expect(verdict.metrics).toMatchObject({ terminated: 0, builtEdges: 1, fragments: 2, forestEdges: 2, forestEdgesBuilt: 1 });
  });

  it('fails a built edge outside the MST, and a survivor that reported nothing', () => {
    const wrong = verifyGhs({ graph, results: resultsOf({ '0': aborted(['2']), '1': aborted([]), '2': aborted(['0']) }), params: {}, faults: { removedNodes: ['3'] } });
    expect(wrong.passed).toBe(false);
    expect(wrong.failures).toContain('edge 0–2 (weight 3) is reported as a branch but is not in the MST of the graph GHS started on');
    const silent = verifyGhs({ graph, results: resultsOf({ '0': aborted([]), '2': aborted([]) }), params: {}, faults: { removedNodes: ['3'] } });
    expect(silent.failures).toEqual(['node 1: reported no result']);
  });

  it('judges a run that terminated before the node died as fault-free', () => {
    const done = resultsOf({ '0': { branches: ['1', '3'] }, '1': { branches: ['0'] }, '2': { branches: ['3'] }, '3': { branches: ['0', '2'] } });
    const verdict = verifyGhs({ graph, results: done, params: {}, faults: { removedNodes: ['3'] } });
    expect(verdict.passed).toBe(true);
    expect(verdict.summary).toMatch(/^GHS found the MST: 3 edges, weight 2.1.*; it terminated before the faults removed 1 node\(s\)$/);
  });
});

describe('push-sum under faults', () => {
  // A star: hub 0 (degree 3), leaves 1, 2, 3 (degree 1); values = degree.
  const graph = graphOf(4, [[0, 1], [0, 2], [0, 3]]);
  const reportOf = (ids: string[], estimate: number) =>
    resultsOf(Object.fromEntries(ids.map((id) => [id, { x: graph.degree(id), estimate, rounds: 10, sent: 10 }])));

  it('the truth is the mean among the survivors', () => {
    const survivors = ['0', '1', '2'];
    const survivorsMean = survivors.reduce((sum, id) => sum + graph.degree(id), 0) / survivors.length;
    const wholeMean = graph.nodes().reduce((sum, id) => sum + graph.degree(id), 0) / graph.order;
    const faults = { removedNodes: ['3'] };
    const pass = verifyPushSum({ graph, results: reportOf(survivors, survivorsMean), params: { values: 'degree', tolerance: 1e-6 }, faults });
    expect(pass.passed).toBe(true);
    expect(pass.metrics).toMatchObject({ trueMean: survivorsMean, removedNodes: 1 });
    const stale = verifyPushSum({ graph, results: reportOf(survivors, wholeMean), params: { values: 'degree', tolerance: 1e-6 }, faults });
    expect(stale.passed).toBe(false);
    expect(stale.summary).toMatch(/3 of 3 nodes are more than 0.000001 from the mean .*; the mass pushed to the 1 removed node\(s\) was lost with them, which more rounds do not restore$/);
  });

  it('a miss after messages were dropped on downed links blames the lost mass, not too few rounds', () => {
    const all = graph.nodes();
    const params = { values: 'degree', tolerance: 1e-6 };
    const cut = verifyPushSum({ graph, results: reportOf(all, 1), params, faults: { removedNodes: [], droppedMessages: 7 } });
    expect(cut.summary).toMatch(/; the mass in 7 message\(s\) dropped by link faults was lost, which more rounds do not restore$/);
    const healed = verifyPushSum({ graph, results: reportOf(all, 1), params, faults: { removedNodes: [], droppedMessages: 0 } });
    expect(healed.summary).toMatch(/; raise rounds$/);
  });
});

describe('push-sum when nodes join', () => {
  // The star grows: 4 joins attached to 0 and 1, then 5 attached to 4 and 2 (values = degree when each started).
  const graph = graphOf(6, [[0, 1], [0, 2], [0, 3], [4, 0], [4, 1], [5, 4], [5, 2]]);
  const entryDegree: Record<string, number> = { '0': 3, '1': 1, '2': 1, '3': 1, '4': 2, '5': 2 };
  const allMean = Object.values(entryDegree).reduce((a, b) => a + b, 0) / 6;
  const reportOf = (ids: string[], estimate: number, x: (id: string) => number = (id) => entryDegree[id]!) =>
    resultsOf(Object.fromEntries(ids.map((id) => [id, { x: x(id), estimate, rounds: 10, sent: 10 }])));
  const params = { values: 'degree', tolerance: 1e-6 };

  it("owes every member the mean of all members' values, each joiner bringing its own with weight 1", () => {
    const faults = { removedNodes: [], joinedNodes: ['4', '5'] };
    const verdict = verifyPushSum({ graph, results: reportOf(graph.nodes(), allMean), params, faults });
    expect(verdict.passed, verdict.summary).toBe(true);
    expect(verdict.summary).toMatch(/^push-sum: all 6 nodes \(2 joined mid-run, each bringing its value with weight 1\) within 0.000001 of the mean 1.66667/);
    expect(verdict.metrics).toMatchObject({ trueMean: allMean, joinedNodes: 2 });
    // The mean of the members at the start (1.5) is not what push-sum owes once nodes joined: it fails.
    const startMean = verifyPushSum({ graph, results: reportOf(graph.nodes(), 1.5), params, faults });
    expect(startMean.passed).toBe(false);
    // A member's value is its degree at the start, a joiner's the edges it joined with, not their final degrees.
    const finalDegrees = verifyPushSum({ graph, results: reportOf(graph.nodes(), allMean, (id) => graph.degree(id)), params, faults });
    expect(finalDegrees.failures).toEqual(expect.arrayContaining(['node 0: x = 4, not its degree 3', 'node 4: x = 3, not its degree 2']));
  });

  it('a joiner that left owes nothing, and the truth is the survivors\' mean', () => {
    const survivors = ['0', '1', '2', '3', '4'];
    const mean = survivors.reduce((sum, id) => sum + entryDegree[id]!, 0) / survivors.length;
    const verdict = verifyPushSum({ graph, results: reportOf(survivors, mean), params, faults: { removedNodes: ['5'], joinedNodes: ['4', '5'] } });
    expect(verdict.passed, verdict.summary).toBe(true);
    expect(verdict.metrics).toMatchObject({ trueMean: mean, removedNodes: 1, joinedNodes: 2 });
  });
});

describe('GHS when nodes join', () => {
  // The triangle 0–1 (1), 1–2 (2), 0–2 (3); node 3 joined by edges heavier than all before them, 3–0 (4), 3–2 (5).
  const graph = graphOf(4, [[0, 1, 1], [1, 2, 2], [0, 2, 3], [3, 0, 4], [3, 2, 5]]);
  const faults = { removedNodes: [], joinedNodes: ['3'] };

  it('owes the MST of the graph it started on, and nothing to the joiner', () => {
    const results = resultsOf({ '0': { branches: ['1'] }, '1': { branches: ['0', '2'] }, '2': { branches: ['1'] } });
    const verdict = verifyGhs({ graph, results, params: {}, faults });
    expect(verdict.passed, verdict.summary).toBe(true);
    expect(verdict.summary).toMatch(/^GHS found the MST: 2 edges, weight 3.*; 1 node\(s\) joined mid-run, outside the graph GHS ran on, and are owed nothing$/);
    expect(verdict.metrics).toMatchObject({ mstEdges: 2, joinedNodes: 1 });
  });

  it("fails a member that took a joiner's edge as a branch, or a member that reported nothing", () => {
    const taken = resultsOf({ '0': { branches: ['1', '3'] }, '1': { branches: ['0', '2'] }, '2': { branches: ['1'] }, '3': { branches: ['0'] } });
    expect(verifyGhs({ graph, results: taken, params: {}, faults }).failures).toContain('node 0: branch 3 is not an overlay neighbour');
    const silent = verifyGhs({ graph, results: resultsOf({ '0': { branches: ['1'] }, '1': { branches: ['0', '2'] } }), params: {}, faults });
    expect(silent.failures).toContain('node 2: reported no result');
  });

  it('judges the members that survive when nodes were also removed', () => {
    const results = resultsOf({ '0': { branches: ['1'] }, '1': { branches: ['0'] } });
    const verdict = verifyGhs({ graph, results, params: {}, faults: { removedNodes: ['2', '3'], joinedNodes: ['3'] } });
    expect(verdict.passed, verdict.summary).toBe(true);
    expect(verdict.summary).toMatch(/minimum spanning forest of the 2 survivors \(1 removed by faults\)/);
  });
});
