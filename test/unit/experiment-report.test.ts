import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/experiment/experiment.js';
import { defaultPlots, experimentPlots, listedPlots, plotSpec, type PlotDefinition } from '../../src/experiment/plots.js';
import { renderReport } from '../../src/experiment/report.js';
import { aggregate, resolveColumn, summaryTable } from '../../src/experiment/summary.js';
import type { RunOutcome } from '../../src/experiment/store.js';
import { aggregateNodeMetrics } from '../../src/run/node-metrics.js';
import { fakeRunner, prepared, tempDir } from './experiment-helpers.js';

const THESIS = `name: thesis-like
description: Flood on BA graphs, with the thesis's numbers as reference points.
topology: { model: ba, n: [20, 40, 60], m: 2 }
algorithm: flood
repetitions: 3
plots:
  - x: nodes
    y: messages
    title: Messages vs N
    reference: [{ x: 20, y: 60, label: thesis }, { x: 40, y: 120, label: thesis }, { x: 60, y: 180, label: thesis }]
  - { x: n, y: algorithmMs, title: Algorithm time, log: y }
  - { x: nodes, y: no_such_metric }
`;

function outcome(key: string, cell: string, repetition: number, messages: number, status: RunOutcome['status'] = 'passed'): RunOutcome {
  return {
    key,
    cell,
    repetition,
    seed: repetition,
    status,
    verdict: status,
    nodes: cell === 'c1' ? 20 : 40,
    metrics: status === 'error' ? {} : { messages },
    timings: status === 'error' ? {} : { algorithmMs: messages * 2 },
    startedAt: '2025-01-01T00:00:00Z',
    durationMs: 1000,
  };
}

describe('summary and plots', () => {
  const { plan } = prepared('name: s\ntopology: { model: ba, n: [20, 40], m: 2 }\nalgorithm: flood\nrepetitions: 3\n');
  const outcomes = new Map(
    [outcome('c1-r1', 'c1', 1, 10), outcome('c1-r2', 'c1', 2, 14), outcome('c1-r3', 'c1', 3, 0, 'error'), outcome('c2-r1', 'c2', 1, 30)].map((o) => [o.key, o]),
  );
  const table = summaryTable(plan.cells, outcomes);

  it('aggregates over repetitions, leaving out the runs that did not finish', () => {
    const points = aggregate(table.rows, 'nodes', 'metric.messages');
    expect(points.map((point) => [point.x, point.mean, point.n])).toEqual([
      [20, 12, 2],
      [40, 30, 1],
    ]);
    expect(points[0]!.sd).toBeCloseTo(Math.SQRT2 * 2);
  });

  it('resolves short column names', () => {
    expect(resolveColumn(table.columns, 'n')).toBe('topology.n');
    expect(resolveColumn(table.columns, 'messages')).toBe('metric.messages');
    expect(resolveColumn(table.columns, 'algorithmMs')).toBe('timing.algorithmMs');
    expect(resolveColumn(table.columns, 'nodes')).toBe('nodes');
    expect(resolveColumn(table.columns, 'nope')).toBeUndefined();
  });

  it('plots the main metric and the run time against N by default', () => {
    const plots = defaultPlots(table, ['topology.n']);
    expect(plots.map((plot) => [plot.x, plot.y])).toEqual([
      ['nodes', 'metric.messages'],
      ['nodes', 'duration_s'],
      ['nodes', 'timing.algorithmMs'],
    ]);
    const spec = plotSpec(plots[0]!, table.rows).spec as { layer: Array<{ mark: { type: string }; data: { values: unknown[] } }> };
    expect(spec.layer.map((layer) => layer.mark.type)).toEqual(['rule', 'line']);
    expect(spec.layer[0]!.data.values).toHaveLength(2);
  });

  it('splits listed plots by the other swept inputs unless told otherwise', () => {
    const { plan: p } = prepared('name: s\ntopology: { model: ring, n: [10, 20] }\nweights: [unique, geo]\nalgorithm: flood\n');
    const t = summaryTable(p.cells, new Map());
    const plots = listedPlots(
      [
        { x: 'nodes', y: 'duration_s' },
        { x: 'nodes', y: 'duration_s', series: 'none' },
        { x: 'weights', y: 'duration_s' },
      ],
      t,
      ['topology.n', 'weights'],
    ) as PlotDefinition[];
    expect(plots.map((plot) => plot.series)).toEqual([['weights'], [], ['topology.n']]);
  });

  it('plots a per-node metric under the aggregation the plot states, and says when none is stated', () => {
    const perNode = (values: number[]) => aggregateNodeMetrics(values.map((traffic) => ({ metrics: { traffic } })));
    const withNodes = new Map(
      [
        { ...outcome('c1-r1', 'c1', 1, 10), nodeMetrics: perNode([1, 2, 6]) },
        { ...outcome('c1-r2', 'c1', 2, 10), nodeMetrics: perNode([3, 3, 3]) },
        { ...outcome('c2-r1', 'c2', 1, 10), nodeMetrics: perNode([10, 0, 2, 0]) },
      ].map((o) => [o.key, o]),
    );
    const t = summaryTable(plan.cells, withNodes);
    expect(t.columns).toEqual(expect.arrayContaining(['node.traffic.mean', 'node.traffic.sum', 'node.traffic.min', 'node.traffic.max', 'node.traffic.median']));
    const [mean, max, bare] = listedPlots(
      [
        { x: 'nodes', y: 'traffic', aggregate: 'mean' },
        { x: 'nodes', y: 'traffic', aggregate: 'max', title: 'busiest node' },
        { x: 'nodes', y: 'traffic' },
      ],
      t,
    );
    expect(mean).toMatchObject({ y: 'node.traffic.mean', title: 'traffic (mean over nodes) vs nodes' });
    // Per run the nodes' mean (3, then 3; then 3): the plot's points average the runs of each N.
    expect(aggregate(t.rows, 'nodes', (mean as PlotDefinition).y).map((point) => [point.x, point.mean])).toEqual([
      [20, 3],
      [40, 3],
    ]);
    expect(aggregate(t.rows, 'nodes', (max as PlotDefinition).y).map((point) => [point.x, point.mean])).toEqual([
      [20, 4.5],
      [40, 10],
    ]);
    const spec = plotSpec(mean as PlotDefinition, t.rows).spec as { layer: Array<{ encoding: { y: { title?: string } } }> };
    expect(spec.layer[0]!.encoding.y.title).toBe('traffic (mean over nodes)');
    expect(bare).toEqual({ id: expect.any(String), title: 'traffic vs nodes', note: expect.stringMatching(/^traffic is a per-node metric: say how to make it one number per run, e\.g\. aggregate: mean/) });
  });

  it("plots a simulator run's time in virtual time: its algorithmMs is the simulation's wall time", () => {
    // Wall time that falls as N grows (a warmer process), virtual time that grows: the plot must show the latter.
    const simulated = new Map(
      [outcome('c1-r1', 'c1', 1, 10), outcome('c1-r2', 'c1', 2, 14), outcome('c2-r1', 'c2', 1, 30)].map((o) => [
        o.key,
        { ...o, runtime: 'sim', timings: { algorithmMs: 500 - o.nodes!, virtualTimeMs: o.nodes! * 3 } },
      ]),
    );
    const t = summaryTable(plan.cells, simulated);
    const timePlot = defaultPlots(t, ['topology.n']).find((plot) => plot.title.startsWith('algorithm time'))!;
    const listed = listedPlots([{ x: 'nodes', y: 'algorithmMs' }], t)[0] as PlotDefinition;
    for (const plot of [timePlot, listed]) {
      expect(aggregate(t.rows, plot.x, plot.y).map((point) => [point.x, point.mean])).toEqual([
        [20, 60],
        [40, 120],
      ]);
    }
    expect(timePlot.title).toBe('algorithm time (virtual ms) vs N');
    const spec = plotSpec(listed, t.rows).spec as { layer: Array<{ encoding: { y: { title?: string } } }> };
    expect(spec.layer[0]!.encoding.y.title).toBe('algorithm time (virtual ms)');
    // On Docker the run's clock is the wall clock: algorithmMs as measured.
    expect(listedPlots([{ x: 'nodes', y: 'algorithmMs' }], table)[0]).toMatchObject({ y: 'timing.algorithmMs' });
  });

  it('plots against the swept input when the size does not change', () => {
    const { plan: p } = prepared('name: s\ntopology: { model: ring, n: 20 }\nalgorithm: { name: flood, params: { root: ["0", "5"] } }\n');
    const t = summaryTable(p.cells, new Map([outcome('c1-r1', 'c1', 1, 10), outcome('c2-r1', 'c2', 1, 12)].map((o) => [o.key, { ...o, nodes: 20 }])));
    expect(defaultPlots(t, ['param.root'])[0]).toMatchObject({ x: 'param.root', y: 'metric.messages', series: [] });
  });
});

describe('report.html', () => {
  it('is one self-contained page with the plots inline, the run table, the verdicts and the host facts', async () => {
    const fake = fakeRunner({ fail: (_request, index) => (index === 4 ? 'fail' : undefined) });
    const result = await runExperiment({ prepared: prepared(THESIS), resultsRoot: tempDir(), resume: false, runner: fake.runner });
    expect(result).toMatchObject({ runs: 9, passed: 8, failed: 1 });
    const html = readFileSync(result.files.report, 'utf8');

    // Two plots render; the third names a column that does not exist and says so.
    expect(html.match(/<svg\b/g)).toHaveLength(2);
    expect(readdirSync(path.join(result.folder, 'plots')).sort()).toEqual(['1-messages-vs-n.svg', '2-algorithm-time.svg']);
    expect(html).toContain('no column &quot;no_such_metric&quot; in summary.csv');
    expect(html).toContain('thesis'); // the reference points' legend
    expect(html).toContain('Messages vs N');

    // The run table: every run, with its verdict and a link to its run folder.
    for (const key of ['c1-r1', 'c2-r1', 'c3-r1', 'c1-r3', 'c3-r3']) expect(html).toContain(`<td class="nowrap">${key}</td>`);
    expect(html.match(/✔ pass/g)).toHaveLength(8);
    expect(html.match(/✖ fail/g)).toHaveLength(1);
    expect(html).toContain('8 passed · 1 failed');
    expect(html).toMatch(/<li><b>c2-r2<\/b> n=40, seed 2: failed — flood failed on 1 node\(s\): node 7 has no parent<\/li>/);
    expect(html).toMatch(/<a href="\.\.\/\.\.\/flood-[^"]+\/run\.json">flood-/);

    // The host and the resolved file.
    expect(html).toContain('Node.js');
    expect(html).toContain(process.version);
    expect(html).toContain('20.10.24'); // Docker, from the runs' run.json
    expect(html).toContain('fingerprint:');

    // Self-contained: no script, no stylesheet or image fetched, and no id used twice by the inlined SVGs.
    expect(html).not.toMatch(/<script|<link|<img|\bsrc=/i);
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((match) => match[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('escapes what comes from the file', () => {
    const { plan } = prepared('name: x\ndescription: "<b>bold</b> & co"\ntopology: { model: ring, n: 5 }\nalgorithm: flood\n');
    const table = summaryTable(plan.cells, new Map());
    const html = renderReport({
      name: plan.name,
      description: plan.description,
      folder: '/r/x/1',
      createdAt: 'now',
      generatedAt: 'now',
      runtime: 'docker',
      plannedRuns: 1,
      repetitions: 1,
      cells: plan.cells,
      table,
      plots: experimentPlots(table, [], undefined),
      host: { hostname: 'h', platform: 'p', cpus: 1, memoryBytes: 2 ** 30, node: 'v20' },
      peerlab: { version: '0.1.0' },
    });
    expect(html).toContain('&lt;b&gt;bold&lt;/b&gt; &amp; co');
    expect(html).toContain('1 not run yet');
  });
});
