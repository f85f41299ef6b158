import type { Etcd3 } from 'etcd3';
import { PeerlabError } from '../errors.js';
import type { Json } from '../sdk/types.js';
import { runKeys, type RunKeys } from '../coordination/keys.js';
import { followPrefix } from '../coordination/etcd.js';
import type { NeighbourEntry, NodeFailure, NodeReport, NodeStartup, RunConfig } from '../coordination/protocol.js';
import { forEachLimited } from '../util/concurrency.js';
import { userFrame } from '../plugins/stack.js';
import { ExecutionFailed } from './execution.js';

/** What each node's ready key holds: the deployment hands it on as it is. */
export type { NodeStartup } from '../coordination/protocol.js';

export interface CollectedResults {
  readonly results: Map<string, Json>;
  /** Nodes that had not reported by the deadline (empty unless timed out). */
  readonly missing: string[];
  readonly timedOut: boolean;
  readonly durationMs: number;
}

/**
 * The controller's side of the etcd protocol (see coordination/keys.ts): it publishes the run, waits for the
 * nodes, opens barriers, says start and stop, and collects what the nodes report. Every wait is a watch.
 */
export class RunController {
  private readonly keys: RunKeys;
  /** The first failure any node reported; every wait gives up on it. */
  private failure: NodeFailed | undefined;
  private stopFollowingErrors: () => Promise<void> = async () => {};

  private constructor(
    private readonly etcd: Etcd3,
    runId: string,
    private readonly nodeIds: readonly string[],
  ) {
    this.keys = runKeys(runId);
  }

  static async open(etcd: Etcd3, runId: string, nodeIds: readonly string[]): Promise<RunController> {
    const controller = new RunController(etcd, runId, nodeIds);
    controller.stopFollowingErrors = await followPrefix(etcd, controller.keys.errorsPrefix, (event) => {
      if (event.type !== 'put' || controller.failure) return;
      const { message, stack } = JSON.parse(event.value) as NodeFailure;
      controller.failure = new NodeFailed(event.name, message, stack);
    });
    return controller;
  }

  async close(): Promise<void> {
    await this.stopFollowingErrors();
  }

  async publish(config: RunConfig, neighbours: ReadonlyMap<string, NeighbourEntry[]>): Promise<void> {
    await this.etcd.put(this.keys.config).value(JSON.stringify(config));
    await forEachLimited([...neighbours], 64, async ([id, list]) => {
      await this.etcd.put(this.keys.topology(id)).value(JSON.stringify(list));
    });
  }

  /**
   * Resolves when every node has written its ready key. `check` runs every second meanwhile, so a node that
   * crashed is reported instead of waited for.
   */
  async waitReady(options: {
    onProgress?: (ready: number) => void;
    check: () => Promise<void>;
    timeoutMs: number;
  }): Promise<Map<string, NodeStartup>> {
    const ready = new Map<string, NodeStartup>();
    try {
      return await this.untilComplete(this.keys.readyPrefix, options.timeoutMs, 'become ready', options.check, (event) => {
        ready.set(event.name, JSON.parse(event.value) as NodeStartup);
        options.onProgress?.(ready.size);
        return ready.size === this.nodeIds.length ? ready : undefined;
      });
    } catch (error) {
      if (!(error instanceof RunTimeout)) throw error;
      const waiting = this.nodeIds.filter((id) => !ready.has(id));
      throw new PeerlabError(
        `${waiting.length} of ${this.nodeIds.length} nodes were not connected after ${options.timeoutMs / 1000} s (${waiting.slice(0, 10).join(', ')}${waiting.length > 10 ? ', …' : ''})`,
        { hint: 'the host may be overloaded: try fewer nodes (peerlab doctor --nodes N), or look at those nodes with docker logs' },
      );
    }
  }

  async start(): Promise<number> {
    const startedAt = Date.now();
    await this.etcd.put(this.keys.start).value(String(startedAt));
    return startedAt;
  }

  /**
   * Collects results until every node has one, a node fails, or the timeout passes. Meanwhile it opens each
   * barrier as soon as all nodes have arrived at it.
   */
  async collectResults(options: { timeoutMs: number; check: () => Promise<void> }): Promise<CollectedResults> {
    const started = Date.now();
    const results = new Map<string, Json>();
    const stopBarriers = await this.serveBarriers();
    try {
      await this.untilComplete(this.keys.resultsPrefix, options.timeoutMs, 'report a result', options.check, (event) => {
        results.set(event.name, JSON.parse(event.value) as Json);
        return results.size === this.nodeIds.length ? results : undefined;
      });
      return { results, missing: [], timedOut: false, durationMs: Date.now() - started };
    } catch (error) {
      if (!(error instanceof RunTimeout) || this.failure) {
        throw new ExecutionFailed(asError(this.failure ?? error), { results, reports: new Map() });
      }
      return {
        results,
        missing: this.nodeIds.filter((id) => !results.has(id)),
        timedOut: true,
        durationMs: Date.now() - started,
      };
    } finally {
      await stopBarriers();
    }
  }

  /** Tells the nodes to stop and gathers their final reports (metrics and per-edge traffic). */
  async stopAndCollectReports(timeoutMs: number): Promise<Map<string, NodeReport>> {
    const reports = new Map<string, NodeReport>();
    await this.etcd.put(this.keys.stop).value(String(Date.now()));
    try {
      await this.untilComplete(this.keys.reportsPrefix, timeoutMs, 'send its final report', async () => {}, (event) => {
        reports.set(event.name, JSON.parse(event.value) as NodeReport);
        return reports.size === this.nodeIds.length ? reports : undefined;
      });
    } catch (error) {
      if (!(error instanceof RunTimeout)) throw error;
    }
    return reports;
  }

  async deleteRunKeys(): Promise<void> {
    await this.etcd.delete().prefix(this.keys.prefix);
  }

  private async serveBarriers(): Promise<() => Promise<void>> {
    const arrivals = new Map<string, Set<string>>();
    return followPrefix(this.etcd, this.keys.barrierArrivalsPrefix, (event) => {
      if (event.type !== 'put') return;
      const split = event.name.lastIndexOf('/');
      const name = event.name.slice(0, split);
      const arrived = arrivals.get(name) ?? new Set<string>();
      arrivals.set(name, arrived);
      arrived.add(event.name.slice(split + 1));
      if (arrived.size !== this.nodeIds.length) return;
      this.etcd
        .put(this.keys.barrierOpen(name))
        .value(String(Date.now()))
        .exec()
        .catch((error: unknown) => {
          this.failure ??= new NodeFailed('controller', `could not open barrier "${name}": ${String(error)}`, undefined);
        });
    });
  }

  private async untilComplete<T>(
    prefix: string,
    timeoutMs: number,
    what: string,
    check: () => Promise<void>,
    onPut: (event: { name: string; value: string }) => T | undefined,
  ): Promise<T> {
    let stopFollowing: (() => Promise<void>) | undefined;
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        timer = setTimeout(() => reject(new RunTimeout(`not every node managed to ${what} within ${timeoutMs} ms`)), timeoutMs);
        poll = setInterval(() => {
          if (this.failure) reject(this.failure);
          else check().catch(reject);
        }, 1000);
        followPrefix(this.etcd, prefix, (event) => {
          if (event.type !== 'put') return;
          const done = onPut(event);
          if (done !== undefined) resolve(done);
        })
          .then((stop) => {
            stopFollowing = stop;
          })
          .catch(reject);
      });
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
      await stopFollowing?.();
    }
  }
}

export class RunTimeout extends PeerlabError {
  constructor(message: string) {
    super(message, { hint: 'raise --timeout, or look at the nodes that did not report (peerlab status)' });
  }
}

export class NodeFailed extends PeerlabError {
  constructor(
    readonly nodeId: string,
    message: string,
    readonly nodeStack: string | undefined,
  ) {
    const where = userFrame(nodeStack ?? '');
    super(`node ${nodeId} failed${where ? ` at ${where}` : ''}: ${message}`, { hint: `its log and stack trace are in the run's results folder` });
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
