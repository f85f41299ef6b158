/**
 * The roaming service of seed 004 (its Guest Application acting as a server, §III.B): answers each request of a
 * session, in order, with its own count of answers, and moves between hosts with its state (its sessions and
 * that count), as the seed's Interface Controller freezes the application and transfers its image (§IV.D).
 *
 *   open:    the proxy opens a session that starts at request `from` (a client's new stream)
 *   data:    the next request of a session is answered as the service's next answer; one out of order is
 *            recorded (a gap, a duplicate or a reordering), not answered; one of a session it does not know
 *            (it lost its state in a restart) is answered with a reset, as TCP answers a stray segment with RST
 *   close:   the session is over: the service reports
 *   restore: on the new container of a migration, the state the old one had: the count goes on from there
 */
import { defineAlgorithm, z, type Node } from 'peerlab';
import type { ServiceMessage, ServiceResult, SessionMessage } from '../lib/roaming-stream.js';

type Service = Node<Record<string, never>, ReturnType<typeof newState>, SessionMessage | ServiceMessage>;

function newState() {
  return {
    /** The next request each open session owes, by session. */
    expected: {} as Record<string, number>,
    answered: 0,
    opened: 0,
    resets: 0,
    restoredAt: [] as number[],
    errors: [] as string[],
  };
}

/** A service whose stream goes wrong keeps the first few errors: enough to say what, not a log. */
const MAX_ERRORS = 20;

export default defineAlgorithm({
  name: 'roaming-service',
  description: 'A roaming service: answers each request of a session in order with its own count, and carries its state across moves.',
  params: z.object({}),
  state: newState,

  onMessage(node: Service, { from, payload }) {
    const message = payload as SessionMessage;
    const { state } = node;
    const session = String(message.session);
    if (message.kind === 'open') {
      state.expected[session] = message.from;
      state.opened += 1;
      return;
    }
    if (message.kind === 'close') {
      delete state.expected[session];
      const result: ServiceResult = { answered: state.answered, opened: state.opened, resets: state.resets, restoredAt: state.restoredAt, errors: state.errors };
      node.metric('answered', state.answered);
      node.result(result);
      return;
    }
    const expected = state.expected[session];
    if (expected === undefined) {
      state.resets += 1;
      void node.send(from, { kind: 'reset', session: message.session });
      return;
    }
    if (message.seq !== expected) {
      if (state.errors.length < MAX_ERRORS) state.errors.push(`session ${session}: request ${message.seq} came when ${expected} was due`);
      return;
    }
    state.expected[session] = expected + 1;
    state.answered += 1;
    void node.send(from, { kind: 'answer', session: message.session, seq: message.seq, serviceSeq: state.answered });
  },

  restore(node: Service, saved) {
    Object.assign(node.state, saved);
    node.state.restoredAt.push(node.now());
  },
});
