/**
 * The plan of a local cluster: names, addresses, address pools and paths, as a pure function of the cluster's
 * name, its engine count and the networks the host already uses, so every choice is testable without root.
 *
 * Layout: engine 1 is the host's own dockerd. Engines 2..N are dockerds in network namespaces
 * `peerlab-<name>-<k>`. Every engine has one leg (a veth) on a bridge that lives in a namespace of its own,
 * `peerlab-<name>-hub`, and an address on the link subnet. The bridge is kept out of the host's namespace on
 * purpose: the host's FORWARD chain has Docker's DROP policy, and with bridge-nf-call-iptables=1 bridged frames
 * go through it, so a bridge on the host would drop the engines' Swarm and VXLAN traffic.
 */
import path from 'node:path';
import { PeerlabError } from '../errors.js';

export const DEFAULT_CLUSTER_NAME = 'peerlab';
/** Short, because the host's leg is named `pl-<name>` and Linux interface names stop at 15 characters. */
export const CLUSTER_NAME_PATTERN = /^[a-z][a-z0-9]{0,7}$/;
export const MIN_ENGINES = 1;
/** Each extra engine costs 50–80 MiB and a containerd; past this a real multi-host Swarm is the better tool. */
export const MAX_ENGINES = 32;
export const DEFAULT_STATE_ROOT = '/var/lib/peerlab/cluster';
/** Swarm's defaults; 4789 is also what the kernel's own VXLAN devices (flannel, …) take, hence the check. */
export const SWARM_PORT = 2377;
export const DEFAULT_DATA_PATH_PORT = 4789;
/**
 * Overlay networks get /20 blocks (4,094 addresses: a run of 1,000+ nodes fits, where Swarm's default /24 is
 * the known trap) out of a /12 pool (256 such networks).
 */
export const OVERLAY_SUBNET_BITS = 20;
const POOL_BITS = 12;
/** Candidate pools, in order: 10.x blocks away from 10.0.0.0/16, which Swarm, VPNs and clouds use most. */
const POOL_CANDIDATES = ['10.224.0.0', '10.240.0.0', '10.192.0.0', '10.208.0.0', '10.176.0.0', '10.160.0.0'];
/** Link subnets are /24s taken from here, the first one the host does not use. */
const LINK_RANGE = '10.213.0.0';
const LINK_BITS = 24;

export interface Cidr {
  /** The network address as a 32-bit unsigned number. */
  readonly base: number;
  readonly bits: number;
}

export interface EnginePlan {
  /** 1-based; 1 is the host's engine. */
  readonly index: number;
  /** engine-<k>: the name other code and `peerlab status` show. */
  readonly name: string;
  /** The network namespace, none for the host's engine. */
  readonly netns: string | undefined;
  /** The engine's address on the link subnet: Swarm's advertise, listen and data-path address. */
  readonly address: string;
  /** Its veth leg on the hub bridge (in the hub namespace). */
  readonly hubLeg: string;
  /** Its own end: eth0 inside an engine namespace, `pl-<name>` on the host. */
  readonly ownLeg: string;
  /** Data root, exec root, socket, pid file and log live here; none for the host's engine. */
  readonly dir: string | undefined;
  /** The Docker API socket; the host's is filled in by the caller. */
  readonly socketPath: string | undefined;
}

export interface ClusterPlan {
  readonly name: string;
  readonly stateDir: string;
  readonly hubNetns: string;
  readonly linkSubnet: string;
  readonly linkPrefixLength: number;
  /** Swarm's --default-addr-pool and --default-addr-pool-mask-length. */
  readonly addressPool: string;
  readonly overlaySubnetBits: number;
  readonly dataPathPort: number;
  readonly engines: readonly EnginePlan[];
}

export interface PlanOptions {
  readonly name: string;
  readonly engines: number;
  /** CIDRs the host already routes or addresses (its interfaces, routes, Docker networks). */
  readonly usedNetworks: readonly string[];
  readonly stateRoot?: string;
  readonly dataPathPort?: number;
}

export function planCluster(options: PlanOptions): ClusterPlan {
  const { name, engines } = options;
  if (!CLUSTER_NAME_PATTERN.test(name)) {
    throw new PeerlabError(`--name ${JSON.stringify(name)} is not a cluster name`, { hint: 'use 1–8 lowercase letters or digits, starting with a letter, e.g. --name lab' });
  }
  if (!Number.isInteger(engines) || engines < MIN_ENGINES || engines > MAX_ENGINES) {
    throw new PeerlabError(`--engines ${engines} is out of range`, { hint: `pass a whole number from ${MIN_ENGINES} to ${MAX_ENGINES}` });
  }
  const dataPathPort = options.dataPathPort ?? DEFAULT_DATA_PATH_PORT;
  if (!Number.isInteger(dataPathPort) || dataPathPort < 1024 || dataPathPort > 49151) {
    throw new PeerlabError(`--data-path-port ${dataPathPort} is out of range`, { hint: 'pass a UDP port from 1024 to 49151 (Swarm refuses others), e.g. 4789' });
  }
  const used = options.usedNetworks.map(parseCidr);
  const link = firstFree(subnetsOf(parseCidr(`${LINK_RANGE}/16`), LINK_BITS), used);
  if (!link) throw new PeerlabError(`no free /24 for the cluster's link in ${LINK_RANGE}/16`, { hint: 'remove unused interfaces or routes in that range (ip route)' });
  const pool = firstFree(
    POOL_CANDIDATES.map((base) => parseCidr(`${base}/${POOL_BITS}`)),
    [...used, link],
  );
  if (!pool) throw new PeerlabError(`every candidate overlay pool (${POOL_CANDIDATES.map((base) => `${base}/${POOL_BITS}`).join(', ')}) overlaps a host network`, { hint: 'free one of them (ip route shows what uses it)' });

  const stateDir = path.join(options.stateRoot ?? DEFAULT_STATE_ROOT, name);
  const enginePlans: EnginePlan[] = [];
  for (let index = 1; index <= engines; index++) {
    const host = index === 1;
    const dir = host ? undefined : path.join(stateDir, `engine-${index}`);
    enginePlans.push({
      index,
      name: `engine-${index}`,
      netns: host ? undefined : `peerlab-${name}-${index}`,
      address: formatAddress(link.base + index),
      hubLeg: `e${index}`,
      ownLeg: host ? `pl-${name}` : 'eth0',
      dir,
      socketPath: dir ? path.join(dir, 'docker.sock') : undefined,
    });
  }
  return {
    name,
    stateDir,
    hubNetns: `peerlab-${name}-hub`,
    linkSubnet: formatCidr(link),
    linkPrefixLength: LINK_BITS,
    addressPool: formatCidr(pool),
    overlaySubnetBits: OVERLAY_SUBNET_BITS,
    dataPathPort,
    engines: enginePlans,
  };
}

function firstFree(candidates: Iterable<Cidr>, used: readonly Cidr[]): Cidr | undefined {
  for (const candidate of candidates) if (!used.some((network) => overlaps(candidate, network))) return candidate;
  return undefined;
}

function* subnetsOf(range: Cidr, bits: number): Generator<Cidr> {
  const step = 2 ** (32 - bits);
  for (let base = range.base; base < range.base + 2 ** (32 - range.bits); base += step) yield { base, bits };
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return networkOf(a.base, bits) === networkOf(b.base, bits);
}

// IPv4 prefix arithmetic is written out here (a few lines over 32-bit numbers) rather than adding a CIDR
// dependency for three functions.

/** "10.1.2.3/16" → its network (10.1.0.0/16); a bare address is a /32. Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [address, bitsText] = text.split('/');
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  const octets = (address ?? '').split('.').map(Number);
  if (octets.length !== 4 || octets.some((octet) => !Number.isInteger(octet) || octet < 0 || octet > 255) || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    throw new Error(`not an IPv4 CIDR: ${text}`);
  }
  const value = octets.reduce((sum, octet) => sum * 256 + octet, 0);
  return { base: networkOf(value, bits), bits };
}

function networkOf(value: number, bits: number): number {
  const size = 2 ** (32 - bits);
  return Math.floor(value / size) * size;
}

export function formatAddress(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.base)}/${cidr.bits}`;
}
