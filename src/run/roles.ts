import { PeerlabError } from '../errors.js';
import { compareNodeIds } from '../util/node-ids.js';

/** One role of a run with groups, as asked for. */
export interface RoleRequest {
  readonly role: string;
  /** How many nodes take the role; left out for at most one role, which takes the nodes the others leave. */
  readonly count?: number;
  /** An algorithm name or file, as `peerlab run` takes it. */
  readonly algorithm: string;
  /** `name=value` assignments, as `--param` takes them. */
  readonly params: readonly string[];
}

/**
 * Which nodes each role gets, deterministically: the roles, in the order given, take consecutive node ids in
 * ascending order, each as many as its count; the role without a count takes as many as the others leave, at
 * its place in the order. So roles a×2, b (the rest), c×1 on nodes 0..5 give a 0–1, b 2–4, c 5.
 */
export function assignRoles(nodeIds: readonly string[], roles: ReadonlyArray<Pick<RoleRequest, 'role' | 'count'>>): string[][] {
  const ids = [...nodeIds].sort(compareNodeIds);
  const uncounted = roles.filter((role) => role.count === undefined);
  if (uncounted.length > 1) {
    throw new PeerlabError(`roles ${uncounted.map((role) => role.role).join(' and ')} both leave out their count`, {
      hint: 'only one role may take the remaining nodes: give the others a count',
    });
  }
  const counted = roles.reduce((sum, role) => sum + (role.count ?? 0), 0);
  const rest = ids.length - counted;
  if (rest < 0 || (uncounted.length === 0 && rest !== 0) || (uncounted.length === 1 && rest === 0)) {
    throw new PeerlabError(
      uncounted.length === 1
        ? `the counted roles take ${counted} of ${ids.length} node(s), leaving none for ${uncounted[0]!.role}`
        : `the roles add up to ${counted} node(s), but the topology has ${ids.length}`,
      { hint: 'make the counts add up to the number of nodes, or leave out the count of one role (it takes the rest)' },
    );
  }
  let next = 0;
  return roles.map((role) => ids.slice(next, (next += role.count ?? rest)));
}

/** `4-7` for a role's consecutive ids, `3` for one: how the run's config shows a role's nodes. */
export function idRange(ids: readonly string[]): string {
  return ids.length === 1 ? ids[0]! : `${ids[0] ?? ''}-${ids.at(-1) ?? ''}`;
}
