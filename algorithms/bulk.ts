/**
 * Bulk transfer: the source sends `megabytes` to each of its neighbours in turn, in chunks of `chunkBytes`. It
 * keeps a few sends in flight and awaits the oldest before the next, so it keeps to the link's pace instead of
 * queueing megabytes in its own memory. (Awaiting each send would leave the link idle from the moment a chunk is
 * on it until the sender has heard so and made the next: at 100 Mbit/s a 64 kB chunk takes 5 ms, and hearing
 * can take a millisecond.) Each neighbour counts what arrives and, once it has everything,
 * reports the throughput it saw. Like iperf's --omit, the first tenth of the transfer is not timed: the start
 * (TCP's slow start, the first large messages through a fresh agent) is not the link's rate.
 * The oracle checks that every byte arrived, and that each edge with a `rate` measured it within ±10 %.
 */
import { defineAlgorithm, nodeId, z, type Node } from 'peerlab';

type Params = { source: string; megabytes: number; chunkBytes: number };
interface State {
  receivedBytes: number;
  /** When the untimed first tenth had arrived, and how many bytes that was. */
  timedFrom?: { at: number; bytes: number };
}

const SENDS_IN_FLIGHT = 4;

export default defineAlgorithm({
  name: 'bulk',
  description: "One node sends a bulk transfer to each neighbour in turn; each reports the throughput it saw (bit/s).",
  params: z.object({
    source: nodeId().default('0').describe('the node that sends'),
    megabytes: z.number().positive().default(2).describe('megabytes (10^6 bytes) sent to each neighbour'),
    chunkBytes: z.number().int().min(16).default(16_000).describe('bytes per message'),
  }),
  state: (): State => ({ receivedBytes: 0 }),

  async init(node) {
    if (node.id !== node.params.source) {
      // Only the source's neighbours receive anything.
      if (!node.neighbours.some(({ id }) => id === node.params.source)) node.result({});
      return;
    }
    // A JSON string of n characters is n + 2 bytes on the wire: each chunk is exactly chunkBytes.
    const chunk = 'x'.repeat(node.params.chunkBytes - 2);
    const sentBytes: Record<string, number> = {};
    for (const { id } of node.neighbours) {
      const inFlight: Array<Promise<void>> = [];
      for (let sent = 0; sent < chunksPerNeighbour(node.params); sent++) {
        inFlight.push(node.send(id, chunk));
        if (inFlight.length >= SENDS_IN_FLIGHT) await inFlight.shift();
      }
      await Promise.all(inFlight);
      sentBytes[id] = transferBytes(node.params);
    }
    node.result({ sentBytes });
  },

  onMessage(node, { payload }) {
    node.state.receivedBytes += JSON.stringify(payload).length;
    if (!node.state.timedFrom && node.state.receivedBytes >= untimedBytes(node.params)) node.state.timedFrom = { at: node.now(), bytes: node.state.receivedBytes };
    if (node.state.receivedBytes === transferBytes(node.params)) report(node);
  },
});

function chunksPerNeighbour(params: Params): number {
  return Math.ceil((params.megabytes * 1e6) / params.chunkBytes);
}

function transferBytes(params: Params): number {
  return chunksPerNeighbour(params) * params.chunkBytes;
}

/** The first tenth of the transfer in whole chunks, at least the first chunk: its arrival starts the clock. */
function untimedBytes(params: Params): number {
  return Math.max(1, Math.floor(chunksPerNeighbour(params) / 10)) * params.chunkBytes;
}

function report(node: Node<Params, State>): void {
  const { timedFrom, receivedBytes } = node.state;
  const seconds = (node.now() - timedFrom!.at) / 1000;
  node.result({ receivedBytes, throughputBps: seconds > 0 ? ((receivedBytes - timedFrom!.bytes) * 8) / seconds : null });
}
