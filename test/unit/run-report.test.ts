import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UndirectedGraph } from 'graphology';
import { describe, expect, it } from 'vitest';
import { DashboardFeed } from '../../src/dashboard/feed.js';
import { MAX_BUCKETS, Timeline } from '../../src/host/timeline.js';
import { formatNumber } from '../../src/report/html.js';
import { nodePositions } from '../../src/report/layout.js';
import { readTracedMessages } from '../../src/report/messages.js';
import { runSeries } from '../../src/report/series.js';
import { writeRunReport } from '../../src/report/run-report.js';
import type { RunRecord } from '../../src/run/results-folder.js';
import type { Verdict } from '../../src/verify/index.js';
import { spaceTimeDiagram } from '../../src/report/space-time.js';
import { shivizLog } from '../../src/results/export.js';
import type { NodeReport } from '../../src/coordination/protocol.js';
import { loadTopology, type Topology } from '../../src/topology/index.js';
import { exportGraph } from '../../src/topology/export-formats.js';
import { topologySvg } from '../../src/report/topology-svg.js';
import { packageRoot } from '../../src/util/paths.js';

describe('node timeline', () => {
  it('keeps at most MAX_BUCKETS buckets, doubling their width, and loses no message', () => {
    const timeline = new Timeline();
    for (let t = 0; t < 10_000; t += 3) timeline.sent(t);
    timeline.metric(9_999, 'level', 4);
    const json = timeline.toJSON();
    expect(json.buckets.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(json.bucketMs * MAX_BUCKETS).toBeGreaterThan(9_999);
    expect(json.buckets.reduce((total, bucket) => total + (bucket?.sent ?? 0), 0)).toBe(3334);
    expect(json.buckets.at(-1)!.metrics).toEqual({ level: 4 });
  });

  it('widens its buckets to reach a late result: a node idle for a long virtual while gives the series few steps', () => {
    const timeline = new Timeline();
    timeline.sent(0);
    timeline.result(1_000_000);
    const json = timeline.toJSON();
    expect(json.bucketMs * MAX_BUCKETS).toBeGreaterThan(1_000_000);
    const report: NodeReport = { metrics: {}, sent: {}, received: {}, startup: { registeredMs: 0, connectedMs: 0, startLagMs: 0 }, timeline: json };
    const series = runSeries(new Map([['idle', report]]));
    expect(series.steps.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(series.steps.at(-1)!.done).toBe(1);
  });

  it('aggregates nodes on one grid: messages per second, nodes done, metric mean and range', () => {
    const a = new Timeline();
    const b = new Timeline();
    a.sent(0);
    a.metric(0, 'x', 2);
    a.result(1);
    for (let t = 0; t < 300; t++) b.sent(t);
    b.metric(250, 'x', 6);
    b.result(299);
    const report = (timeline: Timeline): NodeReport => ({ metrics: {}, sent: {}, received: {}, startup: { registeredMs: 0, connectedMs: 0, startLagMs: 0 }, timeline: timeline.toJSON() });
    const series = runSeries(new Map([['a', report(a)], ['b', report(b)]]));
    expect(series.steps.reduce((total, step) => total + step.sent, 0)).toBe(301);
    expect(series.steps.at(-1)!.done).toBe(2);
    expect(series.steps[0]!.done).toBe(1);
    expect(series.steps.at(-1)!.metrics.x).toMatchObject({ mean: 4, min: 2, max: 6, nodes: 2 });
    const rows = [...series.rows()];
    expect(series.columns).toEqual(['t_ms', 'node', 'sent', 'received', 'metric_x']);
    expect(rows).toHaveLength(series.rowCount);
    expect(rows.slice(0, 3)).toEqual([
      { t_ms: 0, node: 'a', sent: 1, received: 0, metric_x: 2 },
      { t_ms: 0, node: 'b', sent: 4, received: 0, metric_x: '' },
      { t_ms: 4, node: 'b', sent: 4, received: 0, metric_x: '' },
    ]);
    expect(rows.find((row) => row.metric_x === 6)).toEqual({ t_ms: 248, node: 'b', sent: 4, received: 0, metric_x: 6 });
  });
});

describe('traced messages', () => {
  it('computes Lamport and vector clocks from a simulator trace, and the diagram draws one arrow per message', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'peerlab-trace-'));
    try {
      const file = path.join(dir, 'events.ndjson');
      const events = [
        { type: 'send', time: 0, id: 0, from: '0', to: '1', deliverAt: 1, bytes: 9, payload: { k: 'Ping' } },
        { type: 'deliver', time: 1, id: 0, from: '0', to: '1' },
        { type: 'send', time: 1, id: 1, from: '1', to: '2', deliverAt: 2, bytes: 9, payload: { k: 'Pong' } },
        { type: 'send', time: 1.5, id: 2, from: '2', to: '0', deliverAt: 9, bytes: 9, payload: 'late' },
        { type: 'deliver', time: 2, id: 1, from: '1', to: '2' },
        { type: 'drop', time: 3, id: 2, from: '2', to: '0', reason: 'node stopped' },
      ];
      await writeFile(file, events.map((event) => JSON.stringify(event)).join('\n'));
      const messages = await readTracedMessages(file);
      expect(messages.map((m) => [m.id, m.type, m.sendLamport, m.delivery?.lamport])).toEqual([
        ['0', 'Ping', 1, 2],
        ['1', 'Pong', 3, 4],
        ['2', 'late', 1, undefined],
      ]);
      expect(messages[1]!.delivery!.clock).toEqual({ '0': 1, '1': 2, '2': 2 });
      const svg = spaceTimeDiagram(messages, ['0', '1', '2']);
      expect(svg.match(/<line class="msg/g)).toHaveLength(3);
      expect(svg).toContain('not delivered: node stopped');

      // ShiViz: every host's own clock entry grows by one per event, in the order the log lists them.
      const log = shivizLog(messages).split('\n').slice(2).filter(Boolean);
      const own = new Map<string, number>();
      for (let i = 1; i < log.length; i += 2) {
        const [host, clock] = [log[i]!.split(' ')[0]!, JSON.parse(log[i]!.slice(log[i]!.indexOf(' ') + 1)) as Record<string, number>];
        expect(clock[host]).toBe((own.get(host) ?? 0) + 1);
        own.set(host, clock[host]!);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('pictures and numbers', () => {
  it('places a map by its coordinates, and a graph without them by a layout', () => {
    const map: Topology = new UndirectedGraph();
    map.addNode('west', { latitude: 40, longitude: -120 });
    map.addNode('east', { latitude: 40, longitude: -75 });
    map.addEdge('west', 'east', { weight: 1 });
    const placed = nodePositions(map);
    expect(placed.source).toBe('coordinates');
    expect(placed.points.get('west')!.x).toBeLessThan(placed.points.get('east')!.x);
    map.removeNodeAttribute('east', 'latitude');
    expect(nodePositions(map).source).toBe('layout');
  });

  it.each([
    [192, '192'],
    [8, '8'],
    [1234567, '1.23 M'],
    [12345, '12,345'],
    [0.000012, '12 µ'],
    [3.14159, '3.14'],
  ])('formats %d as %s', (value, text) => expect(formatNumber(value)).toBe(text));
});

describe('dashboard feed', () => {
  it('folds states, aggregates traffic per edge, and merges frames beyond its cap', () => {
    const feed = new DashboardFeed(['a', 'b'], { stepMs: 1 });
    const frames: number[] = [];
    feed.subscribe((frame) => frame && frames.push(frame.t));
    feed.state('a', 'running');
    for (let t = 0; t < 5000; t++) {
      feed.advance(t);
      feed.message('a', 'b');
    }
    feed.result('a', 7);
    feed.state('a', 'running');
    feed.finish(5000);
    expect(feed.frames.length).toBeLessThanOrEqual(2000);
    expect(feed.frames.reduce((total, frame) => total + (frame.edges['a>b'] ?? 0), 0)).toBe(5000);
    expect(feed.nodeDetails('a')).toMatchObject({ state: 'done', result: 7, sent: { b: 5000 } });
    expect(feed.finished).toBe(true);
  });

  it('shows faults and churn as they are applied: noted, a killed or stopped node departed, a paused one paused until resumed', () => {
    const feed = new DashboardFeed(['a', 'b', 'c', 'd']);
    for (const id of feed.nodeIds) feed.state(id, 'running');
    feed.result('d', 1);
    feed.fault('kill', ['a', 'd'], 'kill node a, d (at=1s kill ids:a,d)');
    feed.fault('pause', ['b'], 'pause node b');
    feed.flush(1);
    expect(feed.frames[0]).toMatchObject({ states: { a: 'departed', b: 'paused', d: 'departed' }, notes: ['kill node a, d (at=1s kill ids:a,d)', 'pause node b'] });
    feed.result('a', 2);
    feed.fault('resume', ['b', 'c'], 'resume node b, c');
    feed.flush(2);
    expect(feed.frames[1]!.states).toEqual({ b: 'running' });
    expect(feed.nodeDetails('a')?.state).toBe('departed');
  });
});

describe('topology export', () => {
  it('writes GraphML that loads back with the same edges, weights and coordinates; DOT and GEXF name every edge; SVG draws every node', async () => {
    const { graph } = await loadTopology(path.join(packageRoot, 'test', 'fixtures', 'abilene.graphml'), { seed: 1 });
    const dir = await mkdtemp(path.join(tmpdir(), 'peerlab-export-'));
    try {
      const file = path.join(dir, 'out.graphml');
      await writeFile(file, exportGraph(graph, 'graphml'));
      const back = (await loadTopology(file, { seed: 1 })).graph;
      const edges = (g: Topology) => g.mapEdges((_e, a, s, t) => `${[s, t].sort().join('-')}:${a.weight}`).sort();
      expect(edges(back)).toEqual(edges(graph));
      expect(back.getNodeAttributes('0')).toMatchObject({ label: 'New York', latitude: graph.getNodeAttribute('0', 'latitude') });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect(exportGraph(graph, 'dot').match(/ -- /g)).toHaveLength(graph.size);
    expect(exportGraph(graph, 'gexf').match(/<edge /g)).toHaveLength(graph.size);
    const svg = topologySvg(graph);
    expect(svg.match(/<circle /g)).toHaveLength(graph.order);
    expect(svg).toContain('data-positions="coordinates"');
  });
});

describe('report.html of a large run', () => {
  it('links each results file under the name it was written as, timeseries.csv compressed once past a megabyte', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'peerlab-report-files-'));
    try {
      // As writeRunResults leaves a large run: nodes.csv compressed, edges.csv not, no trace.
      for (const file of ['run.json', 'verify.json', 'nodes.csv.gz', 'edges.csv', 'topology.json']) await writeFile(path.join(dir, file), '');
      const graph = new UndirectedGraph() as Topology;
      graph.addNode('0');
      const reportOf = (id: number): NodeReport => {
        const timeline = new Timeline();
        for (let t = 0; t < 3; t++) timeline.sent(t * 100 + (id % 7));
        return { metrics: {}, sent: {}, received: {}, startup: { registeredMs: 0, connectedMs: 0, startLagMs: 0 }, timeline: timeline.toJSON() };
      };
      // 30,000 nodes × 3 rows of about 15 bytes: past the 1 MiB at which a CSV is compressed.
      const reports = new Map(Array.from({ length: 30_000 }, (_, id) => [String(id), reportOf(id)] as const));
      const record = {
        runId: 'r',
        algorithm: { name: 'flood', source: 'flood.ts', params: {} },
        topology: { spec: 'x', seed: 1, weights: 'unit', links: 'none', linksLayer: 'model', nodes: 1, edges: 0, notes: [] },
        runtime: 'sim',
        timings: {},
        startedAt: '2026-12-06T00:00:00.000Z',
        replay: 'peerlab run flood',
      } as unknown as RunRecord;
      const verdict: Verdict = { outcome: 'pass', passed: true, summary: 'ok', expected: null, actual: null, metrics: {}, failures: [] };
      await writeRunReport(dir, { record, graph, results: new Map([['0', 1]]), reports, verdict });
      expect((await readdir(dir)).filter((file) => file.startsWith('timeseries'))).toEqual(['timeseries.csv.gz']);
      const rows = gunzipSync(await readFile(path.join(dir, 'timeseries.csv.gz'))).toString().trim().split('\n');
      expect(rows).toHaveLength(1 + 90_000);
      const links = [...(await readFile(path.join(dir, 'report.html'), 'utf8')).matchAll(/href="([^"]+)"/g)].map((match) => match[1]);
      expect(links).toEqual(['timeseries.csv.gz', 'run.json', 'verify.json', 'nodes.csv.gz', 'edges.csv', 'timeseries.csv.gz', 'topology.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
