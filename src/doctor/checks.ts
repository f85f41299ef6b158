/**
 * `peerlab doctor`'s checks: pure functions of facts gathered about the host (facts.ts), so every verdict and
 * every fix can be tested on made-up machines.
 */
import { sameMachine } from '../image/scratch.js';
import { MAX_NODES_PER_BRIDGE } from '../runtime/docker.js';
import type { PacketSupport } from '../links/packet.js';
import { ARP_LIMIT_SYSCTL, arpEntriesNeeded, arpFix } from './arp.js';
import { SWARM_GOSSIP_PORT, type SwarmFacts } from './swarm.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do about it; present when the check failed. */
  readonly fix?: string;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/**
 * Host memory a run needs: an idle node container costs about `perNodeBytes` of host memory (its Node.js
 * process, ~18.5 MiB private with the image's V8 flags, plus the engine's per-container share), and the CLI,
 * etcd and the engine need `fixedBytes`. `peerlab bench startup` measures the real per-node figure.
 */
export const MEMORY_ESTIMATE = { perNodeBytes: 24 * MiB, fixedBytes: 200 * MiB } as const;

/**
 * What N nodes need from the kernel's per-process and per-user limits.
 * - Open files of the CLI: a socket per node while it queries every container at once (stats, logs), plus
 *   etcd, the engine and the files of the run.
 * - inotify: with cgroup v2 the engine's shim watches each container's memory.events with an inotify instance
 *   (one instance and one watch per container, all counted against root); with cgroup v1 it does not.
 */
export const HOST_LIMITS = {
  openFilesFixed: 256,
  openFilesPerNode: 2,
  inotifyInstancesFixed: 64,
  inotifyInstancesPerNodeCgroup2: 1,
  inotifyWatchesFixed: 8192,
  inotifyWatchesPerNodeCgroup2: 2,
} as const;

/** Oldest engine known to work: Docker 20.10, API 1.41. */
export const MIN_DOCKER_API = '1.41';
export const MIN_NODE_MAJOR = 20;

/** What doctor knows about this machine. Optional facts could not be read. */
export interface DoctorFacts {
  readonly docker:
    | { readonly reachable: true; readonly endpoint: string; readonly version: string; readonly apiVersion: string; readonly arch: string; readonly cgroupVersion?: string }
    | { readonly reachable: false; readonly endpoint: string; readonly error: string; readonly hint?: string };
  /** Local images, when the engine answered. */
  readonly images?: {
    /** Tags of images labelled peerlab.image=node, etc. */
    readonly node: readonly string[];
    readonly nodeBase: readonly string[];
    readonly etcd: readonly string[];
    /** Whether node:20-bookworm-slim / the default etcd image are local. */
    readonly defaultNodeBase: boolean;
    readonly defaultEtcd: boolean;
  };
  readonly defaults: { readonly nodeBase: string; readonly etcd: string };
  /** The Node.js running peerlab (the one a node base image is made of). */
  readonly hostNode: { readonly path: string; readonly version: string; readonly platform: string; readonly arch: string };
  /** Whether `ldd` runs: needed to make images out of host binaries. */
  readonly ldd: boolean;
  readonly hostEtcd: { readonly path: string; readonly version: string | undefined };
  /** /proc/meminfo MemAvailable. */
  readonly memAvailableBytes?: number;
  /** This process's open-files limit (/proc/self/limits); Infinity for unlimited. */
  readonly openFiles?: { readonly soft: number; readonly hard: number };
  readonly inotify?: { readonly maxUserInstances: number; readonly maxUserWatches: number };
  /** net.ipv4.neigh.default.gc_thresh3: the host-wide cap of the ARP table. */
  readonly arpLimit?: number;
  /** The host's cgroup version, when the engine did not say. */
  readonly hostCgroupVersion?: string;
  /** What the kernel and this user allow the packet layer of `--links`. */
  readonly packetLinks?: PacketSupport;
  /** Present when the host's engine is in a Swarm or a local cluster is up. */
  readonly swarm?: SwarmFacts;
}

export function memoryNeeded(nodes: number): number {
  return MEMORY_ESTIMATE.fixedBytes + nodes * MEMORY_ESTIMATE.perNodeBytes;
}

export function openFilesNeeded(nodes: number): number {
  return HOST_LIMITS.openFilesFixed + nodes * HOST_LIMITS.openFilesPerNode;
}

export function inotifyNeeded(nodes: number, cgroupVersion: string | undefined): { instances: number; watches: number } {
  // Unknown counts as cgroup v2: the stricter case, and the default of current distributions.
  const perNode = cgroupVersion === '1' ? 0 : 1;
  return {
    instances: HOST_LIMITS.inotifyInstancesFixed + perNode * HOST_LIMITS.inotifyInstancesPerNodeCgroup2 * nodes,
    watches: HOST_LIMITS.inotifyWatchesFixed + perNode * HOST_LIMITS.inotifyWatchesPerNodeCgroup2 * nodes,
  };
}

export function runChecks(facts: DoctorFacts, nodes: number): Check[] {
  return [
    dockerEngine(facts),
    dockerVersion(facts),
    nodeImage(facts),
    etcdImage(facts),
    nodeVersion(facts),
    memory(facts, nodes),
    bridge(nodes),
    openFiles(facts, nodes),
    ...inotify(facts, nodes),
    arpTable(facts, nodes),
    linkShaping(facts),
    ...swarmChecks(facts),
  ];
}

/**
 * Only when a Swarm is there: its state and nodes, then each engine's Swarm ports: 2377/tcp on a manager and
 * 7946/tcp+udp everywhere must listen; the data-path (VXLAN) port opens with the engine's first overlay network,
 * so it is reported, not required. The ARP table is the host's one table, shared by every engine's namespace.
 */
function swarmChecks({ swarm, arpLimit }: DoctorFacts): Check[] {
  if (!swarm) return [];
  const where = swarm.cluster ? `local cluster ${swarm.cluster}, ${swarm.engines.length} engine(s)` : 'the host\'s engine';
  const nodes = swarm.nodes ? `, ${swarm.nodes.ready}/${swarm.nodes.total} nodes Ready` : '';
  const arp = arpLimit === undefined ? '' : `; ARP table shared by all engines: ${ARP_LIMIT_SYSCTL} ${arpLimit}`;
  const state: Check =
    swarm.state === 'active' && (!swarm.nodes || swarm.nodes.ready === swarm.nodes.total)
      ? { name: 'Swarm', ok: true, detail: `active (${where})${nodes}${arp}` }
      : {
          name: 'Swarm',
          ok: false,
          detail: `${swarm.state} (${where})${nodes}`,
          fix: swarm.cluster ? 'peerlab cluster status shows which engine is down; peerlab cluster down && peerlab cluster up rebuilds it' : 'docker node ls shows the nodes that are down',
        };
  const ports = swarm.engines.map((engine): Check => {
    const name = `Swarm ports ${engine.name}`;
    if (!engine.listening) return { name, ok: false, detail: 'cannot read its sockets (engine stopped?)', fix: 'peerlab cluster status' };
    const needed = [...(engine.manager ? ['2377/tcp'] : []), `${SWARM_GOSSIP_PORT}/tcp`, `${SWARM_GOSSIP_PORT}/udp`];
    const missing = needed.filter((port) => !engine.listening!.includes(port));
    const vxlan = `${swarm.dataPathPort}/udp`;
    const detail = `listening: ${engine.listening.join(' ') || 'none'}${engine.listening.includes(vxlan) ? '' : ` (${vxlan} opens with the first overlay network)`}`;
    return missing.length === 0
      ? { name, ok: true, detail }
      : { name, ok: false, detail: `${detail}; missing ${missing.join(' ')}`, fix: 'another process may hold the port (ss -lnp), or the engine left the Swarm: see its log' };
  });
  return [state, ...ports];
}

/**
 * The message layer of `--links` works on every host, so this check only fails when the support cannot be read;
 * its detail says which parameters `--links-mode packet` can apply here.
 */
function linkShaping({ packetLinks: support }: DoctorFacts): Check {
  const name = 'link shaping';
  if (!support) return { name, ok: false, detail: 'cannot read the kernel configuration', fix: 'links still work with --links-mode message (the default)' };
  const can = (yes: boolean): string => (yes ? 'yes' : 'no');
  const access = support.root && support.tools ? 'as root with nsenter, tc and iptables' : 'no: needs root with nsenter, tc and iptables';
  return {
    name,
    ok: true,
    detail:
      `message layer: every parameter; packet layer (${access}): rate ${can(support.htb && support.u32)} (htb, u32), loss ${can(support.statistic)} (iptables statistic), ` +
      `delay and jitter ${can(support.netem)} (netem), from ${support.source}`,
  };
}

/** Doctor knows N but not the topology: it assumes a mean degree of 4 (BA with m = 2 has just under 4). */
const DOCTOR_EDGES_PER_NODE = 2;

function arpTable({ arpLimit }: DoctorFacts, nodes: number): Check {
  const name = 'ARP table';
  const need = arpEntriesNeeded(nodes, nodes * DOCTOR_EDGES_PER_NODE);
  if (arpLimit === undefined) return { name, ok: false, detail: `cannot read ${ARP_LIMIT_SYSCTL}`, fix: arpFix(need) };
  const detail = `${ARP_LIMIT_SYSCTL} ${arpLimit}, ${nodes} nodes need about ${need} entries (one table for all containers)`;
  return arpLimit >= need ? { name, ok: true, detail } : { name, ok: false, detail, fix: arpFix(need) };
}

function dockerEngine({ docker }: DoctorFacts): Check {
  const name = 'Docker engine';
  if (docker.reachable) return { name, ok: true, detail: `reachable at ${docker.endpoint}` };
  return { name, ok: false, detail: docker.error, fix: docker.hint ?? 'start it (sudo systemctl start docker, or dockerd &) or set DOCKER_HOST' };
}

function dockerVersion({ docker }: DoctorFacts): Check {
  const name = 'Docker version';
  if (!docker.reachable) return { name, ok: false, detail: 'unknown: the engine is not reachable', fix: 'fix the Docker engine check first' };
  const detail = `Docker ${docker.version}, API ${docker.apiVersion}`;
  if (compareVersions(docker.apiVersion, MIN_DOCKER_API) >= 0) return { name, ok: true, detail };
  return { name, ok: false, detail: `${detail}: older than Docker 20.10 (API ${MIN_DOCKER_API})`, fix: 'upgrade the engine to Docker 20.10 or newer (apt-get install docker.io)' };
}

/** Whether host binaries can be copied into the engine's containers: a Linux host of the engine's machine. */
function hostBinariesRun(facts: DoctorFacts): boolean {
  return facts.docker.reachable && facts.ldd && sameMachine(facts.hostNode.platform, facts.hostNode.arch, facts.docker.arch);
}

function nodeImage(facts: DoctorFacts): Check {
  const name = 'node image';
  const { images, hostNode, defaults } = facts;
  if (!images) return { name, ok: false, detail: 'unknown: the engine is not reachable', fix: 'fix the Docker engine check first' };
  if (images.node.length > 0) {
    return { name, ok: true, detail: `${images.node[0]} present${images.node.length > 1 ? ` (and ${images.node.length - 1} older)` : ''}` };
  }
  const later = 'not built yet; `peerlab image build` or the first run builds it';
  if (images.defaultNodeBase) return { name, ok: true, detail: `${later} on ${defaults.nodeBase} (local)` };
  if (images.nodeBase.length > 0) return { name, ok: true, detail: `${later} on ${images.nodeBase[0]} (local)` };
  if (hostBinariesRun(facts)) {
    return { name, ok: true, detail: `${later}, offline if need be: from the host Node.js (${hostNode.path} ${hostNode.version})` };
  }
  return {
    name,
    ok: false,
    detail: `no node image, no ${defaults.nodeBase}, and the host Node.js (${hostNode.platform}/${hostNode.arch}${facts.ldd ? '' : ', no ldd'}) cannot be copied into a container`,
    fix: `let the engine pull ${defaults.nodeBase}, or load a Node.js 20 image (docker load -i <file>) and pass --base-image <it>`,
  };
}

function etcdImage(facts: DoctorFacts): Check {
  const name = 'etcd image';
  const { images, hostEtcd, defaults } = facts;
  if (!images) return { name, ok: false, detail: 'unknown: the engine is not reachable', fix: 'fix the Docker engine check first' };
  if (images.defaultEtcd) return { name, ok: true, detail: `${defaults.etcd} present` };
  if (images.etcd.length > 0) return { name, ok: true, detail: `${images.etcd[0]} present` };
  if (hostEtcd.version && hostBinariesRun(facts)) {
    return { name, ok: true, detail: `not built yet; buildable offline from ${hostEtcd.path} (etcd ${hostEtcd.version})` };
  }
  return {
    name,
    ok: false,
    detail: `no etcd image: ${defaults.etcd} is not local and etcd-server is not installed (unless the engine can pull it)`,
    fix: 'apt-get install etcd-server, or load an etcd image (docker load -i <file>) and pass --etcd-image <it>',
  };
}

function nodeVersion({ hostNode }: DoctorFacts): Check {
  const name = 'Node.js';
  const major = Number(/^v?(\d+)/.exec(hostNode.version)?.[1] ?? 0);
  const detail = `${hostNode.version} at ${hostNode.path}`;
  if (major >= MIN_NODE_MAJOR) return { name, ok: true, detail };
  return { name, ok: false, detail: `${detail}: peerlab needs Node.js ${MIN_NODE_MAJOR} or newer`, fix: `install Node.js ${MIN_NODE_MAJOR} (https://nodejs.org, or your distribution's nodejs package)` };
}

function memory({ memAvailableBytes }: DoctorFacts, nodes: number): Check {
  const name = 'memory';
  const need = memoryNeeded(nodes);
  const estimate = `${nodes} nodes need ~${gib(need)} (${MEMORY_ESTIMATE.perNodeBytes / MiB} MiB each + ${MEMORY_ESTIMATE.fixedBytes / MiB} MiB)`;
  if (memAvailableBytes === undefined) return { name, ok: false, detail: `cannot read MemAvailable from /proc/meminfo; ${estimate}`, fix: 'run peerlab on Linux' };
  const detail = `${gib(memAvailableBytes)} available, ${estimate}`;
  if (memAvailableBytes >= need) return { name, ok: true, detail };
  const fits = Math.max(0, Math.floor((memAvailableBytes - MEMORY_ESTIMATE.fixedBytes) / MEMORY_ESTIMATE.perNodeBytes));
  return { name, ok: false, detail, fix: `free ${gib(need - memAvailableBytes)} of memory, or run at most ${fits} nodes` };
}

function bridge(nodes: number): Check {
  const name = 'bridge network';
  const detail = `${nodes} nodes + etcd on one bridge network; a Linux bridge holds at most 1023 containers`;
  if (nodes <= MAX_NODES_PER_BRIDGE) return { name, ok: true, detail };
  return { name, ok: false, detail, fix: `run at most ${MAX_NODES_PER_BRIDGE} nodes per run` };
}

function openFiles({ openFiles: limits }: DoctorFacts, nodes: number): Check {
  const name = 'open files';
  const need = openFilesNeeded(nodes);
  if (!limits) return { name, ok: false, detail: `cannot read /proc/self/limits; ${nodes} nodes need ${need}`, fix: `ulimit -n ${need}` };
  const detail = `limit ${count(limits.soft)} (hard ${count(limits.hard)}), ${nodes} nodes need ${need}`;
  if (limits.soft >= need) return { name, ok: true, detail };
  const fix =
    limits.hard >= need
      ? `ulimit -n ${need} in the shell before running peerlab`
      : `raise the hard limit (add "* - nofile ${roundUp(need)}" to /etc/security/limits.conf and log in again, or run as root), then ulimit -n ${need}`;
  return { name, ok: false, detail, fix };
}

function inotify(facts: DoctorFacts, nodes: number): Check[] {
  const cgroup = facts.docker.reachable && facts.docker.cgroupVersion ? facts.docker.cgroupVersion : facts.hostCgroupVersion;
  const need = inotifyNeeded(nodes, cgroup);
  const why = cgroup === '1' ? 'cgroup v1: containers use none' : 'one per container with cgroup v2';
  if (!facts.inotify) {
    return [
      { name: 'inotify', ok: false, detail: 'cannot read /proc/sys/fs/inotify', fix: `sysctl -w fs.inotify.max_user_instances=${roundUp(need.instances)} fs.inotify.max_user_watches=${roundUp(need.watches)}` },
    ];
  }
  const { maxUserInstances, maxUserWatches } = facts.inotify;
  const instances: Check = {
    name: 'inotify instances',
    ok: maxUserInstances >= need.instances,
    detail: `max_user_instances ${maxUserInstances}, ${nodes} nodes need ${need.instances} (${why})`,
  };
  const watches: Check = {
    name: 'inotify watches',
    ok: maxUserWatches >= need.watches,
    detail: `max_user_watches ${maxUserWatches}, ${nodes} nodes need ${need.watches}`,
  };
  const persist = (key: string, value: number) => `sysctl -w ${key}=${value} (persist it: echo ${key}=${value} > /etc/sysctl.d/60-peerlab.conf)`;
  return [
    instances.ok ? instances : { ...instances, fix: persist('fs.inotify.max_user_instances', Math.max(8192, roundUp(need.instances))) },
    watches.ok ? watches : { ...watches, fix: persist('fs.inotify.max_user_watches', Math.max(524288, roundUp(need.watches))) },
  ];
}

/** Compares dotted version numbers: negative, zero or positive. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((part) => Number.parseInt(part, 10) || 0);
  const pb = b.split('.').map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

function gib(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.ceil(bytes / MiB)} MiB`;
}

function count(value: number): string {
  return Number.isFinite(value) ? String(value) : 'unlimited';
}

/** The next power of two at or above n: limits people set are round. */
function roundUp(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
