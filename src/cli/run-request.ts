import type { Interfaces } from '@oclif/core';
import { PeerlabError } from '../errors.js';
import { resultsRoot } from '../util/files.js';
import type { RunRequest } from '../run/run.js';
import type { deploymentFlags, placementPolicyFlags } from './run-flags.js';
import { stopRunsOnInterrupt } from './interrupt.js';
import { StartupProgress } from './progress.js';
import type { RunId } from '../util/names.js';
import { hostsOfFile, parseHostsSpec, type HostsRequest } from '../runtime/emulated-hosts.js';
import { loadPlacementInputSync } from '../placement/input.js';
import { policyWithoutHosts, type LivePlacementRequest } from '../placement/live.js';
import { resolvePolicy } from '../plugins/resolve.js';

type DeploymentFlags = Interfaces.InferredFlags<typeof deploymentFlags>;
type PlacementPolicyFlags = Interfaces.InferredFlags<typeof placementPolicyFlags>;

/** `--timeout` is in seconds (the library takes ms): a value that is not above 0 is refused in the flag's own unit. */
export function timeoutMsFrom(seconds: number): number {
  if (!(seconds > 0)) {
    throw new PeerlabError(`--timeout ${seconds} is not a positive number of seconds`, { hint: 'give the seconds the algorithm may run, e.g. --timeout 60' });
  }
  return seconds * 1000;
}

/** `--hosts FILE`: a placement input YAML (hosts with priority and central; maybe settings), not a spec. */
const isHostsFile = (given: string): boolean => /\.ya?ml$/i.test(given);

/** `--hosts` with `--host-cpus`; `--host-cpus` alone would do nothing, so it is refused. */
function hostsFrom(flags: Pick<DeploymentFlags, 'hosts' | 'host-cpus'>): HostsRequest | undefined {
  if (flags.hosts === undefined) {
    if (flags['host-cpus'] !== undefined) throw new PeerlabError('--host-cpus needs --hosts: it sets the CPUs of the largest host', { hint: "add --hosts, e.g. --hosts 'big=4,small=1'" });
    return undefined;
  }
  const largestCpus = flags['host-cpus'] === undefined ? 1 : Number(flags['host-cpus']);
  const list = isHostsFile(flags.hosts) ? hostsOfFile(flags.hosts, loadPlacementInputSync(flags.hosts).hosts, largestCpus) : parseHostsSpec(flags.hosts, largestCpus);
  return { given: flags.hosts, list };
}

/**
 * `--policy` with its settings: refused without `--hosts` (nothing to place nodes on), and its companions refused
 * without it. Settings: the `--hosts` file's, then `--policy-setting`'s.
 */
export function livePlacementFrom(flags: PlacementPolicyFlags & Pick<DeploymentFlags, 'hosts'>): LivePlacementRequest | undefined {
  if (flags.policy === undefined) {
    const orphan = (['policy-every', 'hold', 'policy-setting'] as const).find((flag) => flags[flag] !== undefined);
    if (orphan) throw new PeerlabError(`--${orphan} needs --policy`, { hint: 'add --policy, e.g. --policy equal, or leave it out' });
    return undefined;
  }
  if (flags.hosts === undefined) throw policyWithoutHosts(flags.policy);
  const everySeconds = flags['policy-every'] ?? 10;
  if (!(everySeconds > 0)) throw new PeerlabError(`--policy-every ${everySeconds} is not a positive number of seconds`, { hint: 'e.g. --policy-every 10' });
  const settings: Record<string, number> = isHostsFile(flags.hosts) ? { ...loadPlacementInputSync(flags.hosts).settings } : {};
  for (const setting of flags['policy-setting'] ?? []) {
    const match = /^([A-Za-z_][\w-]*)=(.+)$/.exec(setting);
    const value = Number(match?.[2]);
    if (!match || !Number.isFinite(value)) throw new PeerlabError(`--policy-setting ${setting} is not name=number`, { hint: 'e.g. --policy-setting limit=0.8' });
    settings[match[1]!] = value;
  }
  const hold = flags.hold === undefined ? [] : flags.hold.split(',').map((id) => id.trim());
  return { policy: flags.policy, policySource: resolvePolicy(flags.policy), everyMs: everySeconds * 1000, hold, settings };
}

/**
 * Turns parsed flags into a run request with a progress display, and arranges that Ctrl-C stops the run from
 * creating more, removes whatever it has created so far, and exits 130.
 */
export function runRequestFrom(
  flags: DeploymentFlags,
  options: { algorithm: string; timeoutMs: number; resultsRoot: string; json: boolean; note: (line: string) => void },
): { request: RunRequest; during: <T>(work: Promise<T>) => Promise<T> } {
  const hosts = hostsFrom(flags);
  const progress = new StartupProgress(!options.json && process.stderr.isTTY === true);
  let runId: RunId | undefined;
  let engineObjects = false;
  // Every runtime ends its run on the abort: the simulator within its INTERRUPT_GRACE_MS, a container runtime once
  // it has torn down. The sweep then removes whatever a container run could not; a simulation created nothing, and
  // must not wait on an engine to learn so (its Ctrl-C ends within a second).
  const interrupt = stopRunsOnInterrupt({
    beforeWait: () => progress.stop(),
    announce: () => `stopping ${runId ?? 'the run'}${engineObjects ? ' and removing what it created' : ''}`,
    leftRuns: () => (runId && engineObjects ? [runId] : []),
  });
  const request: RunRequest = {
    algorithm: options.algorithm,
    params: flags.param,
    topology: flags.topology,
    seed: flags.seed,
    weights: flags.weights,
    links: flags.links,
    linksMode: flags['links-mode'] as RunRequest['linksMode'],
    allowDisconnected: flags['allow-disconnected'],
    timeoutMs: options.timeoutMs,
    resultsRoot: resultsRoot(options.resultsRoot),
    nodeMemoryLimit: flags['node-memory'] * 1024 * 1024,
    concurrency: flags.concurrency,
    etcdImage: flags['etcd-image'],
    etcdPort: flags['etcd-port'],
    etcdEndpoints: flags['etcd-endpoints']?.split(','),
    baseImage: flags['base-image'],
    runtime: flags.runtime as RunRequest['runtime'],
    placement: flags.placement as RunRequest['placement'],
    ...(hosts && { hosts }),
    delay: flags.delay,
    onNotice: options.note,
    onRuntime: (runtime) => {
      engineObjects = runtime.engineObjects;
    },
    onRunId: (id) => {
      runId = id;
      options.note(`run ${id}`);
    },
    onStage: (stage, detail) => {
      if (detail) options.note(`${stage}: ${detail}`);
    },
    signal: interrupt.signal,
    onStarted: progress.onStarted,
    onReady: progress.onReady,
  };
  return {
    request,
    /** Awaits the command's work; after an interrupt the handler owns the exit (130), not the work's error. */
    during: (work) => interrupt.during(work).finally(() => progress.stop()),
  };
}
