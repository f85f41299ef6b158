/**
 * The simulation thread: `simulateInWorker` (threaded.ts) starts this file as a worker thread, which loads the
 * bundled algorithms, runs the whole simulation and posts its outcome back. Every node's code runs here, so the
 * main thread stays free to be its watchdog: it stops the run on Ctrl-C, and terminates this thread when a node's
 * code never returns.
 */
import { closeSync, openSync, readlinkSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { PeerlabError } from '../../errors.js';
import { requireAlgorithm, requirePolicy } from '../../host/load.js';
import { linkDelay, parseDelay } from './delay.js';
import { NodeLogWriter } from '../../util/node-logs.js';
import { Simulation } from './simulation.js';
import { transferables } from './packed-reports.js';
import type { SimGroup, SimulationProgress, TraceEvent } from './types.js';
import type { FromWorker, WorkerInput } from './threaded.js';

/**
 * The NDJSON trace, written synchronously in 1 MiB chunks: if the thread is terminated (a node that never
 * returns), everything up to the last chunk is on disk, and nothing waits on the event loop of a busy thread.
 */
class TraceFile {
  private readonly fd: number;
  private chunk: string[] = [];
  private length = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  readonly write = (event: TraceEvent): void => {
    const line = `${JSON.stringify(event)}\n`;
    this.chunk.push(line);
    this.length += line.length;
    if (this.length >= 1 << 20) this.flush();
  };

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.chunk.length === 0) return;
    writeSync(this.fd, this.chunk.join(''));
    this.chunk = [];
    this.length = 0;
  }
}

/** This thread's id in the kernel (Linux: /proc/thread-self is `<pid>/task/<tid>`), for the watchdog's CPU reading. */
function kernelThreadId(): string | undefined {
  try {
    return readlinkSync('/proc/thread-self').split('/').pop();
  } catch {
    return undefined;
  }
}

const { job, watchdog, progressEveryMs } = workerData as WorkerInput;
const post = (message: FromWorker, transferList: ArrayBuffer[] = []): void => parentPort!.postMessage(message, transferList);

/**
 * The simulation's progress hook (called every PROGRESS_EVERY events), posted at most once per `intervalMs` of
 * real time: a post per call would be ten a second on a fast run, and the main thread only shows a line now and
 * then.
 */
function postedEvery(intervalMs: number): (progress: SimulationProgress) => void {
  let last = performance.now();
  return (progress) => {
    const now = performance.now();
    if (now - last < intervalMs) return;
    last = now;
    post({ type: 'progress', progress });
  };
}

try {
  const algorithms = new Map<string, SimGroup['algorithm']>();
  const groups: SimGroup[] = job.groups.map(({ role, bundleFile, params, nodes }) => {
    let algorithm = algorithms.get(bundleFile);
    if (!algorithm) algorithms.set(bundleFile, (algorithm = requireAlgorithm(bundleFile, { sourceMaps: true })));
    return { role, algorithm, params, nodes };
  });
  const trace = job.traceFile === undefined ? undefined : new TraceFile(job.traceFile);
  // Lines as the node agent prints them in a container, so a node's log reads the same from either runtime.
  const logs = job.logsDir === undefined ? undefined : new NodeLogWriter(job.logsDir);
  const simulation = new Simulation({
    graph: job.graph,
    groups,
    seed: job.seed,
    maxPayloadBytes: job.maxPayloadBytes,
    delay: job.links ? linkDelay(job.links.directed, job.seed, job.links.spec) : parseDelay(job.delay),
    timeoutMs: job.timeoutMs,
    until: job.until,
    maxEvents: job.maxEvents,
    trace: trace?.write,
    log: logs && ((nodeId, line) => logs.write(nodeId, `[node ${nodeId}] ${line}`)),
    console: logs && ((nodeId, line) => logs.write(nodeId, line)),
    watchdog: new Int32Array(watchdog),
    ...(progressEveryMs !== undefined && { progress: postedEvery(progressEveryMs) }),
    hosts: job.hosts,
    ...(job.placement && {
      placement: { everyMs: job.placement.everyMs, hold: job.placement.hold, settings: job.placement.settings, policy: requirePolicy(job.placement.policyFile, job.placement.shown) },
    }),
  });
  // Scheduled before the nodes start, so that a fault at 0 ms comes before any node's init (sequence order).
  simulation.scheduleFaults(job.faults ?? []);
  simulation.startAll();
  post({ type: 'running', thread: kernelThreadId() });
  let outcome;
  try {
    outcome = await simulation.run();
    if (outcome.failure) logs?.write(outcome.failure.nodeId, `[node ${outcome.failure.nodeId}] ${outcome.failure.stack ?? outcome.failure.message}`);
  } finally {
    trace?.close();
    logs?.close();
  }
  const { pack } = outcome.reports;
  post({ type: 'outcome', outcome: { ...outcome, reports: pack } }, transferables(pack));
} catch (error) {
  const failure = error instanceof Error ? error : new Error(String(error));
  post({
    type: 'error',
    message: failure.message,
    hint: failure instanceof PeerlabError ? failure.hint : undefined,
    stack: failure.stack,
    user: failure instanceof PeerlabError,
  });
}
