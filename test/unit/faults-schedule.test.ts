import { describe, expect, it } from 'vitest';
import { resolveFaults } from '../../src/faults/schedule.js';
import { errorLine, graphOf } from './faults-helpers.js';

// 0–1–2–3–4 with a chord 1–3: degrees 1, 3, 2, 3, 1.
const graph = graphOf(5, [[0, 1], [1, 2], [2, 3], [3, 4], [1, 3]]);
const schedule = (faults: string[], timeoutMs = 60_000) => resolveFaults(faults, { graph, seed: 1, timeoutMs });
const brief = (faults: string[], timeoutMs?: number) =>
  schedule(faults, timeoutMs).map((e) => [e.atMs, e.action, e.nodes.join(','), e.edges.map(([a, b]) => `${a}>${b}`).join(',')].join(' ').trim());

describe('fault schedule', () => {
  it('K = 0 hits nothing and makes no event (the baseline of a sweep)', () => {
    expect(schedule(['at=1s kill top-degree:0', 'at=1s pause random:0 for=1s'])).toEqual([]);
  });

  it('a kill is one event carrying the fault it came from', () => {
    expect(schedule(['at=2s kill top-degree:2'])).toEqual([{ atMs: 2000, action: 'kill', nodes: ['1', '3'], edges: [], fault: 1, spec: 'at=2s kill top-degree:2' }]);
  });

  it('pause with for= resumes; partition and cut go down both ways and come back up', () => {
    expect(brief(['at=1s pause ids:3,4 for=2s'])).toEqual(['1000 pause 3,4', '3000 resume 3,4']);
    expect(brief(['at=0s cut edges:1-2 for=1s'])).toEqual(['0 link-down  1>2,2>1', '1000 link-up  1>2,2>1']);
    expect(brief(['at=0s cut edges:1-2,3-4 oneway'])).toEqual(['0 link-down  1>2,3>4']);
    // A node selector cuts the selected nodes off the rest: 4 hangs on 3 only.
    expect(brief(['at=5s partition ids:4 for=20s'])).toEqual(['5000 link-down  4>3,3>4', '25000 link-up  4>3,3>4']);
  });

  it('partition mincut:2 cuts the edges between the two parts', () => {
    // The cheapest split isolates a degree-1 node: 0 (ties go to the part found first).
    const [down] = schedule(['at=3s partition mincut:2 for=10s']);
    expect(down!.edges).toHaveLength(2);
    const [from, to] = down!.edges[0]!;
    expect([graph.degree(from), graph.degree(to)]).toContain(1);
  });

  it('flap goes down and up with its period, ending up', () => {
    expect(brief(['at=2s flap edges:1-2 every=500ms for=1s oneway'])).toEqual([
      '2000 link-down  1>2',
      '2250 link-up  1>2',
      '2500 link-down  1>2',
      '2750 link-up  1>2',
    ]);
    // Without for= it flaps until the timeout; an up that would fall at the timeout is left to the teardown.
    expect(brief(['at=0s flap edges:1-2 every=400ms oneway'], 1000)).toEqual(['0 link-down  1>2', '200 link-up  1>2', '400 link-down  1>2', '600 link-up  1>2', '800 link-down  1>2']);
  });

  it('every= repeats until until= or the timeout; random draws anew and skips nodes already killed', () => {
    const kills = schedule(['every=10s kill random:1'], 45_000);
    expect(kills.map((e) => e.atMs)).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
    expect(new Set(kills.map((e) => e.nodes[0])).size).toBe(5);
    expect(schedule(['at=1s every=2s pause ids:0 for=1s until=6s']).map((e) => `${e.atMs} ${e.action}`)).toEqual([
      '1000 pause',
      '2000 resume',
      '3000 pause',
      '4000 resume',
      '5000 pause',
      '6000 resume',
    ]);
    expect(errorLine(() => schedule(['every=10s kill random:1'], 55_000))).toMatch(/random:1 asks for 1 node, but only 0 are still up after the earlier occurrences — lengthen every=/);
  });

  it('merges faults in time order, the same seed giving the same schedule', () => {
    const faults = ['at=3s stop random:40%', 'at=1s kill ids:0', 'at=1s cut edges:3-4'];
    const events = schedule(faults);
    expect(events.map((e) => [e.atMs, e.fault])).toEqual([[1000, 2], [1000, 3], [3000, 1]]);
    expect(schedule(faults)).toEqual(events);
  });

  it('leader events name the election and no nodes', () => {
    expect(schedule(['at=5s kill leader'])).toEqual([{ atMs: 5000, action: 'kill', nodes: [], edges: [], leader: 'leader', fault: 1, spec: 'at=5s kill leader' }]);
    expect(schedule(['at=1s pause leader:db for=1s']).map((e) => [e.action, e.leader])).toEqual([['pause', 'db'], ['resume', 'db']]);
  });

  it('a time past the timeout is one line naming the fault', () => {
    expect(errorLine(() => schedule(['kill ids:0', 'at=90s kill ids:1']))).toBe('--fault 2 "at=90s kill ids:1": at=90s is past the run\'s timeout (60s) — make it earlier, or raise --timeout');
    expect(errorLine(() => schedule(['at=50s pause ids:1 for=20s']))).toMatch(/it heals at 70s, past the run's timeout \(60s\) — shorten for=, or raise --timeout/);
    expect(errorLine(() => schedule(['every=1s kill random:1 until=2m']))).toMatch(/until=120s is past the run's timeout/);
    expect(errorLine(() => schedule(['at=0s flap edges:1-2 every=1ms']))).toMatch(/every=1ms over 60s makes 60000 occurrences \(at most 10000\) — lengthen every=/);
    expect(errorLine(() => schedule(['kill top-degree:6']))).toMatch(/^--fault 1 "kill top-degree:6": top-degree:6 asks for 6 nodes, but the graph has 5/);
  });
});
