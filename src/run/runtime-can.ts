/**
 * What a run asks of its runtime that this one cannot do: hosts of their own CPUs or capacity, hosts far apart, a
 * message trace, a live policy or a placement with nowhere to place. Refused before anything starts, not ignored.
 * One list of checks for `peerlab run`'s flags and an experiment file's fields, each saying it in its own terms.
 */
import { hostsArePlaced, hostsFlag, type HostsRequest } from '../runtime/emulated-hosts.js';
import { POLICY_FIELDS, POLICY_FLAGS, policyWithoutHosts, type PolicyTerms } from '../placement/live.js';
import type { RunRuntime } from './deployment.js';
import { placesNowhere, runtimesWith, type RuntimeCapability } from './runtimes.js';
import type { PlacementPolicy } from './swarm-placement.js';

export interface RuntimeAsk {
  readonly hosts?: Pick<HostsRequest, 'list' | 'cpusGiven'> & { readonly given?: string };
  readonly trace?: boolean;
  /** The live placement policy's name. */
  readonly policy?: string;
  readonly placement?: PlacementPolicy;
}

export type AskedField = 'hostCpus' | 'hosts' | 'trace' | 'policy' | 'placement';

export interface Refusal {
  readonly field: AskedField;
  /** What the refusal is about, as the flags name it (`--placement first`); none in a file's terms, whose error names the field and line. */
  readonly subject: string | undefined;
  readonly message: string;
  readonly hint: string;
}

/** How the asks are named where they were given. */
export interface AskTerms {
  /** The subject of a refusal, or undefined where the error names the field itself. */
  subject(field: Exclude<AskedField, 'policy'>, ask: RuntimeAsk): string | undefined;
  /** How to leave a field out: `--host-cpus`, `hostCpus`. */
  name(field: 'hostCpus' | 'hosts' | 'placement'): string;
  /** How to take another runtime: `take --runtime sim`, `run it with --runtime sim`. */
  take(runtimes: string): string;
  /** A runtime named in passing: `--runtime docker or sim`, `runtime docker or sim`. */
  runtime(runtimes: string): string;
  /** Where per-edge links are given: `--links`, `links:`. */
  readonly links: string;
  readonly policy: PolicyTerms;
}

const FLAG_OF = { hostCpus: '--host-cpus', hosts: '--hosts', trace: '--trace', placement: '--placement' } as const;

export const FLAG_TERMS: AskTerms = {
  subject: (field, ask) => {
    if (field === 'hosts' && ask.hosts?.given !== undefined) return hostsFlag(ask.hosts.given);
    if (field === 'placement') return `--placement ${ask.placement}`;
    return FLAG_OF[field];
  },
  name: (field) => FLAG_OF[field],
  take: (runtimes) => `take --runtime ${runtimes}`,
  runtime: (runtimes) => `--runtime ${runtimes}`,
  links: '--links',
  policy: POLICY_FLAGS,
};

export const FIELD_TERMS: AskTerms = {
  subject: () => undefined,
  name: (field) => field,
  take: (runtimes) => `run it with --runtime ${runtimes}`,
  runtime: (runtimes) => `runtime ${runtimes}`,
  links: 'links:',
  policy: POLICY_FIELDS,
};

/** The first thing asked that `runtime` cannot do, in `terms`; undefined when it can do all of it. */
export function refusal(runtime: RunRuntime, ask: RuntimeAsk, terms: AskTerms): Refusal | undefined {
  const able = (capability: RuntimeCapability): string => runtimesWith(capability).join(' or ');
  const refuse = (field: Exclude<AskedField, 'policy'>, message: string, hint: string): Refusal => ({ field, subject: terms.subject(field, ask), message, hint });
  const { hosts } = ask;
  if (hosts?.cpusGiven && runtime.emulatesHosts && !runtime.hostsHaveCpus) {
    return refuse('hostCpus', `the ${runtime.kind} runtime's hosts have no CPUs, only the capacity they declare`, `leave ${terms.name('hostCpus')} out, or ${terms.take(able('hostsHaveCpus'))}`);
  }
  if (hosts && !runtime.emulatesHosts) {
    return refuse(
      'hosts',
      `the ${runtime.kind} runtime cannot give nodes hosts of their own capacity`,
      `${terms.take(able('emulatesHosts'))}, or leave ${terms.name('hosts')} out (a Swarm's hosts are its engines)`,
    );
  }
  if (hosts && hostsArePlaced(hosts.list) && !runtime.hostsHaveDistances) {
    return refuse(
      'hosts',
      `the ${runtime.kind} runtime's hosts share one network, so their latitude and longitude would delay nothing`,
      `${terms.take(able('hostsHaveDistances'))}, or give hosts without coordinates (${terms.links} shapes each edge on Docker)`,
    );
  }
  if (ask.trace && !runtime.tracesMessages) {
    return refuse(
      'trace',
      `the ${runtime.kind} runtime cannot trace messages (each node writes its trace into a folder this host shares with it, and nodes on other engines cannot)`,
      `trace the run on ${terms.runtime(able('tracesMessages'))}, or leave ${FLAG_OF.trace} out`,
    );
  }
  if (ask.policy !== undefined && !hosts && !runtime.placesOnEngines) {
    const error = policyWithoutHosts(ask.policy, able('placesOnEngines'), terms.policy);
    return { field: 'policy', subject: undefined, message: error.message, hint: error.hint ?? '' };
  }
  if (placesNowhere(runtime, ask.placement, hosts !== undefined)) {
    return refuse(
      'placement',
      `a ${runtime.kind} run without ${terms.name('hosts')} has one place for its nodes, so there is nothing to place`,
      `add ${terms.name('hosts')} (${terms.runtime(able('emulatesHosts'))}), ${terms.take(able('placesOnEngines'))}, or leave ${terms.name('placement')} out`,
    );
  }
  return undefined;
}
