import { connectDocker } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { DEFAULT_NODE_MEMORY, DEFAULT_START_CONCURRENCY, type DockerRuntime } from '../runtime/docker.js';
import { deployOnDocker, type Deployment, type DeploymentOptions } from './docker-deployment.js';
import { REGISTRATION_TTL_SECONDS, startupTimeoutMs } from '../coordination/protocol.js';
import { inFlightFromReports, type Execution } from './execution.js';
import type { ExecutionOptions, RunDeployment, RunRuntime, RuntimeTuning } from './deployment.js';
import { DockerFaultSchedule } from './docker-faults.js';
import type { PreparedRun } from './prepare.js';
import { readRunLossCounters } from '../links/packet.js';
import { makeNodeTraceDir, mergeNodeTraces } from './trace-files.js';
import { dockerRunPlainStart } from './plain-start-docker.js';
import { maxOf } from '../util/extremes.js';
import type { ContainerNodes, RuntimeKind } from '../runtime/types.js';
import { readMoveRecords } from '../migration/move.js';
import type { FaultEvent } from '../faults/events.js';
import { hostsPlacementReplayFlags, hostsWithNodes } from './host-placement.js';
import { LivePlacement } from '../placement/live.js';
import { bundlePolicy } from '../plugins/bundle.js';
import { runStateDir } from './state.js';
import path from 'node:path';

export type DockerOptions = RuntimeTuning & Partial<Pick<DeploymentOptions, 'followEtcd' | 'onStage' | 'signal'>>;

/** Brings the prepared run up on Docker and leaves it standing (for `up`, and as the first half of `run`). */
export function deployPrepared(prepared: PreparedRun, options: DockerOptions, traceDir?: string): Promise<Deployment<DockerRuntime>> {
  return deployOnDocker({
    runId: prepared.runId,
    graph: prepared.topology.graph,
    config: prepared.config,
    bundleDir: prepared.bundleDir,
    traceDir,
    followEtcd: options.followEtcd,
    groups: prepared.groups,
    nodeMemoryLimit: options.nodeMemoryLimit ?? DEFAULT_NODE_MEMORY,
    concurrency: options.concurrency ?? DEFAULT_START_CONCURRENCY,
    etcdImage: options.etcdImage,
    etcdPort: options.etcdPort ?? 0,
    etcdEndpoints: options.etcdEndpoints,
    etcdAuth: options.etcdAuth ?? true,
    baseImage: options.baseImage,
    linksLayer: prepared.linksLayer,
    ...(options.hosts && { hosts: hostsWithNodes(prepared.topology.graph, options.hosts.list, options.placement ?? 'spread') }),
    startupTimeoutMs: startupTimeoutMs(prepared.topology.graph.order),
    onStage: options.onStage,
    onStarted: options.onStarted,
    onReady: options.onReady,
    signal: options.signal,
  });
}

/** Nodes as containers on one host's engine: see docker-deployment.ts. */
export const dockerRuntime: RunRuntime = containerRuntime({
  kind: 'docker',
  emulatesHosts: true,
  hostsHaveCpus: true,
  hostsHaveDistances: false,
  placesOnEngines: false,
  nodesReachCliAtGateway: true,
  tracesMessages: true,
  unavailable: () => unavailableUnless(connectDocker),
  replayFlags: containerReplayFlags,
  standUp: deployPrepared,
  plainStart: dockerRunPlainStart,
});

type ContainerBringUp = (prepared: PreparedRun, options: DockerOptions, traceDir?: string) => Promise<Deployment>;

/**
 * A runtime whose nodes are containers on Docker engines: its objects carry the run's label, its links are
 * applied where the run asked, and `peerlab run` deploys through the same bring-up that `peerlab up` leaves standing.
 */
export function containerRuntime(runtime: {
  kind: RuntimeKind;
  emulatesHosts: boolean;
  hostsHaveCpus: boolean;
  hostsHaveDistances: boolean;
  placesOnEngines: boolean;
  nodesReachCliAtGateway: boolean;
  tracesMessages: boolean;
  unavailable: RunRuntime['unavailable'];
  replayFlags: RunRuntime['replayFlags'];
  standUp: ContainerBringUp;
  plainStart: NonNullable<RunRuntime['plainStart']>;
}): RunRuntime {
  return {
    ...runtime,
    engineObjects: true,
    linksLayer: (prepared) => prepared.linksLayer,
    deploy: (prepared, options) => deployForRun(runtime.kind, runtime.standUp, prepared, options),
  };
}

/** Why a container runtime cannot take a run: the one-line error of the check that finds its engine(s), if any. */
export async function unavailableUnless(check: () => Promise<unknown>): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (error) {
    if (!(error instanceof PeerlabError)) throw error;
    return error.message;
  }
}

/** The flags that rerun a container run as it was: the links layer and a node memory limit that is not the default. */
export function containerReplayFlags(prepared: PreparedRun, tuning: RuntimeTuning): string[] {
  const flags: string[] = [];
  if (prepared.linksLayer === 'packet') flags.push('--links-mode', 'packet');
  if (tuning.nodeMemoryLimit !== undefined && tuning.nodeMemoryLimit !== DEFAULT_NODE_MEMORY) flags.push('--node-memory', String(tuning.nodeMemoryLimit / (1024 * 1024)));
  flags.push(...hostsPlacementReplayFlags(tuning));
  return flags;
}

/**
 * How far ahead of now the start moment is set: time for the start key to reach every node through etcd's
 * watches (measured: a few ms each on a quiet host; more under load). A node that reads it late starts at once,
 * and its lateness is recorded (start_lag_ms in nodes.csv).
 */
export function startLeadMs(nodes: number): number {
  return 200 + 2 * nodes;
}

/**
 * Brings the run up for `peerlab run` on a container runtime (Docker, Swarm): with `traceFile`, every node traces its messages and the files are merged
 * into it once the nodes have reported; every node's log is saved to `logsDir` before the containers go.
 */
async function deployForRun(
  kind: RuntimeKind,
  bringUp: ContainerBringUp,
  prepared: PreparedRun,
  options: ExecutionOptions,
): Promise<RunDeployment> {
  // The trace folder is in the run's local state, which teardown removes, whatever happens.
  const traceDir = options.traceFile ? await makeNodeTraceDir(prepared.runId) : undefined;
  // Bundled before anything starts: a policy file that does not load is one line and leaves nothing behind.
  const policy = options.livePlacement && (await bundlePolicy(options.livePlacement.policySource, path.join(runStateDir(prepared.runId), 'policy')));
  const deployment = await bringUp(prepared, options, traceDir);
  const { controller, runtime, watch } = deployment;
  const hosts = deployment.placementHosts;
  // The run refuses a policy without hosts before anything starts (checkRuntimeCan); a library caller that did not ask is told here.
  if (options.livePlacement && !hosts) {
    await deployment.tearDown();
    throw new PeerlabError(`--policy ${options.livePlacement.policy}: this run has no hosts to place nodes on`, { hint: 'give it --hosts, or run it on the Swarm, whose engines are its hosts' });
  }
  const placement =
    policy && options.livePlacement && hosts
      ? new LivePlacement({ runId: prepared.runId, policy: policy.policy, request: options.livePlacement, hosts, nodes: runtime, etcd: deployment.etcd })
      : undefined;
  if (options.signal) watch.endOnAbort(options.signal);
  const schedule = new DockerFaultSchedule(
    options.faults ?? [],
    runtime,
    controller,
    watch,
    options.onFault,
    (joining) => deployment.join(joining),
    deployment.etcd,
  );
  const registry = await controller.followRegistry();
  let tornDown: Promise<void> | undefined;
  let startedAt: number | undefined;
  const quietAfterMs = options.faults?.length ? maxOf(options.faults.map(consequencesEndMs)) : undefined;
  return {
    async start() {
      options.onStage?.('running');
      startedAt = await watch.race(controller.start(startLeadMs(prepared.topology.graph.order)));
      schedule.start(startedAt);
      placement?.start(startedAt);
    },
    async collect(): Promise<Execution> {
      const collected = await watch.race(
        controller.collectResults({
          timeoutMs: options.timeoutMs,
          untilQuiescent: options.until === 'quiescent',
          check: () => watch.check(),
          startedAt,
          // Under faults, survivors cut off from what they wait for never get a result: the run also ends quiet.
          ...(quietAfterMs !== undefined && { endWhenQuiet: { afterMs: quietAfterMs } }),
        }),
      );
      // Its last round may still be moving a node: the run's reports wait for it.
      const placements = await placement?.stop();
      // Changes made by hand (`peerlab link set`) are recorded beside the scheduled faults. In the schedule's order,
      // as the simulator records them (events on different nodes may be applied out of it, see DockerFaultSchedule).
      const faults = [...(await schedule.end()), ...(await watch.race(controller.linkSets()))].sort((a, b) => a.atMs - b.atMs);
      await registry.stop();
      // A node still frozen when the algorithm ended cannot write its final report.
      await schedule.thaw();
      options.onStage?.('collecting');
      // Read before stop, while every node's namespace still holds its rules.
      const lossCounters = prepared.linksLayer === 'packet' ? await readRunLossCounters(runtime) : undefined;
      const runtimeFacts = await deployment.facts?.();
      const reports = await watch.race(controller.stopAndCollectReports(30_000));
      // Moves by the schedule and by `peerlab migrate` alike: each new node wrote its record.
      const migrations = await readMoveRecords(deployment.etcd, prepared.runId);
      // A node closes its trace file before it reports, so every file is whole now.
      if (traceDir) await mergeNodeTraces(traceDir, options.traceFile!);
      return {
        runtime: kind,
        results: collected.results,
        reports,
        missing: collected.missing,
        departed: schedule.departed,
        faults,
        ...(migrations.length > 0 && { migrations }),
        ...(placements?.length && { placements }),
        registry: registry.log(startedAt!),
        inFlight: collected.inFlight ?? inFlightFromReports(reports),
        timings: { ...deployment.timings, algorithmMs: collected.durationMs },
        facts: {
          images: { node: deployment.image.node, nodeId: deployment.image.nodeId, etcd: deployment.image.etcd ?? 'external' },
          ...runtimeFacts,
          ...(lossCounters && { lossCounters }),
        },
      };
    },
    tearDown(failure?: unknown) {
      return (tornDown ??= (async () => {
        // Said before the logs are saved and the teardown, which can take a while with hundreds of containers; a
        // failed teardown must not hide why the run failed.
        const why = failure === undefined ? undefined : `the run failed: ${String((failure as Error).message ?? failure).split('\n')[0]}`;
        options.onStage?.('tearing down', why);
        await placement?.stop().catch(() => {});
        await schedule.end();
        await schedule.thaw();
        await registry.stop();
        // Before the containers go: their output is the nodes' logs. A log that cannot be read must not hide the run's outcome.
        if (options.logsDir) await runtime.saveLogs(options.logsDir).catch((error: unknown) => {
          process.stderr.write(`warning: could not save the nodes' logs to ${options.logsDir}: ${String(error)}\n`);
        });
        await deployment.tearDown();
      })());
    },
  };
}

/**
 * How much leeway a killed node's lease expiry needs to reach its neighbours: etcd checks leases every 500 ms, a
 * watch carries the news, and on a busy host the kill itself may land a second late.
 */
const LEASE_NOTICE_SLACK_MS = 2_000;

/**
 * When a fault's last effect on the nodes can still come, on the run's clock: a run is not taken as quiet before.
 * A kill's neighbours learn of it only when its lease runs out (onNeighbourDown), as in the simulator, where that
 * expiry is an event still due; every other fault acts when it is applied.
 */
function consequencesEndMs(fault: FaultEvent): number {
  return fault.action === 'kill' ? fault.atMs + REGISTRATION_TTL_SECONDS * 1000 + LEASE_NOTICE_SLACK_MS : fault.atMs;
}
