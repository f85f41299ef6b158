/**
 * Flooding: the root sends a token to all its neighbours; a node that hears it for the first time records the
 * hop count and the sender as its parent, reports them, and passes the token on. With FIFO edges and equal
 * delays the parents form a BFS tree; in general the hop counts are those of the first token to arrive, so the
 * oracle checks BFS distances only where delivery is synchronous and checks a valid parent chain always.
 * Each node also reports when it first heard the token (node time), which on shaped links is its shortest-delay
 * distance from the root.
 */
import { defineAlgorithm, nodeId, z, type GraphDefaults } from 'peerlab';

const params = z.object({
  root: nodeId().default('0').describe('the node that starts the flood (default 0, or the first node no fault removes at the start)'),
});

/** A fault that removes node 0 at the start (`at=0s kill top-degree:5` on a BA graph takes it) moves the default root to the first node still there. */
export const graphDefaults: GraphDefaults<z.output<typeof params>> = ({ graph, params: { root }, removedAtStart }) =>
  removedAtStart.has(root) ? { root: graph.nodes().find((id) => !removedAtStart.has(id)) } : {};

export default defineAlgorithm({
  name: 'flood',
  description: 'One node floods a token; every node reports its hop distance and parent.',
  params,
  state: () => ({ reached: false }),

  init(node) {
    if (node.id !== node.params.root) return;
    node.state.reached = true;
    node.result({ distance: 0, parent: null, time: node.now() });
    for (const neighbour of node.neighbours) node.send(neighbour.id, { hops: 1 });
  },

  onMessage(node, { from, payload }) {
    if (node.state.reached) return;
    node.state.reached = true;
    const { hops } = payload as { hops: number };
    node.result({ distance: hops, parent: from, time: node.now() });
    for (const neighbour of node.neighbours) {
      if (neighbour.id !== from) node.send(neighbour.id, { hops: hops + 1 });
    }
  },
});
