/**
 * Every runtime a run can take, keyed by its kind: the one place that knows which runtimes exist. Adding one
 * (e.g. swarm) is a name in RUNTIME_KINDS (src/runtime/types.ts) and an entry here.
 */
import type { RuntimeChoice, RuntimeKind } from '../runtime/types.js';
import type { RunRuntime } from './deployment.js';
import type { PlacementPolicy } from './swarm-placement.js';
import { dockerRuntime } from './execute-docker.js';
import { simulatorRuntime } from './execute-sim.js';
import { swarmRuntime } from './swarm-deployment.js';

export const RUNTIMES: Readonly<Record<RuntimeKind, RunRuntime>> = {
  docker: dockerRuntime,
  swarm: swarmRuntime,
  sim: simulatorRuntime,
};

export type RuntimeCapability = 'standUp' | 'plainStart' | 'emulatesHosts' | 'hostsHaveCpus' | 'hostsHaveDistances' | 'placesOnEngines' | 'tracesMessages';

/** The runtimes that have a capability (e.g. `standUp`, `emulatesHosts`), for a message that says which to take. */
export function runtimesWith(capability: RuntimeCapability): RuntimeKind[] {
  return Object.values(RUNTIMES)
    .filter((runtime) => Boolean(runtime[capability]))
    .map((runtime) => runtime.kind);
}

/**
 * A placement other than the default asked of a run whose nodes all go to one place (one engine without hosts, or
 * the simulator): it would validate and do nothing, so the run and the experiment preflight refuse it.
 */
export function placesNowhere(runtime: RunRuntime, placement: PlacementPolicy | undefined, hasHosts: boolean): boolean {
  return placement !== undefined && placement !== 'spread' && !runtime.placesOnEngines && !(hasHosts && runtime.emulatesHosts);
}

/** What `--runtime auto` tries, in order: containers when an engine answers, else the simulator. */
export const AUTO_ORDER: readonly RuntimeKind[] = ['docker', 'sim'];

/**
 * The runtime a choice names; `auto` takes the first of AUTO_ORDER that is available and says why it passed over
 * the ones before it.
 */
export async function chooseRuntime(choice: RuntimeChoice, onNotice?: (line: string) => void): Promise<RunRuntime> {
  if (choice !== 'auto') return RUNTIMES[choice];
  const passedOver: string[] = [];
  for (const kind of AUTO_ORDER) {
    const why = await RUNTIMES[kind].unavailable();
    if (why === undefined) {
      if (passedOver.length > 0) onNotice?.(`runtime: ${kind} (${passedOver.join('; ')}); pass --runtime ${AUTO_ORDER[0]} to insist on it`);
      return RUNTIMES[kind];
    }
    passedOver.push(why);
  }
  throw new Error(`no runtime is available: ${passedOver.join('; ')}`);
}
