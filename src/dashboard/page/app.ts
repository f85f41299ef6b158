/**
 * The dashboard page: the topology drawn by sigma.js over graphology, coloured by node state, edges weighted by
 * their message rate, the run's curves over time, and a time slider over the frames the server sends (live,
 * following the run; or a replay, played at a chosen speed). Bundled by esbuild when the dashboard starts.
 */
import Graph from 'graphology';
import Sigma from 'sigma';

// The frames the server sends, typed once where the server makes them (types only: nothing of it is bundled).
import type { Frame, NodeState } from '../feed.js';
import { LIVE_FINISHED_STEP_MS, LIVE_REDRAW_SHARE, LIVE_STEP_LAG_MS } from '../live-redraw.js';

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
  paused: '#9467bd',
  departed: '#4a4a4a',
};
const EDGE_IDLE = '#d5dae1';

interface Point {
  t: number;
  v: number;
}

const token = new URLSearchParams(location.search).get('token') ?? '';
const api = (path: string) => `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/**
 * What tests and `peerlab bench frame-time` read: frames received and applied, the messages they carry and the
 * highest rate drawn, what each frame's apply, each render and each live redraw cost, whether a replay is playing.
 */
const stats = {
  frames: 0,
  messages: 0,
  peakRate: 0,
  loaded: false,
  playing: false,
  framesApplied: 0,
  applyMs: [] as number[],
  renders: 0,
  renderMs: [] as number[],
  /** Each live redraw's cost as the browser saw it, up to the frame that shows it. */
  redrawMs: [] as number[],
  states: {} as Record<string, NodeState>,
};
/** The latest samples of a cost, bounded. */
function record(samples: number[], value: number): void {
  samples.push(value);
  if (samples.length > 5000) samples.shift();
}
(window as unknown as { peerlab: typeof stats }).peerlab = stats;

async function main(): Promise<void> {
  const page = (await (await fetch(api('/graph'))).json()) as PageGraph;
  $('title').textContent = `${page.runId}`;
  $('positions').textContent = page.positions === 'coordinates' ? 'placed by the map’s coordinates' : 'placed by a force-directed layout';
  const graph = new Graph({ type: 'undirected' });
  const size = page.nodes.length <= 50 ? 9 : page.nodes.length <= 300 ? 5 : 3;
  for (const node of page.nodes) graph.addNode(node.id, { x: node.x, y: node.y, label: node.label, size, color: COLOURS.starting });
  for (const edge of page.edges) graph.addEdge(edge.source, edge.target, { size: 1, color: EDGE_IDLE, weight: edge.weight });
  // Up to 120 nodes every label is drawn, however close (Abilene's Chicago and Indianapolis are); the padding keeps
  // the labels of the nodes at the map's right edge on the stage.
  const renderer = new Sigma(graph, $('graph'), { renderLabels: page.nodes.length <= 120, labelRenderedSizeThreshold: 0, labelDensity: 1000, stagePadding: 80 });
  let renderStart = 0;
  renderer.on('beforeRender', () => (renderStart = performance.now()));
  renderer.on('afterRender', () => {
    stats.renders += 1;
    record(stats.renderMs, performance.now() - renderStart);
  });
  renderer.on('clickNode', ({ node }) => void showNode(node));
  (window as unknown as { peerlabRenderer: typeof renderer }).peerlabRenderer = renderer;

  const frames: Frame[] = [];
  let shown = -1;
  let following = page.mode === 'live';
  let playing: number | undefined;
  const slider = $<HTMLInputElement>('slider');
  const metricSelect = $<HTMLSelectElement>('metric');

  // Everything below is kept incrementally, so that a frame costs the same at the 2,000th as at the first: the
  // states folded up to the frame shown (moving back refolds from the start), and the chart series, extended as
  // frames arrive.
  const folded: Record<string, NodeState> = {};
  let foldedTo = -1;
  const messageSeries: Point[] = [];
  const doneSeries: Point[] = [];
  const arrivedStates: Record<string, NodeState> = {};
  /** When each frame reached the page (performance.now()): how far behind the run a live page is. */
  const arrivedAt: number[] = [];
  /** The last frame that changed a node's state or noted a fault. */
  let lastChange = -1;
  let doneCount = 0;
  const notes: Array<{ index: number; text: string }> = [];
  const metricNames = new Set<string>();
  /** The mean per node of the chosen metric, frame by frame: its running sum over each node's latest value. */
  let metricSeries = { name: '', upTo: 0, latest: new Map<string, number>(), sum: 0, points: [] as Point[] };

  /** What a live redraw steps to (see nextLiveFrame): a frame in which some node's state changed or a fault was noted. */
  const changesStates = (frame: Frame): boolean => Object.keys(frame.states).length > 0 || frame.notes.length > 0;

  function arrived(frame: Frame): void {
    const index = frames.length;
    frames.push(frame);
    arrivedAt.push(performance.now());
    const sent = Object.values(frame.edges).reduce((a, b) => a + b, 0);
    const rate = sent / (Math.max(frame.span, 1) / 1000);
    messageSeries.push({ t: frame.t, v: rate });
    for (const [id, state] of Object.entries(frame.states)) {
      if (arrivedStates[id] === 'done') doneCount -= 1;
      if (state === 'done') doneCount += 1;
      arrivedStates[id] = state;
    }
    doneSeries.push({ t: frame.t, v: doneCount });
    if (changesStates(frame)) lastChange = index;
    for (const text of frame.notes) notes.push({ index, text });
    for (const values of Object.values(frame.metrics)) for (const name of Object.keys(values)) metricNames.add(name);
    stats.frames += 1;
    stats.messages += sent;
    stats.peakRate = Math.max(stats.peakRate, rate);
  }

  /** Folds the states up to frame `index`; true if any node's state may differ from the last fold. */
  function foldStatesTo(index: number): boolean {
    let changed = false;
    if (index < foldedTo) {
      for (const id of Object.keys(folded)) delete folded[id];
      foldedTo = -1;
      changed = true;
    }
    for (let i = foldedTo + 1; i <= index; i++) {
      const states = frames[i]!.states;
      if (Object.keys(states).length > 0) changed = true;
      Object.assign(folded, states);
    }
    foldedTo = index;
    return changed;
  }
  /** Whether some edge is drawn with traffic: frames without any need no edge update after one without. */
  let edgesLit = true;

  /** Node states and edge rates at frame `index`. */
  function show(index: number): void {
    if (index < 0 || frames.length === 0) return;
    const began = performance.now();
    const frame = frames[index]!;
    // One batch update each for nodes and edges, and none when nothing changed: each makes sigma.js reprocess
    // and redraw, the page's main cost.
    if (foldStatesTo(index) || shown < 0) {
      graph.updateEachNodeAttributes((id, attributes) => ({ ...attributes, color: COLOURS[folded[id] ?? 'starting'] }), { attributes: ['color'] });
    }
    const rates = edgeRates(frame);
    if (rates.size > 0 || edgesLit) {
      let top = 1;
      for (const rate of rates.values()) top = Math.max(top, rate);
      graph.updateEachEdgeAttributes(
        (_edge, attributes, source, target) => {
          const rate = (rates.get(`${source}>${target}`) ?? 0) + (rates.get(`${target}>${source}`) ?? 0);
          return { ...attributes, size: rate > 0 ? 1 + (4 * rate) / top : 1, color: rate > 0 ? '#7b4fd6' : EDGE_IDLE };
        },
        { attributes: ['size', 'color'] },
      );
      edgesLit = rates.size > 0;
    }
    stats.states = { ...folded };
    stats.framesApplied += 1;
    shown = index;
    slider.value = String(index);
    const counts = new Map<NodeState, number>();
    graph.forEachNode((id) => counts.set(folded[id] ?? 'starting', (counts.get(folded[id] ?? 'starting') ?? 0) + 1));
    $('legend').innerHTML = (Object.keys(COLOURS) as NodeState[])
      .map((state) => `<span data-state="${state}"><i style="background:${COLOURS[state]}"></i>${state} <b>${counts.get(state) ?? 0}</b></span>`)
      .join('');
    $('clock').textContent = `${formatNumber(frame.t + frame.span)} ${page.timeUnit}`;
    const recent: string[] = [];
    for (let i = notes.length - 1; i >= 0 && recent.length < 6; i--) if (notes[i]!.index <= index) recent.unshift(notes[i]!.text);
    $('notes').textContent = recent.join('\n');
    drawCharts(index);
    record(stats.applyMs, performance.now() - began);
  }

  /** Messages per second on each directed edge "from>to" during the frame. */
  function edgeRates(frame: Frame): Map<string, number> {
    const seconds = Math.max(frame.span, 1) / 1000;
    return new Map(Object.entries(frame.edges).map(([key, count]) => [key, count / seconds]));
  }

  function metricPoints(name: string): Point[] {
    if (metricSeries.name !== name) metricSeries = { name, upTo: 0, latest: new Map(), sum: 0, points: [] };
    const series = metricSeries;
    for (; series.upTo < frames.length; series.upTo++) {
      const frame = frames[series.upTo]!;
      for (const [id, values] of Object.entries(frame.metrics)) {
        if (!(name in values)) continue;
        series.sum += values[name]! - (series.latest.get(id) ?? 0);
        series.latest.set(id, values[name]!);
      }
      series.points.push({ t: frame.t, v: series.latest.size ? series.sum / series.latest.size : NaN });
    }
    return series.points;
  }

  function drawCharts(index: number): void {
    if (metricSelect.options.length !== metricNames.size) {
      const chosen = metricSelect.value;
      metricSelect.innerHTML = [...metricNames].sort().map((name) => `<option>${name}</option>`).join('');
      if (chosen && metricNames.has(chosen)) metricSelect.value = chosen;
    }
    const metric = metricSelect.value;
    chart($<HTMLCanvasElement>('chart-messages'), messageSeries, index, 'messages / s');
    chart($<HTMLCanvasElement>('chart-done'), doneSeries, index, 'nodes done');
    chart($<HTMLCanvasElement>('chart-metric'), metric ? metricPoints(metric) : [], index, metric ? `${metric} (mean per node)` : 'no metric yet');
  }

  slider.addEventListener('input', () => {
    following = false;
    show(Number(slider.value));
  });
  $('live').addEventListener('click', () => {
    following = true;
    show(frames.length - 1);
  });
  // Playback is paced by the clock, one show per animation frame: where drawing is slower than the chosen speed
  // (a software-rendered browser, a busy machine) frames are skipped instead of queued, so the replay keeps its
  // speed and the page keeps answering clicks.
  function stopPlaying(): void {
    if (playing !== undefined) cancelAnimationFrame(playing);
    playing = undefined;
    stats.playing = false;
  }
  $('play').addEventListener('click', () => {
    if (playing !== undefined) return stopPlaying();
    following = false;
    const from = shown >= frames.length - 1 ? 0 : shown + 1;
    const began = performance.now();
    const fps = Number($<HTMLSelectElement>('speed').value);
    const step = (now: number) => {
      const index = Math.min(frames.length - 1, from + Math.floor(((now - began) * fps) / 1000));
      if (index !== shown) show(index);
      if (index >= frames.length - 1) stopPlaying();
      else playing = requestAnimationFrame(step);
    };
    stats.playing = true;
    playing = requestAnimationFrame(step);
  });
  metricSelect.addEventListener('change', () => drawCharts(shown));

  // Following a live run, the page redraws at most once per frame that arrives (frames come in bursts, e.g. all
  // of them on a reload), and no more than a share of the time: a redraw's cost is measured as the browser sees
  // it (sigma.js's software WebGL on a host without a GPU is most of it), and the next waits until that cost is
  // the share of the time since: LIVE_REDRAW_SHARE.states while a frame not yet shown changed a node's state or
  // noted a fault, LIVE_REDRAW_SHARE.traffic when frames only carried traffic and metrics; once the run is over,
  // each state change still to show stays LIVE_FINISHED_STEP_MS (or the redraw's cost) on screen. A cheap redraw
  // (a small graph, a fast machine) still follows every frame; a 500-node graph on a busy 2-core host shows each
  // state change within a few seconds and its traffic every half minute or so.
  // A redraw shows the next frame that changed states, not the latest, while that frame reached the page at most
  // LIVE_STEP_LAG_MS ago: an 11-node GHS is running for a tenth of a second, and a page whose first redraw cost
  // 150 ms (19 × 150 ms to wait at the states' share) went from connected straight to done. A frame that came
  // longer ago is passed over for the latest, so the page never trails the run by much more than that. (Bounded
  // by the run's clock instead, a 10-node run's frames were all within 10 s of its last, and on a loaded CI host,
  // where a redraw costs a second or more, the page stepped through each at 19 redraw costs a step.)
  // One redraw is pending at a time, its timer or the animation frame it waits for: otherwise a frame arriving
  // while the first waited for its animation frame queues a second into the same one, which would show a state
  // for no time at all.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let animationFrame: number | undefined;
  let drawing = false;
  let lastRedraw = { cost: 0, endedAt: -Infinity };
  let runFinished = false;
  function scheduleRedraw(): void {
    if (!following || drawing || animationFrame !== undefined || shown === frames.length - 1) return;
    const { cost, endedAt } = lastRedraw;
    const wait = runFinished ? Math.max(LIVE_FINISHED_STEP_MS - cost, cost) : cost * (1 / (lastChange > shown ? LIVE_REDRAW_SHARE.states : LIVE_REDRAW_SHARE.traffic) - 1);
    const at = endedAt + wait;
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      animationFrame = requestAnimationFrame(redrawLive);
    }, Math.max(0, at - performance.now()));
  }
  function cancelRedraw(): void {
    clearTimeout(timer);
    timer = undefined;
    if (animationFrame !== undefined) cancelAnimationFrame(animationFrame);
    animationFrame = undefined;
  }
  /** The frame a live redraw shows: the next one that changed states, unless the page would trail the run too far. */
  function nextLiveFrame(): number {
    const latest = frames.length - 1;
    if (lastChange <= shown) return latest;
    let next = shown + 1;
    while (next < lastChange && !changesStates(frames[next]!)) next += 1;
    return performance.now() - arrivedAt[next]! <= LIVE_STEP_LAG_MS ? next : latest;
  }
  function redrawLive(): void {
    animationFrame = undefined;
    if (!following) return;
    drawing = true;
    const began = performance.now();
    show(nextLiveFrame());
    // The frame sigma.js draws in comes after the next animation frame; it is on screen at the one after.
    requestAnimationFrame(() =>
      requestAnimationFrame((now) => {
        record(stats.redrawMs, now - began);
        lastRedraw = { cost: now - began, endedAt: now };
        drawing = false;
        scheduleRedraw();
      }),
    );
  }
  const events = new EventSource(api('/frames'));
  events.onmessage = (message) => {
    const frame = JSON.parse(message.data) as Frame;
    arrived(frame);
    slider.max = String(frames.length - 1);
    scheduleRedraw();
  };
  events.addEventListener('finished', () => {
    stats.loaded = true;
    $('status').textContent = page.mode === 'live' ? 'run finished' : 'replay: press play, or drag the slider';
    events.close();
    runFinished = true;
    if (page.mode === 'replay' && shown < 0) show(0);
    else {
      // A redraw timed at the running run's share gives way: the live redraws go on through the state changes
      // still to show at the finished pace, then to the end.
      cancelRedraw();
      if (following && lastChange > shown) scheduleRedraw();
      else show(frames.length - 1);
    }
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
function chart(canvas: HTMLCanvasElement, points: readonly Point[], cursor: number, title: string): void {
  const context = canvas.getContext('2d')!;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  context.font = '11px sans-serif';
  context.fillStyle = '#333';
  const finite = points.filter((p) => Number.isFinite(p.v));
  const top = Math.max(0, ...finite.map((p) => p.v));
  const max = Math.max(1e-9, top); // the scale's; a series of zeros is drawn at the bottom
  context.fillText(finite.length > 0 ? `${title} · max ${formatNumber(top)}` : title, 4, 12);
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
