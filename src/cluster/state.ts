/**
 * What `cluster up` records before it creates anything, so `down` (another process, or the Ctrl-C handler)
 * knows what to remove and what the host's engine was like before: the plan, and the host's prior Swarm state.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_STATE_ROOT, type ClusterPlan } from './plan.js';

/** Every Docker object the cluster makes carries `peerlab.cluster=<name>` where Docker takes labels. */
export const CLUSTER_LABEL = 'peerlab.cluster';
/** A Swarm node's engine number (1 is the host's engine). */
export const ENGINE_LABEL = 'peerlab.engine';

export interface ClusterState {
  readonly version: 1;
  readonly plan: ClusterPlan;
  /** The host's engine socket (engine 1). */
  readonly hostSocket: string;
  /** Before `up`: whether the host was in a Swarm (up refuses then), and whether docker_gwbridge existed. */
  readonly hostBefore: { readonly swarm: string; readonly gwbridge: boolean };
  /** Set once `up` made the Swarm: its id, so `down` leaves only that Swarm. */
  swarmId?: string;
  /** The images `up` put on every engine. */
  images?: string[];
  /** Set when `up` finished. */
  upAt?: string;
}

function stateFile(stateDir: string): string {
  return path.join(stateDir, 'cluster.json');
}

export async function writeState(state: ClusterState): Promise<void> {
  await mkdir(state.plan.stateDir, { recursive: true });
  const file = stateFile(state.plan.stateDir);
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

export async function readState(name: string, stateRoot = DEFAULT_STATE_ROOT): Promise<ClusterState | undefined> {
  const text = await readFile(stateFile(path.join(stateRoot, name)), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as ClusterState);
}

/** Names of the clusters with a state folder (up, half up, or half down). */
export async function clusterNames(stateRoot = DEFAULT_STATE_ROOT): Promise<string[]> {
  const entries = await readdir(stateRoot, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}
