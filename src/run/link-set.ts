/**
 * `peerlab link set`: changes one overlay edge of a run that is up, through the same etcd control keys the fault
 * schedule writes (degrade and link-down), so a change by hand and a scheduled fault act alike:
 *  - --delay, --jitter, --loss, --rate: the sender's outbox sends on under the changed link model (the link the
 *    run gave the edge, with the named values replaced); a later call changes the values it names and keeps the
 *    others; --reset gives the edge back the link the run gave it;
 *  - --down / --up: the receiver drops what arrives on the edge until it is up again.
 * Both directions, or u → v alone with --oneway. Every value is checked before the run is touched.
 */
import type Docker from 'dockerode';
import type { Etcd3 } from 'etcd3';
import { runKeys } from '../coordination/keys.js';
import type { NeighbourEntry } from '../coordination/protocol.js';
import type { AppliedFault } from '../faults/events.js';
import { PeerlabError } from '../errors.js';
import { describeLinkChange, type LinkChange } from '../links/model.js';
import { flagQuantity, type Quantity } from '../links/spec.js';
import { connectRunEtcd } from './run-etcd.js';

export interface LinkSetRequest {
  readonly runId: string;
  /** `u-v`, as the user wrote it. */
  readonly edge: string;
  readonly delay?: string;
  readonly jitter?: string;
  readonly loss?: string;
  readonly rate?: string;
  readonly down?: boolean;
  readonly up?: boolean;
  readonly reset?: boolean;
  readonly oneway?: boolean;
}

export interface LinkSetOutcome {
  /** The directed edges changed, as [from, to]. */
  readonly edges: ReadonlyArray<readonly [string, string]>;
  /** What each edge's link is changed to now (undefined: the run's own, after --reset or when only --down/--up). */
  readonly changes: ReadonlyArray<LinkChange | undefined>;
  readonly down: boolean | undefined;
}

const HINT = 'write e.g. peerlab link set <run> 3-7 --delay 100ms [--jitter 5ms] [--loss 1%] [--rate 10mbit] [--down|--up] [--oneway]';

export async function setRunLink(docker: Docker, request: LinkSetRequest): Promise<LinkSetOutcome> {
  const [u, v] = parseEdge(request.edge);
  const change = parseChange(request);
  if (request.down && request.up) throw new PeerlabError('--down and --up contradict each other', { hint: 'give one of them' });
  if (request.reset && Object.keys(change).length > 0) throw new PeerlabError('--reset restores the run\'s own link, so it takes no --delay, --jitter, --loss or --rate', { hint: 'give --reset alone, or the values without it' });
  const down = request.down ? true : request.up ? false : undefined;
  if (Object.keys(change).length === 0 && !request.reset && down === undefined) {
    throw new PeerlabError(`nothing to change on ${request.edge}`, { hint: 'give --delay, --jitter, --loss, --rate, --down, --up or --reset' });
  }

  const etcd = await connectRunEtcd(docker, request.runId);
  if (!etcd) throw new PeerlabError(`no run ${request.runId} is up here with an etcd of its own`, { hint: 'run `peerlab status` to list the runs that are up' });
  try {
    const keys = runKeys(request.runId);
    await checkEdge(etcd, keys, request.runId, u, v);
    const intendedAt = Date.now();
    const edges: Array<readonly [string, string]> = request.oneway ? [[u, v]] : [[u, v], [v, u]];
    const changes: Array<LinkChange | undefined> = [];
    for (const [from, to] of edges) {
      if (request.reset) {
        await etcd.delete().key(keys.linkChange(from, to));
        changes.push(undefined);
      } else if (Object.keys(change).length > 0) {
        const before = await etcd.get(keys.linkChange(from, to)).string();
        const merged: LinkChange = { ...(before === null ? {} : (JSON.parse(before) as LinkChange)), ...change };
        await etcd.put(keys.linkChange(from, to)).value(JSON.stringify(merged));
        changes.push(merged);
      } else {
        const current = await etcd.get(keys.linkChange(from, to)).string();
        changes.push(current === null ? undefined : (JSON.parse(current) as LinkChange));
      }
      if (down === true) await etcd.put(keys.linkDown(to, from)).value('down');
      else if (down === false) await etcd.delete().key(keys.linkDown(to, from));
    }
    const outcome = { edges, changes, down };
    // On the run's clock; a change made before the start acts from the start, so it counts as made at 0.
    const start = await etcd.get(keys.start).string();
    const onRunClock = (at: number): number => (start === null ? 0 : Math.max(0, at - Number(start)));
    const record = linkSetEvents(request, outcome, onRunClock(intendedAt), onRunClock(Date.now()));
    await etcd.put(keys.linkSet(`${intendedAt}-${u}-${v}-${process.pid}`)).value(JSON.stringify(record));
    return outcome;
  } finally {
    etcd.close();
  }
}

/** The command as a user would write it again, for the record: `link set 3-7 --delay 100ms --oneway`. */
export function linkSetSpec(request: LinkSetRequest): string {
  const values = (['delay', 'jitter', 'loss', 'rate'] as const).flatMap((flag) => (request[flag] === undefined ? [] : [`--${flag} ${request[flag]}`]));
  const switches = (['down', 'up', 'reset', 'oneway'] as const).filter((flag) => request[flag]).map((flag) => `--${flag}`);
  return ['link set', request.edge, ...values, ...switches].join(' ');
}

/**
 * A `link set` as faults.ndjson records it, in the fault schedule's own events so the report and the oracles
 * read it as they read a scheduled fault: `degrade` (or `restore` after --reset) for a changed link model, then
 * `link-down`/`link-up`. `intendedMs` is when the command was given, `appliedMs` when its keys were written, both
 * on the run's clock. `fault` is -1: it comes from no --fault of the run.
 */
export function linkSetEvents(request: LinkSetRequest, outcome: LinkSetOutcome, intendedMs: number, appliedMs: number): AppliedFault[] {
  const event = { atMs: intendedMs, appliedMs, nodes: [], fault: -1, spec: linkSetSpec(request) };
  const changesLink = [request.delay, request.jitter, request.loss, request.rate].some((value) => value !== undefined);
  const events: AppliedFault[] = [];
  outcome.edges.forEach((edge, i) => {
    if (request.reset) events.push({ ...event, action: 'restore', edges: [edge] });
    else if (changesLink) events.push({ ...event, action: 'degrade', edges: [edge], link: outcome.changes[i]! });
  });
  if (outcome.down !== undefined) events.push({ ...event, action: outcome.down ? 'link-down' : 'link-up', edges: outcome.edges });
  return events;
}

/** How a changed edge reads back: `3→7 delay=100ms loss=1% (down)`. */
export function describeLinkSet(outcome: LinkSetOutcome): string[] {
  return outcome.edges.map(([from, to], i) => {
    const change = outcome.changes[i];
    const link = change === undefined ? 'the run\'s own link' : describeLinkChange(change);
    return `${from}→${to} ${link}${outcome.down === undefined ? '' : outcome.down ? ' (down)' : ' (up)'}`;
  });
}

function parseEdge(text: string): [string, string] {
  const ends = text.split('-').map((end) => end.trim());
  if (ends.length !== 2 || ends.some((end) => end === '')) throw new PeerlabError(`the edge "${text}" is not u-v`, { hint: HINT });
  if (ends[0] === ends[1]) throw new PeerlabError(`the edge "${text}" is a self-loop`, { hint: 'name two different nodes' });
  return [ends[0]!, ends[1]!];
}

/** The values given, each read as --links reads it; a bad one is refused naming its flag. */
function parseChange(request: LinkSetRequest): LinkChange {
  const read = (key: Quantity, text: string | undefined): number | undefined => (text === undefined ? undefined : flagQuantity(`--${key} ${text}`, key, text, HINT));
  const exponential = request.jitter !== undefined && /^exp(onential)?:/i.test(request.jitter);
  const jitterMs = read('jitter', exponential ? request.jitter!.slice(request.jitter!.indexOf(':') + 1) : request.jitter);
  const change: LinkChange = {
    delayMs: read('delay', request.delay),
    ...(jitterMs !== undefined && { jitterMs, jitterDistribution: exponential ? 'exponential' : 'uniform' }),
    lossPercent: read('loss', request.loss),
    rateBps: read('rate', request.rate),
  };
  return Object.fromEntries(Object.entries(change).filter(([, value]) => value !== undefined)) as LinkChange;
}

/** Refuses an edge the run does not have, naming the node's neighbours. */
async function checkEdge(etcd: Etcd3, keys: ReturnType<typeof runKeys>, runId: string, u: string, v: string): Promise<void> {
  const listed = await etcd.get(keys.topology(u)).string();
  if (listed === null) throw new PeerlabError(`run ${runId} has no node ${u}`, { hint: 'see `peerlab status --nodes` for its nodes' });
  const neighbours = (JSON.parse(listed) as NeighbourEntry[]).map(({ id }) => id);
  if (!neighbours.includes(v)) {
    const shown = neighbours.slice(0, 10).join(', ') + (neighbours.length > 10 ? ', …' : '');
    throw new PeerlabError(`${u}-${v} is not an edge of run ${runId}`, { hint: `node ${u}'s neighbours are ${shown || 'none'}` });
  }
}
