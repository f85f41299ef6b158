/**
 * A client of seed 004's roaming service (its Remote System, §III): keeps one long-lived stream to the service
 * through the proxy, the only address it knows, and sends numbered requests at a steady rate.
 *
 *   send:      request 1, 2, 3, … every 1000 / rate ms until durationMs, each answered once and in order
 *   answer:    the next answer of the current stream is taken, with its round trip (first send to answer) and
 *              the service's count; any other (a gap, a duplicate, a reordering) is recorded as an error
 *   reconnect: as an application does on a connection that broke, when the service resets the stream (it lost
 *              it) or no answer came for timeoutMs: open the next stream from the first unanswered request and
 *              send every unanswered request again on it, each keeping its first send time
 *   report:    once every request is answered: close the stream (the proxy and the service then report) and
 *              report each request's record, the reconnects and the errors
 */
import { defineAlgorithm, nodeId, z, type Node } from 'peerlab';
import type { ClientMessage, ClientResult, ProxyMessage, ReconnectCause, RequestRecord, Reconnect } from '../lib/roaming-stream.js';

const params = z.object({
  proxy: nodeId().describe("the service's proxy, the only node the client talks to"),
  rate: z.number().positive().default(50).describe('requests per second'),
  durationMs: z.number().positive().default(20_000).describe('how long the client sends requests'),
  timeoutMs: z.number().positive().default(2_000).describe('no answer for this long and the client reconnects'),
});

type Client = Node<z.output<typeof params>, ReturnType<typeof newState>, ClientMessage | ProxyMessage>;

function newState() {
  return {
    stream: 1,
    /** The next request to send; every one before it was sent. */
    next: 1,
    /** Every request up to this one was answered. */
    answered: 0,
    /** When each unanswered request was first sent. */
    sentAt: {} as Record<string, number>,
    /** When the client last heard from the stream or opened it: the timeout counts from then. */
    heardAt: 0,
    /** Ticks so far: tick k is due at k / rate seconds, so that the rate holds whatever each tick costs. */
    ticks: 0,
    records: [] as RequestRecord[],
    reconnects: [] as Reconnect[],
    errors: [] as string[],
    done: false,
  };
}

const MAX_ERRORS = 20;

export default defineAlgorithm({
  name: 'roaming-client',
  description: "A client of a roaming service: one long-lived stream of numbered requests through the service's proxy.",
  params,
  state: newState,

  init(node: Client) {
    void node.send(node.params.proxy, { kind: 'open', stream: 1, from: 1 });
    tick(node);
  },

  onMessage(node: Client, { payload }) {
    const message = payload as ProxyMessage;
    const { state } = node;
    // What still comes on a stream the client gave up is not part of the stream it now reads.
    if (message.stream !== state.stream || state.done) return;
    if (message.kind === 'reset') return reconnect(node, 'reset');
    state.heardAt = node.now();
    if (message.seq !== state.answered + 1) {
      if (state.errors.length < MAX_ERRORS) state.errors.push(`stream ${state.stream}: answer ${message.seq} came when ${state.answered + 1} was due`);
      return;
    }
    state.answered = message.seq;
    state.records.push([message.seq, state.sentAt[message.seq]!, node.now(), message.serviceSeq]);
    delete state.sentAt[message.seq];
    if (node.now() >= node.params.durationMs && state.answered === state.next - 1) finish(node);
  },
});

/** Sends the next request while the stream lasts, and reconnects when the oldest unanswered one waited too long. */
function tick(node: Client): void {
  const { state, params } = node;
  if (state.done) return;
  if (node.now() < params.durationMs) {
    state.sentAt[state.next] = node.now();
    void node.send(params.proxy, { kind: 'data', stream: state.stream, seq: state.next++ });
  } else if (state.answered === state.next - 1) {
    return finish(node);
  }
  const oldest = state.sentAt[state.answered + 1];
  if (oldest !== undefined && node.now() - Math.max(oldest, state.heardAt) >= params.timeoutMs) reconnect(node, 'timeout');
  state.ticks += 1;
  node.setTimer(Math.max(0, (state.ticks * 1000) / params.rate - node.now()), () => tick(node));
}

/** Opens the next stream from the first unanswered request and sends every unanswered one again. */
function reconnect(node: Client, cause: ReconnectCause): void {
  const { state, params } = node;
  state.stream += 1;
  state.heardAt = node.now();
  const from = state.answered + 1;
  state.reconnects.push({ at: node.now(), cause, stream: state.stream, from, resent: state.next - from });
  void node.send(params.proxy, { kind: 'open', stream: state.stream, from });
  for (let seq = from; seq < state.next; seq++) void node.send(params.proxy, { kind: 'data', stream: state.stream, seq });
}

function finish(node: Client): void {
  const { state } = node;
  state.done = true;
  void node.send(node.params.proxy, { kind: 'close', stream: state.stream });
  node.metric('reconnects', state.reconnects.length);
  const result: ClientResult = { sent: state.next - 1, records: state.records, reconnects: state.reconnects, errors: state.errors };
  node.result(result);
}
