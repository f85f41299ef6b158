import { describe, expect, it } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import { resolveRunFaults } from '../../src/faults/index.js';
import { loadTopology } from '../../src/topology/index.js';

const run = { topology: 'ba:n=200,m=2', seed: 1, allowDisconnected: false, timeoutMs: 60_000 };
const lineOf = async (work: Promise<unknown>): Promise<string> => {
  const error = await work.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PeerlabError);
  expect((error as PeerlabError).line).not.toContain('\n');
  return (error as PeerlabError).line;
};

describe("a run's --fault and --churn, resolved before anything starts", () => {
  it('kills the five highest-degree nodes of the run\'s own graph', async () => {
    const events = await resolveRunFaults({ ...run, faults: ['at=0s kill top-degree:5'] });
    const { graph } = await loadTopology(run.topology, { seed: run.seed });
    const hubs = graph.nodes().sort((a, b) => graph.degree(b) - graph.degree(a) || Number(a) - Number(b)).slice(0, 5);
    expect(events).toEqual([{ atMs: 0, action: 'kill', nodes: hubs, edges: [], fault: 1, spec: 'at=0s kill top-degree:5' }]);
  });

  it('gives the acceptance\'s four bad specs one line each, naming the fault and the problem', async () => {
    expect(await lineOf(resolveRunFaults({ ...run, faults: ['at=2s kill top-degree:5', 'at=5s kill top-degre:5'] }))).toBe(
      '--fault 2 "at=5s kill top-degre:5": unknown selector top-degre — did you mean top-degree?',
    );
    expect(await lineOf(resolveRunFaults({ ...run, faults: ['at=90s kill top-degree:5'] }))).toBe(
      '--fault 1 "at=90s kill top-degree:5": at=90s is past the run\'s timeout (60s) — make it earlier, or raise --timeout',
    );
    expect(await lineOf(resolveRunFaults({ ...run, faults: ['at=1s stop random:201'] }))).toBe(
      '--fault 1 "at=1s stop random:201": random:201 asks for 201 nodes, but the graph has 200 — ask for at most 200',
    );
    expect(await lineOf(resolveRunFaults({ ...run, faults: ['at=1s partition region:45,5,55,15 for=5s'] }))).toMatch(
      /^--fault 1 "at=1s partition region:45,5,55,15 for=5s": region needs node coordinates, and this graph has none — /,
    );
  });

  it('cuts a region off a map with coordinates', async () => {
    const map = { ...run, topology: 'topologies/zoo/GtsCe.graphml' };
    const [down, up] = await resolveRunFaults({ ...map, faults: ['at=1s partition region:45,15,50,25 for=2s'] });
    expect(down).toMatchObject({ atMs: 1000, action: 'link-down' });
    expect(up).toMatchObject({ atMs: 3000, action: 'link-up', edges: down!.edges });
    const { graph } = await loadTopology(map.topology, { seed: 1 });
    const inside = (id: string) => {
      const { latitude, longitude } = graph.getNodeAttributes(id);
      return latitude !== undefined && longitude !== undefined && latitude >= 45 && latitude <= 50 && longitude >= 15 && longitude <= 25;
    };
    // Every downed link leaves the region, and every link that leaves it is down (both ways).
    const crossing = graph.filterEdges((_e, _a, s, t) => inside(s) !== inside(t)).length;
    expect(down!.edges).toHaveLength(2 * crossing);
    for (const [from, to] of down!.edges) expect(inside(from)).not.toBe(inside(to));
  });

  it('turns churn into join, stop and kill events after the faults; joins are refused only in a run with groups', async () => {
    const events = await resolveRunFaults({ ...run, faults: ['at=0s kill ids:0'], churn: 'join=0.5/s leave=0.5/s crash=0.5/s for=20s' });
    expect(events.filter((e) => e.fault === 2).map((e) => e.action).sort()).toEqual(expect.arrayContaining(['join', 'kill', 'stop']));
    expect(events.map((e) => e.atMs)).toEqual([...events.map((e) => e.atMs)].sort((a, b) => a - b));
    const joins = events.filter((e) => e.action === 'join');
    // The next free ids, in order, each attached by m=2 edges heavier than any of BA(200, 2)'s 396 (weights 1..396).
    expect(joins.map((e) => e.nodes[0])).toEqual(joins.map((_e, i) => String(200 + i)));
    expect(joins.flatMap((e) => e.attach!.map(({ weight }) => weight))).toEqual(joins.flatMap((_e, i) => [397 + 2 * i, 398 + 2 * i]));
    const roles = [{ role: 'a', count: 100 }, { role: 'b', count: 100 }];
    expect(await lineOf(resolveRunFaults({ ...run, faults: [], churn: 'join=1/s', roles }))).toMatch(/^--churn "join=1\/s": join= in a run with groups: a joining node would have no role — /);
  });

  it('loads nothing without --fault or --churn', async () => {
    expect(await resolveRunFaults({ ...run, topology: 'no-such-file.graphml', faults: [] })).toEqual([]);
  });
});
