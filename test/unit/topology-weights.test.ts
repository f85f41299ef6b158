import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopology, type Topology } from '../../src/topology/index.js';
import { expectPeerlabError, tempFile } from './topology-helpers.js';

import { ZOO_DIR as ZOO } from '../zoo.js';
const weightsOf = (graph: Topology): number[] => graph.mapEdges((_edge, attributes) => attributes.weight);

describe('edge weights', () => {
  it('unique (the default) is a seeded permutation of 1..E', async () => {
    const { graph } = await loadTopology('ba:n=100,m=3', { seed: 4 });
    expect([...weightsOf(graph)].sort((a, b) => a - b)).toEqual(Array.from({ length: graph.size }, (_, i) => i + 1));
    const explicit = await loadTopology('ba:n=100,m=3', { seed: 4, weights: 'unique' });
    expect(weightsOf(explicit.graph)).toEqual(weightsOf(graph));
    // A file without a weight attribute gets the same default.
    const zoo = await loadTopology(join(ZOO, 'Bics.gml'), { seed: 4 });
    expect(new Set(weightsOf(zoo.graph)).size).toBe(zoo.graph.size);
  });

  it('uniform:a..b draws reals in [a, b]', async () => {
    const { graph } = await loadTopology('complete:n=20', { seed: 3, weights: 'uniform:2..5' });
    const weights = weightsOf(graph);
    for (const weight of weights) {
      expect(weight).toBeGreaterThanOrEqual(2);
      expect(weight).toBeLessThanOrEqual(5);
    }
    expect(weights.some((weight) => !Number.isInteger(weight))).toBe(true);
    expect(Math.min(...weights)).toBeLessThan(2.2);
    expect(Math.max(...weights)).toBeGreaterThan(4.8);
    const negative = await loadTopology('ring:n=5', { seed: 3, weights: 'uniform:-1.5..-0.5' });
    for (const weight of weightsOf(negative.graph)) expect(weight).toBeLessThanOrEqual(-0.5);
  });

  it.each(['uniform:5..2', 'uniform:1..1', 'uniform:a..b', 'uniform:1', 'uniform:1..2..3', 'uniform:..3'])(
    'rejects %s',
    async (weights) => {
      await expectPeerlabError(loadTopology('ring:n=5', { seed: 1, weights }), /needs two numbers a < b as uniform:a\.\.b/);
    },
  );

  it('geo is the great-circle distance in km', async () => {
    const { graph } = await loadTopology(join(ZOO, 'Abilene.graphml'), { seed: 1, weights: 'geo' });
    const label = (node: string): string | undefined => graph.getNodeAttribute(node, 'label');
    const newYorkChicago = graph.findEdge(
      (_edge, _attributes, source, target) => label(source) === 'New York' && label(target) === 'Chicago',
    );
    // Checked by hand with the spherical law of cosines: R·acos(sin φ1 sin φ2 + cos φ1 cos φ2 cos Δλ).
    expect(graph.getEdgeAttribute(newYorkChicago!, 'weight')).toBeCloseTo(1145.837, 2);
  });

  it('geo refuses nodes without coordinates, naming them', async () => {
    const error = await expectPeerlabError(
      loadTopology(join(ZOO, 'Nordu1989.gml'), { seed: 1, weights: 'geo' }),
      /--weights geo needs coordinates, but 2 of 7 nodes of ".*Nordu1989\.gml" have none: "EUROPE", "USA"/,
    );
    expect(error.hint).toMatch(/--weights unique/);
    await expectPeerlabError(
      loadTopology('ring:n=8', { seed: 1, weights: 'geo' }),
      /8 of 8 nodes of "ring:n=8" have none: "0", "1", "2", "3", "4", …/,
    );
  });

  it('attr:NAME reads a numeric edge attribute of the file', async () => {
    const file = tempFile(
      'speeds.gml',
      'graph [ node [ id 0 ] node [ id 1 ] node [ id 2 ] edge [ source 0 target 1 speed "10" ] edge [ source 1 target 2 speed 2.5 ] ]',
    );
    expect(weightsOf((await loadTopology(file, { seed: 1, weights: 'attr:speed' })).graph)).toEqual([10, 2.5]);

    await expectPeerlabError(
      loadTopology(join(ZOO, 'Nordu1989.gml'), { seed: 1, weights: 'attr:LinkSpeedRaw' }),
      /edge 5 \("Copenhagen" – "Reykjavik"\) of ".*Nordu1989\.gml" has no numeric attribute "LinkSpeedRaw" — that edge carries no numeric attributes/,
    );
    await expectPeerlabError(
      loadTopology(join(ZOO, 'Nordu1989.graphml'), { seed: 1, weights: 'attr:linkspeedraw' }),
      /has no numeric attribute "linkspeedraw" — its numeric attributes are LinkSpeed, LinkSpeedRaw, key/,
    );
    await expectPeerlabError(
      loadTopology('ring:n=4', { seed: 1, weights: 'attr:cost' }),
      /edge 0 \("0" – "1"\) of "ring:n=4" has no numeric attribute "cost"/,
    );
  });

  it('rejects an unknown mode, listing the modes', async () => {
    for (const weights of ['heavy', 'attr:', 'Unique']) {
      await expectPeerlabError(
        loadTopology('ring:n=4', { seed: 1, weights }),
        new RegExp(`unknown weight mode "${weights}" — use one of unique, uniform:a\\.\\.b .*, geo, attr:NAME`),
      );
    }
  });
});
