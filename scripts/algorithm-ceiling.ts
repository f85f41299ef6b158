/**
 * How close to the probe can any simulator come with a given plugin (issue 15)? The goal asks messages/s ≥ 0.3 ×
 * the probe's events/s at 10⁵ nodes. This runs the same algorithm file on `ba:n=N,m=2` under the least a
 * simulator of it must do, beside the probe in the same process:
 *
 *   - one event per start, message and timer, in (virtual time, sequence) order, on the simulator's own agenda
 *     (EventQueue), each message delayed by an Exp(1) draw and kept FIFO per directed edge (GHS needs FIFO);
 *   - a node object per node with what flood and GHS use of the SDK (id, neighbours, size, params, state, send,
 *     now, setTimer, metric, result, log), `send` looking its receiver up once by id, as any simulator of string
 *     ids must to refuse a non-neighbour;
 *   - nothing else: no counters, no timelines, no payload copy (the receiver gets the sender's object), no
 *     settle after an event, no watchdog, no reports. It is a bound, not a simulator: handlers that return a
 *     promise are not awaited, and the SDK calls it does not support throw.
 *
 * The results are judged by the run's own oracle, so a bound that got the algorithm wrong is not reported. The
 * ratio it prints is the best any simulator that runs this plugin file could reach on this machine. Beside it,
 * in the same process and alternated with it round by round, the simulator's own event loop (`simulate`, as the
 * simulation thread runs it, without the thread and the results files) on the same graph and seed: what it adds
 * to the bare loop is what its bookkeeping costs. tsx is not installed, so bundle it first, with the plugin's
 * `peerlab` import resolved to the SDK:
 *
 *   npx esbuild scripts/algorithm-ceiling.ts --bundle --platform=node --format=esm --packages=external \
 *     --alias:peerlab=./src/sdk/index.ts --outfile=node_modules/.cache/algorithm-ceiling.mjs
 *   node --max-semi-space-size=64 node_modules/.cache/algorithm-ceiling.mjs [--algorithm flood|ghs] \
 *     [--nodes 10000,100000] [--rounds 3] [--bare-only]
 *
 * --bare-only leaves our simulator's loop out: at 10⁶ nodes a GHS takes it minutes and gigabytes more of this
 * thread (add --max-old-space-size=16384 there).
 *
 * The flag gives this thread the young generation the simulation thread runs with (YOUNG_GENERATION_MB in
 * src/runtime/sim/threaded.ts); without it the simulator's loop here collects more than it does there (GHS at
 * 10⁵, --trace-gc: 3.7 s of a 13.4 s loop in collection, against 2.1 s of 11.7 s with the flag).
 */
import { parseArgs } from 'node:util';
import flood from '../algorithms/flood.js';
import ghs from '../algorithms/ghs.js';
import { fastestProbe, probeEventLoop } from '../src/bench/sim-probe.js';
import { EventQueue } from '../src/runtime/sim/event-queue.js';
import { neighboursAt, toSimGraph, type SimGraph } from '../src/runtime/sim/graph.js';
import { simulate } from '../src/runtime/sim/simulate.js';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../src/run/prepare.js';
import type { Algorithm, Json, Message, Neighbour, Node } from '../src/sdk/types.js';
import { loadTopology } from '../src/topology/index.js';
import { createRandom, type Random } from '../src/util/random.js';
import { oracleFor } from '../src/verify/index.js';

const ALGORITHMS: Record<string, Algorithm> = { flood: flood as Algorithm, ghs: ghs as Algorithm };

/** A message on its way: the receiver gets it as its Message ({ from, payload }); `target` is the receiver. */
interface Delivery extends Message {
  readonly target: BareNode;
}

type BareEvent = Delivery | BareNode | (() => void);

class BareLoop {
  readonly queue = new EventQueue<BareEvent>();
  /** In graph order. */
  readonly nodes: BareNode[] = [];
  readonly results: Array<Json | undefined>;
  /** The latest delivery time handed out per directed edge (CSR slot), for FIFO. */
  readonly lastDelivery: Float64Array;
  clock = 0;
  messages = 0;
  events = 0;

  constructor(
    readonly graph: SimGraph,
    readonly algorithm: Algorithm,
    readonly params: unknown,
    readonly random: Random,
  ) {
    this.results = new Array(graph.ids.length);
    this.lastDelivery = new Float64Array(graph.targets.length).fill(-Infinity);
  }

  run(): void {
    const { queue } = this;
    for (const node of this.nodes) queue.push(0, node);
    while (queue.size > 0) {
      this.clock = queue.nextTime;
      const event = queue.pop()!;
      this.events += 1;
      if (event instanceof BareNode) void this.algorithm.init?.(event as unknown as Node<unknown, unknown>);
      else if (typeof event === 'function') event();
      else void this.algorithm.onMessage!(event.target as unknown as Node<unknown, unknown>, event);
    }
  }
}

/** A node as the algorithm sees it, and the least behind it. */
class BareNode {
  readonly state: unknown;
  /** Its neighbours' CSR slots by id: the one lookup a send makes. */
  private readonly slots = new Map<string, number>();

  constructor(
    private readonly loop: BareLoop,
    readonly index: number,
    readonly id: string,
    readonly neighbours: readonly Neighbour[],
  ) {
    const { graph, algorithm, params } = loop;
    for (let k = graph.offsets[index]!; k < graph.offsets[index + 1]!; k++) this.slots.set(graph.ids[graph.targets[k]!]!, k);
    this.state = algorithm.state?.({ id, neighbours, size: graph.ids.length, params } as never);
  }

  get size(): number {
    return this.loop.graph.ids.length;
  }

  get params(): unknown {
    return this.loop.params;
  }

  send(to: string, payload: Json): Promise<void> {
    const loop = this.loop;
    const slot = this.slots.get(to);
    if (slot === undefined) throw new Error(`node ${this.id} cannot send to ${to}: not a neighbour`);
    let at = loop.clock - Math.log(1 - loop.random.next());
    if (loop.lastDelivery[slot]! > at) at = loop.lastDelivery[slot]!;
    loop.lastDelivery[slot] = at;
    loop.messages += 1;
    loop.queue.push(at, { from: this.id, payload, target: loop.nodes[loop.graph.targets[slot]!]! });
    return SENT;
  }

  now(): number {
    return this.loop.clock;
  }

  setTimer(ms: number, callback: () => void): () => void {
    let cancelled = false;
    this.loop.queue.push(this.loop.clock + Math.max(0, ms), () => cancelled || callback());
    return () => (cancelled = true);
  }

  metric(): void {}

  log(): void {}

  result(value: Json): void {
    this.loop.results[this.index] = value;
  }
}

const SENT = Promise.resolve();

interface CeilingSample {
  readonly algorithm: string;
  readonly nodes: number;
  readonly events: number;
  readonly messages: number;
  /** The loop alone (events run), the fastest of the rounds. */
  readonly loopMs: number;
  readonly messagesPerSecond: number;
  readonly probeEventsPerSecond: number;
  readonly probeSyncEventsPerSecond: number;
  /** messages/s ÷ the probe's events/s: the best ratio any simulator of this plugin could report. */
  readonly ceilingRatio: number;
  readonly verdict: string;
  /** The simulator's event loop on the same graph and seed, the fastest of the rounds, and its ratio to the probe; left out with --bare-only. */
  readonly simulator?: { readonly loopMs: number; readonly messages: number; readonly ratio: number };
}

async function measure(name: string, nodes: number, rounds: number, withSimulator: boolean): Promise<CeilingSample> {
  const algorithm = ALGORITHMS[name]!;
  const { graph } = await loadTopology(`ba:n=${nodes},m=2`, { seed: 1, weights: 'unique' });
  const simGraph = toSimGraph(graph);
  const params = algorithm.params ? algorithm.params.parse({}) : {};
  const before = await probeEventLoop(nodes);
  let best: { loop: BareLoop; ms: number } | undefined;
  let simulator: { loopMs: number; messages: number } | undefined;
  for (let round = 0; round < rounds; round++) {
    if (withSimulator) {
      const outcome = await simulate({ graph: simGraph, seed: 1, maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES, algorithm, params: {} });
      if (outcome.endReason !== 'complete') throw new Error(`the simulator's run of ${name} ended ${outcome.endReason}`);
      if (!simulator || outcome.wallMs < simulator.loopMs) simulator = { loopMs: outcome.wallMs, messages: outcome.messages };
    }
    const loop = new BareLoop(simGraph, algorithm, params, createRandom(1, 'ceiling'));
    simGraph.ids.forEach((id, index) => loop.nodes.push(new BareNode(loop, index, id, neighboursAt(simGraph, index))));
    const began = performance.now();
    loop.run();
    const ms = performance.now() - began;
    if (!best || ms < best.ms) best = { loop, ms };
  }
  // As bench sim does: probed again after the runs, the faster kept.
  const probe = fastestProbe(before, await probeEventLoop(nodes));
  const { loop, ms } = best!;
  const results = new Map(simGraph.ids.map((id, index) => [id, loop.results[index]]));
  const verdict = oracleFor(name)!({ graph, results, params: params as Record<string, unknown> });
  if (!verdict.passed) throw new Error(`the bare loop got ${name} wrong: ${verdict.summary}`);
  const messagesPerSecond = loop.messages / (ms / 1000);
  return {
    algorithm: name,
    nodes,
    events: loop.events,
    messages: loop.messages,
    loopMs: ms,
    messagesPerSecond,
    probeEventsPerSecond: probe.eventsPerSecond,
    probeSyncEventsPerSecond: probe.syncEventsPerSecond,
    ceilingRatio: messagesPerSecond / probe.eventsPerSecond,
    verdict: verdict.summary,
    ...(simulator && { simulator: { ...simulator, ratio: simulator.messages / (simulator.loopMs / 1000) / probe.eventsPerSecond } }),
  };
}

const { values } = parseArgs({
  options: {
    algorithm: { type: 'string', default: 'ghs' },
    nodes: { type: 'string', default: '10000,100000' },
    rounds: { type: 'string', default: '3' },
    'bare-only': { type: 'boolean', default: false },
  },
});
if (!Object.hasOwn(ALGORITHMS, values.algorithm)) {
  console.error(`--algorithm ${values.algorithm}: the bare loop supports the SDK calls of ${Object.keys(ALGORITHMS).join(' and ')} only; take one of them`);
  process.exit(1);
}
const samples: CeilingSample[] = [];
for (const nodes of values.nodes.split(',').map(Number)) samples.push(await measure(values.algorithm, nodes, Number(values.rounds), !values['bare-only']));
console.log(JSON.stringify({ schema: 'peerlab.scripts.algorithm-ceiling/1', samples }, null, 2));
