import type { Interfaces } from '@oclif/core';
import { PeerlabError } from '../errors.js';
import { resultsRoot } from '../util/files.js';
import type { RunRequest } from '../run/run.js';
import { NodeFailed } from '../run/controller.js';
import type { deploymentFlags, placementPolicyFlags } from './run-flags.js';
import { stopRunsOnInterrupt } from './interrupt.js';
import { StartupProgress } from './progress.js';
import type { RunId } from '../util/names.js';
import { readHosts, type GivenHosts } from '../runtime/emulated-hosts.js';
import { livePlacementRequest, POLICY_SETTING_NAME, type LivePlacementRequest } from '../placement/live.js';

type DeploymentFlags = Interfaces.InferredFlags<typeof deploymentFlags>;
type PlacementPolicyFlags = Interfaces.InferredFlags<typeof placementPolicyFlags>;

/** `--timeout` is in seconds (the library takes ms): a value that is not above 0 is refused in the flag's own unit. */
export function timeoutMsFrom(seconds: number): number {
  if (!(seconds > 0)) {
    throw new PeerlabError(`--timeout ${seconds} is not a positive number of seconds`, { hint: 'give the seconds the algorithm may run, e.g. --timeout 60' });
  }
  return seconds * 1000;
}

/** `--hosts` with `--host-cpus`, read once; `--host-cpus` alone would do nothing, so it is refused. */
function hostsFrom(flags: Pick<DeploymentFlags, 'hosts' | 'host-cpus'>): GivenHosts | undefined {
  if (flags.hosts === undefined) {
    if (flags['host-cpus'] !== undefined) throw new PeerlabError('--host-cpus needs --hosts: it sets the CPUs of the largest host', { hint: "add --hosts, e.g. --hosts 'big=4,small=1'" });
    return undefined;
  }
  return readHosts(flags.hosts, flags['host-cpus'] === undefined ? undefined : Number(flags['host-cpus']));
}

/** `--policy` with its companions, which are refused without it; the rest is checked as an experiment's `policy:` is. */
function livePlacementFrom(flags: Partial<PlacementPolicyFlags>, hosts: GivenHosts | undefined): LivePlacementRequest | undefined {
  if (flags.policy === undefined) {
    const orphan = (['policy-every', 'hold', 'policy-setting'] as const).find((flag) => flags[flag] !== undefined);
    if (orphan) throw new PeerlabError(`--${orphan} needs --policy`, { hint: 'add --policy, e.g. --policy equal, or leave it out' });
    return undefined;
  }
  const everySeconds = flags['policy-every'];
  if (everySeconds !== undefined && !(everySeconds > 0)) throw new PeerlabError(`--policy-every ${everySeconds} is not a positive number of seconds`, { hint: 'e.g. --policy-every 10' });
  const settings: Record<string, number> = {};
  for (const setting of flags['policy-setting'] ?? []) {
    const [name = '', text = ''] = setting.split(/=(.*)/s);
    const value = Number(text);
    if (!POLICY_SETTING_NAME.test(name) || text.trim() === '' || !Number.isFinite(value)) throw new PeerlabError(`--policy-setting ${setting} is not name=number`, { hint: 'e.g. --policy-setting limit=0.8' });
    settings[name] = value;
  }
  const hold = flags.hold?.split(',').map((id) => id.trim());
  return livePlacementRequest({ policy: flags.policy, everySeconds, hold, settings }, hosts);
}

/**
 * Turns parsed flags into a run request with a progress display, and arranges that Ctrl-C stops the run from
 * creating more, removes whatever it has created so far, and exits 130. `--hosts` is read once, for the hosts and
 * for the settings of `--policy` (the flags of a command that takes it).
 */
export function runRequestFrom(
  flags: DeploymentFlags & Partial<PlacementPolicyFlags>,
  options: { algorithm: string; timeoutMs: number; resultsRoot: string; json: boolean; note: (line: string) => void },
): { request: RunRequest; during: <T>(work: Promise<T>) => Promise<T> } {
  const hosts = hostsFrom(flags);
  const livePlacement = livePlacementFrom(flags, hosts);
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
    // Which node was inside its code when the run was stopped: error.json has it, and so does the terminal.
    stoppedWith: (error) => {
      if (error instanceof PeerlabError && error.cause instanceof NodeFailed) process.stderr.write(`${error.message} — ${error.hint}\n`);
    },
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
    ...(hosts && { hosts: hosts.request }),
    ...(livePlacement && { livePlacement }),
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
