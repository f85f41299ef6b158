/**
 * Round-trip times over the overlay: every node pings each of its neighbours `pings` times and answers every ping
 * it gets with a pong. It reports, per neighbour, the round trips it measured (ms). The oracle compares their
 * median with the link model's d(u→v) + d(v→u).
 *
 * Like `ping -i`, it measures gently. A node has one ping in flight at a time, to its neighbours in turn, and
 * pauses between a pong and its next ping. The pauses keep the whole run at `roundTripsPerSecond`: each directed
 * edge is pinged at roundTripsPerSecond / directedEdges a second, so a node of degree d pauses
 * directedEdges / (d · roundTripsPerSecond) on average. The pause is drawn uniformly between 0 and twice that,
 * so the nodes do not fall into step. A round trip then waits for its links, not for a CPU busy with everyone
 * else's pings. On a two-core host, pinging every edge at once queued messages for longer than the delays being
 * measured: the median excess was 200 ms on ba:n=100. At this pace it was 2.3 ms, and 20 pings an edge keep the
 * odd round trip slowed by the host's other work (a container's timers, etcd) out of each edge's median.
 */
import { defineAlgorithm, z, type GraphDefaults, type Node } from 'peerlab';

type Payload = { ping: number } | { pong: number };
interface State {
  /** Round trips started so far: the next goes to neighbour `started % degree`. */
  started: number;
  /** When the ping in flight left. */
  sentAt: number;
  rttMs: Record<string, number[]>;
}

const params = z.object({
  pings: z.number().int().positive().default(20).describe('round trips measured per edge and direction'),
  roundTripsPerSecond: z.number().positive().default(100).describe('the pace of the whole run: round trips per second, over all nodes'),
  directedEdges: z.number().int().positive().optional().describe("the graph's edges counted in each direction (default from the graph: 2·E)"),
});
type Params = z.output<typeof params>;

export const graphDefaults: GraphDefaults<Params> = ({ graph }) => ({ directedEdges: Math.max(1, 2 * graph.size) });

export default defineAlgorithm({
  name: 'rtt',
  description: 'Every node pings each neighbour K times, at a pace that keeps the host idle enough to measure, and reports per-edge round-trip times.',
  params,
  state: (): State => ({ started: 0, sentAt: 0, rttMs: {} }),

  init(node) {
    if (node.neighbours.length === 0) {
      node.result({ rttMs: {} });
      return;
    }
    for (const { id } of node.neighbours) node.state.rttMs[id] = [];
    pingNextAfterPause(node);
  },

  onMessage(node, { from, payload }) {
    const message = payload as Payload;
    if ('ping' in message) {
      node.send(from, { pong: message.ping });
      return;
    }
    node.state.rttMs[from]!.push(node.now() - node.state.sentAt);
    if (node.state.started < node.neighbours.length * node.params.pings) pingNextAfterPause(node);
    else node.result({ rttMs: node.state.rttMs });
  },
});

function pingNextAfterPause(node: Node<Params, State>): void {
  // `peerlab run` fills in directedEdges from the graph; without it, take every node to have this one's degree.
  const { directedEdges = node.size * node.neighbours.length, roundTripsPerSecond } = node.params;
  const meanPauseMs = (1000 * directedEdges) / (node.neighbours.length * roundTripsPerSecond);
  node.setTimer(node.random.next() * 2 * meanPauseMs, () => {
    const { id } = node.neighbours[node.state.started % node.neighbours.length]!;
    node.state.started += 1;
    node.state.sentAt = node.now();
    node.send(id, { ping: node.state.started });
  });
}
