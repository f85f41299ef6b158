/**
 * The kernel's neighbour (ARP) table is one table for every network namespace on the host, capped by
 * net.ipv4.neigh.default.gc_thresh3 (1024 by default). On a run's bridge, etcd holds an entry for every node,
 * every node one for etcd, and one per neighbour it talks to. Past the cap the kernel drops new entries
 * ("neighbor table overflow!"), and the nodes that start last cannot reach etcd: their connections hang
 * silently in SYN-SENT. Seen with 500 nodes on the default.
 */
import { readFile } from 'node:fs/promises';

export const ARP_LIMIT_SYSCTL = 'net.ipv4.neigh.default.gc_thresh3';

/** Entries a run keeps in use at once: etcd's and each node's for etcd, and one per edge at one end. */
export function arpEntriesNeeded(nodes: number, edges: number): number {
  return 2 * nodes + edges;
}

/** The host's cap, or undefined when it cannot be read (not Linux, or a remote engine's host). */
export async function readArpLimit(): Promise<number | undefined> {
  const text = await readFile(`/proc/sys/${ARP_LIMIT_SYSCTL.replaceAll('.', '/')}`, 'utf8').catch(() => undefined);
  const limit = Number(text);
  return text === undefined || !Number.isFinite(limit) ? undefined : limit;
}

/** Raises all three thresholds together, keeping the kernel's 1 : 2 : 4 ratio, with room to spare. */
export function arpFix(needed: number): string {
  const max = Math.max(16_384, 2 ** Math.ceil(Math.log2(needed * 2)));
  const settings = `net.ipv4.neigh.default.gc_thresh1=${max / 4} net.ipv4.neigh.default.gc_thresh2=${max / 2} ${ARP_LIMIT_SYSCTL}=${max}`;
  return `sudo sysctl -w ${settings} (persist it in /etc/sysctl.d/60-peerlab.conf)`;
}
