import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/index.js';
import { crossEdges, PARTITION_IMBALANCE, placeJoiner, placeNodes } from '../../src/run/swarm-placement.js';
import { inSubnet } from '../../src/node/identity.js';
import { packageRoot } from '../../src/util/paths.js';

/** The largest zoo map in the repository (Kdl, 754 nodes, is not in it). */
const gtsCe = path.join(packageRoot, 'topologies', 'zoo', 'GtsCe.graphml');

describe('engine placement for the swarm runtime', () => {
  it('spread is balanced round-robin', async () => {
    const { graph } = await loadTopology('ba:n=31,m=2', { seed: 1 });
    const { engineOf } = placeNodes(graph, 3, 'spread');
    const sizes = [0, 1, 2].map((k) => [...engineOf.values()].filter((e) => e === k).length);
    expect(sizes).toEqual([11, 10, 10]);
  });

  it.each([['ba:n=30,m=2'], ['ws:n=60,k=4,p=0.1'], [gtsCe]])('partition of %s cuts fewer edges than spread, each part within the balance bound', async (spec) => {
    const { graph } = await loadTopology(spec, { seed: 1 });
    const spread = placeNodes(graph, 3, 'spread');
    const parted = placeNodes(graph, 3, 'partition');
    expect(parted.crossEngineEdges).toBeLessThan(spread.crossEngineEdges);
    expect(parted.crossEngineEdges).toBe(crossEdges(graph, parted.engineOf));
    expect(parted.engineOf.size).toBe(graph.order);
    const cap = Math.floor(Math.ceil(graph.order / 3) * (1 + PARTITION_IMBALANCE));
    for (let k = 0; k < 3; k++) {
      const size = [...parted.engineOf.values()].filter((e) => e === k).length;
      expect(size).toBeGreaterThan(0);
      expect(size).toBeLessThanOrEqual(cap);
    }
  });
});

describe("a Swarm node's own address", () => {
  it('is the one inside the run subnet', () => {
    expect(inSubnet('10.224.3.7', '10.224.0.0/20')).toBe(true);
    expect(inSubnet('10.224.16.1', '10.224.0.0/20')).toBe(false);
    expect(inSubnet('172.18.0.3', '10.224.0.0/20')).toBe(false);
  });
});

describe('the engine of a node that joins a running swarm run', () => {
  it('spread: the engine with fewest live nodes, the lowest on a tie; joins dealt out one by one stay level', () => {
    expect(placeJoiner('spread', [4, 3, 4], [0, 0])).toBe(1);
    expect(placeJoiner('spread', [3, 3, 3], [2])).toBe(0);
    // Departures unbalance the engines: joiners fill the emptiest first.
    const live = [5, 1, 3];
    for (let joins = 0; joins < 6; joins++) live[placeJoiner('spread', live, [])]! += 1;
    expect(live).toEqual([5, 5, 5]);
  });

  it('first: always the first engine', () => {
    expect(placeJoiner('first', [9, 0, 0], [1, 2])).toBe(0);
  });

  it('partition: the engine holding most of its neighbours, unless it is full; fewest live nodes on a tie', () => {
    expect(placeJoiner('partition', [3, 3, 3], [2, 2, 0])).toBe(2);
    // Three of its five neighbours are on engine 0, two on engine 1.
    expect(placeJoiner('partition', [3, 3, 3], [0, 1, 1, 0, 0])).toBe(0);
    // 28 nodes: the bound is 10, engine 0 is at it though it holds both neighbours; then engine 1 holds one of them.
    expect(placeJoiner('partition', [10, 8, 9], [0, 0, 1])).toBe(1);
    // Engines 0 and 2 hold one neighbour each (engine 1 is full): the one with fewer live nodes.
    expect(placeJoiner('partition', [8, 9, 7], [0, 2])).toBe(2);
  });
});
