/**
 * The peerlab algorithm SDK: everything an algorithm file imports, as `import { defineAlgorithm, z } from 'peerlab'`.
 * It knows nothing of Docker, etcd or the simulator; a runtime hands each node a `Node` object.
 */
import { z } from 'zod';
import type { Algorithm, AlgorithmDefinition, Json } from './types.js';

export { z };
export type { Algorithm, AlgorithmDefinition, Check, CheckInput, CheckVerdict, Json, Message, Neighbour, Node, Random, ServiceInstance, ServiceRegistry, SharedStore } from './types.js';

export function defineAlgorithm<Schema extends z.ZodType = z.ZodObject<{}>, State = undefined, Payload extends Json = Json>(
  definition: AlgorithmDefinition<Schema, State, Payload>,
): Algorithm<Schema, State, Payload> {
  if (!definition.onMessage && !definition.run) {
    throw new Error(`algorithm "${definition.name}" needs an onMessage handler, a run function, or both`);
  }
  return { ...definition, kind: 'peerlab.algorithm' };
}
