import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology } from '../../src/topology/index.js';
import { crossEdges, PARTITION_IMBALANCE, placeNodes } from '../../src/run/swarm-placement.js';
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
