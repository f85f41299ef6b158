/**
 * The peerlab algorithm SDK: everything an algorithm file imports, as `import { defineAlgorithm, z } from 'peerlab'`.
 * It knows nothing of Docker, etcd or the simulator; a runtime hands each node a `Node` object.
 */
import { z } from 'zod';
import type { Algorithm, AlgorithmDefinition, Json } from './types.js';

export { z };
export type { Algorithm, AlgorithmDefinition, Check, CheckInput, CheckVerdict, GraphDefaults, GraphDefaultsInput, DownReason, Election, HeldLock, Json, Message, Neighbour, Node, Random, ServiceInstance, ServiceRegistry, SharedStore } from './types.js';

/** The schema metadata that marks a parameter as a node id (read by the CLI through zod's JSON Schema export). */
export const NODE_ID_META = 'node-id';

/**
 * A parameter that names a node, e.g. `root: nodeId().default('0')`. Node ids are strings; the CLI checks the
 * value against the topology before any node starts, so `--param root=500` on ten nodes is refused at once.
 * Works inside `z.array(nodeId())` too.
 */
export function nodeId(): z.ZodString {
  return z.string().meta({ peerlab: NODE_ID_META });
}

export function defineAlgorithm<Schema extends z.ZodType = z.ZodObject<{}>, State = undefined, Payload extends Json = Json>(
  definition: AlgorithmDefinition<Schema, State, Payload>,
): Algorithm<Schema, State, Payload> {
  if (!definition.onMessage && !definition.run) {
    throw new Error(`algorithm "${definition.name}" has neither onMessage nor run: give it onMessage(node, message), run(node), or both`);
  }
  return { ...definition, kind: 'peerlab.algorithm' };
}

export { definePolicy, groupedByHost, loadOn } from './placement.js';
export type { Placement, PlacementHost, PlacementInput, PlacementNode, PlacementPolicy, RequestSample, UtilitySample } from './placement.js';
