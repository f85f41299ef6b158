/**
 * The node agent: the process in every node container. It reads its identity from the environment and its
 * neighbours from etcd, registers under a lease, connects one stream per neighbour, and then hosts the
 * algorithm. Start-up work touches only this node's own keys and its neighbours'.
 */
import type { Json } from '../sdk/types.js';
import { NODE_CONTROL, runKeys } from '../coordination/keys.js';
import {
  startupTimeoutMs,
  type MessageTotals,
  type MigrationControl,
  type MigrationRecord,
  type NeighbourEntry,
  type NodeFailure,
  type NodeLoad,
  type NodeReport,
  type NodeStartup,
  type Registration,
  type RunConfig,
  type StartupStep,
} from '../coordination/protocol.js';
import { AlgorithmHost } from '../host/algorithm-host.js';
import type { SkewInForce } from '../host/node-clock.js';
import { requireAlgorithm } from '../host/load.js';
import { mapStack } from '../host/source-map.js';
import { EtcdClient } from './etcd-client.js';
import { ENV, ownAddress, readIdentity } from './identity.js';
import { NodeLease } from './registration.js';
import { etcdServiceRegistry } from './service-registry.js';
import { etcdLeasedQueues } from './leased-queues.js';
import { followNeighbours, HeldUntilStart } from './membership.js';
import { openLink, queuedLink, serveLinks, type OutgoingLink } from './links.js';
import type { Envelope } from './peer-wire.js';
import { LinkSchedule, linkStream, UNSHAPED, type LinkChange, type LinkParams } from '../links/model.js';
import { LinkOutbox } from '../links/outbox.js';
import { createRandom } from '../util/random.js';
import { MessageTracer } from './trace.js';
import { NodeMigration } from './migration.js';
import { CpuDemand } from './cpu-demand.js';
import { reachStartLine } from './start-line.js';
import { liveSender, reportLive, type LiveReporting } from './live-reports.js';
// Imported, not the lazy global: Node loads perf_hooks on the global's first use, ~3 ms of CPU that would fall on the
// start moment or a node's first message (profiled in the container; issue 10's first-hop delay).
import { performance } from 'node:perf_hooks';

const processStart = Date.now() - Math.round(process.uptime() * 1000);

async function main(): Promise<void> {
  const steps = {} as Record<StartupStep, NodeStartup['steps'][StartupStep]>;
  const reached = (step: StartupStep): void => {
    const { user, system } = process.cpuUsage();
    steps[step] = { ms: Date.now() - processStart, cpuMs: Math.round((user + system) / 1000) };
  };
  reached('loaded');
  const identity = readIdentity(process.env);
  const { nodeId } = identity;
  // `docker stop` (a fault's graceful leave), handled from the first moment: a node stopped while it still starts
  // (a churn leave soon after its join) exits at once, before it holds a lease, instead of being killed 2 s later.
  let leave = async (): Promise<void> => process.exit(0);
  process.once('SIGTERM', () => {
    console.error(`[node ${nodeId}] stopping: leaving the registry`);
    void leave();
  });
  const keys = runKeys(identity.runId);
  const etcd = new EtcdClient(identity.etcdEndpoints, identity.etcdLogin);

  const [configJson, neighboursJson] = await Promise.all(etcd.waitForEach([keys.config, keys.topology(nodeId)]));
  const config = JSON.parse(configJson!) as RunConfig;
  // The overlay when this node came up; nodes that join later attached to it are met as they come (see meet).
  const neighbours = JSON.parse(neighboursJson!) as NeighbourEntry[];
  reached('configured');
  const group = config.groups.find(({ role }) => role === identity.role);
  if (!group) throw new Error(`the run has no role "${identity.role}" (its roles: ${config.groups.map(({ role }) => role).join(', ')})`);
  const algorithm = requireAlgorithm(identity.algorithmPath, { sourceMaps: false });

  const reportFailure = (error: Error, brokenLink?: string): void => {
    const stack = error.stack === undefined ? undefined : mapStack(error.stack, identity.algorithmPath);
    const failure: NodeFailure = { message: error.message, stack, ...(brokenLink ? { brokenLink } : {}) };
    console.error(`[node ${nodeId}] ${stack ?? error.message}`);
    // Best effort: the error is on stderr already, where the CLI reads the log tail of a failed node.
    void etcd.put(keys.error(nodeId), JSON.stringify(failure)).catch(() => {});
  };

  const registrations = etcd.waitForEach(neighbours.map(({ id }) => keys.node(id)));
  const addresses = new Map<string, Promise<Registration>>(
    neighbours.map(({ id }, index) => [id, registrations[index]!.then((json) => JSON.parse(json) as Registration)]),
  );
  const links = new Map<string, OutgoingLink>();
  // Every message goes on its link through the migration layer, which counts it for the flush markers.
  let migration: NodeMigration | undefined;
  // Layer 1 of the link model: each shaped outgoing edge holds its messages in an outbox before the wire. An
  // unshaped edge gets one when a link change first reaches it (followLinkChanges).
  const outboxFor = (id: string, link: LinkParams): LinkOutbox<Envelope> =>
    new LinkOutbox<Envelope>(new LinkSchedule(link, createRandom(config.seed, ...linkStream(nodeId, id))), (envelope) => void migration!.wire(id, envelope));
  const outboxes = new Map(neighbours.flatMap(({ id, link }) => (link ? [[id, outboxFor(id, link)] as const] : [])));
  const lease = new NodeLease(etcd, (line) => console.error(`[node ${nodeId}] ${line}`));
  let registration: Registration | undefined;
  leave = () => leaveGracefully(etcd, lease, keys.node(nodeId), registration);
  let running = false;
  // Sub-millisecond, as the simulator's virtual clock, on the same epoch as the start time the CLI wrote. A
  // neighbour that started first may send before this node has read that time: such a message counts at 0.
  let startedAt: number | undefined;
  const now = (): number => (startedAt === undefined ? 0 : performance.timeOrigin + performance.now() - startedAt);
  const tracer = identity.traceDir ? new MessageTracer(nodeId, identity.traceDir, now, (error) => reportFailure(error)) : undefined;
  const cpuDemand = new CpuDemand(config.capacityPerCpu ?? 1);
  const host = new AlgorithmHost(
    algorithm,
    // The CLI validated the parameters and filled in their defaults: a node never runs the schema.
    { id: nodeId, neighbours: neighbours.map(({ id, weight }) => ({ id, weight })), size: config.size, params: group.params, seed: config.seed, maxPayloadBytes: config.maxPayloadBytes },
    {
      carries: 'text',
      transmit: (to, encoded) => {
        const envelope = tracer ? tracer.send(to, encoded) : { payload: encoded };
        const outbox = outboxes.get(to);
        if (!outbox) return migration!.wire(to, envelope);
        return outbox.send(envelope);
      },
      now,
      setTimer: (ms, timer) => {
        const timeout = setTimeout(() => timer.expire(), ms);
        return { cancel: () => clearTimeout(timeout) };
      },
      barrier: async (name) => {
        await etcd.put(keys.barrierArrival(name, nodeId), String(Date.now()));
        await etcd.waitFor(keys.barrierOpen(name));
      },
      store: () => etcd.store(keys.store),
      services: () => etcdServiceRegistry(lease, etcd, keys, nodeId),
      queues: () => etcdLeasedQueues(etcd, lease, keys, nodeId, reportFailure),
      log: (line) => console.log(`[node ${nodeId}] ${line}`),
      demand: (units) => cpuDemand.set(units),
      // A result write that fails must fail the node, not vanish.
      onResult: (value: Json) => void etcd.put(keys.result(nodeId), JSON.stringify(value)).catch(reportFailure),
      onFailure: reportFailure,
    },
  );

  const connect = (id: string, address: string, port: number, onBroken = (error: Error) => reportFailure(error, id)): Promise<OutgoingLink> =>
    openLink({ from: nodeId, address: `${address}:${port}`, connectTimeoutMs: startupTimeoutMs(config.size), onBroken });
  migration = new NodeMigration({ nodeId, etcd, keys, host, lease, links, outboxes, addresses, connect, reportFailure, ...(identity.testExit && { testExit: identity.testExit }) });
  const overlayWeights = new Map(neighbours.map(({ id, weight }) => [id, weight]));

  /**
   * A node that joined the run attached to this one (churn's join=): the CLI says so with a control key (and adds
   * it to this node's topology key). Once it has registered, it is up: onNeighbourUp, and a link to it. A
   * neighbour known already is left alone.
   */
  const meet = ({ id, weight, link }: NeighbourEntry): void => {
    if (addresses.has(id) || id === nodeId) return;
    overlayWeights.set(id, weight);
    const registered = etcd.waitFor(keys.node(id)).then((json) => JSON.parse(json) as Registration);
    addresses.set(id, registered);
    if (link) outboxes.set(id, outboxFor(id, link));
    links.set(id, queuedLink(registered.then(({ address, port }) => connect(id, address, port))));
    // Before any message from it can be admitted (admit awaits the same registration): up first, then its messages.
    void registered.then(({ leaving }) => leaving || host.neighbourUp({ id, weight }));
  };
  /** Meets every neighbour this node's topology key lists now (a join may have been written before the control watch). */
  const readTopology = async (): Promise<void> => {
    const { value } = await etcd.get(keys.topology(nodeId));
    for (const entry of JSON.parse(value ?? '[]') as NeighbourEntry[]) meet(entry);
  };
  // Link faults and message drops act here, on arrival, from before the start (a link may go down at time 0); link
  // changes act on sending, in the outbox, for the messages sent from then on. The keys already there come first: a
  // node that restarted or moved takes over its id's links, drops and clock as they are, set for the id before this
  // container existed (as the simulator's restart keeps them).
  const control = keys.nodeControlPrefix(nodeId);
  const followControl = (): Promise<() => void> => etcd.followPrefix(
    control,
    (event) => {
      const name = event.key.slice(control.length);
      const kind = name.slice(0, name.indexOf('/'));
      const other = name.slice(kind.length + 1);
      const put = event.type === 'put';
      switch (kind) {
        case NODE_CONTROL.linkDown:
          return host.setLinkFrom(other, put);
        case NODE_CONTROL.messageDrop:
          return host.setDropShare(other, put ? Number(event.value) : 0);
        case NODE_CONTROL.neighbourJoin:
          return put ? meet(JSON.parse(event.value) as NeighbourEntry) : undefined;
        case NODE_CONTROL.clockSkew:
          // In the host: its clock, which node.now() and the node's timers run on.
          return host.setClockSkew(put ? (JSON.parse(event.value) as SkewInForce) : undefined);
        case NODE_CONTROL.linkChange: {
          if (!addresses.has(other)) return reportFailure(new Error(`a link change names ${other}, which is not a neighbour of node ${nodeId}`));
          const change = put ? (JSON.parse(event.value) as LinkChange) : undefined;
          let outbox = outboxes.get(other);
          if (!outbox && change) outboxes.set(other, (outbox = outboxFor(other, UNSHAPED)));
          return outbox?.schedule.change(change);
        }
        default:
          return reportFailure(new Error(`node ${nodeId} got a control key it does not know: ${name}`));
      }
    },
    (reason) => reportFailure(new Error(`etcd refused to watch this node's control keys: ${reason}`)),
  );
  const succession = identity.succession;
  // A successor holds its id's faults before it registers, so before its neighbours send to it. A node of the
  // bring-up follows them where it always did, after it connected (see below): its start-up is measured.
  const successorControl = succession ? followControl() : undefined;
  // A migrated node's neighbours deliver only once the snapshot is restored, after the messages it carries.
  let restored: () => void = () => {};
  const untilRestored = succession?.kind === 'migrate' ? new Promise<void>((resolve) => (restored = resolve)) : undefined;
  let arrivals = 0;
  /** Set at the start when a dashboard watches: told of each message that arrives (live-reports.ts). */
  let liveReporting: LiveReporting | undefined;

  await serveLinks({
    port: identity.port,
    admit: async (from, peerAddress) => {
      if (from === nodeId) {
        // The old container of this very node, handing over its snapshot from the address it registered.
        if (!untilRestored) return `node ${nodeId} is not taking over from a migrating container`;
        const { address } = JSON.parse(await etcd.waitFor(keys.node(nodeId))) as Registration;
        return address === peerAddress ? undefined : `a handoff claims to come from node ${nodeId} at ${address}, but comes from ${peerAddress}`;
      }
      // A node that just joined may dial before its control key reached this node (or before this node watched).
      if (!addresses.has(from)) await readTopology();
      const registration = addresses.get(from);
      if (!registration) return `node ${nodeId} accepts links only from its overlay neighbours; ${from || '(unnamed)'} is not one`;
      await untilRestored;
      await migration!.admitted(from);
      const { address } = await registration;
      if (address === peerAddress) return undefined;
      // A neighbour that restarted may dial before its takeover reached this node: the registry has its new address.
      const current = (await etcd.get(keys.node(from))).value;
      if (current !== undefined && (JSON.parse(current) as Registration).address === peerAddress) return undefined;
      return `link claims to come from ${from} at ${address}, but comes from ${peerAddress}`;
    },
    deliver: (from, envelope) => {
      try {
        if (migration!.arrive(from, envelope)) return;
        arrivals += 1;
        tracer?.deliver(from, envelope);
        host.deliver(from, envelope.payload);
        liveReporting?.activity();
      } catch (error) {
        reportFailure(error as Error);
      }
    },
  });

  reached('listening');
  if (successorControl) await successorControl;
  registration = { id: nodeId, role: identity.role, address: ownAddress(process.env[ENV.subnet]), port: identity.port, registeredAt: Date.now() };
  if (succession) await etcd.put(keys.migrationStep(nodeId, succession.migration, 'listening'), JSON.stringify({ address: registration.address, port: identity.port }));
  let recorded: Omit<MigrationRecord, 'replayed'> & { replayedSoFar: () => number } | undefined;
  let startLagMs = 0;
  let goneAt: number | undefined;
  if (succession?.kind === 'migrate') {
    // Read while the snapshot travels: the downtime is the old node's, it runs until the handoff.
    startedAt = Number(await etcd.waitFor(keys.start));
    const handoff = await migration.handoff;
    // Tests make a target die on either side of its commit (test/integration/migration-robust.test.ts).
    if (identity.testExit === 'handoff') process.exit(70);
    running = true;
    recorded = await migration.takeOver(handoff, registration, neighbours.map(({ id }) => id), () => arrivals);
    restored();
    if (identity.testExit === 'resumed') process.exit(70);
    reached('registered');
    reached('connected');
  } else {
    // A restarted node takes the id over once its old container is gone (the CLI says so).
    if (succession) goneAt = (await takeoverSignal(etcd, keys.migrationControl(nodeId), succession.migration)).goneAt;
    await lease.put(keys.node(nodeId), JSON.stringify(registration));
    // Not awaited: it returns only once the node renews its lease itself again, at the start or when the CLI lets go.
    lease.leaveRenewalsTo(keys.leaseKeeper, keys.start).catch((error: Error) => console.error(`[node ${nodeId}] renewing its own lease while waiting (${error.message})`));
    reached('registered');
    await connectNeighbours();
    reached('connected');
  }

  async function connectNeighbours(): Promise<void> {
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
              onBroken: (error) => (running ? reportFailure(error, id) : void connect().catch((failed: Error) => reportFailure(failed))),
            }),
          );
        };
        await connect();
      }),
    );
  }

  // Made before this node says ready, not after the start (see start-line.ts).
  const watchControl = successorControl ?? followControl();
  await migration.follow(succession?.migration);
  // A node that comes after the start (a restart or a move) follows the registry from now, before it is ready.
  // One at the start line follows it from the start: until then a neighbour that goes down fails the run (the CLI
  // watches bring-up), so the bring-up's registrations need not reach it. (A node that joins mid-run is at the
  // start line too: it follows the registry from the start, and hears the run's changes since, replayed.)
  if (succession) await Promise.all([watchControl, followNeighbours(etcd, keys, overlayWeights, host, reportFailure)]);
  // Watched now, not after the start: at the start moment every node begins at once, and each request to etcd
  // then would delay the run's first messages (on two cores, flood's first hop by 10–20 ms).
  const stopped = etcd.waitFor(keys.stop);
  stopped.catch(() => {}); // awaited below, where a failure fails the node
  // A node at the start line follows the registry from the start, with what it hears held until init has begun.
  const membership = succession ? undefined : new HeldUntilStart(host);
  // Before the start line: a datagram sender makes its socket now (see datagramSender).
  const sendLive = config.liveReports && liveSender({ node: nodeId, to: config.liveReports.to, putInEtcd: (json) => etcd.put(keys.live(nodeId), json) });
  if (!recorded) {
    const startLine = await reachStartLine({
      preparing: [watchControl],
      sayReady: () => etcd.put(keys.ready(nodeId), JSON.stringify({ processStartedAt: processStart, steps } satisfies NodeStartup)),
      startMoment: async () => {
        const start = await etcd.waitForEntry(keys.start);
        // Not awaited: nothing may wait on etcd between the start moment and init (start-line.ts). A change made
        // before this watch is open is replayed to it, since it watches from the revision after the start.
        if (membership) void followNeighbours(etcd, keys, overlayWeights, membership, reportFailure, start.modRevision + 1n);
        return Number(start.value);
      },
    });
    startedAt = startLine.startedAt;
    startLagMs = startLine.lagMs;
    running = true;
  }
  liveReporting =
    config.liveReports && sendLive
      ? reportLive({
          everyMs: config.liveReports.everyMs,
          current: () => ({ sent: Object.fromEntries([...host.sent].map(([to, count]) => [to, count.messages])), metrics: host.metrics }),
          send: sendLive,
        })
      : undefined;
  const stopLoadReports = config.loadReportMs ? reportLoad(lease, keys.load(nodeId), host, cpuDemand, config.loadReportMs) : undefined;
  if (!recorded) {
    const initialised = host.start();
    membership?.release();
    await initialised;
  }
  if (succession) {
    const resumedAt = Date.now();
    const { replayedSoFar, ...record } = recorded ?? {
      node: nodeId,
      migration: succession.migration,
      kind: 'restart' as const,
      ...(goneAt !== undefined && { frozenAt: goneAt }),
      resumedAt,
      downtimeMs: goneAt === undefined ? 0 : resumedAt - goneAt,
      snapshotBytes: 0,
      carried: 0,
      to: registration.address,
      replayedSoFar: () => 0,
    };
    await etcd.put(keys.migrationStep(nodeId, succession.migration, 'done'), JSON.stringify({ ...record, replayed: replayedSoFar() } satisfies MigrationRecord));
  }
  if (config.quiescence) void answerQuiescenceWaves().catch(reportFailure);

  await stopped;
  host.freeze();
  liveReporting?.stop();
  stopLoadReports?.();
  await tracer?.close();
  const report: NodeReport = {
    metrics: host.metrics,
    sent: Object.fromEntries(host.sent),
    received: Object.fromEntries(host.received),
    ...(host.dropped.size > 0 && { dropped: Object.fromEntries(host.dropped) }),
    startup: { registeredMs: steps.registered.ms, connectedMs: steps.connected.ms, startLagMs },
    timeline: host.timeline.toJSON(),
  };
  await etcd.put(keys.report(nodeId), JSON.stringify(report));

  /** Until the run stops: each wave the controller writes is answered with this node's message totals. */
  async function answerQuiescenceWaves(): Promise<void> {
    for (let wave = 1; ; wave++) {
      await etcd.waitFor(keys.countWave(wave));
      const total = (counts: ReadonlyMap<string, { messages: number }>) => [...counts.values()].reduce((sum, count) => sum + count.messages, 0);
      // Read once: each is a fresh map of the host's counts.
      const { sent, received, dropped } = host;
      // A message dropped on a downed link has arrived: it counts as received here, so it is not taken as in flight.
      const byNeighbour = Object.fromEntries(
        [...sent.keys()].map((id) => [id, [sent.get(id)!.messages, received.get(id)!.messages + (dropped.get(id) ?? 0)] as const]),
      );
      const droppedTotal = [...dropped.values()].reduce((sum, count) => sum + count, 0);
      const totals: MessageTotals = { sent: total(sent), received: total(received) + droppedTotal, byNeighbour, timersPending: host.pendingTimers };
      await etcd.put(keys.count(wave, nodeId), JSON.stringify(totals));
    }
  }
}

/** Resolves once the CLI tells this restarted node that its old container is gone (see MigrationControl). */
async function takeoverSignal(etcd: EtcdClient, key: string, migration: string): Promise<MigrationControl> {
  for (;;) {
    const control = JSON.parse(await etcd.waitFor(key)) as MigrationControl;
    if (control.migration === migration && control.phase === 'takeover') return control;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * SIGTERM (`docker stop`, a graceful leave): the node marks its registration as leaving and revokes its lease,
 * so that its registry entries, locks and candidacies go at once and its neighbours learn it left, then exits.
 * The node's process is PID 1 in its container, which ignores SIGTERM without a handler: without this one,
 * `docker stop` would wait out its timeout and kill it, which looks like a crash.
 */
async function leaveGracefully(etcd: EtcdClient, lease: NodeLease, key: string, registration: Registration | undefined): Promise<void> {
  try {
    if (registration) await etcd.put(key, JSON.stringify({ ...registration, leaving: true } satisfies Registration), await lease.current());
    await lease.leave();
  } catch (error) {
    console.error(`leaving gracefully failed (${(error as Error).message}); the registration goes when its lease runs out`);
  }
  process.exit(0);
}

/**
 * While a placement policy runs: this node's load every `everyMs`, measured by its own process (its container's
 * only one), and the work its demand did, under its lease. Returns how to stop.
 */
function reportLoad(lease: NodeLease, key: string, host: AlgorithmHost, demand: CpuDemand, everyMs: number): () => void {
  const handled = () => [...host.received.values()].reduce((sum, count) => sum + count.messages, 0);
  let since = { at: Date.now(), cpu: process.cpuUsage(), handled: handled(), workMs: demand.workMs };
  const timer = setInterval(() => {
    const now = { at: Date.now(), cpu: process.cpuUsage(), handled: handled(), workMs: demand.workMs };
    const seconds = (now.at - since.at) / 1000;
    const cpuSeconds = (now.cpu.user + now.cpu.system - since.cpu.user - since.cpu.system) / 1e6;
    const load: NodeLoad = {
      cpuShare: cpuSeconds / seconds,
      ...(demand.declared && { workShare: (now.workMs - since.workMs) / 1000 / seconds }),
      messagesPerSecond: (now.handled - since.handled) / seconds,
      at: now.at,
    };
    since = now;
    // A lost report only leaves the policy the one before.
    void lease.put(key, JSON.stringify(load)).catch(() => {});
  }, everyMs);
  return () => clearInterval(timer);
}

// The image build runs this file only to make its code cache (start.ts): the rehearsal, not a node.
export { rehearseMessagePath } from './rehearsal.js';
if (!process.argv.includes('--make-code-cache')) main().catch((error: unknown) => {
  // Loading the algorithm runs its module code: a stack from there is mapped to the user's .ts lines too.
  const bundle = process.env[ENV.algorithm];
  const stack = error instanceof Error ? (error.stack === undefined || !bundle ? (error.stack ?? error.message) : mapStack(error.stack, bundle)) : String(error);
  console.error(`node agent failed: ${stack}`);
  process.exit(1);
});
