import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findResult } from '../../src/results/catalog.js';
import { compareNodeResults, compareResults } from '../../src/results/compare.js';
import { comparisonPageFile, writeComparisonPage } from '../../src/results/compare-page.js';
import { formatComparison } from '../../src/results/show.js';
import { runAlgorithm } from '../../src/run/run.js';
import { simRunRequest } from './sim-helpers.js';

/**
 * `results compare` node by node, on real simulator runs of flood on Abilene: the fields of the nodes' results
 * (flood's `distance` and arrival `time`) compared pairwise, as a Docker run is compared with the simulator.
 */
describe('results compare, node by node', () => {
  const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-compare-nodes-'));
  const abilene = path.join('topologies', 'zoo', 'Abilene.graphml');
  const flood = async (links: string) => (await runAlgorithm({ ...simRunRequest(resultsRoot, 'flood', abilene), links })).runId;

  it('finds the same run the same node by node, and another link model different, with the page plotting both fields', async () => {
    const [geo, geoAgain, constant] = [await flood('geo'), await flood('geo'), await flood('delay=5ms')];
    const same = await compareResults(await findResult(resultsRoot, geo), await findResult(resultsRoot, geoAgain));
    const time = same.perNode.find((field) => field.field === 'time')!;
    expect(same.perNode.map((field) => field.field).sort()).toEqual(['distance', 'time']);
    expect(time.pairs).toHaveLength(11);
    expect(time.correlation).toBeCloseTo(1, 12);
    expect(time.maxAbsDifference).toBe(0);

    const other = await compareResults(await findResult(resultsRoot, geo), await findResult(resultsRoot, constant));
    const otherTime = other.perNode.find((field) => field.field === 'time')!;
    // Constant 5 ms links put every node at 5 ms per hop; geo delays follow the map (up to ~14 ms an edge).
    expect(otherTime.maxAbsDifference).toBeGreaterThan(1);
    expect(otherTime.correlation!).toBeLessThan(1);
    for (const pair of otherTime.pairs) expect(pair.b % 5).toBeCloseTo(0, 6);
    expect(formatComparison(other)).toMatch(/^time\s+11\s+0\.\d{4}\s+/m);

    const page = comparisonPageFile(path.join(resultsRoot, 'compare.html'));
    await writeComparisonPage(other, page);
    const html = readFileSync(page, 'utf8');
    expect(html.match(/<svg/g)).toHaveLength(2);
    expect(html).toContain(`${geo}`);
    expect(html).toMatch(/11 nodes · r = 0\.\d{4}/);
  });

  it('leaves out fields that are not numbers in both runs, and gives no r where a side does not vary', () => {
    const a = new Map([
      ['0', { time: 1, parent: null, level: 2 }],
      ['1', { time: 2, parent: '0', level: 2 }],
      ['2', { time: 3, parent: '0', level: 2 }],
    ]);
    const b = new Map([
      ['0', { time: 1.5, parent: null, level: 3 }],
      ['1', { time: 2.5, parent: '0', level: 'x' }],
      ['9', { time: 9, parent: '0', level: 3 }],
    ]);
    const fields = compareNodeResults(a, b);
    expect(fields.map((field) => field.field)).toEqual(['time']);
    expect(fields[0]).toMatchObject({ pairs: [{ id: '0', a: 1, b: 1.5 }, { id: '1', a: 2, b: 2.5 }], maxAbsDifference: 0.5, meanAbsDifference: 0.5 });
    expect(compareNodeResults(new Map([['0', { x: 1 }], ['1', { x: 1 }]]), new Map([['0', { x: 2 }], ['1', { x: 3 }]]))[0]!.correlation).toBeUndefined();
  });

  it('refuses --html naming a folder, before comparing anything', () => {
    expect(() => comparisonPageFile(resultsRoot)).toThrow(/^--html .* is a folder$/);
  });
});
