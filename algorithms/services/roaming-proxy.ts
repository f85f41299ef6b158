/**
 * The proxy of seed 004 (§III.B): the roaming service's point of presence, the only address its clients know.
 * It splices each client's stream to a session of its own with the service, and keeps the table that
 * translates one into the other (the seed's Roaming Network Address Translation Table, for one service):
 *
 *   client → service: open makes a new session for (client, stream); data and close go on in that session
 *   service → client: an answer or a reset of a session goes to the client and stream it translates to
 *
 * Which container serves the service's node id is not the proxy's concern: when the service migrates, the
 * proxy's link to it is turned to the new container by peerlab's move (README, "Migration"), which holds what
 * the proxy sends meanwhile until the service has resumed, as the seed's Interface Controller buffers the
 * packets that arrive during the transfer (§IV.D, step 7).
 */
import { defineAlgorithm, nodeId, z, type Node } from 'peerlab';
import type { ClientMessage, ProxyMessage, ProxyResult, ServiceMessage, SessionMessage } from '../lib/roaming-stream.js';

const params = z.object({ service: nodeId().describe('the roaming service this proxy stands for') });

type Proxy = Node<z.output<typeof params>, ReturnType<typeof newState>, ClientMessage | SessionMessage | ServiceMessage | ProxyMessage>;

function newState() {
  return {
    /** Session k (from 1) is sessions[k − 1]: the client and its stream. */
    sessions: [] as Array<{ client: string; stream: number }>,
    /** The session of each client's stream, by `client/stream`. */
    sessionOf: {} as Record<string, number>,
    toService: 0,
    toClients: 0,
    /** Messages naming a stream or session the table does not have. */
    untranslatable: 0,
  };
}

export default defineAlgorithm({
  name: 'roaming-proxy',
  description: "A roaming service's proxy: splices each client stream to a session with the service, translating between them.",
  params,
  state: newState,

  onMessage(node: Proxy, { from, payload }) {
    if (from === node.params.service) toClient(node, payload as ServiceMessage);
    else toService(node, from, payload as ClientMessage);
  },
});

function toService(node: Proxy, client: string, message: ClientMessage): void {
  const { state } = node;
  const key = `${client}/${message.stream}`;
  if (message.kind === 'open') {
    state.sessions.push({ client, stream: message.stream });
    state.sessionOf[key] = state.sessions.length;
  }
  const session = state.sessionOf[key];
  if (session === undefined) {
    state.untranslatable += 1;
    return;
  }
  state.toService += 1;
  const translated: SessionMessage =
    message.kind === 'data' ? { kind: 'data', session, seq: message.seq } : message.kind === 'open' ? { kind: 'open', session, from: message.from } : { kind: 'close', session };
  void node.send(node.params.service, translated);
  if (message.kind === 'close') {
    const result: ProxyResult = { sessions: state.sessions, toService: state.toService, toClients: state.toClients, untranslatable: state.untranslatable };
    node.result(result);
  }
}

function toClient(node: Proxy, message: ServiceMessage): void {
  const { state } = node;
  const entry = state.sessions[message.session - 1];
  if (!entry) {
    state.untranslatable += 1;
    return;
  }
  state.toClients += 1;
  const translated: ProxyMessage =
    message.kind === 'answer' ? { kind: 'answer', stream: entry.stream, seq: message.seq, serviceSeq: message.serviceSeq } : { kind: 'reset', stream: entry.stream };
  void node.send(entry.client, translated);
}
