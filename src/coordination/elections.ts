/**
 * Who leads an election of a run, for the `leader[:NAME]` fault selector, which is resolved when its event
 * fires. An election is a queue of candidates (host/contention.ts): its first candidate leads. Both runtimes
 * answer from their own queues (etcd keys ordered by create revision, or the simulator's map) through
 * `leaderAmong`, so the rule for a selector without a name is the same in both.
 */
import type { Etcd3 } from 'etcd3';
import { PeerlabError } from '../errors.js';
import { ELECTIONS, runKeys } from './keys.js';

/**
 * The leader of `election`, from every election's candidates in line order; with no name, of the run's only
 * election. Undefined when nobody leads (no candidate, or no election yet).
 */
export function leaderAmong(candidates: ReadonlyMap<string, readonly string[]>, election: string | undefined): string | undefined {
  if (election !== undefined) return candidates.get(election)?.[0];
  const held = [...candidates].filter(([, nodes]) => nodes.length > 0).map(([name]) => name);
  if (held.length > 1) {
    throw new PeerlabError(`the run holds ${held.length} elections (${held.join(', ')}), so "leader" alone does not say whose leader`, {
      hint: `name the election, e.g. leader:${held[0]}`,
    });
  }
  return held.length === 1 ? candidates.get(held[0]!)![0] : undefined;
}

/** The leader of `election` (or of the run's only election) in a Docker run, read from its etcd. */
export async function currentLeader(etcd: Etcd3, runId: string, election?: string): Promise<string | undefined> {
  const prefix = runKeys(runId).queuePrefix(ELECTIONS);
  const keys = await etcd.getAll().prefix(prefix).sort('Create', 'Ascend').keys();
  const candidates = new Map<string, string[]>();
  for (const key of keys) {
    const [name, node] = key.slice(prefix.length).split('/') as [string, string];
    candidates.set(name, [...(candidates.get(name) ?? []), node]);
  }
  return leaderAmong(candidates, election);
}
