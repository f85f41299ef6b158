import type { Json, Node } from 'peerlab';

/**
 * A node that wants `units` of its host's capacity until `endMs` on the run's clock (`node.demand`), then wants
 * nothing and reports `report`. Called from `init`, and from `restore` after a move: a demand is its process's,
 * and the old host's timer does not follow it.
 */
export function demandUntil(node: Node<unknown, unknown>, units: number, endMs: number, report: Json): void {
  node.demand(units);
  node.setTimer(Math.max(0, endMs - node.now()), () => {
    node.demand(0);
    node.result(report);
  });
}
