import * as grpc from '@grpc/grpc-js';
import { peerService, type Envelope, type LinkSummary } from './peer-wire.js';

/**
 * The overlay's wire: a gRPC server that accepts one `Link` stream per incoming edge, and one outgoing stream
 * per neighbour. Only this module knows about gRPC.
 */
export const FROM_METADATA = 'peerlab-from';

interface PeerClient extends grpc.Client {
  link(metadata: grpc.Metadata, callback: grpc.requestCallback<LinkSummary>): grpc.ClientWritableStream<Envelope>;
}

export const PeerClient = grpc.makeGenericClientConstructor(peerService, 'Peer') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => PeerClient;

/** Decides whether an incoming stream may deliver: resolves to an error message to refuse it, or undefined. */
export type AdmitLink = (from: string, peerAddress: string) => Promise<string | undefined>;

/**
 * channelz, grpc-js's introspection service, is on by default and records a trace of every channel, subchannel
 * and server event; nobody queries it in a node, and it cost a node a few ms of CPU at start-up.
 */
const NO_CHANNELZ: grpc.ChannelOptions = { 'grpc.enable_channelz': 0 };

/**
 * The first envelope through a stream runs cold code on both ends (grpc-js's write and read paths, HTTP/2 framing,
 * the envelope codec), paid by every node at the start, which on shaped links shows as extra delay on the run's
 * first messages: measured on the 2-core host (both ends in one process, loopback), the first algorithm envelope
 * took 4–10 ms from send to delivery, 1 ms after this one. So every new stream carries this envelope first,
 * before the start; the receiver drops it before counting or delivering anything.
 */
const WARM_UP: Envelope = { payload: '', control: 'warm-up' };

export async function serveLinks(options: {
  /** Where to listen: every interface in a node, loopback in the image build's rehearsal. */
  host?: string;
  /** 0 for any free port (the rehearsal). */
  port: number;
  admit: AdmitLink;
  deliver: (from: string, envelope: Envelope) => void;
}): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server(NO_CHANNELZ);
  server.addService(peerService, {
    link(call: grpc.ServerReadableStream<Envelope, LinkSummary>, callback: grpc.sendUnaryData<LinkSummary>) {
      const from = String(call.metadata.get(FROM_METADATA)[0] ?? '');
      const peerAddress = call.getPeer().replace(/^ipv4:/, '').replace(/:\d+$/, '');
      const held: Envelope[] = [];
      let admitted = false;
      let messages = 0;
      call.on('data', (envelope: Envelope) => {
        if (envelope.control === WARM_UP.control) return;
        messages += 1;
        if (admitted) options.deliver(from, envelope);
        else held.push(envelope);
      });
      // Admission can take an etcd round trip: a stream that ends before it is decided is answered only then, so
      // an intruder that writes and hangs up at once is refused too, never told OK.
      const admission = options.admit(from, peerAddress).catch((error: Error) => `admission failed: ${error.message}`);
      call.on('end', () => {
        void admission.then((refusal) => {
          if (!refusal) callback(null, { messages });
        });
      });
      void admission.then((refusal) => {
        if (refusal) {
          callback({ code: grpc.status.PERMISSION_DENIED, details: refusal });
          return;
        }
        admitted = true;
        for (const envelope of held.splice(0)) options.deliver(from, envelope);
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${options.host ?? '0.0.0.0'}:${options.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { server, port };
}

/**
 * While hundreds of nodes start on a few cores a first connection attempt can time out; grpc-js would then back
 * off for up to two minutes. A neighbour is registered (so listening) before anyone dials it: retry briskly.
 *
 * Each link has its own connection (a local subchannel pool): grpc-js otherwise shares one connection among all
 * clients of an address, and Docker gives a removed container's address to the next one it starts. A link to a
 * restarted neighbour's old container is never answered, so its client stays open with a dead connection; a link
 * opened later to a new container at the same address (a migrating node) then went over that connection and
 * was reset (ECONNRESET), and the move never completed (seen: restart node 3, then migrate node 2 on
 * complete:n=4).
 */
const LINK_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
  'grpc.use_local_subchannel_pool': 1,
  ...NO_CHANNELZ,
};

export interface OutgoingLink {
  /**
   * Queues a message; resolves once gRPC has written it out. HTTP/2 flow control writes only what the receiver
   * has room for, so a sender that outpaces the link sees these promises slow down (see AlgorithmHost's limit).
   */
  send(envelope: Envelope): Promise<void>;
  /** Ends the stream after what was sent; resolves once the receiver has read it all (it answered). */
  close(): Promise<void>;
  /**
   * Ends the stream and its channel at once, without waiting for the receiver, and drops what is still to go:
   * for a receiver that is gone (a restarted neighbour's old container, removed before its takeover), whose
   * answer to a close would never come and whose channel would stay open, trying to reach it.
   */
  drop(): void;
}

/** Opens the stream to one neighbour and resolves once its channel is connected. */
export async function openLink(options: {
  from: string;
  address: string;
  connectTimeoutMs: number;
  onBroken: (error: Error) => void;
}): Promise<OutgoingLink> {
  const client = new PeerClient(options.address, grpc.credentials.createInsecure(), LINK_CHANNEL_OPTIONS);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + options.connectTimeoutMs, (error) => (error ? reject(error) : resolve())),
  );
  const metadata = new grpc.Metadata();
  metadata.set(FROM_METADATA, options.from);
  let closing = false;
  let dropped = false;
  let answered: () => void = () => {};
  const closed = new Promise<void>((resolve) => (answered = resolve));
  const call = client.link(metadata, (error) => {
    answered();
    // A link this node ended on purpose (a neighbour that migrated) is not a broken one.
    if (error && error.code !== grpc.status.CANCELLED && !closing) options.onBroken(error);
    if (closing) client.close();
  });
  call.write(WARM_UP);
  return {
    send: (envelope) => (dropped ? Promise.resolve() : new Promise<void>((resolve) => call.write(envelope, () => resolve()))),
    close: () => {
      closing = true;
      call.end();
      return closed;
    },
    drop: () => {
      closing = true;
      dropped = true;
      call.cancel();
      client.close();
    },
  };
}

/**
 * A link that takes messages at once and writes them, in order, once `opening` has connected: what a node
 * sends to a neighbour that has just moved, while the stream to its new container opens.
 */
export function queuedLink(opening: Promise<OutgoingLink>): OutgoingLink {
  let link: OutgoingLink | undefined;
  let queued = 0;
  let dropped = false;
  // A link that never opens is reported by whoever opened it; its messages are lost with it.
  let chain: Promise<unknown> = opening.then((opened) => (link = opened), () => {});
  return {
    send: (envelope) => {
      if (link && queued === 0) return link.send(envelope);
      queued += 1;
      const sent = chain.then(() => {
        queued -= 1;
        return dropped ? undefined : link?.send(envelope);
      });
      chain = sent;
      return sent;
    },
    // After the messages queued before it: ended first (its then ran ahead of theirs), the stream took them
    // after its end, and the node died of ERR_STREAM_WRITE_AFTER_END (a move aborted while the link to its
    // target was still opening, seen in CI).
    close: () => {
      const closing = chain.then(() => link?.close());
      chain = closing.catch(() => {});
      return closing.then(() => {});
    },
    // What is queued goes nowhere: the link, once open, is dropped at once.
    drop: () => {
      dropped = true;
      void opening.then((opened) => opened.drop(), () => {});
    },
  };
}
