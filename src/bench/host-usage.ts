/**
 * What a run costs the host, read where the kernel keeps it: memory from /proc, CPU time from /proc and from the
 * containers' cgroups. The start-up bench splits bring-up by who spent the CPU, since on a host with two cores
 * every CPU-second that nodes, etcd or the CLI spend beyond the engine's own is wall time.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { ROLE_LABEL, RUN_LABEL, type ContainerRole } from '../docker/engine.js';
import { PROC_TICK_MS } from '../util/host.js';

const run = promisify(execFile);

export async function memAvailable(): Promise<number> {
  const meminfo = await readFile('/proc/meminfo', 'utf8');
  const kib = Number(/MemAvailable:\s+(\d+)/.exec(meminfo)?.[1]);
  return kib * 1024;
}

/** Private (unshared) memory of a process: what it costs the host beyond the pages it shares with others. */
async function privateBytes(pid: number): Promise<number> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
  let kib = 0;
  for (const match of rollup.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kib += Number(match[1]);
  return kib * 1024;
}

async function parentPid(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const ppid = /^PPid:\s+(\d+)/m.exec(status)?.[1];
  return ppid === undefined ? undefined : Number(ppid);
}

interface RunContainer {
  readonly id: string;
  readonly role: string | undefined;
  /** Its containerd shim: the parent of the container's first process. */
  readonly shimPid: number | undefined;
}

/** The run's running containers on the engines it spans (all of them processes of this host), with their roles and shims. */
export async function runContainers(engines: readonly Docker[], runId: string): Promise<RunContainer[]> {
  const onEach = await Promise.all(
    engines.map(async (docker) => {
      const containers = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`] } });
      return Promise.all(
        containers.map(async ({ Id, Labels }) => {
          const { State } = await docker.getContainer(Id).inspect();
          return { id: Id, role: Labels[ROLE_LABEL], shimPid: State.Pid > 0 ? await parentPid(State.Pid) : undefined };
        }),
      );
    }),
  );
  return onEach.flat();
}

export async function shimPrivateBytes(containers: readonly RunContainer[]): Promise<number> {
  return sum(await Promise.all(containers.map((container) => (container.shimPid === undefined ? 0 : privateBytes(container.shimPid)))));
}

async function enginePids(): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-x', 'dockerd|containerd']).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter(Boolean).map(Number);
}

export async function enginePrivateBytes(): Promise<number> {
  return sum(await Promise.all((await enginePids()).map(privateBytes)));
}

/** CPU ms a process has used, with that of the children it has waited for (a shim's runc calls, the CLI's `docker` runs). */
async function processCpuMs(pid: number | 'self'): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // The fields after the command name, which may hold spaces, in parentheses: utime stime cutime cstime are 12–15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return sum([11, 12, 13, 14].map((index) => Number(fields[index] ?? 0))) * PROC_TICK_MS;
}

/** CPU ms a container has used, from its cgroup (v1 cgroupfs, v2 cgroupfs or systemd); undefined if none is found. */
async function containerCpuMs(id: string): Promise<number | undefined> {
  const v1 = await readFile(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8').catch(() => undefined);
  if (v1 !== undefined) return Number(v1) / 1e6;
  for (const folder of [`/sys/fs/cgroup/docker/${id}`, `/sys/fs/cgroup/system.slice/docker-${id}.scope`]) {
    const stat = await readFile(`${folder}/cpu.stat`, 'utf8').catch(() => undefined);
    const usec = stat && /^usage_usec (\d+)/m.exec(stat)?.[1];
    if (usec) return Number(usec) / 1000;
  }
  return undefined;
}

/** CPU ms spent on one side of the bench, by who spent it. */
export interface CpuSplit {
  /** The node containers (peerlab: the agents; baseline: idle processes). */
  readonly nodesMs: number;
  /** The etcd container (peerlab only). */
  readonly etcdMs: number;
  /** The containers' containerd shims, with the runc calls they made. */
  readonly shimsMs: number;
  /** Every dockerd and containerd of this host (a local cluster's too): shared with anything else using them meanwhile. */
  readonly engineMs: number;
  /** This process (peerlab's CLI) and the children it waited for (the baseline's `docker run` processes). */
  readonly clientMs: number;
}

/**
 * Starts counting; `finish` returns the CPU spent since, by the run's containers on `engines` (read from their
 * cgroups, so call it while they are up), their shims, every engine of this host and this process; undefined
 * when cgroups cannot be read.
 */
export async function countCpu(): Promise<{ finish: (engines: readonly Docker[], runId: string) => Promise<CpuSplit | undefined> }> {
  const engine = async () => sum(await Promise.all((await enginePids()).map(processCpuMs)));
  const [engineBefore, clientBefore] = await Promise.all([engine(), processCpuMs('self')]);
  return {
    finish: async (engines, runId) => {
      // Read first: listing and inspecting the containers costs the engine and this process CPU too.
      const [engineAfter, clientAfter] = await Promise.all([engine(), processCpuMs('self')]);
      const containers = await runContainers(engines, runId);
      const byRole = await containersCpuMs(containers);
      if (byRole === undefined) return undefined;
      const shims = await Promise.all(containers.map((container) => (container.shimPid === undefined ? 0 : processCpuMs(container.shimPid))));
      return {
        nodesMs: Math.round(byRole.node),
        etcdMs: Math.round(byRole.etcd),
        shimsMs: Math.round(sum(shims)),
        engineMs: Math.round(engineAfter - engineBefore),
        clientMs: Math.round(clientAfter - clientBefore),
      };
    },
  };
}

/** What a run's containers cost the host while they idle, per second: see `measureIdle`. */
export interface IdleCost {
  /** How long it was measured, once everything was up (ms). */
  readonly windowMs: number;
  /** CPU ms a second, per node container (peerlab: the agent waiting for the start; baseline: an idle process). */
  readonly nodeMsPerSecond: number;
  /** CPU ms a second, per node container's containerd shim. */
  readonly shimMsPerSecond: number;
  /** CPU ms a second of the etcd container, in all (peerlab only; 0 for the baseline). */
  readonly etcdMsPerSecond: number;
}

/**
 * Measures what a run's containers (runContainers) cost while nothing happens, over `windowMs`: the cost that,
 * times N standing nodes, a bring-up of N must leave room for (on the 2-core host, 700 waiting nodes left none:
 * README, start-up). Undefined when cgroups cannot be read.
 */
export async function measureIdle(containers: readonly RunContainer[], windowMs: number): Promise<IdleCost | undefined> {
  const nodes = containers.filter((container) => container.role === 'node');
  const shimPids = nodes.flatMap((node) => (node.shimPid === undefined ? [] : [node.shimPid]));
  const read = async () => ({ byRole: await containersCpuMs(containers), shimsMs: sum(await Promise.all(shimPids.map(processCpuMs))) });
  const before = await read();
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const after = await read();
  if (!before.byRole || !after.byRole) return undefined;
  const perSecond = (ms: number, count = 1) => (1000 * ms) / windowMs / Math.max(1, count);
  return {
    windowMs,
    nodeMsPerSecond: perSecond(after.byRole.node - before.byRole.node, nodes.length),
    shimMsPerSecond: perSecond(after.shimsMs - before.shimsMs, shimPids.length),
    etcdMsPerSecond: perSecond(after.byRole.etcd - before.byRole.etcd),
  };
}

/** CPU ms the containers have used since they started, summed by role; undefined when a cgroup cannot be read. */
export async function containersCpuMs(containers: readonly RunContainer[]): Promise<Record<ContainerRole, number> | undefined> {
  const cpu = await Promise.all(containers.map(async (container) => ({ role: container.role, ms: await containerCpuMs(container.id) })));
  if (cpu.some(({ ms }) => ms === undefined)) return undefined;
  const ofRole = (role: ContainerRole) => sum(cpu.filter((container) => container.role === role).map(({ ms }) => ms!));
  return { node: ofRole('node'), etcd: ofRole('etcd') };
}

/** CPU ms this process (peerlab's CLI) has used so far, with the children it waited for. */
export function ownCpuMs(): Promise<number> {
  return processCpuMs('self');
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** CPU time (ms) spent so far by the live descendants of this process whose command matches `name` (the browser's). */
export async function descendantsCpuMs(name: RegExp): Promise<number> {
  const processes = new Map<number, { parent: number; comm: string; ticks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command is in parentheses and may hold spaces; the fields after it are fixed: ppid is the 2nd, utime and stime the 12th and 13th.
    const close = stat.lastIndexOf(')');
    if (close < 0) continue;
    const fields = stat.slice(close + 2).split(' ');
    processes.set(Number(entry), { parent: Number(fields[1]), comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  const isDescendant = (pid: number): boolean => {
    for (let at = processes.get(pid)?.parent; at !== undefined && at > 1; at = processes.get(at)?.parent) if (at === process.pid) return true;
    return false;
  };
  let ticks = 0;
  for (const [pid, info] of processes) if (name.test(info.comm) && isDescendant(pid)) ticks += info.ticks;
  return ticks * PROC_TICK_MS;
}
