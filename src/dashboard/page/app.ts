/**
 * The dashboard page: the topology drawn by sigma.js over graphology, coloured by node state, edges weighted by
 * their message rate, the run's curves over time, and a time slider over the frames the server sends (live,
 * following the run; or a replay, played at a chosen speed). Bundled by esbuild when the dashboard starts.
 */
import Graph from 'graphology';
import Sigma from 'sigma';

// The frames the server sends, typed once where the server makes them (types only: nothing of it is bundled).
import type { Frame, NodeState } from '../feed.js';

interface PageGraph {
  runId: string;
  mode: 'live' | 'replay';
  timeUnit: string;
  positions: 'coordinates' | 'layout';
  nodes: Array<{ id: string; label: string; x: number; y: number }>;
  edges: Array<{ source: string; target: string; weight: number }>;
}

const COLOURS: Record<NodeState, string> = {
  starting: '#b0b7c3',
  registered: '#f2c14e',
  connected: '#f08a24',
  running: '#2b7bd6',
  done: '#2a9d4b',
  failed: '#d62728',
};
const EDGE_IDLE = '#d5dae1';

const token = new URLSearchParams(location.search).get('token') ?? '';
const api = (path: string) => `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What tests and the frame-time bench read: how many frames are applied, what each render cost. */
const stats = { framesApplied: 0, renders: 0, renderMs: [] as number[], states: {} as Record<string, NodeState> };
(window as unknown as { peerlab: typeof stats }).peerlab = stats;

async function main(): Promise<void> {
  const page = (await (await fetch(api('/graph'))).json()) as PageGraph;
  $('title').textContent = `${page.runId}`;
  $('positions').textContent = page.positions === 'coordinates' ? 'placed by the map’s coordinates' : 'placed by a force-directed layout';
  const graph = new Graph({ type: 'undirected' });
  const size = page.nodes.length <= 50 ? 9 : page.nodes.length <= 300 ? 5 : 3;
  for (const node of page.nodes) graph.addNode(node.id, { x: node.x, y: node.y, label: node.label, size, color: COLOURS.starting });
  for (const edge of page.edges) graph.addEdge(edge.source, edge.target, { size: 1, color: EDGE_IDLE, weight: edge.weight });
  const renderer = new Sigma(graph, $('graph'), { renderLabels: page.nodes.length <= 120, labelRenderedSizeThreshold: 0 });
  let renderStart = 0;
  renderer.on('beforeRender', () => (renderStart = performance.now()));
  renderer.on('afterRender', () => {
    stats.renders += 1;
    stats.renderMs.push(performance.now() - renderStart);
    if (stats.renderMs.length > 500) stats.renderMs.shift();
  });
  renderer.on('clickNode', ({ node }) => void showNode(node));
  (window as unknown as { peerlabRenderer: typeof renderer }).peerlabRenderer = renderer;

  const frames: Frame[] = [];
  let shown = -1;
  let following = page.mode === 'live';
  let playing: number | undefined;
  const slider = $<HTMLInputElement>('slider');
  const metricSelect = $<HTMLSelectElement>('metric');

  /** Node states, metric values and edge rates at frame `index`: every frame up to it folded. */
  function show(index: number): void {
    if (index < 0 || frames.length === 0) return;
    const states: Record<string, NodeState> = {};
    const metrics: Record<string, Record<string, number>> = {};
    for (let i = 0; i <= index; i++) {
      Object.assign(states, frames[i]!.states);
      for (const [id, values] of Object.entries(frames[i]!.metrics)) metrics[id] = { ...metrics[id], ...values };
    }
    const frame = frames[index]!;
    graph.forEachNode((id) => graph.setNodeAttribute(id, 'color', COLOURS[states[id] ?? 'starting']));
    const rates = edgeRates(frame);
    const top = Math.max(1, ...rates.values());
    graph.forEachEdge((edge, _attributes, source, target) => {
      const rate = (rates.get(`${source}|${target}`) ?? 0) + (rates.get(`${target}|${source}`) ?? 0);
      graph.mergeEdgeAttributes(edge, { size: rate > 0 ? 1 + (4 * rate) / top : 1, color: rate > 0 ? '#7b4fd6' : EDGE_IDLE });
    });
    stats.states = states;
    stats.framesApplied += 1;
    shown = index;
    slider.value = String(index);
    const counts = new Map<NodeState, number>();
    for (const id of graph.nodes()) counts.set(states[id] ?? 'starting', (counts.get(states[id] ?? 'starting') ?? 0) + 1);
    $('legend').innerHTML = (Object.keys(COLOURS) as NodeState[])
      .map((state) => `<span data-state="${state}"><i style="background:${COLOURS[state]}"></i>${state} <b>${counts.get(state) ?? 0}</b></span>`)
      .join('');
    $('clock').textContent = `${formatNumber(frame.t + frame.span)} ${page.timeUnit}`;
    $('notes').textContent = frames
      .slice(0, index + 1)
      .flatMap((f) => f.notes)
      .slice(-6)
      .join('\n');
    drawCharts(index);
  }

  function edgeRates(frame: Frame): Map<string, number> {
    const rates = new Map<string, number>();
    const seconds = Math.max(frame.span, 1) / 1000;
    for (const [key, count] of Object.entries(frame.edges)) {
      const [from, to] = key.split('>');
      rates.set(`${from}|${to}`, count / seconds);
    }
    return rates;
  }

  function drawCharts(index: number): void {
    const messages = frames.map((f) => ({ t: f.t, v: Object.values(f.edges).reduce((a, b) => a + b, 0) / (Math.max(f.span, 1) / 1000) }));
    let done = 0;
    const states: Record<string, NodeState> = {};
    const doneSeries = frames.map((f) => {
      Object.assign(states, f.states);
      done = Object.values(states).filter((state) => state === 'done').length;
      return { t: f.t, v: done };
    });
    const names = new Set(frames.flatMap((f) => Object.values(f.metrics).flatMap((values) => Object.keys(values))));
    if (metricSelect.options.length !== names.size) {
      const chosen = metricSelect.value;
      metricSelect.innerHTML = [...names].sort().map((name) => `<option>${name}</option>`).join('');
      if (chosen && names.has(chosen)) metricSelect.value = chosen;
    }
    const metric = metricSelect.value;
    const latest: Record<string, number> = {};
    const metricSeries = frames.map((f) => {
      for (const [id, values] of Object.entries(f.metrics)) if (metric in values) latest[id] = values[metric]!;
      const values = Object.values(latest);
      return { t: f.t, v: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN };
    });
    chart($<HTMLCanvasElement>('chart-messages'), messages, index, 'messages / s');
    chart($<HTMLCanvasElement>('chart-done'), doneSeries, index, 'nodes done');
    chart($<HTMLCanvasElement>('chart-metric'), metricSeries, index, metric ? `${metric} (mean per node)` : 'no metric yet');
  }

  slider.addEventListener('input', () => {
    following = false;
    show(Number(slider.value));
  });
  $('live').addEventListener('click', () => {
    following = true;
    show(frames.length - 1);
  });
  $('play').addEventListener('click', () => {
    if (playing !== undefined) {
      clearInterval(playing);
      playing = undefined;
      return;
    }
    following = false;
    let index = shown >= frames.length - 1 ? 0 : shown + 1;
    playing = window.setInterval(() => {
      if (index >= frames.length) {
        clearInterval(playing);
        playing = undefined;
        return;
      }
      show(index++);
    }, 1000 / Number($<HTMLSelectElement>('speed').value));
  });
  metricSelect.addEventListener('change', () => drawCharts(shown));

  // Frames arrive in bursts: apply at most one redraw per animation frame.
  let pending = false;
  const events = new EventSource(api('/frames'));
  events.onmessage = (message) => {
    frames.push(JSON.parse(message.data) as Frame);
    slider.max = String(frames.length - 1);
    if (!following || pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      show(frames.length - 1);
    });
  };
  events.addEventListener('finished', () => {
    $('status').textContent = page.mode === 'live' ? 'run finished' : 'replay: press play, or drag the slider';
    events.close();
    if (page.mode === 'replay' && shown < 0) show(0);
    else show(frames.length - 1);
  });
  $('status').textContent = page.mode === 'live' ? 'live' : 'loading the replay…';

  async function showNode(id: string): Promise<void> {
    const details = (await (await fetch(api(`/node?id=${encodeURIComponent(id)}`))).json()) as {
      id: string;
      state: NodeState;
      result?: unknown;
      failure?: string;
      metrics: Record<string, number>;
      log: string[];
      sent: Record<string, number>;
      received: Record<string, number>;
    };
    const rows = (counts: Record<string, number>) =>
      Object.entries(counts)
        .map(([peer, count]) => `${peer}: ${count}`)
        .join(', ') || 'none';
    const panel = $('node');
    panel.hidden = false;
    panel.textContent = [
      `node ${details.id} · ${details.state} (at the latest frame)`,
      details.result !== undefined ? `result: ${JSON.stringify(details.result)}` : '',
      details.failure ? `failure: ${details.failure}` : '',
      `metrics: ${JSON.stringify(details.metrics)}`,
      `messages sent: ${rows(details.sent)}`,
      `messages received: ${rows(details.received)}`,
      `last log lines:\n${details.log.join('\n') || '(none)'}`,
    ]
      .filter(Boolean)
      .join('\n');
  }
}

/** A small line chart with a cursor at the shown frame: a few hundred points, no library needed. */
function chart(canvas: HTMLCanvasElement, points: Array<{ t: number; v: number }>, cursor: number, title: string): void {
  const context = canvas.getContext('2d')!;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.font = '11px sans-serif';
  context.fillStyle = '#333';
  const finite = points.filter((p) => Number.isFinite(p.v));
  const max = Math.max(1e-9, ...finite.map((p) => p.v));
  context.fillText(`${title} · max ${formatNumber(max)}`, 4, 12);
  if (points.length === 0) return;
  const t0 = points[0]!.t;
  const span = Math.max(1e-9, points[points.length - 1]!.t - t0);
  const x = (t: number) => 4 + ((t - t0) / span) * (width - 8);
  const y = (v: number) => height - 4 - (v / max) * (height - 22);
  context.strokeStyle = '#1f6fb2';
  context.beginPath();
  finite.forEach((p, i) => (i === 0 ? context.moveTo(x(p.t), y(p.v)) : context.lineTo(x(p.t), y(p.v))));
  context.stroke();
  const at = points[Math.min(cursor, points.length - 1)];
  if (at) {
    context.strokeStyle = '#d62728';
    context.beginPath();
    context.moveTo(x(at.t), 16);
    context.lineTo(x(at.t), height);
    context.stroke();
  }
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toPrecision(3)));
}

main().catch((error: unknown) => {
  $('status').textContent = `error: ${String(error)}`;
});
