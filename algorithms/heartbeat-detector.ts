/**
 * A heartbeat failure detector on the overlay: the eventually perfect detector ◇P of Chandra and Toueg
 * ("Unreliable failure detectors for reliable distributed systems", JACM 43(2), 1996), with the adaptive
 * timeout of their partially synchronous construction. Each node watches its neighbours only.
 *
 *   every beat:                  send "beat" to every neighbour
 *   on a beat from q:            last[q] ← now
 *                                if q ∈ suspected and q is still a neighbour:
 *                                  suspected ← suspected \ {q};  timeout[q] ← timeout[q] + beat
 *                                  (a false suspicion: be more patient with q from now on; a beat from a q the
 *                                  registry said is gone was sent before it went, and clears nothing)
 *   every beat, for q ∉ suspected:  if now − last[q] > timeout[q]: suspected ← suspected ∪ {q}
 *   on neighbour q down:         the run's registry says q is gone (it left, or its lease ran out): it
 *                                is no longer a neighbour, so no more beats go to it; suspect it if not yet
 *                                (a node that leaves gracefully is gone before its silence gives it away)
 *   on neighbour q up:           q joined (or came back): last[q] ← now; timeout[q] ← the first timeout
 *                                unless known; q ∉ suspected (it is there, whatever it was before)
 *   after durationMs:            report suspected, every suspicion with when q was last heard, the
 *                                false suspicions taken back, and the longest gap between two checks
 *
 * The check (below) holds the run to ◇P's two properties at the end of the run: strong completeness (every
 * node that crashed or left is suspected by every surviving neighbour) and eventual strong accuracy (no survivor suspects a
 * survivor), and measures the detector: time to detect (from the last beat heard from the crashed node to the
 * suspicion) and false suspicions. A suspicion must come at the first check after the timeout ran out, so it
 * comes at most one check gap after it. The gap is a beat in the simulator, but in a container a timer can fire
 * late on a busy host, so each node reports the longest gap it really had and the check holds it to that.
 */
import { defineAlgorithm, z, type Check, type Node } from 'peerlab';

const params = z.object({
  beatMs: z.number().int().positive().default(200).describe('how often a node sends a heartbeat, and checks its neighbours'),
  suspectAfterMs: z.number().int().positive().default(1_000).describe('the first timeout: silence longer than this makes a neighbour suspected'),
  durationMs: z.number().int().positive().default(10_000).describe('how long the nodes watch before they report'),
});
type Params = z.output<typeof params>;

type Suspicion = {
  node: string;
  at: number;
  /** When this node last heard from the suspected one (0: never, since the start). */
  lastHeard: number;
  /** The timeout that ran out. */
  timeout: number;
  /** When the suspicion was taken back (a beat came after all), or null. */
  cleared: number | null;
};

type Result = {
  /** The neighbours suspected at the end, sorted. */
  suspected: string[];
  suspicions: Suspicion[];
  /** Neighbours the registry reported down: [node, time, reason]. */
  down: Array<[string, number, string]>;
  /** The longest time between two checks of the neighbours (a beat, plus however late the timer fired). */
  longestCheckGapMs: number;
};

/** One node's variables: per neighbour, when it was last heard and its timeout; what it suspects and suspected. */
interface State {
  last: Map<string, number>;
  timeout: Map<string, number>;
  suspected: Map<string, Suspicion>;
  suspicions: Suspicion[];
  down: Array<[string, number, string]>;
  lastCheck: number;
  longestCheckGapMs: number;
}

export default defineAlgorithm({
  name: 'heartbeat-detector',
  description: 'a heartbeat failure detector (◇P) with adaptive timeouts; its check measures time to detect and false suspicions',
  params,
  state: ({ neighbours, params: { suspectAfterMs } }): State => ({
    last: new Map(neighbours.map(({ id }) => [id, 0])),
    timeout: new Map(neighbours.map(({ id }) => [id, suspectAfterMs])),
    suspected: new Map(),
    suspicions: [],
    down: [],
    lastCheck: 0,
    longestCheckGapMs: 0,
  }),

  init(node) {
    const { beatMs, durationMs } = node.params;
    const tick = (): void => {
      if (node.now() >= durationMs) return report();
      node.state.longestCheckGapMs = Math.max(node.state.longestCheckGapMs, node.now() - node.state.lastCheck);
      node.state.lastCheck = node.now();
      for (const { id } of node.neighbours) void node.send(id, 'beat');
      for (const { id } of node.neighbours) {
        const silentFor = node.now() - node.state.last.get(id)!;
        if (!node.state.suspected.has(id) && silentFor > node.state.timeout.get(id)!) suspect(node, id, `silent for ${silentFor} ms`);
      }
      node.setTimer(beatMs, tick);
    };
    const report = (): void => {
      const { suspected, suspicions, down, longestCheckGapMs } = node.state;
      node.metric('suspicions', suspicions.length);
      node.result({ suspected: [...suspected.keys()].sort(), suspicions, down, longestCheckGapMs } satisfies Result);
    };
    // A node that joined mid-run starts hearing its neighbours now, not at the run's time 0.
    for (const { id } of node.neighbours) node.state.last.set(id, node.now());
    node.state.lastCheck = node.now();
    tick();
  },

  onMessage(node, { from }) {
    const { last, timeout, suspected } = node.state;
    last.set(from, node.now());
    const suspicion = suspected.get(from);
    if (!suspicion || !node.neighbours.some(({ id }) => id === from)) return;
    suspected.delete(from);
    suspicion.cleared = node.now();
    timeout.set(from, timeout.get(from)! + node.params.beatMs);
    node.log(`was wrong about ${from}; its timeout is now ${timeout.get(from)} ms`);
  },

  onNeighbourUp(node, { id }) {
    const { last, timeout, suspected } = node.state;
    last.set(id, node.now());
    if (!timeout.has(id)) timeout.set(id, node.params.suspectAfterMs);
    suspected.delete(id);
  },

  onNeighbourDown(node, id, reason) {
    node.state.down.push([id, node.now(), reason]);
    if (!node.state.suspected.has(id)) suspect(node, id, `the registry says it is down (${reason})`);
  },
});

function suspect(node: Node<Params, State>, id: string, why: string): void {
  const { last, timeout, suspected, suspicions } = node.state;
  const suspicion: Suspicion = { node: id, at: node.now(), lastHeard: last.get(id)!, timeout: timeout.get(id)!, cleared: null };
  suspected.set(id, suspicion);
  suspicions.push(suspicion);
  node.log(`suspects ${id}: ${why}`);
}

export const check: Check<Params, Result> = ({ graph, results }) => {
  const alive = (id: string): boolean => results.get(id) !== undefined;
  const crashed = graph.nodes().filter((id) => !alive(id));
  const failures: string[] = [];
  const detectMs: number[] = [];
  let falseSuspicions = 0;
  let longestCheckGapMs = 0;
  for (const id of graph.nodes().filter(alive)) {
    const result = results.get(id)!;
    const suspected = new Set(result.suspected);
    longestCheckGapMs = Math.max(longestCheckGapMs, result.longestCheckGapMs);
    for (const neighbour of graph.neighbors(id)) {
      if (!alive(neighbour) && !suspected.has(neighbour)) failures.push(`node ${id} does not suspect ${neighbour}, which is gone`);
      if (alive(neighbour) && suspected.has(neighbour)) failures.push(`node ${id} still suspects ${neighbour}, which is alive`);
    }
    for (const suspicion of result.suspicions) {
      if (alive(suspicion.node)) {
        falseSuspicions += 1;
        continue;
      }
      // The check before the suspicion found the timeout not yet run out, so the suspicion is at most one gap late.
      const took = suspicion.at - suspicion.lastHeard;
      detectMs.push(took);
      if (took > suspicion.timeout + result.longestCheckGapMs) {
        failures.push(`node ${id} took ${took} ms to suspect ${suspicion.node}, over its timeout ${suspicion.timeout} ms and its longest gap between checks (${result.longestCheckGapMs} ms)`);
      }
    }
  }
  const mean = detectMs.length > 0 ? detectMs.reduce((sum, ms) => sum + ms, 0) / detectMs.length : 0;
  return {
    passed: failures.length === 0,
    summary:
      failures.length === 0
        ? `${crashed.length} node(s) that crashed or left suspected by every surviving neighbour${detectMs.length > 0 ? ` within ${Math.round(Math.max(...detectMs))} ms of their last beat (mean ${Math.round(mean)} ms)` : ''}; ${falseSuspicions} false suspicion(s), all taken back`
        : failures[0]!,
    metrics: { crashed: crashed.length, detections: detectMs.length, maxDetectMs: detectMs.length > 0 ? Math.max(...detectMs) : 0, meanDetectMs: mean, falseSuspicions, longestCheckGapMs },
    failures,
    expected: crashed,
  };
};
