import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The overlay's wire: a gRPC server that accepts one `Link` stream per incoming edge, and one outgoing stream
 * per neighbour. Only this module knows about gRPC.
 */
export const FROM_METADATA = 'peerlab-from';

interface Envelope {
  payload: string;
}

interface PeerClient extends grpc.Client {
  link(metadata: grpc.Metadata, callback: grpc.requestCallback<unknown>): grpc.ClientWritableStream<Envelope>;
}

type PeerClientConstructor = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ChannelOptions) => PeerClient;

const services = new Map<string, { service: grpc.ServiceDefinition; Client: PeerClientConstructor }>();

export function loadPeerService(protoPath: string): { service: grpc.ServiceDefinition; Client: PeerClientConstructor } {
  const cached = services.get(protoPath);
  if (cached) return cached;
  const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: Number, defaults: true });
  const peer = (grpc.loadPackageDefinition(definition) as unknown as { peerlab: { Peer: grpc.ServiceClientConstructor } }).peerlab.Peer;
  const loaded = { service: peer.service, Client: peer as unknown as PeerClientConstructor };
  services.set(protoPath, loaded);
  return loaded;
}

/** Decides whether an incoming stream may deliver: resolves to an error message to refuse it, or undefined. */
export type AdmitLink = (from: string, peerAddress: string) => Promise<string | undefined>;

export async function serveLinks(options: {
  protoPath: string;
  port: number;
  admit: AdmitLink;
  deliver: (from: string, payload: string) => void;
}): Promise<grpc.Server> {
  const { service } = loadPeerService(options.protoPath);
  const server = new grpc.Server();
  server.addService(service, {
    link(call: grpc.ServerReadableStream<Envelope, unknown>, callback: grpc.sendUnaryData<unknown>) {
      const from = String(call.metadata.get(FROM_METADATA)[0] ?? '');
      const peerAddress = call.getPeer().replace(/^ipv4:/, '').replace(/:\d+$/, '');
      const held: Envelope[] = [];
      let admitted = false;
      let messages = 0;
      call.on('data', (envelope: Envelope) => {
        messages += 1;
        if (admitted) options.deliver(from, envelope.payload);
        else held.push(envelope);
      });
      call.on('end', () => callback(null, { messages }));
      void options.admit(from, peerAddress).then((refusal) => {
        if (refusal) {
          callback({ code: grpc.status.PERMISSION_DENIED, details: refusal });
          return;
        }
        admitted = true;
        for (const envelope of held.splice(0)) options.deliver(from, envelope.payload);
      });
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`0.0.0.0:${options.port}`, grpc.ServerCredentials.createInsecure(), (error) =>
      error ? reject(error) : resolve(),
    ),
  );
  return server;
}

/**
 * While hundreds of nodes start on a few cores a first connection attempt can time out; grpc-js would then back
 * off for up to two minutes. A neighbour is registered (so listening) before anyone dials it: retry briskly.
 */
const LINK_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2_000,
};

export interface OutgoingLink {
  send(payload: string): void;
  close(): void;
}

/** Opens the stream to one neighbour and resolves once its channel is connected. */
export async function openLink(options: {
  protoPath: string;
  from: string;
  address: string;
  connectTimeoutMs: number;
  onBroken: (error: Error) => void;
}): Promise<OutgoingLink> {
  const { Client } = loadPeerService(options.protoPath);
  const client = new Client(options.address, grpc.credentials.createInsecure(), LINK_CHANNEL_OPTIONS);
  await new Promise<void>((resolve, reject) =>
    client.waitForReady(Date.now() + options.connectTimeoutMs, (error) => (error ? reject(error) : resolve())),
  );
  const metadata = new grpc.Metadata();
  metadata.set(FROM_METADATA, options.from);
  const call = client.link(metadata, (error) => {
    if (error && error.code !== grpc.status.CANCELLED) options.onBroken(error);
  });
  return {
    send: (payload) => {
      call.write({ payload });
    },
    close: () => {
      call.end();
      client.close();
    },
  };
}
