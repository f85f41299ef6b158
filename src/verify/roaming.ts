import { z } from 'zod';
import { percentiles } from '../bench/percentiles.js';
import type { Json } from '../sdk/types.js';
import type { NodeMove } from './faults.js';
import { MAX_LISTED_FAILURES, type Oracle, type OracleGroup } from './types.js';

const record = z.tuple([z.number().int().positive(), z.number(), z.number(), z.number().int().positive()]);
const reconnect = z.object({ at: z.number(), cause: z.enum(['reset', 'timeout']), stream: z.number().int(), from: z.number().int(), resent: z.number().int().nonnegative() });
const clientResult = z.object({ sent: z.number().int().nonnegative(), records: z.array(record), reconnects: z.array(reconnect), errors: z.array(z.string()) });
const proxyResult = z.object({
  sessions: z.array(z.object({ client: z.string(), stream: z.number().int() })),
  toService: z.number().int(),
  toClients: z.number().int(),
  untranslatable: z.number().int(),
});
const serviceResult = z.object({ answered: z.number().int(), opened: z.number().int(), resets: z.number().int(), restoredAt: z.array(z.number()), errors: z.array(z.string()) });
const clientParams = z.object({ proxy: z.string(), timeoutMs: z.number().positive() });
const proxyParams = z.object({ service: z.string() });

type ClientResult = z.output<typeof clientResult>;
type ServiceResult = z.output<typeof serviceResult>;
type RequestRecord = z.output<typeof record>;

/** The roles of the roaming experiment, by the algorithm their group runs (algorithms/services/roaming-*.ts). */
const CLIENT = 'roaming-client';
const PROXY = 'roaming-proxy';
const SERVICE = 'roaming-service';

/** One client's stream through its proxy to its service, and how that service was moved. */
interface Stream {
  readonly client: string;
  readonly proxy: string;
  readonly service: string;
  /** The client's reconnect timeout: how long after a move its effects may last (see windowsOf). */
  readonly timeoutMs: number;
  readonly moves: readonly NodeMove[];
}

/** A stream's round trips, during its service's moves and in between, in ms. */
interface Spike {
  readonly moves: number;
  /** The worst round trip in each move's window, in the order of the moves. */
  readonly perMove: number[];
  readonly maxMs: number;
  readonly p99Ms: number;
  readonly steadyP50Ms: number;
  readonly steadyP99Ms: number;
}

/**
 * The check of seed 004's roaming service (experiments/roaming.yaml): clients keep one stream each through a
 * proxy to a service that is moved on a schedule. A stream whose service is migrated (`migrate`: a new container
 * with its state) is the roaming one; a stream whose service is restarted (`restart`: a new container, afresh)
 * is the baseline, a service without roaming that its clients must reconnect to. From the clients' records
 * (each request's round trip and the service's count in its answer), the proxies' and services' results, and
 * the moves of the schedule:
 *
 *   roaming:   every request 1…N was answered exactly once and in order (none lost, duplicated or reordered),
 *              on the one stream the client opened (no reset, no timeout, nothing sent again), through one proxy
 *              session; the service's count in request k's answer is k, so it went on across every move from
 *              where it was; the service answered N and reports no error; and it was restored on a new
 *              container (a new host, in the simulator) once per move
 *   baseline:  every request was still answered once and in order, and the restarts cost what a reconnect
 *              costs: the client reconnected at least once per restart that hit its stream, sent requests
 *              again, and the service's count started over (its state was lost)
 *   spike:     the round trips of the requests in flight within each move's window (from when the move was
 *              due until the client's timeout after it completed) against those outside every window: reported
 *              for both, judged on neither (the simulator's moves cost no time)
 *
 * Each kind of stream must be there, and each of its service's moves must have hit requests in flight or sent
 * in its window; a stream with nothing to check fails the run.
 */
export const verifyRoaming: Oracle = ({ results, groups, faults }) => {
  const failures: string[] = [];
  const nodesOf = (algorithm: string) => (groups ?? []).filter((group) => group.algorithm === algorithm);
  const reported = <Schema extends z.ZodType>(node: string, schema: Schema, shape: string): z.output<Schema> | undefined => {
    const value = results.get(node);
    const parsed = schema.safeParse(value);
    if (!parsed.success) failures.push(`node ${node}: ${value === undefined ? 'reported no result' : `result is not ${shape}`}`);
    return parsed.success ? parsed.data : undefined;
  };
  const streams = streamsOf(nodesOf(CLIENT), nodesOf(PROXY), faults?.moves ?? [], failures);
  const roaming = streams.filter((stream) => stream.moves.length > 0 && stream.moves.every((move) => move.action === 'migrate'));
  const baseline = streams.filter((stream) => stream.moves.length > 0 && stream.moves.every((move) => move.action === 'restart'));
  for (const stream of streams) {
    if (stream.moves.length === 0) failures.push(`service ${stream.service} (client ${stream.client}'s) was never moved: its stream tests nothing`);
    else if (!roaming.includes(stream) && !baseline.includes(stream)) failures.push(`service ${stream.service} was both migrated and restarted: its stream is neither roaming nor the baseline`);
  }
  if (roaming.length === 0) failures.push(`no stream whose service (role running ${SERVICE}) was migrated: roaming went untested`);
  if (baseline.length === 0) failures.push(`no stream whose service was restarted: there is no baseline to compare with`);

  /** The checks every stream gets, then its kind's (`judge`, which says in a few words what it found). */
  const judged = (stream: Stream, judge: (client: ClientResult, service: ServiceResult) => string) => {
    const client = reported(stream.client, clientResult, 'a roaming client result');
    const proxy = reported(stream.proxy, proxyResult, 'a roaming proxy result');
    const service = reported(stream.service, serviceResult, 'a roaming service result');
    if (!client || !proxy || !service) return undefined;
    const at = `client ${stream.client}`;
    checkInOrder(at, client, failures);
    for (const error of [...client.errors, ...service.errors.map((error) => `service ${stream.service}: ${error}`)]) failures.push(`${at}: ${error}`);
    if (proxy.untranslatable > 0) failures.push(`proxy ${stream.proxy}: ${proxy.untranslatable} message(s) named a stream or session its table did not have`);
    const own = proxy.sessions.filter((session) => session.client === stream.client).length;
    if (own !== client.reconnects.length + 1) failures.push(`proxy ${stream.proxy} opened ${own} session(s) for ${at}, which opened ${client.reconnects.length + 1} stream(s)`);
    const spike = spikeOf(stream, client.records, failures);
    return { stream, client, spike, said: judge(client, service) };
  };
  const roamed = roaming.map((stream) =>
    judged(stream, (client, service) => {
      const at = `client ${stream.client} (roaming)`;
      if (client.reconnects.length > 0) {
        const first = client.reconnects[0]!;
        failures.push(`${at}: the stream was given up ${client.reconnects.length} time(s), first at ${Math.round(first.at)} ms (${first.cause}), sending ${first.resent} request(s) again`);
      }
      const restarted = client.records.find(([seq, , , serviceSeq]) => serviceSeq !== seq);
      if (restarted) failures.push(`${at}: request ${restarted[0]} was the service's answer ${restarted[3]}: its count did not go on across the moves`);
      if (service.answered !== client.sent) failures.push(`service ${stream.service}: answered ${service.answered} requests, the client sent ${client.sent}`);
      if (service.opened !== 1 || service.resets > 0) failures.push(`service ${stream.service}: ${service.opened} session(s) opened and ${service.resets} reset(s), not one session and none`);
      const restores = service.restoredAt.length;
      // Both runtimes move the service into a new host through its snapshot and restore hook, once per migrate.
      if (restores !== stream.moves.length) failures.push(`service ${stream.service}: restored ${restores} time(s) on a new container for ${stream.moves.length} migration(s)`);
      return `1 stream, its count went on (its state restored on ${restores} new containers)`;
    }),
  );
  const restarted = baseline.map((stream) =>
    judged(stream, (client) => {
      const at = `client ${stream.client} (baseline)`;
      // A restart that had completed before the last answer cost the stream a reconnect: a request sent after it
      // reached a service that knew no session. One still under way at the end may have cost nothing.
      const hit = stream.moves.filter((move) => (move.appliedMs ?? move.atMs) < lastAnswer(client.records)).length;
      if (client.reconnects.length < hit) failures.push(`${at}: reconnected ${client.reconnects.length} time(s) for ${hit} restart(s) of service ${stream.service} completed during its stream: a restart cost it nothing`);
      if (client.reconnects.every((each) => each.resent === 0)) failures.push(`${at}: sent no request again: the restarts lost nothing`);
      if (client.records.every(([seq, , , serviceSeq]) => serviceSeq === seq)) failures.push(`${at}: the service's count never started over: its restarts kept its state`);
      return `${client.reconnects.length} reconnect(s) (${client.reconnects.filter((each) => each.cause === 'reset').length} on a reset), ${client.reconnects.reduce((sum, each) => sum + each.resent, 0)} request(s) sent again`;
    }),
  );

  const passed = failures.length === 0;
  const line = (seen: NonNullable<ReturnType<typeof judged>>, kind: string) => {
    const moved = `${seen.spike.moves} ${seen.stream.moves[0]!.action === 'migrate' ? 'migrations' : 'restarts'}`;
    return (
      `${kind} client ${seen.stream.client}: ${seen.client.sent} requests across ${moved} of service ${seen.stream.service}, ${seen.said}; ` +
      `round trip around the ${moved} max ${ms(seen.spike.maxMs)}, p99 ${ms(seen.spike.p99Ms)}, against p99 ${ms(seen.spike.steadyP99Ms)} in between`
    );
  };
  const roamedSeen = roamed.filter((seen) => seen !== undefined);
  const restartedSeen = restarted.filter((seen) => seen !== undefined);
  const worst = (seen: typeof roamedSeen, pick: (spike: Spike) => number) => Math.max(0, ...seen.map((each) => pick(each.spike)));
  return {
    passed,
    summary: passed
      ? `every request answered once and in order, 0 lost, duplicated or reordered; ${[...roamedSeen.map((seen) => line(seen, 'roaming')), ...restartedSeen.map((seen) => line(seen, 'baseline'))].join('; ')}`
      : `roaming failed (${failures.length} problem(s)): ${failures[0]}`,
    expected: { streams: streams.map((stream) => ({ client: stream.client, proxy: stream.proxy, service: stream.service, moves: stream.moves.map((move) => move.action) })) as unknown as Json },
    actual: {
      spikes: [...roamedSeen, ...restartedSeen].map((seen) => ({ client: seen.stream.client, ...seen.spike })) as unknown as Json,
    },
    metrics: {
      streams: streams.length,
      moves: roaming.reduce((sum, stream) => sum + stream.moves.length, 0),
      restarts: baseline.reduce((sum, stream) => sum + stream.moves.length, 0),
      roamingReconnects: roamedSeen.reduce((sum, seen) => sum + seen.client.reconnects.length, 0),
      baselineReconnects: restartedSeen.reduce((sum, seen) => sum + seen.client.reconnects.length, 0),
      baselineResent: restartedSeen.reduce((sum, seen) => sum + seen.client.reconnects.reduce((total, each) => total + each.resent, 0), 0),
      roamingSpikeMaxMs: worst(roamedSeen, (spike) => spike.maxMs),
      roamingSpikeP99Ms: worst(roamedSeen, (spike) => spike.p99Ms),
      roamingSteadyP99Ms: worst(roamedSeen, (spike) => spike.steadyP99Ms),
      baselineSpikeMaxMs: worst(restartedSeen, (spike) => spike.maxMs),
      baselineSpikeP99Ms: worst(restartedSeen, (spike) => spike.p99Ms),
      baselineSteadyP99Ms: worst(restartedSeen, (spike) => spike.steadyP99Ms),
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

/** Each client with its proxy (its `proxy` parameter) and that proxy's service (its `service`), and the service's moves. */
function streamsOf(clients: readonly OracleGroup[], proxies: readonly OracleGroup[], moves: readonly NodeMove[], failures: string[]): Stream[] {
  const serviceOf = new Map<string, string>();
  for (const group of proxies) {
    const parsed = proxyParams.safeParse(group.params);
    if (!parsed.success) failures.push(`role ${group.role}: its service parameter is missing`);
    else for (const node of group.nodes) serviceOf.set(node, parsed.data.service);
  }
  const streams: Stream[] = [];
  for (const group of clients) {
    const parsed = clientParams.safeParse(group.params);
    if (!parsed.success) {
      failures.push(`role ${group.role}: its proxy and timeoutMs parameters are missing`);
      continue;
    }
    const { proxy, timeoutMs } = parsed.data;
    const service = serviceOf.get(proxy);
    if (service === undefined) {
      failures.push(`role ${group.role}: its proxy ${proxy} is not a node running ${PROXY}`);
      continue;
    }
    for (const client of group.nodes) streams.push({ client, proxy, service, timeoutMs, moves: moves.filter((move) => move.node === service) });
  }
  if (streams.length === 0) failures.push(`no client (role running ${CLIENT}) with a proxy: nothing to check`);
  return streams;
}

/** Requests 1…sent each answered once, in order of their numbers: the client's records in the order they came. */
function checkInOrder(at: string, client: ClientResult, failures: string[]): void {
  if (client.records.length !== client.sent) failures.push(`${at}: ${client.records.length} of its ${client.sent} requests were answered`);
  const wrong = client.records.findIndex(([seq], index) => seq !== index + 1);
  if (wrong >= 0) failures.push(`${at}: answer ${wrong + 1} was for request ${client.records[wrong]![0]}, so requests were lost, duplicated or reordered`);
}

/**
 * The windows of a stream's moves: from when each was due until the client's timeout after it completed (a
 * reconnect then has had its chance), and the round trips of the requests that were in flight during each.
 * Every move must have hit the stream: a window without a request tested nothing.
 */
function spikeOf(stream: Stream, records: readonly RequestRecord[], failures: string[]): Spike {
  const windows = stream.moves.map((move) => [move.atMs, Math.max(move.atMs, move.appliedMs ?? move.atMs) + stream.timeoutMs] as const);
  const within = (request: RequestRecord, [from, to]: readonly [number, number]) => request[1] <= to && request[2] >= from;
  const roundTrip = (request: RequestRecord) => request[2] - request[1];
  const perMove = windows.map((window, index) => {
    const hit = records.filter((request) => within(request, window));
    if (hit.length === 0) failures.push(`service ${stream.service}'s ${stream.moves[index]!.action} at ${Math.round(window[0])} ms met no request of client ${stream.client}: it tested nothing`);
    return Math.max(0, ...hit.map(roundTrip));
  });
  const during = records.filter((request) => windows.some((window) => within(request, window))).map(roundTrip);
  const steady = percentiles(records.filter((request) => !windows.some((window) => within(request, window))).map(roundTrip));
  return { moves: windows.length, perMove, maxMs: Math.max(0, ...during), p99Ms: percentiles(during).p99, steadyP50Ms: steady.p50, steadyP99Ms: steady.p99 };
}

function lastAnswer(records: readonly RequestRecord[]): number {
  return records.at(-1)?.[2] ?? 0;
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}
