/**
 * The node agent: the process in every node container. It reads its identity from the environment and its
 * neighbours from etcd, registers under a lease, connects one stream per neighbour, and then hosts the
 * algorithm. Start-up work touches only this node's own keys and its neighbours'.
 */
import type { Json } from '../sdk/types.js';
import { runKeys } from '../coordination/keys.js';
import { startupTimeoutMs, type NeighbourEntry, type LiveReport, type NodeFailure, type NodeReport, type Registration, type RunConfig } from '../coordination/protocol.js';
import { AlgorithmHost } from '../host/algorithm-host.js';
import { requireAlgorithm } from '../host/load.js';
import { EtcdGateway } from './etcd-gateway.js';
import { ownAddress, readIdentity } from './identity.js';
import { NodeLease } from './registration.js';
import { etcdServiceRegistry } from './service-registry.js';
import { openLink, serveLinks, type OutgoingLink } from './links.js';
import { MessageTracer } from './trace.js';

const processStart = Date.now() - Math.round(process.uptime() * 1000);

async function main(): Promise<void> {
  const identity = readIdentity(process.env);
  const { nodeId } = identity;
  const keys = runKeys(identity.runId);
  const etcd = new EtcdGateway(identity.etcdEndpoints);

  const [configJson, neighboursJson] = await Promise.all([
    etcd.waitFor(keys.config),
    etcd.waitFor(keys.topology(nodeId)),
  ]);
  const config = JSON.parse(configJson) as RunConfig;
  const neighbours = JSON.parse(neighboursJson) as NeighbourEntry[];
  const group = config.groups.find(({ role }) => role === identity.role);
  if (!group) throw new Error(`the run has no role "${identity.role}" (its roles: ${config.groups.map(({ role }) => role).join(', ')})`);
  const algorithm = requireAlgorithm(identity.algorithmPath);

  const reportFailure = (error: Error): void => {
    const failure: NodeFailure = { message: error.message, stack: error.stack };
    console.error(`[node ${nodeId}] ${error.stack ?? error.message}`);
    // Best effort: the error is on stderr already, where the CLI reads the log tail of a failed node.
    void etcd.put(keys.error(nodeId), JSON.stringify(failure)).catch(() => {});
  };

  const addresses = new Map<string, Promise<Registration>>(
    neighbours.map(({ id }) => [id, etcd.waitFor(keys.node(id)).then((json) => JSON.parse(json) as Registration)]),
  );
  const links = new Map<string, OutgoingLink>();
  const lease = new NodeLease(etcd, (line) => console.error(`[node ${nodeId}] ${line}`));
  let running = false;
  const now = (): number => Date.now() - startedAt;
  const tracer = identity.traceDir ? new MessageTracer(nodeId, identity.traceDir, now, (error) => reportFailure(error)) : undefined;
  const host = new AlgorithmHost(
    algorithm,
    // The CLI validated the parameters and filled in their defaults: a node never runs the schema.
    { id: nodeId, neighbours, size: config.size, params: group.params, seed: config.seed, maxPayloadBytes: config.maxPayloadBytes },
    {
      transmit: (to, encoded) => links.get(to)!.send(tracer ? tracer.send(to, encoded) : { payload: encoded }),
      now,
      setTimer: (ms, callback) => {
        const timer = setTimeout(callback, ms);
        return () => clearTimeout(timer);
      },
      barrier: async (name) => {
        await etcd.put(keys.barrierArrival(name, nodeId), String(Date.now()));
        await etcd.waitFor(keys.barrierOpen(name));
      },
      store: etcd.store(keys.store),
      services: etcdServiceRegistry(lease, etcd, keys, nodeId),
      log: (line) => console.log(`[node ${nodeId}] ${line}`),
      // A result write that fails must fail the node, not vanish.
      onResult: (value: Json) => void etcd.put(keys.result(nodeId), JSON.stringify(value)).catch(reportFailure),
      onFailure: reportFailure,
    },
  );

  await serveLinks({
    port: identity.port,
    admit: async (from, peerAddress) => {
      const registration = addresses.get(from);
      if (!registration) return `node ${nodeId} accepts links only from its overlay neighbours; ${from || '(unnamed)'} is not one`;
      const { address } = await registration;
      return address === peerAddress ? undefined : `link claims to come from ${from} at ${address}, but comes from ${peerAddress}`;
    },
    deliver: (from, envelope) => {
      try {
        tracer?.deliver(from, envelope);
        host.deliver(from, envelope.payload);
      } catch (error) {
        reportFailure(error as Error);
      }
    },
  });

  const registration: Registration = { id: nodeId, role: identity.role, address: ownAddress(), port: identity.port, registeredAt: Date.now() };
  await lease.put(keys.node(nodeId), JSON.stringify(registration));
  const registeredMs = Date.now() - processStart;

  await Promise.all(
    neighbours.map(async ({ id }) => {
      const { address, port } = await addresses.get(id)!;
      const connect = async (): Promise<void> => {
        links.set(
          id,
          await openLink({
            from: nodeId,
            address: `${address}:${port}`,
            connectTimeoutMs: startupTimeoutMs(config.size),
            // Before start no message can be in flight, so a link dropped while hundreds of nodes start is simply
            // reopened; after start a break could lose messages, and FIFO delivery would be a lie: fail the run.
            onBroken: (error) => (running ? reportFailure(error) : void connect().catch(reportFailure)),
          }),
        );
      };
      await connect();
    }),
  );
  const connectedMs = Date.now() - processStart;
  await etcd.put(keys.ready(nodeId), JSON.stringify({ registeredMs, connectedMs }));

  const startedAt = Number(await etcd.waitFor(keys.start));
  running = true;
  const live = config.liveReportMs ? reportLive(etcd, keys.live(nodeId), host, config.liveReportMs) : undefined;
  await host.start();

  await etcd.waitFor(keys.stop);
  clearInterval(live);
  await tracer?.close();
  const report: NodeReport = {
    metrics: host.metrics,
    sent: Object.fromEntries(host.sent),
    received: Object.fromEntries(host.received),
    startup: { registeredMs, connectedMs },
    timeline: host.timeline.toJSON(),
  };
  await etcd.put(keys.report(nodeId), JSON.stringify(report));
}

/** While a dashboard watches: this node's traffic and metrics every `everyMs`, when they changed. */
function reportLive(etcd: EtcdGateway, key: string, host: AlgorithmHost, everyMs: number): NodeJS.Timeout {
  let last = '';
  return setInterval(() => {
    const report: LiveReport = { sent: Object.fromEntries([...host.sent].map(([to, count]) => [to, count.messages])), metrics: host.metrics };
    const json = JSON.stringify(report);
    if (json === last) return;
    last = json;
    // A lost live report only delays the dashboard by one interval; the final report is the one that counts.
    void etcd.put(key, json).catch(() => {});
  }, everyMs);
}

main().catch((error: unknown) => {
  console.error(`node agent failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
