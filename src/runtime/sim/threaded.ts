/**
 * Runs a whole simulation in one worker thread (worker.ts), with this thread as its watchdog. Node code that
 * never returns (`while (true) {}` in onMessage) blocks only the worker: once one handler has held the thread,
 * burning CPU, for the real-time limit, this thread terminates it and names the node and the handler. On an
 * interrupt it asks the simulation to stop at its next event, and if it does not within a grace period, does
 * the same. One thread for the whole simulation, not one per node: the simulation stays one deterministic event
 * loop, and the watchdog costs two integer stores per event (watchdog-slots.ts).
 *
 * The watchdog bounds one handler's real time, not the run's: how far a simulation gets is a matter of virtual
 * time and of events (the run's timeout and event cap), so the same inputs give the same outcome on a slow
 * machine as on a fast one. A whole-run deadline in real time cut a 10⁵-node push-sum at 96 % of its rounds on
 * a quiet host, and would have cut it sooner on a busier one.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import type { Json } from '../../sdk/types.js';
import { PeerlabError } from '../../errors.js';
import type { LinkParams } from '../../links/model.js';
import type { FaultEvent } from '../../faults/events.js';
import type { SimGraph } from './graph.js';
import type { SimulationOutcome, SimulationProgress } from './types.js';
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
  /** Post the simulation's progress at most this often (real ms); none is posted without it. */
  readonly progressEveryMs?: number;
}

export type FromWorker =
  /** `thread`: the simulation thread's kernel id, where the system has one (Linux), for its CPU time. */
  | { type: 'running'; thread: string | undefined }
  | { type: 'progress'; progress: SimulationProgress }
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
  /**
   * Real time one handler (or control action) may hold the simulation thread, burning CPU, before it counts as
   * stuck, in ms; no limit if left out.
   */
  readonly handlerLimitMs?: number;
  /** Aborting it (Ctrl-C) stops the run: run() resolves with endReason 'interrupted', or rejects if a node is stuck. */
  readonly signal?: AbortSignal;
  /** Called once every node is built and the first event is about to run, with the real ms that took. */
  readonly onRunning?: (setupMs: number) => void;
  /** Called with how far the simulation has got, at most once per `everyMs` of real time while it runs. */
  readonly progress?: { readonly everyMs: number; readonly report: (progress: SimulationProgress) => void };
}

/** The simulation thread's young generation (three semi-spaces' worth in V8): see the Worker's resourceLimits. */
const YOUNG_GENERATION_MB = 192;
/** How long an interrupted simulation has to stop at its next event before its thread is terminated. */
export const INTERRUPT_GRACE_MS = 300;
/** Grace periods added while the simulation thread gets too little CPU to tell a slow event from a stuck one. */
const MAX_GRACE_EXTENSIONS = 10;
/** How often the watchdog looks at which handler holds the simulation thread: the slack of the handler limit. */
const HOLD_SAMPLE_MS = 100;

export async function simulateInWorker(job: SimJob, options: WatchdogOptions = {}): Promise<SimulationOutcome> {
  const slots = new Int32Array(new SharedArrayBuffer(Slot.count * Int32Array.BYTES_PER_ELEMENT));
  const { graph } = job;
  // Started from a line that turns source maps on before the thread loads anything (stack traces name src/ files,
  // which error reports know as peerlab's own), not by `--enable-source-maps` in `execArgv`: a Worker given
  // `execArgv` refuses V8's flags in it, so `node --max-old-space-size=16384 bin/run.js run … --runtime sim` failed
  // with ERR_WORKER_INVALID_EXEC_ARGV; one not given it inherits the process's flags as they are.
  const worker = new Worker(`process.setSourceMapsEnabled(true); import(${JSON.stringify(pathToFileURL(await workerFile()).href)});`, {
    eval: true,
    workerData: { job, watchdog: slots.buffer, progressEveryMs: options.progress?.everyMs } satisfies WorkerInput,
    transferList: [graph.offsets.buffer, graph.targets.buffer, graph.weights.buffer] as ArrayBuffer[],
    // The worker holds every node; V8's default heap limit (a quarter of memory, at most 4 GiB) is too small at 10⁶ nodes.
    // The young generation is raised from V8's 48 MiB: with an exponential delay a large share of all messages is
    // in flight at once, so with the default most of them outlive two scavenges, are copied into the old generation
    // and die there, and collection took a quarter to a third of a 10⁵-node flood.
    resourceLimits: { maxOldGenerationSizeMb: Math.floor((os.totalmem() / 2 ** 20) * 0.75), maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
    stdout: false,
    stderr: false,
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
    /** Ends the run with an error naming what held the thread (`now`), and terminates the thread. */
    const terminate = (now: ThreadReading, why: string): void => {
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
    const onAbort = (): void => {
      Atomics.store(slots, Slot.stop, StopRequest.interrupt);
      let before = read();
      let starved = 0;
      const check = (): void => {
        const now = read();
        const judgement = judge(before, now, INTERRUPT_GRACE_MS);
        before = now;
        // Starved: the machine is so busy that the thread barely ran, which is not yet the node's fault (a few
        // grace periods more). Anything else ends the run now: within a second of Ctrl-C (issue 9).
        if (judgement === 'starved' && starved++ < MAX_GRACE_EXTENSIONS) timers.push(setTimeout(check, INTERRUPT_GRACE_MS));
        else terminate(now, 'when the run was interrupted');
      };
      timers.push(setTimeout(check, INTERRUPT_GRACE_MS));
    };
    /**
     * Looks every HOLD_SAMPLE_MS at the event under way; one that a handler has held, burning CPU, for `limitMs`
     * is stuck. The first reading of an event is the judgement's start, so a handler is stopped between
     * `limitMs` and `limitMs` + HOLD_SAMPLE_MS after it began.
     */
    const watchHolds = (limitMs: number): void => {
      let held: { reading: ThreadReading; since: number } | undefined;
      timers.push(
        setInterval(() => {
          const now = read();
          if (now.handler === Handler.none) held = undefined;
          else if (held === undefined || held.reading.event !== now.event) held = { reading: now, since: performance.now() };
          else if (performance.now() - held.since >= limitMs && judge(held.reading, now, limitMs) === 'stuck') terminate(now, `within the ${limitMs / 1000} s timeout`);
        }, HOLD_SAMPLE_MS),
      );
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'running':
          thread = message.thread;
          options.onRunning?.(performance.now() - began);
          if (options.handlerLimitMs !== undefined) watchHolds(options.handlerLimitMs);
          return;
        case 'progress':
          options.progress?.report(message.progress);
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
