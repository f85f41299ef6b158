import type { Etcd3 } from 'etcd3';
import type Docker from 'dockerode';
import { followPrefix } from '../coordination/etcd.js';
import type { RunKeys } from '../coordination/keys.js';
import { connectDocker } from '../docker/engine.js';
import type { RunObserver } from '../run/observer.js';
import { containersCpuMs, ownCpuMs, runContainers } from './host-usage.js';

/**
 * Who spent what during one Docker run, from the moment its etcd is up until the run's end: on a 2-core host
 * every CPU-second the dashboard adds (its page, the nodes' live reports, etcd storing and sending them, the CLI's
 * feed) is wall time the algorithm loses, so the bench says where it went.
 */
export interface RunCost {
  /** peerlab's CLI: coordination, and with the dashboard its etcd watch, feed and server. */
  readonly cliCpuMs: number;
  /** The etcd container. */
  readonly etcdCpuMs: number;
  /** The node containers over their whole life (bring-up included). */
  readonly nodesCpuMs: number;
  /** Writes to etcd (its revision's growth: every put, delete and transaction): the nodes' live reports show here. */
  readonly etcdWrites: number;
  /**
   * The same during the algorithm alone, from the start signal until every node's result is in (the phase whose
   * time grew with the dashboard open), with the extra counters the caller gave (the browser's); absent when a
   * run ended without every result.
   */
  readonly algorithm?: PhaseCost;
}

export interface PhaseCost {
  readonly cliCpuMs: number;
  readonly etcdCpuMs: number;
  readonly nodesCpuMs: number;
  readonly etcdWrites: number;
  /** The caller's own counters (`meterRun`'s `also`), by name. */
  readonly also: Record<string, number>;
}

/**
 * Wraps a run's observer (or none) so the run's cost is counted while it follows etcd; `cost()` returns it once
 * the run is over (undefined when cgroups could not be read). `also` names more CPU counters (ms so far) to read
 * at the algorithm's start and end.
 */
export function meterRun(observer: RunObserver | undefined, also: Record<string, () => Promise<number>> = {}): { observer: RunObserver; cost: () => RunCost | undefined } {
  let cost: RunCost | undefined;
  let runId = '';
  let nodes = 0;
  const metered: RunObserver = {
    ...observer,
    async prepared(run, runtime) {
      runId = run.runId;
      nodes = run.topology.graph.order;
      await observer?.prepared?.(run, runtime);
    },
    async followEtcd(etcd, keys) {
      const stopInner = await observer?.followEtcd?.(etcd, keys);
      const [cliBefore, revisionBefore] = await Promise.all([ownCpuMs(), revision(etcd, keys)]);
      const docker = await connectDocker();
      const etcdBefore = (await containersCpuMs(await runContainers([docker], runId)))?.etcd;
      const algorithm = await meterAlgorithm(etcd, keys, docker, runId, nodes, also);
      return async () => {
        await stopInner?.();
        await algorithm.stop();
        // Read while the containers are still up: the run's teardown comes after it stops following etcd.
        const [cliAfter, revisionAfter, containers] = await Promise.all([ownCpuMs(), revision(etcd, keys), runContainers([docker], runId)]);
        const byRole = await containersCpuMs(containers);
        if (byRole === undefined || etcdBefore === undefined) return;
        const phase = algorithm.cost();
        cost = {
          cliCpuMs: Math.round(cliAfter - cliBefore),
          etcdCpuMs: Math.round(byRole.etcd - etcdBefore),
          nodesCpuMs: Math.round(byRole.node),
          etcdWrites: Number(revisionAfter - revisionBefore),
          ...(phase && { algorithm: phase }),
        };
      };
    },
  };
  return { observer: metered, cost: () => cost };
}

/**
 * Counts CPU from the start signal until every one of `nodes` results is in. The containers are listed once all
 * nodes are ready, before the start (listing 500 of them costs the engine CPU the algorithm would lose); at the
 * start and the end only their cgroups' counters are read.
 */
async function meterAlgorithm(etcd: Etcd3, keys: RunKeys, docker: Docker, runId: string, nodes: number, also: Record<string, () => Promise<number>>) {
  type Reading = { cliMs: number; etcdMs: number; nodesMs: number; revision: bigint; also: Record<string, number> };
  let containers: Promise<Awaited<ReturnType<typeof runContainers>>> | undefined;
  let atStart: Promise<Reading | undefined> | undefined;
  let atEnd: Promise<Reading | undefined> | undefined;
  const read = async (): Promise<Reading | undefined> => {
    const [byRole, cliMs, revisionNow, extra] = await Promise.all([
      containers!.then(containersCpuMs),
      ownCpuMs(),
      revision(etcd, keys),
      Promise.all(Object.entries(also).map(async ([name, counter]) => [name, await counter()] as const)),
    ]);
    return byRole && { cliMs, etcdMs: byRole.etcd, nodesMs: byRole.node, revision: revisionNow, also: Object.fromEntries(extra) };
  };
  const ready = new Set<string>();
  const results = new Set<string>();
  // A follow etcd ended fails the measurement: its start or end may have gone unseen.
  let lost: Error | undefined;
  const onLost = (error: Error): void => void (lost ??= error);
  const stops = await Promise.all([
    followPrefix(etcd, keys.readyPrefix, ({ type, name }) => {
      if (type !== 'put' || containers) return;
      ready.add(name);
      if (ready.size >= nodes) containers = runContainers([docker], runId);
    }, onLost),
    followPrefix(etcd, keys.start, ({ type }) => {
      if (type === 'put' && containers) atStart ??= read();
    }, onLost),
    followPrefix(etcd, keys.resultsPrefix, ({ type, name }) => {
      if (type !== 'put') return;
      results.add(name);
      if (results.size >= nodes && atStart) atEnd ??= read();
    }, onLost),
  ]);
  let phase: PhaseCost | undefined;
  return {
    async stop() {
      await Promise.all(stops.map((stop) => stop()));
      if (lost) throw lost;
      const [start, end] = await Promise.all([atStart, atEnd]);
      if (!start || !end) return;
      phase = {
        cliCpuMs: Math.round(end.cliMs - start.cliMs),
        etcdCpuMs: Math.round(end.etcdMs - start.etcdMs),
        nodesCpuMs: Math.round(end.nodesMs - start.nodesMs),
        etcdWrites: Number(end.revision - start.revision),
        also: Object.fromEntries(Object.entries(end.also).map(([name, ms]) => [name, Math.round(ms - start.also[name]!)])),
      };
    },
    cost: () => phase,
  };
}

async function revision(etcd: Etcd3, keys: RunKeys): Promise<bigint> {
  const response = await etcd.kv.range({ key: Buffer.from(keys.prefix), count_only: true });
  return BigInt(response.header.revision);
}
