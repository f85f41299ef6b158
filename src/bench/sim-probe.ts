/**
 * The bare event loop `bench sim` measures the simulator against: the simulator's own agenda (EventQueue, a
 * binary heap on (time, sequence)) holding one pending event per node, and the Settler's wait after every event,
 * but no algorithm, no host and no messages. It is the classic "hold" model: each event, handled by doing
 * nothing, schedules one more at an exponential delay for a random node, so the heap stays N deep. Its events/s
 * are the reference, the limit of a loop that waits out every event's microtasks, measured in the same
 * invocation, so `messages/s ÷ probe events/s` is a ratio that holds on any machine. The simulator itself now
 * waits only after an event whose code queued something (settle.ts), so the loop without the wait
 * (`syncEventsPerSecond`, the heap alone) is reported beside it: the stricter reference.
 */
import { EventQueue } from '../runtime/sim/event-queue.js';
import { Settler } from '../runtime/sim/settle.js';
import { createRandom } from '../util/random.js';

export interface ProbeResult {
  readonly nodes: number;
  readonly events: number;
  /** The settled loop's time over `events`: the fastest of PROBE_REPEATS runs (of every probe merged: see fastestProbe). */
  readonly wallMs: number;
  readonly eventsPerSecond: number;
  /** The same loop without the Settler's wait: what the heap alone sustains, for comparison. */
  readonly syncEventsPerSecond: number;
  /**
   * The settled loop's events/s in each probe taken at this N, in the order taken (see fastestProbe): how far
   * apart they are says how steady the machine was.
   */
  readonly eachEventsPerSecond: readonly number[];
}

/**
 * Enough events that the heap's depth, not the start, dominates, and that the timed loop runs for a second or so:
 * at 200,000 events (a fifth of a second) the probe measured 1.2–1.5 M events/s at 10⁵ nodes where a longer one
 * measures 2 M, and moved by half from one invocation to the next.
 */
export function probeEvents(nodes: number): number {
  return Math.max(2_000_000, 2 * nodes);
}

/**
 * Each loop is timed this many times and the fastest kept: the first run in a process is partly V8's interpreter's
 * and baseline compiler's (at 10⁵ nodes 1.4–1.6 M events/s where later runs reach 1.9–2.1 M, even after 200,000
 * untimed events), and the baseline is the fastest the bare loop honestly runs, or the ratio flatters the simulator.
 */
export const PROBE_REPEATS = 3;

export async function probeEventLoop(nodes: number, events = probeEvents(nodes)): Promise<ProbeResult> {
  const random = createRandom(1, 'bench-sim-probe');
  const fill = (): EventQueue<number> => {
    const queue = new EventQueue<number>();
    for (let node = 0; node < nodes; node++) queue.push(-Math.log(1 - random.next()), node);
    return queue;
  };
  const hold = (queue: EventQueue<number>): void => {
    const time = queue.nextTime;
    queue.pop();
    queue.push(time - Math.log(1 - random.next()), Math.floor(random.next() * nodes));
  };
  /** `count` events, each settled before the next, as the simulator settles an event whose code queued something. */
  const settledHolds = (queue: EventQueue<number>, count: number): Promise<void> =>
    new Promise<void>((done) => {
      let held = 0;
      const turn = (): void => {
        if (held === count) return done();
        held += 1;
        hold(queue);
        settler.after(held);
      };
      const settler = new Settler(turn);
      turn();
    });
  const holds = (queue: EventQueue<number>, count: number): void => {
    for (let held = 1; held <= count; held++) hold(queue);
  };

  /** The fastest of PROBE_REPEATS runs of `loop`, each on a freshly filled queue, in ms. */
  const fastest = async (loop: (queue: EventQueue<number>) => void | Promise<void>): Promise<number> => {
    let best = Infinity;
    for (let repeat = 0; repeat < PROBE_REPEATS; repeat++) {
      const queue = fill();
      const began = performance.now();
      await loop(queue);
      best = Math.min(best, performance.now() - began);
    }
    return best;
  };

  const wallMs = await fastest((queue) => settledHolds(queue, events));
  const syncMs = await fastest((queue) => holds(queue, events));
  const eventsPerSecond = events / (wallMs / 1000);
  return { nodes, events, wallMs, eventsPerSecond, syncEventsPerSecond: events / (syncMs / 1000), eachEventsPerSecond: [eventsPerSecond] };
}

/**
 * Two probes at one N as one: each loop's fastest time of both. Probing again later in an invocation gives the bare
 * loop another chance at a quiet moment: at 10⁵ nodes, on a quiet host, one invocation's probe measured 1.35 M
 * events/s where the invocations around it measured 2.38–2.46 M, which halves or doubles the ratio by itself.
 */
export function fastestProbe(first: ProbeResult, second: ProbeResult): ProbeResult {
  if (first.nodes !== second.nodes || first.events !== second.events) throw new RangeError('fastestProbe: probes of different N or length');
  return {
    nodes: first.nodes,
    events: first.events,
    wallMs: Math.min(first.wallMs, second.wallMs),
    eventsPerSecond: Math.max(first.eventsPerSecond, second.eventsPerSecond),
    syncEventsPerSecond: Math.max(first.syncEventsPerSecond, second.syncEventsPerSecond),
    eachEventsPerSecond: [...first.eachEventsPerSecond, ...second.eachEventsPerSecond],
  };
}
