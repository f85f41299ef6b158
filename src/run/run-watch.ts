/**
 * The one crash check of a Docker run, for bring-up and for the run alike. It follows the engine's events for
 * the run's containers (so a death is seen at once, at no cost per node) and asks etcd's /health every second:
 *  - a node container that dies is named, with how it died (exit code, signal, out of memory) and its last log
 *    lines, before its neighbours' broken links can be taken for the cause;
 *  - the etcd container dying, or etcd not answering for ETCD_SILENCE_MS, ends the run with one line, instead of
 *    every wait running into --timeout.
 */
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { NODE_LABEL, ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';

/** What the watch needs of the runtime whose containers it follows. */
export interface WatchedRuntime {
  readonly runId: string;
  logTail(id: string, lines: number): Promise<string>;
  /** The command that shows a node's log while the run is up, for the crash report's hint. */
  logsCommand(id: string): string;
}

/** Finds the node of a container that carries no peerlab.node label (a Swarm task's: labels take no templates). */
export type NodeOfContainer = (attributes: Readonly<Record<string, string>>) => string | undefined;

/** etcd gets this long without answering before the run gives up on it; 1000 nodes starting keep it busy, not mute. */
export const ETCD_SILENCE_MS = 7_000;
const ETCD_PROBE_EVERY_MS = 1_000;
const ETCD_PROBE_TIMEOUT_MS = 3_000;

interface DockerEvent {
  readonly Action?: string;
  readonly Actor?: { readonly ID?: string; readonly Attributes?: Record<string, string> };
}

export class RunWatch {
  private failure: Error | undefined;
  /** Set when etcd died or went silent: nothing more can be asked of it (e.g. to delete the run's keys). */
  etcdLost = false;
  /** Containers the kernel's OOM killer hit (the `oom` event comes before `die`). */
  private readonly outOfMemory = new Set<string>();
  /** Deaths being looked into (inspect, log tail): a check waits for them, so the dead node is named first. */
  private readonly pending = new Set<Promise<void>>();
  /** What stop() ends besides the event streams: etcd's probe, the Ctrl-C listener. */
  private readonly onStop: Array<() => void> = [];
  private readonly streams: Array<NodeJS.ReadableStream & { destroy?: () => void }> = [];
  /** Nodes a fault is taking out on purpose: their deaths are the schedule's, not crashes. */
  private readonly intended = new Set<string>();
  private stopped = false;

  /** Rejects with the first failure: whatever the run is waiting for (an etcd call included) loses to it. */
  private readonly failed: Promise<never>;
  private rejectFailed: (error: Error) => void = () => {};

  private constructor(
    private readonly engines: readonly Docker[],
    private readonly runtime: WatchedRuntime,
    private readonly nodeMemoryLimit: number,
    private readonly nodeOf: NodeOfContainer,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => {});
  }

  /** Starts following the run's containers; call it before any is created, so no death goes unseen. */
  static start(docker: Docker, runtime: WatchedRuntime, nodeMemoryLimit: number): Promise<RunWatch> {
    return RunWatch.startOn([docker], runtime, nodeMemoryLimit);
  }

  /** Follows the run's containers on every one of these engines (a Swarm's: each engine reports its own). */
  static async startOn(engines: readonly Docker[], runtime: WatchedRuntime, nodeMemoryLimit: number, nodeOf: NodeOfContainer = () => undefined): Promise<RunWatch> {
    const watch = new RunWatch(engines, runtime, nodeMemoryLimit, nodeOf);
    for (const docker of engines) {
      const events = (await docker.getEvents({
        filters: { type: ['container'], event: ['die', 'oom'], label: [`${RUN_LABEL}=${runtime.runId}`] },
      } as Parameters<Docker['getEvents']>[0])) as NodeJS.ReadableStream & { destroy?: () => void };
      watch.streams.push(events);
      let buffered = '';
      events.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        for (let end = buffered.indexOf('\n'); end >= 0; end = buffered.indexOf('\n')) {
          const line = buffered.slice(0, end).trim();
          buffered = buffered.slice(end + 1);
          if (line) watch.onEvent(docker, JSON.parse(line) as DockerEvent);
        }
      });
      events.on('error', (error: Error) => watch.fail(new PeerlabError(`lost the Docker engine's events during the run: ${error.message}`, { hint: 'is the engine still running? (docker info)' })));
    }
    return watch;
  }

  /** Also watches etcd at these endpoints (any one answering is enough). */
  watchEtcd(endpoints: readonly string[]): void {
    let lastAnswer = Date.now();
    let probing = false;
    let lastError = 'no answer';
    // The silence is judged on every tick, not only when a probe returns: a probe to a frozen etcd hangs for its
    // whole timeout, and waiting for it made a pause known only after 7 s plus up to a probe's 3 s.
    const timer = setInterval(() => {
      if (this.stopped) return;
      const silentMs = Date.now() - lastAnswer;
      if (silentMs >= ETCD_SILENCE_MS) {
        this.etcdLost = true;
        this.fail(
          new PeerlabError(`etcd at ${endpoints.join(', ')} has not answered for ${Math.round(silentMs / 1000)} s (${lastError}): the run cannot go on`, {
            hint: 'an etcd of your own (--etcd-endpoints) must stay up for the whole run; a run\'s own etcd: see `docker logs` of its etcd container',
          }),
        );
        return;
      }
      if (probing) return;
      probing = true;
      void Promise.any(endpoints.map((endpoint) => probeHealth(endpoint)))
        .then(
          () => {
            lastAnswer = Date.now();
          },
          (error: AggregateError) => {
            lastError = error.errors.map((e: unknown) => (e instanceof Error ? e.message : String(e))).join('; ');
          },
        )
        .finally(() => {
          probing = false;
        });
    }, ETCD_PROBE_EVERY_MS);
    this.onStop.push(() => clearInterval(timer));
  }

  /** Throws the first failure seen; deaths still being looked into are waited for. */
  async check(): Promise<void> {
    while (this.pending.size > 0 && !this.failure) await Promise.all(this.pending);
    if (this.failure) throw this.failure;
  }

  /** `work`, unless the run fails first: an etcd that is gone must not hold the run up for its client's retries. */
  race<T>(work: Promise<T>): Promise<T> {
    return Promise.race([work, this.failed]);
  }

  /**
   * Ctrl-C: whatever the run is waiting for loses to it, as to a failure, so the run stops waiting and tears itself
   * down at once instead of running on until its timeout.
   */
  endOnAbort(signal: AbortSignal): void {
    const end = (): void => this.fail(new PeerlabError('the run was interrupted'));
    if (signal.aborted) return end();
    signal.addEventListener('abort', end, { once: true });
    // An experiment's runs share one signal: a finished run's listener must not stay on it.
    this.onStop.push(() => signal.removeEventListener('abort', end));
  }

  /** A fault is about to kill or stop this node: its death will not fail the run. Call it before the act. */
  expectExit(nodeId: string): void {
    this.intended.add(nodeId);
  }

  /** A node a fault took out runs again (a restart): a death of its container from now on is a crash. */
  expectRunning(nodeId: string): void {
    this.intended.delete(nodeId);
  }

  /** Before teardown: the run's own removal of its containers is no crash. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const stop of this.onStop) stop();
    for (const events of this.streams) {
      events.removeAllListeners('data');
      events.on('error', () => {});
      events.destroy?.();
    }
  }

  private fail(error: Error): void {
    if (this.stopped || this.failure) return;
    this.failure = error;
    this.rejectFailed(error);
  }

  private onEvent(docker: Docker, event: DockerEvent): void {
    const id = event.Actor?.ID;
    const labelled = event.Actor?.Attributes ?? {};
    const node = labelled[NODE_LABEL] ?? this.nodeOf(labelled);
    const attributes = node === undefined ? labelled : { ...labelled, [NODE_LABEL]: node };
    if (this.stopped || !id) return;
    if (event.Action === 'oom') {
      this.outOfMemory.add(id);
      return;
    }
    if (event.Action !== 'die') return;
    if (attributes[ROLE_LABEL] === 'node' && this.intended.has(attributes[NODE_LABEL] ?? '')) return;
    const looking = this.describeDeath(docker, id, attributes)
      .then((error) => error && this.fail(error))
      .finally(() => this.pending.delete(looking));
    this.pending.add(looking);
  }

  /**
   * Whether another container of the same node still runs, on any engine: the dead one was replaced (a migration
   * or restart, src/migration), or was a new container given up before it took over. Either way the node lives
   * on. All the run's node containers are listed, since a Swarm task's node is known by its service, not a label.
   */
  private async succeeded(id: string, nodeId: string): Promise<boolean> {
    const filters = { label: [`${RUN_LABEL}=${this.runtime.runId}`, `${ROLE_LABEL}=node`] };
    const listings = await Promise.all(this.engines.map((docker) => docker.listContainers({ filters }).catch(() => [])));
    return listings.flat().some((container) => container.Id !== id && (container.Labels[NODE_LABEL] ?? this.nodeOf(container.Labels)) === nodeId);
  }

  /** Undefined when the container's node lives on in another (it migrated or restarted): no crash. */
  private async describeDeath(docker: Docker, id: string, attributes: Record<string, string>): Promise<Error | undefined> {
    const info = await docker.getContainer(id).inspect().catch(() => undefined);
    if (attributes[ROLE_LABEL] === 'node' && attributes[NODE_LABEL] !== undefined && (await this.succeeded(id, attributes[NODE_LABEL]))) return undefined;
    const exitCode = info?.State.ExitCode ?? Number(attributes.exitCode ?? NaN);
    const oomKilled = Boolean(info?.State.OOMKilled) || this.outOfMemory.has(id);
    const nodeId = attributes[NODE_LABEL];
    if (attributes[ROLE_LABEL] !== 'node' || nodeId === undefined) {
      this.etcdLost = true;
      const name = attributes.name ?? id.slice(0, 12);
      return new PeerlabError(`etcd ${howItDied(exitCode, oomKilled)} during the run (container ${name}): the run cannot go on`, {
        hint: `see \`docker logs ${name}\``,
      });
    }
    const lines = await this.runtime.logTail(nodeId, 200).catch(() => '(its log is gone)');
    const limit = oomKilled ? ` (its limit is ${Math.round(this.nodeMemoryLimit / 1024 ** 2)} MiB: raise --node-memory, or find what grows)` : '';
    const logged = lines.trim();
    return new NodeCrashed(
      nodeId,
      `node ${nodeId} ${howItDied(exitCode, oomKilled)}${limit} during the run; ${logged ? `its last log lines:\n  ${crashReport(logged.split('\n'))}` : 'it logged nothing'}`,
      `fix the cause above, or inspect it with \`${this.runtime.logsCommand(nodeId)}\` while the run is up`,
    );
  }
}

/** A node container that died: the run names it and how it died. */
export class NodeCrashed extends PeerlabError {
  constructor(
    readonly nodeId: string,
    message: string,
    hint: string,
  ) {
    super(message, { hint });
  }
}

/** "exited with code 3", "was killed (SIGKILL, exit code 137)", "ran out of memory and was killed by the kernel (OOM)". */
export function howItDied(exitCode: number, oomKilled: boolean): string {
  if (oomKilled) return `ran out of memory and was killed by the kernel (OOM-killed, exit code ${exitCode})`;
  if (exitCode > 128 && exitCode < 160) {
    const signal = exitCode - 128;
    const name = SIGNAL_NAMES[signal];
    return `was killed (${name ?? `signal ${signal}`}, exit code ${exitCode})`;
  }
  return Number.isNaN(exitCode) ? 'exited' : `exited with code ${exitCode}`;
}

const SIGNAL_NAMES: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM' };

/** The agent's own failure line and what follows it, or else the last lines: the cause, not just the stack's end. */
function crashReport(lines: string[]): string {
  const failed = lines.findIndex((line) => line.startsWith('node agent failed'));
  return (failed >= 0 ? lines.slice(failed, failed + 8) : lines.slice(-15)).join('\n  ');
}

/**
 * Whether etcd answers at all, on its own /health (no login needed). Any answer counts: under the load of
 * hundreds of starting nodes its health check can time out inside etcd (503) while etcd itself serves well.
 */
async function probeHealth(endpoint: string): Promise<void> {
  const base = endpoint.includes('://') ? endpoint : `http://${endpoint}`;
  const response = await fetch(new URL('/health', base), { signal: AbortSignal.timeout(ETCD_PROBE_TIMEOUT_MS) }).catch((error: unknown) => {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new Error(cause ?? ((error as Error).name === 'TimeoutError' ? `no answer within ${ETCD_PROBE_TIMEOUT_MS} ms` : String(error)));
  });
  await response.arrayBuffer();
}
