/**
 * What the two container runtimes, Docker's (docker.ts) and the Swarm's (swarm.ts), do alike through the Engine
 * API: stop a node's container, find it again after a move, read its state and its log, and remove any object of
 * a run (container, network, service, config) that another remover may have taken first.
 */
import { dockerMessage } from '../docker/engine.js';
import type { NodeState } from './types.js';

/**
 * How long a stopped node has to leave gracefully (mark its registration as leaving, revoke its lease) before the
 * engine kills it. A leave is two etcd calls; on a host loaded by a 100-node churn run they took over 2 s, and a
 * node killed mid-leave keeps its registration until its lease runs out, a crash in the registry's eyes.
 */
export const STOP_GRACE_SECONDS = 10;

/**
 * Runs `act` on the container a runtime remembers serving a node. Another process (`peerlab migrate`) may have
 * moved the node since and removed that container: on the engine's 404 the runtime forgets it, finds the node's
 * container anew and acts once more.
 */
export async function actOnServingContainer<C, T>(find: () => Promise<C>, forget: () => void, act: (container: C) => Promise<T>): Promise<T> {
  try {
    return await act(await find());
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
    forget();
    return act(await find());
  }
}

/** Awaits a removal, taking an object already gone (404), or already being removed (409), as removed. */
export async function ignoreMissing(action: Promise<unknown>): Promise<void> {
  try {
    await action;
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404 || status === 409) return;
    // A Swarm manager answers 500 "network … not found" when another remover took the overlay a moment before
    // (the run's own teardown and an interrupt's sweep overlap): gone is gone, whatever the status says.
    if (status === 500 && /\bnot found\b/i.test(dockerMessage(error))) return;
    throw error;
  }
}

export function toNodeState(state: string): NodeState {
  switch (state) {
    case 'created':
    case 'running':
    case 'paused':
    case 'exited':
    case 'dead':
      return state;
    default:
      return 'missing';
  }
}

/** Docker multiplexes stdout and stderr of a non-TTY container into 8-byte-headed frames. */
export function demultiplex(buffer: Buffer): string {
  const parts: string[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    parts.push(buffer.subarray(offset + 8, offset + 8 + size).toString('utf8'));
    offset += 8 + size;
  }
  return parts.join('');
}
