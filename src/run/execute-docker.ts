import { DEFAULT_NODE_MEMORY, DEFAULT_START_CONCURRENCY } from '../runtime/docker.js';
import { deployOnDocker, type Deployment, type DeploymentOptions } from './docker-deployment.js';
import { startupTimeoutMs } from '../coordination/protocol.js';
import { inFlightFromReports, type Execution } from './execution.js';
import type { PreparedRun } from './prepare.js';
import { readRunLossCounters } from '../links/packet.js';
import { makeNodeTraceDir, mergeNodeTraces } from './trace-files.js';

export type DockerOptions = Partial<
  Pick<DeploymentOptions, 'followEtcd' | 'nodeMemoryLimit' | 'concurrency' | 'etcdImage' | 'etcdPort' | 'etcdEndpoints' | 'baseImage' | 'onStage' | 'onStarted' | 'onReady' | 'signal'>
>;

/** Brings the prepared run up on Docker and leaves it standing (for `up`, and as the first half of `run`). */
export function deployPrepared(prepared: PreparedRun, options: DockerOptions, traceDir?: string): Promise<Deployment> {
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
    baseImage: options.baseImage,
    linksLayer: prepared.linksLayer,
    startupTimeoutMs: startupTimeoutMs(prepared.topology.graph.order),
    onStage: options.onStage,
    onStarted: options.onStarted,
    onReady: options.onReady,
    signal: options.signal,
  });
}

/**
 * Runs the algorithm in containers: bring up, start, collect results and reports, save every node's log to
 * `logsDir`, tear down. With `traceFile`, every node traces its messages and the files are merged into it once
 * the nodes have reported.
 */
/**
 * How far ahead of now the start moment is set: time for the start key to reach every node through etcd's
 * watches (measured: a few ms each on a quiet host; more under load). A node that reads it late starts at once,
 * and its lateness is recorded (start_lag_ms in nodes.csv).
 */
export function startLeadMs(nodes: number): number {
  return 200 + 2 * nodes;
}

export async function executeOnDocker(
  prepared: PreparedRun,
  options: DockerOptions & { timeoutMs: number; logsDir: string; traceFile?: string },
): Promise<Execution> {
  const traceDir = options.traceFile ? await makeNodeTraceDir(prepared.runId) : undefined;
  // The trace folder is in the run's local state, which teardown removes, whatever happens.
  const deployment = await deployPrepared(prepared, options, traceDir);
  // Before the containers go: their output is the nodes' logs. A log that cannot be read must not hide the run's outcome.
  const saveLogs = () => deployment.runtime.saveLogs(options.logsDir).catch((error: unknown) => {
    process.stderr.write(`warning: could not save the nodes' logs to ${options.logsDir}: ${String(error)}\n`);
  });
  let execution: Execution;
  try {
    options.onStage?.('running');
    const { controller, runtime, watch } = deployment;
    const startedAt = await watch.race(controller.start(startLeadMs(prepared.topology.graph.order)));
    const collected = await watch.race(
      controller.collectResults({ timeoutMs: options.timeoutMs, untilQuiescent: prepared.config.quiescence === true, check: () => watch.check(), startedAt }),
    );
    options.onStage?.('collecting');
    // Read before stop, while every node's namespace still holds its rules.
    const lossCounters = prepared.linksLayer === 'packet' ? await readRunLossCounters(runtime) : undefined;
    const reports = await watch.race(controller.stopAndCollectReports(30_000));
    // A node closes its trace file before it reports, so every file is whole now.
    if (traceDir) await mergeNodeTraces(traceDir, options.traceFile!);
    execution = {
      runtime: 'docker',
      results: collected.results,
      reports,
      missing: collected.missing,
      inFlight: collected.inFlight ?? inFlightFromReports(reports),
      timings: { ...deployment.timings, algorithmMs: collected.durationMs },
      facts: {
        images: { node: deployment.image.node, nodeId: deployment.image.nodeId, etcd: deployment.image.etcd ?? 'external' },
        ...(lossCounters && { lossCounters }),
      },
    };
  } catch (error) {
    // Said before the logs are saved and the teardown, which can take a while with hundreds of containers; a
    // failed teardown must not hide why the run failed.
    options.onStage?.('tearing down', `the run failed: ${String((error as Error).message ?? error).split('\n')[0]}`);
    await saveLogs();
    await deployment.tearDown().catch(() => {});
    throw error;
  }
  await saveLogs();
  options.onStage?.('tearing down');
  const teardownError = await deployment.tearDown().then(
    () => undefined,
    (error: unknown) => error ?? new Error('teardown failed'),
  );
  return teardownError === undefined ? execution : { ...execution, teardownError };
}
