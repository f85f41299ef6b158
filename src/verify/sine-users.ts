import { z } from 'zod';
import { expectedMoves, selfPlacementIntervals } from '../../algorithms/lib/sine-demand.js';
import { MAX_LISTED_FAILURES, type CheckResult, type Oracle } from './types.js';
import { compareNodeIds } from '../util/node-ids.js';

const params = z.object({
  server: z.string(),
  sites: z.array(z.object({ name: z.string(), offsetHours: z.number(), amplitude: z.number() })),
  dayMs: z.number(),
  durationMs: z.number(),
  noise: z.number(),
  answer: z.boolean().default(false),
});
const report = z.object({ sent: z.number().int(), handled: z.number().int(), answered: z.number().int().optional(), meanRttMs: z.number().nullable().optional() });

/** self-placement's defaults (policies/self-placement.ts), for a run that does not set them. */
const DEFAULT_THRESHOLD = 0.6;
const DEFAULT_WINDOW_S = 900;

/**
 * The check of seed 001's self-migrating server (experiments/self-placement.yaml): the users of each site request
 * the server along their day's sine (algorithms/sine-users.ts), and a policy moves it. From placements.ndjson's
 * rounds and the nodes' counts:
 *   - every request reached the server, across its moves (the users' sent = the server's handled), and with
 *     `answer` every user had each of its requests answered (its round trips are reported, not judged);
 *   - every user node ran at its site the whole run;
 *   - the server moved only inside the windows where the curves, solved in closed form (algorithms/lib/
 *     sine-demand.ts), make the rule hold, each within the policy's window and period after the window opens;
 *   - at zero noise, it moved as many times, to the same sites in the same order, as those windows say.
 */
export const verifySineUsers: Oracle = ({ results, params: given, placement }) => {
  const fail = (summary: string): CheckResult => ({ passed: false, summary, metrics: {}, failures: [summary] });
  if (placement === undefined) return fail('no placement policy moved the server: run it with --policy self-placement and --hosts (experiments/self-placement.yaml)');
  const { server, sites, dayMs, durationMs, noise, answer } = params.parse(given);
  const rounds = placement.rounds;
  if (rounds.length === 0) return fail('the policy ran no round: give the run time for one');
  const failures: string[] = [];

  const reports = new Map([...results].map(([id, value]) => [id, report.safeParse(value).data]));
  const users = [...reports.keys()].filter((id) => id !== server).sort(compareNodeIds);
  const sent = users.reduce((sum, id) => sum + (reports.get(id)?.sent ?? 0), 0);
  const handled = reports.get(server)?.handled;
  if (handled !== sent) failures.push(`the users sent ${sent} requests and the server handled ${handled ?? 'none'}: ${handled === undefined ? 'it reported nothing' : 'requests were lost or doubled across its moves'}`);
  // Each user's round trips, as seed 001's ping measured its users' experience: reported per site, not judged.
  const roundTrips: Record<string, number> = {};
  if (answer) {
    for (const [index, id] of users.entries()) {
      const user = reports.get(id);
      if (user?.answered !== user?.sent) failures.push(`user node ${id} sent ${user?.sent ?? 'no'} requests and had ${user?.answered ?? 'none'} answered`);
      if (typeof user?.meanRttMs === 'number' && sites[index] !== undefined) roundTrips[`rttMeanMs_${sites[index]!.name}`] = user.meanRttMs;
    }
  }
  for (const round of rounds) {
    for (const node of round.input.nodes) {
      const index = users.indexOf(node.name);
      if (index >= 0 && sites[index] !== undefined && node.host !== sites[index]!.name) {
        failures.push(`user node ${node.name} ran on ${node.host} at ${round.atMs / 1000} s, not at its site ${sites[index]!.name}: list the hosts in the order of sites`);
      }
    }
  }

  const settings = rounds[0]!.input.settings;
  const windowS = settings.window ?? DEFAULT_WINDOW_S;
  const periodS = rounds.length > 1 ? (rounds[1]!.atMs - rounds[0]!.atMs) / 1000 : 0;
  const intervals = selfPlacementIntervals(
    sites.map(({ name, offsetHours, amplitude }) => ({ name, offsetS: offsetHours * 3600, amplitude })),
    dayMs / 1000,
    durationMs / 1000,
    settings.threshold ?? DEFAULT_THRESHOLD,
  );
  const from = rounds[0]!.input.nodes.find((node) => node.name === server)?.host ?? '?';
  const expected = expectedMoves(intervals, from);
  const moves = rounds.flatMap((round) => round.moves.filter((move) => move.node === server && move.moved).map((move) => ({ atS: round.atMs / 1000, to: move.to })));
  for (const { atS, to } of moves) {
    const inside = intervals.some((interval) => interval.site === to && interval.startS <= atS && atS <= interval.endS + windowS + periodS);
    if (!inside) failures.push(`the server moved to ${to} at ${atS} s, outside every window the curves give for ${to}`);
  }
  const made = moves.map((move) => move.to);
  if (noise === 0 && made.join() !== expected.join()) failures.push(`the server moved to ${made.join(', ') || 'nowhere'}; the curves say ${expected.join(', ') || 'nowhere'}`);
  const days = durationMs / dayMs;
  return {
    passed: failures.length === 0,
    summary:
      failures.length === 0
        ? `${made.length} moves (${(made.length / days).toFixed(1)} a day), ${noise === 0 ? 'as many as the curves give, to the same sites' : `the curves give ${expected.length}`}, each inside its window; ${handled} requests handled, none lost${answer ? ', each answered' : ''}`
        : `${failures.length} problem(s): ${failures[0]}`,
    expected: { moves: expected },
    actual: { moves: made },
    metrics: { serverMoves: made.length, expectedMoves: expected.length, movesPerDay: made.length / days, requests: sent, ...roundTrips },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};
