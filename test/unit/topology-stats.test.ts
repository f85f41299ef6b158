import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import TopologyGenerate from '../../src/commands/topology/generate.js';
import TopologyShow from '../../src/commands/topology/show.js';
import { describeTopology, exportTopology, loadTopology } from '../../src/topology/index.js';
import { tempFile } from './topology-helpers.js';

const stats = async (spec: string, allowDisconnected = false) =>
  describeTopology((await loadTopology(spec, { seed: 1, allowDisconnected })).graph);

describe('describeTopology', () => {
  it('describes a ring', async () => {
    expect(await stats('ring:n=10')).toEqual({
      nodes: 10,
      edges: 10,
      degree: { min: 2, mean: 2, max: 2, histogram: [{ degree: 2, count: 10 }] },
      components: 1,
      diameter: 5,
      clustering: 0,
      weights: { min: 1, max: 10, distinct: true },
    });
  });

  it('measures diameter and clustering on known graphs', async () => {
    const complete = await stats('complete:n=5');
    expect([complete.diameter, complete.clustering]).toEqual([1, 1]);

    const star = await stats('star:n=6');
    expect([star.diameter, star.clustering]).toEqual([2, 0]);
    expect(star.degree.histogram).toEqual([
      { degree: 1, count: 5 },
      { degree: 5, count: 1 },
    ]);

    // A triangle a-b-c with d hanging off c: local coefficients 1, 1, 1/3 and 0.
    const kite = await stats(tempFile('kite.txt', 'a b 1\nb c 1\nc a 2\nc d 3\n'));
    expect(kite.clustering).toBeCloseTo(7 / 12, 12);
    expect(kite.diameter).toBe(2);
    expect(kite.degree).toMatchObject({ min: 1, mean: 2, max: 3 });
    expect(kite.weights).toEqual({ min: 1, max: 3, distinct: false });

    expect((await stats('grid:rows=4,cols=6')).diameter).toBe(3 + 5);
    expect((await stats('line:n=1')).diameter).toBe(0);
  });

  it('counts components and has no diameter when disconnected', async () => {
    const split = await stats(tempFile('split.txt', '0 1\n2 3\n4 5\n5 6\n'), true);
    expect(split.components).toBe(3);
    expect(split.diameter).toBeNull();
  });
});

describe('topology commands', () => {
  let logged: string[];
  beforeEach(() => {
    logged = [];
    vi.spyOn(TopologyShow.prototype, 'log').mockImplementation((message?: string) => void logged.push(message ?? ''));
    vi.spyOn(TopologyGenerate.prototype, 'log').mockImplementation(() => undefined);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => vi.restoreAllMocks());

  it('show prints stats with a degree histogram, and returns them under --json', async () => {
    await TopologyShow.run(['ba:n=300,m=2', '--seed', '3'], import.meta.url);
    const text = logged.join('\n');
    expect(text).toMatch(/nodes {7}300\n {2}edges {7}596\n/);
    // Many distinct degrees are grouped into at most a dozen ranges of bars.
    const bars = text.split('\n').filter((line) => /^\s+\d+(–\d+)? █* ?\d+$/.test(line));
    expect(bars.length).toBeGreaterThan(3);
    expect(bars.length).toBeLessThanOrEqual(12);
    expect(bars[0]).toMatch(/^\s+2–\d+ █{40} \d+$/);

    const result = await TopologyShow.run(['ring:n=10', '--json'], import.meta.url);
    expect(result).toMatchObject({ spec: 'ring:n=10', kind: 'generated', notes: [], stats: { nodes: 10, diameter: 5 } });
  });

  it('generate --out writes JSON that loads back to the same graph', async () => {
    const out = tempFile('out.json', '');
    await TopologyGenerate.run(['ws:n=30,k=4,p=0.2', '--seed', '5', '--weights', 'uniform:1..9', '--out', out], import.meta.url);
    const written = await loadTopology(out, { seed: 99 });
    const direct = await loadTopology('ws:n=30,k=4,p=0.2', { seed: 5, weights: 'uniform:1..9' });
    expect(exportTopology(written.graph)).toEqual(exportTopology(direct.graph));
  });
});
