/**
 * Round-trip times over the overlay: every node pings each neighbour `pings` times, one ping at a time per
 * neighbour, and answers every ping it gets with a pong. It reports, per neighbour, the round trips it measured
 * (ms). The oracle compares their median with the link model's d(u→v) + d(v→u).
 */
import { defineAlgorithm, z, type Node } from 'peerlab';

type Payload = { ping: number } | { pong: number };
interface State {
  /** When the ping in flight to each neighbour left. */
  sentAt: Map<string, number>;
  rttMs: Record<string, number[]>;
  /** Neighbours measured `pings` times. */
  finished: number;
}

export default defineAlgorithm({
  name: 'rtt',
  description: 'Every node pings each neighbour K times and reports per-edge round-trip times.',
  params: z.object({
    pings: z.number().int().positive().default(10).describe('round trips measured per edge and direction'),
  }),
  state: (): State => ({ sentAt: new Map(), rttMs: {}, finished: 0 }),

  init(node) {
    if (node.neighbours.length === 0) node.result({ rttMs: {} });
    for (const { id } of node.neighbours) {
      node.state.rttMs[id] = [];
      ping(node, id);
    }
  },

  onMessage(node, { from, payload }) {
    const message = payload as Payload;
    if ('ping' in message) {
      node.send(from, { pong: message.ping });
      return;
    }
    const samples = node.state.rttMs[from]!;
    samples.push(node.now() - node.state.sentAt.get(from)!);
    if (samples.length < node.params.pings) ping(node, from);
    else if (++node.state.finished === node.neighbours.length) node.result({ rttMs: node.state.rttMs });
  },
});

function ping(node: Node<{ pings: number }, State>, to: string): void {
  node.state.sentAt.set(to, node.now());
  node.send(to, { ping: node.state.rttMs[to]!.length });
}
