import type { Json } from '../sdk/types.js';

/** A node's state as the dashboard colours it; paused and departed are what a fault or churn made of it. */
export type NodeState = 'starting' | 'registered' | 'connected' | 'running' | 'done' | 'failed' | 'paused' | 'departed';

/**
 * What changed during one step of the run: the page folds frames to show any moment, and scrubs over them. A
 * frame aggregates (messages per directed edge, the latest metric values) instead of listing every message, so
 * the page stays cheap at 1,000 nodes and thousands of messages a second.
 */
export interface Frame {
  /** Start of the step: ms since the dashboard opened (Docker), or virtual ms (simulator). */
  t: number;
  /** Length of the step in the same unit, so the page can turn counts into rates. */
  span: number;
  states: Record<string, NodeState>;
  /** Messages sent in this step per directed edge, keyed "from>to". */
  edges: Record<string, number>;
  /** Latest metric values per node set in this step. */
  metrics: Record<string, Record<string, number>>;
  /** A fault or control action, e.g. "node 3 stopped". */
  notes: string[];
}

export interface NodeDetails {
  readonly id: string;
  readonly state: NodeState;
  readonly result?: Json;
  readonly failure?: string;
  readonly metrics: Record<string, number>;
  readonly log: string[];
  readonly sent: Record<string, number>;
  readonly received: Record<string, number>;
}

/** Frames kept; beyond it adjacent frames merge (the step doubles), so an hour-long run stays a few MB. */
const MAX_FRAMES = 2000;
const LOG_LINES = 30;

/**
 * The runtime-neutral record of a run as the dashboard shows it. Sources (etcd watches in Docker, trace events
 * in the simulator) call the methods below; `flush(t)` closes a step. Listeners get each frame as it closes.
 */
export class DashboardFeed {
  readonly frames: Frame[] = [];
  private current: Frame;
  /** Called with each frame as it closes, and with null once the run is over. */
  private readonly listeners = new Set<(frame: Frame | null) => void>();
  private readonly details = new Map<string, { state: NodeState; result?: Json; failure?: string; metrics: Record<string, number>; log: string[]; sent: Record<string, number>; received: Record<string, number> }>();
  private finishedAt: number | undefined;
  /** The step of `advance`; it doubles whenever the frames are merged pairwise. */
  private stepMs: number;
  /** A live source's clock (showsRunningBeforeDone). */
  private clock: (() => number) | undefined;

  constructor(nodeIds: readonly string[], options: { start?: number; stepMs?: number } = {}) {
    this.current = emptyFrame(options.start ?? 0);
    this.stepMs = options.stepMs ?? 0.5;
    for (const id of nodeIds) {
      this.details.set(id, { state: 'starting', metrics: {}, log: [], sent: {}, received: {} });
      this.current.states[id] = 'starting';
    }
  }

  get nodeIds(): string[] {
    return [...this.details.keys()];
  }

  knows(id: string): boolean {
    return this.details.has(id);
  }

  get finished(): boolean {
    return this.finishedAt !== undefined;
  }

  /**
   * For a live source, whose frames close every few seconds: a node that was running in the current frame and
   * changes state again (done, failed, paused) closes it first (at `clock()`), so that the page shows it running,
   * and so does one that became connected in it and starts running (the last node to connect starts the run).
   * Otherwise an 11-node GHS, 0.2 s of algorithm, went from connected straight to done on the page. Only then: a
   * frame for every change of a 500-node bring-up would cost the page hundreds of frames to apply.
   */
  showsRunningBeforeDone(clock: () => number): void {
    this.clock = clock;
  }

  state(id: string, state: NodeState): void {
    const node = this.details.get(id);
    if (!node || node.state === state || node.state === 'departed') return;
    // A node that is done or failed stays so (the start signal comes after some nodes may already be done), unless it fails or leaves.
    if ((node.state === 'done' || node.state === 'failed') && state !== 'failed' && state !== 'departed') return;
    const shownBefore = this.current.states[id];
    if (this.clock && (shownBefore === 'running' || (shownBefore === 'connected' && state === 'running'))) this.flush(this.clock());
    node.state = state;
    this.current.states[id] = state;
  }

  result(id: string, value: Json): void {
    const node = this.details.get(id);
    if (node) node.result = value;
    this.state(id, 'done');
  }

  failure(id: string, message: string): void {
    const node = this.details.get(id);
    if (node) node.failure = message;
    this.state(id, 'failed');
    this.note(`node ${id} failed: ${message}`);
  }

  /** One message (the simulator reports each). */
  message(from: string, to: string): void {
    this.sentOnEdge(from, to, 1);
  }

  /** Running totals per neighbour (Docker nodes report them periodically): the increase is this step's traffic. */
  sentTotals(from: string, totals: Record<string, number>): void {
    const node = this.details.get(from);
    if (!node) return;
    for (const [to, total] of Object.entries(totals)) {
      const increase = total - (node.sent[to] ?? 0);
      if (increase > 0) this.sentOnEdge(from, to, increase);
    }
  }

  metrics(id: string, values: Record<string, number>): void {
    const node = this.details.get(id);
    if (!node) return;
    for (const [name, value] of Object.entries(values)) {
      if (node.metrics[name] === value) continue;
      node.metrics[name] = value;
      (this.current.metrics[id] ??= {})[name] = value;
    }
  }

  log(id: string, line: string): void {
    const node = this.details.get(id);
    if (!node) return;
    node.log.push(line);
    if (node.log.length > LOG_LINES) node.log.shift();
  }

  note(text: string): void {
    this.current.notes.push(text);
  }

  /** A fault or churn event as it is applied: noted, and the nodes it hit recoloured. */
  fault(action: string, nodes: readonly string[], text: string): void {
    this.note(text);
    for (const id of nodes) {
      const state = this.details.get(id)?.state;
      if (action === 'kill' || action === 'stop') this.state(id, 'departed');
      else if (action === 'pause' && state !== 'done') this.state(id, 'paused');
      else if (action === 'resume' && state === 'paused') this.state(id, 'running');
    }
  }

  nodeDetails(id: string): NodeDetails | undefined {
    const node = this.details.get(id);
    return node && { id, ...node, log: [...node.log] };
  }

  /** Closes the current step at time `t` and starts the next. A step in which nothing happened is not kept. */
  flush(t: number): void {
    const frame = this.current;
    if (Object.keys(frame.states).length + Object.keys(frame.edges).length + Object.keys(frame.metrics).length + frame.notes.length === 0) {
      frame.t = t;
      return;
    }
    frame.span = Math.max(0, t - frame.t);
    this.current = emptyFrame(t);
    this.frames.push(frame);
    if (this.frames.length > MAX_FRAMES) this.coarsen();
    for (const listener of this.listeners) listener(frame);
  }

  finish(t: number): void {
    if (this.finished) return;
    this.flush(t);
    this.finishedAt = t;
    for (const listener of this.listeners) listener(null);
  }

  subscribe(listener: (frame: Frame | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private sentOnEdge(from: string, to: string, count: number): void {
    const sender = this.details.get(from);
    const receiver = this.details.get(to);
    if (sender) sender.sent[to] = (sender.sent[to] ?? 0) + count;
    if (receiver) receiver.received[from] = (receiver.received[from] ?? 0) + count;
    const key = `${from}>${to}`;
    this.current.edges[key] = (this.current.edges[key] ?? 0) + count;
  }

  /** For sources with their own clock (the simulator's): closes the step once `t` is past it. */
  advance(t: number): void {
    if (t >= this.current.t + this.stepMs) this.flush(Math.floor(t / this.stepMs) * this.stepMs);
  }

  private coarsen(): void {
    this.stepMs *= 2;
    const merged: Frame[] = [];
    for (let i = 0; i < this.frames.length; i += 2) {
      const [a, b] = [this.frames[i]!, this.frames[i + 1]];
      merged.push(b ? mergeFrames(a, b) : a);
    }
    this.frames.splice(0, this.frames.length, ...merged);
  }
}

function emptyFrame(t: number): Frame {
  return { t, span: 0, states: {}, edges: {}, metrics: {}, notes: [] };
}

function mergeFrames(a: Frame, b: Frame): Frame {
  const edges = { ...a.edges };
  for (const [key, count] of Object.entries(b.edges)) edges[key] = (edges[key] ?? 0) + count;
  const metrics = { ...a.metrics };
  for (const [id, values] of Object.entries(b.metrics)) metrics[id] = { ...metrics[id], ...values };
  return { t: a.t, span: b.t + b.span - a.t, states: { ...a.states, ...b.states }, edges, metrics, notes: [...a.notes, ...b.notes] };
}
