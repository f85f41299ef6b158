/**
 * A node's message path, run once in miniature when the node image is built (start.ts, `--make-code-cache`), so
 * that the V8 code cache made right after it holds that path compiled. V8 compiles a function on its first call,
 * and a cache made after only the agent's top level left every function a message goes through to be compiled by
 * each node at its first message, on every hop of a run's first wave. Measured with Abilene's flood on the 2-core
 * host (five runs each, 3 Dec 2026): the latest node heard the token 14–19 ms late without it (median 17.1),
 * 10–17 ms with it (median 12.0).
 *
 * Two hosts with a ping-pong algorithm, linked through everything a node's messages pass in a run: the host, a
 * delayed outbox, the envelope codec and a gRPC link over loopback. What it does not reach (the agent's own
 * closures, the etcd client) is small or was compiled at start-up already.
 */
import type { Algorithm } from '../sdk/types.js';
import { AlgorithmHost } from '../host/algorithm-host.js';
import { LinkOutbox } from '../links/outbox.js';
import { LinkSchedule, linkStream, UNSHAPED } from '../links/model.js';
import { createRandom } from '../util/random.js';
import { openLink, serveLinks, type OutgoingLink } from './links.js';
import type { Envelope } from './peer-wire.js';

const ROUNDS = 20;
const REHEARSAL_TIMEOUT_MS = 10_000;

interface PingPongState {
  round: number;
}

const pingPong = {
  kind: 'peerlab.algorithm',
  name: 'rehearsal',
  state: () => ({ round: 0 }),
  init(node) {
    if (node.id === 'a') node.send('b', { round: 0, data: [1, 'x'] });
  },
  onMessage(node, { from, payload }) {
    const { round } = payload as { round: number };
    node.state.round = round;
    node.metric('round', round);
    if (round + 1 < ROUNDS) node.send(from, { round: round + 1, data: [round, 'x'] });
    else node.result({ round });
  },
} as Algorithm<never, PingPongState>;

/** Runs the rehearsal; resolves with the messages each host delivered to its algorithm. */
export async function rehearseMessagePath(): Promise<{ delivered: number }> {
  const hosts = new Map<string, AlgorithmHost>();
  const links: OutgoingLink[] = [];
  let finished: () => void = () => {};
  let failed: (error: Error) => void = () => {};
  // Never a hang of the image build: a rehearsal that fails or stalls is given up (start.ts caches the top level).
  const done = new Promise<void>((resolve, reject) => {
    finished = resolve;
    failed = reject;
    setTimeout(() => reject(new Error(`no result within ${REHEARSAL_TIMEOUT_MS / 1000} s`)), REHEARSAL_TIMEOUT_MS).unref();
  });
  const { server, port } = await serveLinks({
    host: '127.0.0.1',
    port: 0,
    admit: async () => undefined,
    deliver: (from, envelope) => hosts.get(from === 'a' ? 'b' : 'a')!.deliver(from, envelope.payload),
  });
  try {
    for (const [id, other] of [['a', 'b'], ['b', 'a']] as const) {
      const link = await openLink({ from: id, address: `127.0.0.1:${port}`, connectTimeoutMs: 10_000, onBroken: () => {} });
      links.push(link);
      const outbox = new LinkOutbox<Envelope>(new LinkSchedule({ ...UNSHAPED, delayMs: 0.5, jitterMs: 0.1 }, createRandom(1, ...linkStream(id, other))), (envelope) => void link.send(envelope));
      const host = new AlgorithmHost(
        pingPong,
        { id, neighbours: [{ id: other, weight: 1 }], size: 2, params: {}, seed: 1, maxPayloadBytes: 1 << 20 },
        {
          carries: 'text',
          transmit: (_to, encoded) => outbox.send({ payload: encoded }),
          now: () => performance.now(),
          setTimer: (ms, timer) => {
            const timeout = setTimeout(() => timer.expire(), ms);
            return { cancel: () => clearTimeout(timeout) };
          },
          barrier: () => Promise.resolve(),
          store: () => { throw new Error('the rehearsal has no store'); },
          services: () => { throw new Error('the rehearsal has no services'); },
          queues: () => { throw new Error('the rehearsal has no queues'); },
          log: () => {},
          demand: () => { throw new Error('the rehearsal has no hosts'); },
          onResult: () => finished(),
          onFailure: failed,
        },
      );
      hosts.set(id, host);
    }
    await Promise.all([...hosts.values()].map((host) => host.start()));
    await done;
    let delivered = 0;
    for (const host of hosts.values()) for (const count of host.received.values()) delivered += count.messages;
    return { delivered };
  } finally {
    // Ended, not left to reconnect to a server that is gone: the rehearsal also runs inside the test process.
    for (const link of links) void link.close();
    server.forceShutdown();
  }
}
