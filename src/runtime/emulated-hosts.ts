/**
 * Hosts of different capacity on one Docker engine (issue 13): each host is a cgroup with its own CPU quota, and
 * every node container placed on it is started under that cgroup (Docker's `CgroupParent`), so the host's nodes
 * share its quota as processes share a machine. A host declares a capacity in any unit (seed 000's Table 6.1 gives
 * LINPACK MIPS); the largest host gets `cpus` CPUs and every other host the same share of a CPU per unit, so
 * capacities keep their ratios (Table 6.1's 5217.93 vs 132.29 MIPS: 1 CPU vs 0.0254).
 *
 * Why cgroups written by hand: Docker has no object for a group of containers with a shared limit (`--cpus` is
 * per container), and no library manages cgroup v1 directories. The CLI writes them on the engine's host, as the
 * packet layer enters the nodes' namespaces there; it checks that the engine's containers land in them.
 *
 * Only cgroup v1 with Docker's cgroupfs driver (these machines): under the systemd driver a parent must be a
 * systemd slice, and cgroup v2 needs the cpu controller delegated down the tree; both are refused in one line.
 */
import { readdir, rmdir, stat, mkdir, writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { loadPlacementInputSync } from '../placement/input.js';

export interface EmulatedHost {
  readonly name: string;
  /** As the user declared it, in their unit: what placement policies compare. */
  readonly capacity: number;
  /** For placement policies (see PlacementHost): filled first when lower; 1 when the spec does not say. */
  readonly priority: number;
  /** For placement policies: the host that takes what fits nowhere else. */
  readonly central: boolean;
  /** The CPU quota that enforces it: capacity / largest capacity × the largest host's CPUs. */
  readonly cpus: number;
  /** Where it is (a placement input file's hosts only): see PlacementHost. */
  readonly latitude?: number;
  readonly longitude?: number;
  /** How many nodes it holds at most (a placement input file's hosts only): see PlacementHost. */
  readonly maxNodes?: number;
}

/** The cgroup v1 root; a parameter only so that tests of the parsing never touch it. */
const CGROUP_ROOT = '/sys/fs/cgroup';
/** Where every run's host groups live, in each controller's hierarchy: /<controller>/peerlab/<run>/<host>. */
const PEERLAB_GROUP = 'peerlab';
/**
 * A host's CFS period is as long as it takes for its quota, the CPU time its nodes run in one go, to be at least
 * 10 ms, between 100 ms and the kernel's longest, 1 s. A node process gets less work done than its CPU time says
 * each time its throttled group wakes (measured on these machines with a counting loop: 77 % of its speed at
 * 2.5 ms bursts, 47 % at 1.3 ms, 90 % at 6.3 ms; about 0.6 ms lost a burst), so short bursts would make a small
 * host slower than its capacity. The price: a small host's nodes stop for up to period − quota at a time, as on
 * a time-shared slow machine (Table 6.1's smallest host, 0.0254 CPU: 10 ms in every 394 ms).
 */
const MIN_BURST_US = 10_000;
/**
 * A host group's CPU weight: far above every other group's (Docker's 1024, etcd's, the CLI's), so that its nodes
 * get their quota whenever they want it, as on a machine of their own; the quota keeps them from taking more.
 * Without it, a host of 0.5 CPU got 0.47 on a two-core host busy with other work.
 */
const HOST_CPU_SHARES = 16_384;
const MIN_PERIOD_US = 100_000;
const MAX_PERIOD_US = 1_000_000;
const MIN_HOST_CPUS = MIN_BURST_US / MAX_PERIOD_US;

/** The host's CFS period and quota, in µs. */
function hostQuota(cpus: number): { periodUs: number; quotaUs: number } {
  const periodUs = Math.min(MAX_PERIOD_US, Math.max(MIN_PERIOD_US, Math.round(MIN_BURST_US / cpus)));
  return { periodUs, quotaUs: Math.round(cpus * periodUs) };
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

type DeclaredHost = Omit<EmulatedHost, 'cpus'>;

/** `--hosts` as given (a spec or a file, for the replay) and the hosts it gives. */
export interface HostsRequest {
  readonly given: string;
  readonly list: readonly EmulatedHost[];
  /** Whether the largest host's CPUs were given (`--host-cpus`), which only a runtime of CPU quotas can honour. */
  readonly cpusGiven: boolean;
}

/** `--hosts` (or an experiment's `hosts:`) read once: its hosts, and what it gives a placement policy. */
export interface GivenHosts {
  readonly request: HostsRequest;
  /** A placement input file's `settings:` (none from a spec): a policy's settings before its own (`--policy-setting`). */
  readonly settings: Readonly<Record<string, number>>;
}

/** `--hosts FILE`: a placement input YAML (hosts with priority and central; maybe settings), not a spec. */
export const isHostsFile = (given: string): boolean => /\.ya?ml$/i.test(given);

/** How a refusal names what `--hosts` was given: a spec quoted, a file as it is. */
export function hostsFlag(given: string): string {
  return `--hosts ${isHostsFile(given) ? given : JSON.stringify(given)}`;
}

/**
 * Reads `--hosts` once: a spec (`central=5217.93,outpost_pi=132.29`), or a placement input file (from the current
 * folder; e.g. experiments/zoe/table-6.2-migration-1.yaml) whose hosts, with their priorities and central host as
 * `peerlab policy simulate` reads them, and settings to take. Every fault is one line naming the flag.
 */
export function readHosts(given: string, largestCpusGiven: number | undefined): GivenHosts {
  const largestCpus = largestCpusGiven ?? 1;
  const cpusGiven = largestCpusGiven !== undefined;
  const fail = (what: string, hint: string): never => {
    throw new PeerlabError(`${hostsFlag(given)}: ${what}`, { hint });
  };
  if (!isHostsFile(given)) return { request: { given, list: parseHostsSpec(given, largestCpus, fail), cpusGiven }, settings: {} };
  const input = loadPlacementInputSync(given);
  return { request: { given, list: withQuotas(input.hosts, largestCpus, fail), cpusGiven }, settings: input.settings };
}

/** A spec: the hosts in the order listed (nodes are placed over them in that order), each with its quota. */
function parseHostsSpec(spec: string, largestCpus: number, fail: (what: string, hint: string) => never): EmulatedHost[] {
  const declared = spec.split(',').map((entry): DeclaredHost => {
    const match = /^\s*([^=\s]+)\s*=\s*([^\s]+)\s*$/.exec(entry);
    if (!match) return fail(`"${entry}" is not NAME=CAPACITY`, 'list the hosts as NAME=CAPACITY, e.g. --hosts central=5217.93,outpost_pi=132.29');
    const [, name, value] = match as unknown as [string, string, string];
    if (!HOST_NAME.test(name)) return fail(`host name "${name}" is not letters, digits, "_" and "-" (at most 32)`, 'rename the host, e.g. outpost_pi');
    const capacity = Number(value);
    if (!(capacity > 0) || !Number.isFinite(capacity)) return fail(`host ${name}'s capacity "${value}" is not a positive number`, 'give each host its capacity in one unit (e.g. MIPS)');
    return { name, capacity, priority: 1, central: false };
  });
  return withQuotas(declared, largestCpus, fail);
}

function withQuotas(declared: readonly DeclaredHost[], largestCpus: number, fail: (what: string, hint: string) => never): EmulatedHost[] {
  if (!(largestCpus > 0)) {
    throw new PeerlabError(`--host-cpus ${largestCpus} is not a positive number of CPUs`, { hint: 'give the CPUs of the largest host, e.g. --host-cpus 1' });
  }
  const seen = new Set<string>();
  for (const { name } of declared) {
    if (seen.has(name) || name === 'local') fail(`host ${name} is ${name === 'local' ? 'the name of the engine itself' : 'listed twice'}`, 'give each host its own name');
    seen.add(name);
  }
  if (declared.length < 2) fail('one host is the engine itself', 'list two hosts or more, or leave --hosts out');
  const largest = Math.max(...declared.map((host) => host.capacity));
  return declared.map(({ name, capacity, priority, central, latitude, longitude, maxNodes }) => {
    if (!HOST_NAME.test(name)) fail(`host name "${name}" is not letters, digits, "_" and "-" (at most 32)`, 'rename the host, e.g. outpost_pi');
    const cpus = (capacity / largest) * largestCpus;
    if (cpus < MIN_HOST_CPUS) {
      fail(
        `host ${name} would get ${cpus.toPrecision(2)} CPUs, below the least that runs its nodes ${MIN_BURST_US / 1000} ms at a time (${MIN_HOST_CPUS} CPU)`,
        `raise --host-cpus to ${((MIN_HOST_CPUS * largest) / capacity).toPrecision(3)} or more, or ${name}'s capacity`,
      );
    }
    return { name, capacity, priority, central, cpus, ...(latitude !== undefined && { latitude, longitude }), ...(maxNodes !== undefined && { maxNodes }) };
  });
}

/** Whether the hosts have coordinates (a placement input file places all of its hosts or none). */
export function hostsArePlaced(list: readonly EmulatedHost[]): boolean {
  return list.some((host) => host.latitude !== undefined);
}

/** The hosts' capacity units one CPU does: the same on every host, by construction of their quotas. */
export function capacityPerCpu({ list }: HostsRequest): number {
  return list[0]!.capacity / list[0]!.cpus;
}

/** The flags that give these hosts again (run.json's replay). */
export function hostsReplayFlags({ given, list, cpusGiven }: HostsRequest): string[] {
  return ['--hosts', given, ...(cpusGiven ? ['--host-cpus', String(Math.max(...list.map((host) => host.cpus)))] : [])];
}

/** Docker's `CgroupParent` of a host's nodes. */
export function hostCgroupParent(runId: string, host: string): string {
  return `/${PEERLAB_GROUP}/${runId}/${host}`;
}

/**
 * Creates each host's cgroup with its quota, before any node starts. Refused in one line where the engine does
 * not put containers into cgroupfs v1 paths this process can write.
 */
export async function createHostGroups(docker: Docker, runId: string, hosts: readonly EmulatedHost[], root = CGROUP_ROOT): Promise<void> {
  const info = (await docker.info()) as { CgroupDriver?: string; CgroupVersion?: string };
  if (info.CgroupDriver !== 'cgroupfs' || (info.CgroupVersion ?? '1') !== '1') {
    throw new PeerlabError(
      `--hosts needs an engine on cgroup v1 with the cgroupfs driver; this one has cgroup v${info.CgroupVersion ?? '?'} with the ${info.CgroupDriver ?? '?'} driver`,
      { hint: 'run without --hosts, or on a host whose dockerd runs with --exec-opt native.cgroupdriver=cgroupfs on cgroup v1' },
    );
  }
  const cpu = path.join(root, 'cpu');
  if (!(await stat(path.join(cpu, 'cpu.cfs_quota_us')).catch(() => undefined))) {
    throw new PeerlabError(`--hosts: no CPU quota controller at ${cpu} on this machine`, { hint: 'run peerlab on the engine\'s own host, as root' });
  }
  for (const host of hosts) {
    const group = path.join(cpu, hostCgroupParent(runId, host.name));
    const { periodUs, quotaUs } = hostQuota(host.cpus);
    await mkdir(group, { recursive: true });
    // The kernel refuses a quota above the period's maximum, so the quota is lifted first, then the period set.
    await writeFile(path.join(group, 'cpu.cfs_quota_us'), '-1');
    await writeFile(path.join(group, 'cpu.cfs_period_us'), String(periodUs));
    await writeFile(path.join(group, 'cpu.cfs_quota_us'), String(quotaUs));
    await writeFile(path.join(group, 'cpu.shares'), String(HOST_CPU_SHARES));
  }
}

/**
 * Checks that a container of a host runs under that host's cgroup (`pid` on this host): an engine on another
 * machine, or one that ignored the parent, would otherwise give a run whose hosts are all alike.
 */
export async function checkInHostGroup(pid: number, runId: string, host: string): Promise<void> {
  const groups = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  const cpuLine = groups.split('\n').find((line) => /^\d+:[^:]*\bcpu\b[^:]*:/.test(line));
  if (!cpuLine?.split(':')[2]?.startsWith(`${hostCgroupParent(runId, host)}/`)) {
    throw new PeerlabError(`--hosts: a node of host ${host} is not in its CPU group (its cgroup: ${cpuLine ?? 'not visible from here'})`, {
      hint: 'run peerlab on the engine\'s own host, as root, with DOCKER_HOST pointing at the local engine',
    });
  }
}

/**
 * Removes the host groups of a run (every run's when `runId` is undefined) from every controller's hierarchy,
 * deepest first; the engine has removed the containers' own groups with the containers. Nothing there is not
 * peerlab's: only /<controller>/peerlab/ is read.
 */
export async function removeHostGroups(runId: string | undefined, root = CGROUP_ROOT): Promise<void> {
  const controllers = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const controller of controllers) {
    if (!controller.isDirectory()) continue;
    const peerlab = path.join(root, controller.name, PEERLAB_GROUP);
    await removeGroupTree(runId === undefined ? peerlab : path.join(peerlab, runId));
    if (runId !== undefined) await rmdir(peerlab).catch(() => {});
  }
}

/** A cgroup directory holds only the kernel's files besides its child groups, so it goes with rmdir, children first. */
async function removeGroupTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => undefined);
  if (!entries) return;
  for (const entry of entries) if (entry.isDirectory()) await removeGroupTree(path.join(dir, entry.name));
  // A container's processes may take a moment to leave a group after its removal: EBUSY, tried again.
  for (let attempt = 1; ; attempt++) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 10) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
}
