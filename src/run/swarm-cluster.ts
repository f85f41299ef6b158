/**
 * The local cluster as a run on it sees it: its engines with their clients, the node image on each of them, and a
 * free subnet for a run's overlay. Shared by the Swarm runtime and its start-up baseline.
 */
import Docker from 'dockerode';
import { clusterEngines } from '../cluster/index.js';
import { copyImages } from '../cluster/images.js';
import { PeerlabError } from '../errors.js';
import type { SwarmEngine } from '../runtime/swarm.js';

/** The overlay's prefix: at least a /20, more when the run needs it (a node, its engine's share, etcd). */
const MIN_OVERLAY_PREFIX = 20;

/** Tasks each engine starts at once, out of `concurrency` for the whole cluster (its engines share this host). */
export function startStepPerEngine(concurrency: number, engines: number): number {
  return Math.max(1, Math.ceil(concurrency / engines));
}

/** The local cluster's engines, each with a client (engine-1, the manager, first). */
export async function swarmEngines(): Promise<SwarmEngine[]> {
  return (await clusterEngines()).map((engine) => ({ name: engine.name, socketPath: engine.socketPath, docker: new Docker({ socketPath: engine.socketPath }) }));
}

/** Copies an image from the manager's engine to every engine that lacks it (there is no registry). */
export async function spreadImage(engines: readonly SwarmEngine[], image: string): Promise<{ lacking: number; copied: { bytes: number; ms: number } }> {
  const lacking: Docker[] = [];
  for (const engine of engines.slice(1)) {
    const present = await engine.docker.getImage(image).inspect().then(() => true, () => false);
    if (!present) lacking.push(engine.docker);
  }
  return { lacking: lacking.length, copied: await copyImages(engines[0]!.docker, lacking, lacking.length > 0 ? [image] : []) };
}

/**
 * A subnet for the run's overlay inside the Swarm's address pool (`cluster up` sets it), big enough for `addresses`
 * and overlapping no network any engine already has.
 */
export async function freeOverlaySubnet(manager: Docker, addresses: number): Promise<string> {
  const swarm = (await manager.swarmInspect()) as { DefaultAddrPool?: string[] };
  const pool = swarm.DefaultAddrPool?.[0] ?? '10.224.0.0/12';
  let prefix = MIN_OVERLAY_PREFIX;
  while (prefix > 8 && 2 ** (32 - prefix) - 3 < addresses) prefix -= 1;
  const [poolBase, poolPrefix] = pool.split('/');
  const start = toNumber(poolBase!);
  const end = start + 2 ** (32 - Number(poolPrefix));
  const taken = ((await manager.listNetworks()) as Array<{ IPAM?: { Config?: Array<{ Subnet?: string }> } }>)
    .flatMap((network) => network.IPAM?.Config ?? [])
    .map((config) => config.Subnet)
    .filter((subnet): subnet is string => subnet !== undefined && subnet.includes('.'))
    .map((subnet) => {
      const [base, length] = subnet.split('/');
      return [toNumber(base!), toNumber(base!) + 2 ** (32 - Number(length))] as const;
    });
  const size = 2 ** (32 - prefix);
  for (let candidate = start; candidate + size <= end; candidate += size) {
    if (!taken.some(([from, to]) => candidate < to && from < candidate + size)) return `${fromNumber(candidate)}/${prefix}`;
  }
  throw new PeerlabError(`no free /${prefix} is left in the Swarm's address pool ${pool}`, { hint: 'take down old runs (peerlab down <run>) or recreate the cluster' });
}

function toNumber(dotted: string): number {
  return dotted.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function fromNumber(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}
