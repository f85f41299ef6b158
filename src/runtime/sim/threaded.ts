/**
 * Runs a whole simulation in one worker thread (worker.ts), with this thread as its watchdog. Node code that
 * never returns (`while (true) {}` in onMessage) blocks only the worker: at the real-time deadline, or on an
 * interrupt, this thread asks the simulation to stop at its next event, and if it does not within a grace
 * period, terminates the thread and names the node and the handler that were running. One thread for the
 * whole simulation, not one per node: the simulation stays one deterministic event loop, and the watchdog
 * costs two integer stores per event (watchdog-slots.ts).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { Json } from '../../sdk/types.js';
import { PeerlabError } from '../../errors.js';
import type { LinkParams } from '../../links/model.js';
import type { FaultEvent } from '../../faults/events.js';
import type { SimGraph } from './graph.js';
import type { SimulationOutcome } from './types.js';
import type { SimHostsSpec } from './hosts.js';
import type { SimPlacementRequest } from './placement.js';
import { PackedReports, type ReportsPack } from './packed-reports.js';
import { judge, type ThreadReading } from './stuck.js';
import { PROC_TICK_MS } from '../../util/host.js';
import { describeHandler, Handler, Slot, StopRequest } from './watchdog-slots.js';

/** What the worker needs to build the simulation: plain data and file names, nothing with functions in it. */
export interface SimJob {
  /** Its typed arrays are transferred to the worker: the caller's copy is left empty. */
  readonly graph: SimGraph;
  /** Each role's algorithm as a bundled CommonJS file (prepareRun's CLI bundle) and its raw parameters. */
  readonly groups: ReadonlyArray<{ role: string; bundleFile: string; params: Json; nodes: readonly string[] }>;
  readonly seed: number;
  readonly maxPayloadBytes: number;
  /** A `--delay` spec, for edges without a link. */
  readonly delay: string;
  /** The run's links (src/links): the `--links` spec and each directed edge's link, keyed `from>to`. */
  readonly links?: { readonly spec: string; readonly directed: Readonly<Record<string, LinkParams>> };
  readonly until?: 'results' | 'quiescent';
  readonly timeoutMs: number;
  readonly maxEvents: number;
  /** Where to write the NDJSON trace, if at all. */
  readonly traceFile?: string;
  /** Where each node's log goes (results/<run>/logs), if at all. */
  readonly logsDir?: string;
  /** The resolved fault schedule: plain data, applied in the worker at each event's virtual time. */
  readonly faults?: readonly FaultEvent[];
  readonly hosts?: SimHostsSpec;
  /** A placement policy as a bundled CommonJS file (`shown`: its source, for an error), and its rounds. */
  readonly placement?: SimPlacementRequest & { readonly policyFile: string; readonly shown: string };
}

export interface WorkerInput {
  readonly job: SimJob;
  readonly watchdog: SharedArrayBuffer;
}

export type FromWorker =
  /** `thread`: the simulation thread's kernel id, where the system has one (Linux), for its CPU time. */
  | { type: 'running'; thread: string | undefined }
  /** The reports packed (packed-reports.ts): as objects, a 10⁶-node run's were too many for this thread's heap. */
  | { type: 'outcome'; outcome: Omit<SimulationOutcome, 'reports'> & { reports: ReportsPack } }
  | { type: 'error'; message: string; hint: string | undefined; stack: string | undefined; user: boolean };

/** A node's code did not return to the simulator: the thread was terminated. */
export class NodeCodeStuck extends PeerlabError {
  /** What happened, after "node N": "did not return from onMessage (a message from 2) within the 5 s timeout…". */
  readonly detail: string;

  constructor(
    readonly nodeId: string,
    handler: string,
    why: string,
  ) {
    const detail = `did not return from ${handler} ${why}: the simulator stopped it`;
    super(`node ${nodeId} ${detail}`, {
      hint: 'look for a loop that never ends in that handler (the simulator runs one handler at a time, so a node that never yields stops the run)',
    });
    this.name = 'NodeCodeStuck';
    this.detail = detail;
  }
}

export interface WatchdogOptions {
  /** Real time the run may take once its nodes are built, in ms; none if left out. */
  readonly deadlineMs?: number;
  /** Aborting it (Ctrl-C) stops the run: run() resolves with endReason 'interrupted', or rejects if a node is stuck. */
  readonly signal?: AbortSignal;
  /** Called once every node is built and the first event is about to run, with the real ms that took. */
  readonly onRunning?: (setupMs: number) => void;
}

/** The simulation thread's young generation (three semi-spaces' worth in V8): see the Worker's resourceLimits. */
const YOUNG_GENERATION_MB = 192;
/** How long the simulation has to stop at its next event before its thread is terminated. */
export const DEADLINE_GRACE_MS = 500;
export const INTERRUPT_GRACE_MS = 300;
/** Grace periods added while the simulation thread gets too little CPU to tell a slow event from a stuck one. */
const MAX_GRACE_EXTENSIONS = 10;
/**
 * How long a simulation that is between events, or moving from one to the next, has to reach its stop check:
 * its own work (the node reports after a 10⁶-node run) can take this long on a loaded machine.
 */
const SIMULATOR_WAIT_MS = 120_000;

export async function simulateInWorker(job: SimJob, options: WatchdogOptions = {}): Promise<SimulationOutcome> {
  const slots = new Int32Array(new SharedArrayBuffer(Slot.count * Int32Array.BYTES_PER_ELEMENT));
  const { graph } = job;
  const worker = new Worker(await workerFile(), {
    workerData: { job, watchdog: slots.buffer } satisfies WorkerInput,
    transferList: [graph.offsets.buffer, graph.targets.buffer, graph.weights.buffer] as ArrayBuffer[],
    // The worker holds every node; V8's default heap limit (a quarter of memory, at most 4 GiB) is too small at 10⁶ nodes.
    // The young generation is raised from V8's 48 MiB: with an exponential delay a large share of all messages is
    // in flight at once, so with the default most of them outlive two scavenges, are copied into the old generation
    // and die there, and collection took a quarter to a third of a 10⁵-node flood.
    resourceLimits: { maxOldGenerationSizeMb: Math.floor((os.totalmem() / 2 ** 20) * 0.75), maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    stdout: false,
    stderr: false,
    execArgv: [...process.execArgv, '--enable-source-maps'],
  });
  const ids = graph.ids;
  const began = performance.now();
  return new Promise<SimulationOutcome>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = [];
    let settled = false;
    const settle = (action: () => void): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      action();
    };
    let thread: string | undefined;
    const read = (): ThreadReading => ({
      node: Atomics.load(slots, Slot.node),
      handler: Atomics.load(slots, Slot.handler),
      from: Atomics.load(slots, Slot.from),
      event: Atomics.load(slots, Slot.event),
      cpuMs: threadCpuMs(thread),
    });
    const stop = (request: StopRequest, graceMs: number, why: string): void => {
      Atomics.store(slots, Slot.stop, request);
      const asked = performance.now();
      let before = read();
      let starved = 0;
      const check = (): void => {
        const now = read();
        const judgement = judge(before, now, graceMs);
        before = now;
        // Moving: it reaches its stop check by itself, so a deadline waits for it; Ctrl-C does not (the run ends
        // within a second, issue 9). Starved: the machine is so busy that the thread barely ran, which is not yet
        // the node's fault (a few grace periods more).
        const wait =
          judgement === 'moving'
            ? request === StopRequest.deadline && performance.now() - asked < SIMULATOR_WAIT_MS
            : judgement === 'starved' && starved++ < MAX_GRACE_EXTENSIONS;
        if (wait) {
          timers.push(setTimeout(check, graceMs));
          return;
        }
        const handler = describeHandler(now.handler, ids[now.from]);
        const error =
          now.handler !== Handler.none && now.node >= 0 && now.node < ids.length
            ? new NodeCodeStuck(ids[now.node]!, handler, why)
            : new PeerlabError(`the simulation did not stop ${why} (it was in ${handler})`, {
                hint: 'a control action or delay model that never returns; report it if it is peerlab’s',
              });
        settle(() => reject(error));
        void worker.terminate();
      };
      timers.push(setTimeout(check, graceMs));
    };
    const onAbort = (): void => stop(StopRequest.interrupt, INTERRUPT_GRACE_MS, 'when the run was interrupted');
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'running':
          thread = message.thread;
          options.onRunning?.(performance.now() - began);
          if (options.deadlineMs !== undefined) {
            const seconds = options.deadlineMs / 1000;
            timers.push(setTimeout(() => stop(StopRequest.deadline, DEADLINE_GRACE_MS, `within the ${seconds} s timeout`), options.deadlineMs));
          }
          return;
        case 'outcome':
          settle(() => resolve({ ...message.outcome, reports: new PackedReports(message.outcome.reports) }));
          return;
        case 'error': {
          const error = message.user ? new PeerlabError(message.message, { hint: message.hint }) : new Error(message.message);
          if (message.stack) error.stack = message.stack;
          settle(() => reject(error));
        }
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
    worker.on('exit', (code) => {
      settle(() => reject(new Error(`the simulation thread exited (code ${code}) without an outcome`)));
    });
  }).finally(() => void worker.terminate());
}

/**
 * CPU ms a thread of this process has burned: on Linux its own, from /proc (in ticks, see PROC_TICK_MS), so the
 * garbage collector's helper threads and this thread do not count; elsewhere, or
 * before the thread said its id, the whole process's.
 */
function threadCpuMs(thread: string | undefined): number {
  if (thread !== undefined) {
    try {
      const stat = readFileSync(`/proc/self/task/${thread}/stat`, 'utf8');
      // After the command name in parentheses: state, then 10 more fields, then utime and stime.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * PROC_TICK_MS;
    } catch {
      // The thread has just exited: fall back.
    }
  }
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

let bundledWorker: Promise<string> | undefined;

/**
 * The compiled worker next to this file; when running from TypeScript sources (tests), which a worker thread
 * cannot load, the worker bundled once per process with esbuild, so tests run the sources and not a stale dist/.
 */
async function workerFile(): Promise<string> {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return path.join(path.dirname(here), 'worker.js');
  bundledWorker ??= (async () => {
    const outfile = path.join(mkdtempSync(path.join(os.tmpdir(), 'peerlab-sim-worker-')), 'worker.mjs');
    await build({
      entryPoints: [path.join(path.dirname(here), 'worker.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      // Stack traces through the bundle name src/ files, which error reports know as peerlab's own (plugins/stack.ts).
      sourcemap: 'inline',
      banner: { js: "import { createRequire as __peerlabRequire } from 'node:module'; const require = __peerlabRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    return outfile;
  })();
  return bundledWorker;
}
