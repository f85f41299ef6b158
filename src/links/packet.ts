/**
 * Layer 2 of the link model, packets: each node's egress is shaped in its own network namespace, from outside
 * the node (the container keeps no capabilities): the host's `tc` and `iptables`, entered into the namespace with
 * `nsenter` as root. Per neighbour of node u, for the direction u→v:
 *   - rate: an htb class with a u32 filter on v's address, its leaf a pfifo of `queue` packets (default 1000,
 *     because Docker's veth has a txqueuelen of 0, which would leave a leaf with no queue at all);
 *   - delay and jitter: netem as that leaf instead, on kernels that have it;
 *   - loss: an iptables `statistic` rule dropping that share of the packets to v, after a rule that counts them all,
 *     in a chain of its own, so the dropped share can be read from the rules' own counters.
 * Unclassified traffic (to etcd, to the CLI) takes htb's direct queue: never shaped. Only egress is shaped, so
 * each direction is shaped once, at its sender. Everything lives in the node's namespace and goes with it: no
 * helper container, and nothing on the host's own interfaces or tables.
 */
import { execFile, spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { promisify } from 'node:util';
import { PeerlabError } from '../errors.js';
import type { FaultEvent } from '../faults/events.js';
import type { Topology } from '../topology/types.js';
import { directedLink, hasLinks } from './edges.js';
import type { LinkParams } from './model.js';
import { compareNodeIds } from '../util/node-ids.js';

const run = promisify(execFile);

export type LinksMode = 'message' | 'packet' | 'auto';

/** What this host can do at the packet layer. */
export interface PacketSupport {
  readonly netem: boolean;
  readonly htb: boolean;
  readonly u32: boolean;
  readonly statistic: boolean;
  /** Running as root, with nsenter, tc and iptables-restore on the PATH. */
  readonly root: boolean;
  readonly tools: boolean;
  /** Where the answers came from: /proc/config.gz, or the kernel's module folder. */
  readonly source: string;
}

const KERNEL_OPTIONS = {
  netem: ['CONFIG_NET_SCH_NETEM', 'net/sched/sch_netem.ko'],
  htb: ['CONFIG_NET_SCH_HTB', 'net/sched/sch_htb.ko'],
  u32: ['CONFIG_NET_CLS_U32', 'net/sched/cls_u32.ko'],
  statistic: ['CONFIG_NETFILTER_XT_MATCH_STATISTIC', 'net/netfilter/xt_statistic.ko'],
} as const;

export async function packetSupport(): Promise<PacketSupport> {
  const config = await readFile('/proc/config.gz').then(
    (gzipped) => gunzipSync(gzipped).toString('utf8'),
    () => undefined,
  );
  const release = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim();
  const has = async ([option, module]: readonly [string, string]): Promise<boolean> => {
    if (config !== undefined) return new RegExp(`^${option}=[ym]$`, 'm').test(config);
    return stat(`/lib/modules/${release}/kernel/${module}`).then(
      () => true,
      () => false,
    );
  };
  const [netem, htb, u32, statistic, tools] = await Promise.all([
    has(KERNEL_OPTIONS.netem),
    has(KERNEL_OPTIONS.htb),
    has(KERNEL_OPTIONS.u32),
    has(KERNEL_OPTIONS.statistic),
    Promise.all(['nsenter', 'tc', 'iptables-restore', 'iptables'].map((tool) => run('which', [tool]))).then(
      () => true,
      () => false,
    ),
  ]);
  return { netem, htb, u32, statistic, root: process.getuid?.() === 0, tools, source: config !== undefined ? '/proc/config.gz' : `/lib/modules/${release}` };
}

/** Why the packet layer cannot apply these links on this host, or undefined when it can. */
export function packetRefusal(graph: Topology, support: PacketSupport): string | undefined {
  const links = graph.mapEdges((_edge, attributes) => attributes.link).filter((link) => link !== undefined);
  const any = (test: (params: LinkParams) => boolean): boolean => links.some(({ forward, backward }) => test(forward) || test(backward));
  if (!support.root || !support.tools) return 'the packet layer shapes from the host with nsenter, tc and iptables, which needs root and those tools';
  if (any((params) => params.delayMs > 0 || params.jitterMs > 0) && !support.netem) {
    return `this kernel has no netem qdisc (${support.source}), so the packet layer cannot delay packets`;
  }
  if (any((params) => params.rateBps !== null || params.queuePackets !== null) && !(support.htb && support.u32)) {
    return 'this kernel lacks the htb qdisc or the u32 classifier, so the packet layer cannot limit rates';
  }
  if (any((params) => params.lossPercent > 0) && !support.statistic) return "this kernel's iptables has no statistic match, so the packet layer cannot drop packets";
  return undefined;
}

/**
 * Why the packet layer cannot keep a fault schedule's links shaped, or undefined when it can. It shapes each node's
 * namespace once, after bring-up, by its neighbours' addresses: a container that starts later (a restart, a move, a
 * join) would send unshaped, at a new address its neighbours' rules do not name. (The message layer has no such
 * gap: a new container reads its links from etcd.)
 */
function packetRefusalOfFaults(faults: readonly FaultEvent[]): string | undefined {
  const later = faults.find(({ action }) => action === 'restart' || action === 'migrate' || action === 'join');
  return later && `${later.spec} starts a new container after bring-up, which the packet layer would leave unshaped (it shapes each node once, by its neighbours' addresses then)`;
}

/** `--links-mode packet` refused before anything started: this host cannot apply the links (or keep them) there. */
export class PacketLayerRefused extends PeerlabError {}

/**
 * The layer a run's links are applied at. `packet` refuses, before anything starts, a parameter this host cannot
 * apply there, or a fault schedule it cannot keep shaped; `auto` takes the packet layer when it can apply
 * everything and the message layer otherwise.
 */
export function chooseLinksLayer(graph: Topology, mode: LinksMode, support: PacketSupport, faults: readonly FaultEvent[] = []): { layer: 'message' | 'packet'; note: string | undefined } {
  if (!hasLinks(graph) || mode === 'message') return { layer: 'message', note: undefined };
  const refusal = packetRefusal(graph, support) ?? packetRefusalOfFaults(faults);
  if (mode === 'packet') {
    if (refusal) {
      throw new PacketLayerRefused(`--links-mode packet: ${refusal}`, {
        hint: '--links-mode message applies every link parameter in the node agents, on any kernel (see `peerlab doctor`)',
      });
    }
    return { layer: 'packet', note: undefined };
  }
  return refusal ? { layer: 'message', note: `links: the message layer (${refusal})` } : { layer: 'packet', note: undefined };
}

/** The chain the loss rules live in, in each node's namespace. */
export const LOSS_CHAIN = 'PEERLAB-LINKS';
const DEFAULT_QUEUE_PACKETS = 1000;
/** An htb class needs a rate: one no link of a container reaches stands for "unlimited". */
const UNLIMITED_RATE = '100gbit';
/**
 * An htb class's bucket holds at least this long at its rate, and at least one segmentation-offload packet (64 KiB
 * of TCP segments plus a frame). With tc's default (about one timer tick's worth) a 100mbit edge carried 89.5
 * Mbit/s of payload where the headers explain 4–5 %: the qdisc is woken late, and the tokens it would have had
 * then spill over a bucket smaller than one offload packet. 10 ms of burst is 0.5 % of a two-second transfer.
 */
const BURST_MS = 10;
const OFFLOAD_PACKET_BYTES = 65_536 + 1_514;

function htbRate(rateBps: number | null): string {
  if (rateBps === null) return `rate ${UNLIMITED_RATE} ceil ${UNLIMITED_RATE}`;
  const burst = Math.max(Math.ceil((rateBps * BURST_MS) / 1000 / 8), OFFLOAD_PACKET_BYTES);
  return `rate ${rateBps}bit ceil ${rateBps}bit burst ${burst} cburst ${burst}`;
}

/** The tc batch and iptables-restore input that shape node `id`'s outgoing edges (empty strings: nothing to do). */
export function packetRules(graph: Topology, id: string, addressOf: (id: string) => string): { tc: string; iptables: string } {
  const tc: string[] = [];
  const iptables: string[] = [];
  graph.neighbors(id).sort(compareNodeIds).forEach((neighbour, index) => {
    const link = directedLink(graph, id, neighbour);
    if (!link) return;
    const address = addressOf(neighbour);
    const timed = link.delayMs > 0 || link.jitterMs > 0;
    if (link.rateBps !== null || link.queuePackets !== null || timed) {
      const classId = `1:${(index + 1).toString(16)}`;
      const limit = link.queuePackets ?? DEFAULT_QUEUE_PACKETS;
      tc.push(`class add dev eth0 parent 1: classid ${classId} htb ${htbRate(link.rateBps)}`);
      // A delay reaches here only where the kernel has netem (chooseLinksLayer refuses it otherwise).
      if (timed) {
        const jitter = link.jitterMs > 0 ? ` ${link.jitterMs}ms${link.jitterDistribution === 'exponential' ? ' distribution pareto' : ''}` : '';
        tc.push(`qdisc add dev eth0 parent ${classId} handle ${(index + 2).toString(16)}: netem delay ${link.delayMs}ms${jitter} limit ${limit}`);
      } else {
        tc.push(`qdisc add dev eth0 parent ${classId} handle ${(index + 2).toString(16)}: pfifo limit ${limit}`);
      }
      tc.push(`filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst ${address}/32 flowid ${classId}`);
    }
    if (link.lossPercent > 0) {
      iptables.push(`-A ${LOSS_CHAIN} -d ${address}/32`);
      iptables.push(`-A ${LOSS_CHAIN} -d ${address}/32 -m statistic --mode random --probability ${link.lossPercent / 100} -j DROP`);
    }
  });
  return {
    // htb's direct queue (unclassified traffic: etcd, the CLI) takes its length from the veth's txqueuelen of 0.
    tc: tc.length === 0 ? '' : [`qdisc replace dev eth0 root handle 1: htb direct_qlen ${DEFAULT_QUEUE_PACKETS}`, ...tc].join('\n') + '\n',
    iptables: iptables.length === 0 ? '' : ['*filter', `:${LOSS_CHAIN} - [0:0]`, `-A OUTPUT -j ${LOSS_CHAIN}`, ...iptables, 'COMMIT'].join('\n') + '\n',
  };
}

/** Runs a command inside the network namespace of process `pid`, with `input` on its stdin. */
export function inNamespace(pid: number, command: readonly string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), '-n', '--', ...command], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    // A command that fails before reading its input closes the pipe: its exit status says why, not EPIPE.
    child.stdin.on('error', () => {});
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new PeerlabError(`${command.join(' ')} in the namespace of pid ${pid} failed: ${errors.trim() || `exit ${code}`}`)),
    );
    child.stdin.end(input);
  });
}

/**
 * Shapes one node: its tc batch and its loss rules, in its namespace. Egress rules see the veth's segmentation-
 * offload packets (up to 64 KB of TCP segments each, as the kernel hands them down): htb charges each for all its
 * segments' wire bytes, and the loss rule drops each with its probability, so its counters are in those packets.
 */
export async function applyPacketRules(pid: number, rules: { tc: string; iptables: string }): Promise<void> {
  if (rules.tc) await inNamespace(pid, ['tc', '-batch', '-'], rules.tc);
  if (rules.iptables) await inNamespace(pid, ['iptables-restore', '--noflush'], rules.iptables);
}

/** Per neighbour address: packets sent to it, and packets the loss rule dropped (the rules' own counters). */
export interface LossCounter {
  readonly address: string;
  readonly packets: number;
  readonly dropped: number;
}

/**
 * How far the share a loss rule dropped may lie from its configured rate and still be that rate: four standard
 * deviations of a binomial share over `packets` (a correct rule falls outside about once in 16,000 tries).
 */
export function lossShareBound(lossPercent: number, packets: number): number {
  const p = lossPercent / 100;
  return 4 * Math.sqrt((p * (1 - p)) / packets);
}

export async function readLossCounters(pid: number): Promise<LossCounter[]> {
  const listing = await inNamespace(pid, ['iptables', '-t', 'filter', '-L', LOSS_CHAIN, '-v', '-x', '-n']).catch(() => '');
  const counters = new Map<string, { packets: number; dropped: number }>();
  for (const line of listing.split('\n')) {
    // pkts bytes target prot opt in out source destination [statistic …]
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8 || !/^\d+$/.test(fields[0]!)) continue;
    const drop = fields[2] === 'DROP';
    const address = (drop ? fields[8] : fields[7])!.replace(/\/32$/, '');
    const entry = counters.get(address) ?? { packets: 0, dropped: 0 };
    if (drop) entry.dropped = Number(fields[0]);
    else entry.packets = Number(fields[0]);
    counters.set(address, entry);
  }
  return [...counters].map(([address, counts]) => ({ address, ...counts }));
}

/** Every node's loss counters, `from->to`: packets to the neighbour and packets its rule dropped. */
export async function readRunLossCounters(runtime: {
  nodeNamespaces(): Promise<Map<string, { pid: number; address: string }>>;
}): Promise<Record<string, { packets: number; dropped: number }>> {
  const namespaces = await runtime.nodeNamespaces();
  const idOf = new Map([...namespaces].map(([id, { address }]) => [address, id]));
  const counters: Record<string, { packets: number; dropped: number }> = {};
  for (const [id, { pid }] of namespaces) {
    for (const { address, packets, dropped } of await readLossCounters(pid)) counters[`${id}->${idOf.get(address) ?? address}`] = { packets, dropped };
  }
  return counters;
}
