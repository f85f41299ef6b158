import type { Etcd3 } from 'etcd3';
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
}

/**
 * Wraps a run's observer (or none) so the run's cost is counted while it follows etcd; `cost()` returns it once
 * the run is over (undefined when cgroups could not be read).
 */
export function meterRun(observer: RunObserver | undefined): { observer: RunObserver; cost: () => RunCost | undefined } {
  let cost: RunCost | undefined;
  let runId = '';
  const metered: RunObserver = {
    ...observer,
    async prepared(run, runtime) {
      runId = run.runId;
      await observer?.prepared?.(run, runtime);
    },
    async followEtcd(etcd, keys) {
      const stopInner = await observer?.followEtcd?.(etcd, keys);
      const [cliBefore, revisionBefore] = await Promise.all([ownCpuMs(), revision(etcd, keys)]);
      const docker = await connectDocker();
      const etcdBefore = (await containersCpuMs(await runContainers([docker], runId)))?.etcd;
      return async () => {
        await stopInner?.();
        // Read while the containers are still up: the run's teardown comes after it stops following etcd.
        const [cliAfter, revisionAfter, containers] = await Promise.all([ownCpuMs(), revision(etcd, keys), runContainers([docker], runId)]);
        const byRole = await containersCpuMs(containers);
        if (byRole === undefined || etcdBefore === undefined) return;
        cost = {
          cliCpuMs: Math.round(cliAfter - cliBefore),
          etcdCpuMs: Math.round(byRole.etcd - etcdBefore),
          nodesCpuMs: Math.round(byRole.node),
          etcdWrites: Number(revisionAfter - revisionBefore),
        };
      };
    },
  };
  return { observer: metered, cost: () => cost };
}

async function revision(etcd: Etcd3, keys: RunKeys): Promise<bigint> {
  const response = await etcd.kv.range({ key: Buffer.from(keys.prefix), count_only: true });
  return BigInt(response.header.revision);
}
