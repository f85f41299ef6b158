import { z } from 'zod';
import { SCHEDULERS, rightAnswer } from '../../algorithms/lib/donated-pool.js';
import { percentiles } from '../bench/percentiles.js';
import type { Json } from '../sdk/types.js';
import { MAX_LISTED_FAILURES, type Oracle, type OracleGroup } from './types.js';

const member = z.object({ node: z.string(), weight: z.number().positive() });
const pool = z.object({ epoch: z.number().int(), at: z.number(), workers: z.array(member) });
const dispatch = z.object({ worker: z.string(), epoch: z.number().int(), replica: z.number().int().nonnegative(), answer: z.string().nullable(), lost: z.boolean() });
const request = z.object({
  service: z.string(),
  client: z.string(),
  request: z.number().int().nonnegative(),
  query: z.number().int(),
  costMs: z.number(),
  arrivedAt: z.number(),
  answeredAt: z.number().nullable(),
  answer: z.string().nullable(),
  dispatches: z.array(dispatch),
});
const masterResult = z.object({ pools: z.array(pool), requests: z.array(request) });
const workerResult = z.object({ weight: z.number().positive(), malicious: z.boolean(), served: z.number().int().nonnegative() });
const tally = z.object({ answered: z.number().int(), rejected: z.number().int(), unanswered: z.number().int() });
const clientResult = z.object({ requests: z.number().int().nonnegative(), services: z.record(z.string(), tally) });
const serviceParams = z.object({ name: z.string(), scheduler: z.enum(SCHEDULERS), replicas: z.number().int().positive() });
const masterParams = z.object({ services: z.array(serviceParams).min(1) });
const workerParams = z.object({ weight: z.number().positive() });

type Service = z.output<typeof serviceParams>;
type RequestRecord = z.output<typeof request>;
type Pool = z.output<typeof pool>;

/** The roles of the donated-hosting experiment, by the algorithm their group runs (algorithms/services/pool-*.ts). */
const MASTER = 'pool-master';
const WORKER = 'pool-worker';
const CLIENT = 'pool-client';

/**
 * The check of seed 003's donated-hosting pool (experiments/donated-hosting.yaml): a master proxies clients'
 * requests to workers that register in the service registry, join and leave. From the master's log (every pool
 * it saw, with its epoch; every request and every job it became), the clients' tallies, the workers' results
 * and the roles' parameters (the services' schedulers and k, the workers' weights):
 *
 *   served:        every request of every client was answered (or rejected as detected wrong) by every service
 *   pools:         a worker that a fault removed is out of the master's last pool (its registration went)
 *   round-robin:   within each pool (an epoch, during which it did not change) the per-worker job counts of a
 *                  round-robin service without replication differ by at most 1
 *   weighted:      within each pool, after n jobs a worker of weight w has between ⌊n/W⌋·w and ⌈n/W⌉·w of
 *                  them (W the pool's total weight): smooth weighted round-robin's cycle
 *   ip-hash:       within each pool, all of a client's jobs went to one worker (100 % sticky)
 *   latency:       least-connections has a lower 99th-percentile latency than round-robin, on the requests
 *                  churn did not touch (no job lost with a leaving worker) in both: the same heavy-tailed
 *                  requests, since every client sends each request to every service
 *   replication:   a request the master answered has the answer all its k replicas gave; a wrong one (not
 *                  rightAnswer of its query) only when all k lied alike; a request it rejected had replicas
 *                  that disagreed; and no worker that reported itself honest gave a wrong answer
 *
 * Each kind of check must have found something to check (a pool with a full round, a client with two requests
 * in one pool, a wrong answer a replicated service detected, …); one that found nothing fails the run.
 */
export const verifyDonatedHosting: Oracle = ({ results, groups, faults }) => {
  const failures: string[] = [];
  const removed = new Set(faults?.removedNodes ?? []);
  const roles = (algorithm: string) => (groups ?? []).filter((group) => group.algorithm === algorithm);
  const reported = <Schema extends z.ZodType>(algorithm: string, schema: Schema, shape: string) => {
    const found = new Map<string, z.output<Schema>>();
    for (const node of roles(algorithm).flatMap((group) => group.nodes)) {
      const value = results.get(node);
      const parsed = schema.safeParse(value);
      if (parsed.success) found.set(node, parsed.data);
      // A worker a fault removed for good owes no result.
      else if (value !== undefined || !removed.has(node)) failures.push(`node ${node}: ${value === undefined ? 'reported no result' : `result is not ${shape}`}`);
    }
    return found;
  };
  const masters = reported(MASTER, masterResult, 'a pool master result');
  const clients = reported(CLIENT, clientResult, 'a pool client result');
  const workers = reported(WORKER, workerResult, 'a pool worker result');
  const services = servicesOf(roles(MASTER), failures);
  const weights = weightsOf(roles(WORKER), failures);
  const [master] = masters.values();
  if (masters.size !== 1 || !master || services.length === 0) {
    failures.unshift(`expected one pool master (role running ${MASTER}) with its services, found ${masters.size}`);
    return failed(failures);
  }

  const { pools, requests } = master;
  const poolOf = new Map(pools.map((seen) => [seen.epoch, seen]));
  checkServed(requests, services, clients, failures);
  const finalPool = pools.at(-1)?.workers.map((worker) => worker.node) ?? [];
  for (const node of finalPool) if (removed.has(node)) failures.push(`worker ${node} was removed by a fault, yet is still in the master's last pool`);
  if (pools.length < 2) failures.push(`the pool never changed (${pools.length} pool(s)): no join or leave was tested`);

  const counts = { roundRobin: 0, weighted: 0, sticky: 0 };
  for (const service of services) {
    const jobs = requests.filter((record) => record.service === service.name).flatMap((record) => record.dispatches.map((sent) => ({ ...sent, client: record.client })));
    const byEpoch = groupBy(jobs, (job) => job.epoch);
    for (const [epoch, inPool] of byEpoch) {
      const seen = poolOf.get(epoch);
      const at = `${service.name}, pool ${epoch}`;
      if (!seen) {
        failures.push(`${at}: jobs sent in a pool the master never recorded`);
        continue;
      }
      for (const job of inPool) if (!seen.workers.some((worker) => worker.node === job.worker)) failures.push(`${at}: a job went to worker ${job.worker}, not in the pool`);
      // A replica never shares a worker with its siblings, so a job sent again after its worker left may have to
      // skip the worker whose turn it is: evenness is the promise of round-robin without replication.
      if (service.scheduler === 'round-robin' && service.replicas === 1) counts.roundRobin += checkRoundRobin(at, seen, inPool, failures);
      if (service.scheduler === 'weighted') counts.weighted += checkWeighted(at, seen, inPool, weights, failures);
      if (service.scheduler === 'ip-hash') counts.sticky += checkSticky(at, inPool, failures);
    }
  }
  const schedulers = new Set(services.map((service) => service.scheduler));
  if (services.some((service) => service.scheduler === 'round-robin' && service.replicas === 1) && counts.roundRobin === 0) failures.push('round-robin: no pool saw a full round of jobs, so evenness went untested');
  if (schedulers.has('weighted') && counts.weighted === 0) failures.push('weighted: no pool saw a full cycle of jobs, so the weights went untested');
  if (schedulers.has('ip-hash') && counts.sticky === 0) failures.push('ip-hash: no client sent two jobs within one pool, so stickiness went untested');

  const latency = compareLatency(requests, services, failures);
  const replication = checkReplication(requests, services, workers, failures);

  const passed = failures.length === 0;
  const k = Math.max(...services.map((service) => service.replicas));
  return {
    passed,
    summary: passed
      ? `${requests.length} requests of ${clients.size} clients answered through ${pools.length} pools of up to ${Math.max(...pools.map((seen) => seen.workers.length))} workers; ` +
        `round-robin even within 1 in ${counts.roundRobin}, weighted true to weight in ${counts.weighted}, ip-hash 100 % sticky for ${counts.sticky} client-pool pairs; ` +
        `least-connections p99 ${Math.round(latency.leastConnectionsP99)} ms < round-robin ${Math.round(latency.roundRobinP99)} ms on ${latency.compared} requests churn left alone; ` +
        `${k}-way replication detected ${replication.detected} of ${replication.detected + replication.undetectable} requests with a wrong answer, the other ${replication.undetectable} had all ${k} replicas lie alike`
      : `donated hosting failed (${failures.length} problem(s)): ${failures[0]}`,
    expected: { services: services as unknown as Json, removed: [...removed] },
    actual: { pools: pools.map((seen) => ({ epoch: seen.epoch, at: seen.at, workers: seen.workers.map((worker) => worker.node) })) },
    metrics: {
      requests: requests.length,
      pools: pools.length,
      roundRobinPools: counts.roundRobin,
      weightedPools: counts.weighted,
      stickyClientPools: counts.sticky,
      roundRobinP99Ms: latency.roundRobinP99,
      leastConnectionsP99Ms: latency.leastConnectionsP99,
      latencyCompared: latency.compared,
      wrongAnswers: replication.wrongAnswers,
      detected: replication.detected,
      undetectable: replication.undetectable,
      liars: replication.liars,
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

function failed(failures: string[]) {
  return { passed: false, summary: `donated hosting failed (${failures.length} problem(s)): ${failures[0]}`, metrics: {}, failures: failures.slice(0, MAX_LISTED_FAILURES) };
}

/** The master's services, from its role's parameters: the ground truth of which scheduler and k each has. */
function servicesOf(masters: readonly OracleGroup[], failures: string[]): Service[] {
  const parsed = masters.length === 1 ? masterParams.safeParse(masters[0]!.params) : undefined;
  if (!parsed?.success) {
    failures.push(`the ${MASTER} role's parameters name no services with schedulers`);
    return [];
  }
  return parsed.data.services;
}

/** Each worker's declared weight, from its role's parameters. */
function weightsOf(workerRoles: readonly OracleGroup[], failures: string[]): Map<string, number> {
  const weights = new Map<string, number>();
  for (const group of workerRoles) {
    const parsed = workerParams.safeParse(group.params);
    if (!parsed.success) failures.push(`role ${group.role}: its weight parameter is not a positive number`);
    else for (const node of group.nodes) weights.set(node, parsed.data.weight);
  }
  return weights;
}

/** Every client's every request reached every service once and was answered, as the client counted too. */
function checkServed(requests: readonly RequestRecord[], services: readonly Service[], clients: ReadonlyMap<string, z.output<typeof clientResult>>, failures: string[]): void {
  for (const record of requests) {
    if (record.answeredAt === null) failures.push(`${record.service}: request ${record.request} of client ${record.client} was never answered`);
  }
  for (const [client, result] of clients) {
    for (const service of services) {
      const own = requests.filter((record) => record.client === client && record.service === service.name);
      const counted = result.services[service.name];
      const rejected = own.filter((record) => record.answeredAt !== null && record.answer === null).length;
      if (own.length !== result.requests || new Set(own.map((record) => record.request)).size !== own.length) {
        failures.push(`${service.name}: the master logged ${own.length} requests of client ${client}, which sent ${result.requests}`);
      } else if (!counted || counted.unanswered > 0 || counted.rejected !== rejected || counted.answered !== own.length - rejected) {
        failures.push(`${service.name}: client ${client} counted ${JSON.stringify(counted ?? null)}, the master answered ${own.length - rejected} and rejected ${rejected}`);
      }
    }
  }
}

type Job = z.output<typeof dispatch> & { readonly client: string };

/** Round-robin within one pool: per-worker counts within 1 of each other. Returns 1 if a full round was checked. */
function checkRoundRobin(at: string, seen: Pool, jobs: readonly Job[], failures: string[]): number {
  const counts = seen.workers.map((worker) => jobs.filter((job) => job.worker === worker.node).length);
  const [least, most] = [Math.min(...counts), Math.max(...counts)];
  if (most - least > 1) failures.push(`${at}: round-robin gave the ${seen.workers.length} workers ${counts.join(', ')} jobs (differing by ${most - least})`);
  return jobs.length >= seen.workers.length ? 1 : 0;
}

/** Smooth weighted round-robin within one pool: each worker within its weight's cycle. Returns 1 if a cycle was checked. */
function checkWeighted(at: string, seen: Pool, jobs: readonly Job[], weights: ReadonlyMap<string, number>, failures: string[]): number {
  const declared = seen.workers.map((worker) => weights.get(worker.node));
  if (declared.some((weight) => weight === undefined)) {
    failures.push(`${at}: a worker of the pool has no declared weight`);
    return 0;
  }
  const total = declared.reduce((sum, weight) => sum! + weight!, 0)!;
  const cycles = Math.floor(jobs.length / total);
  const partial = jobs.length % total > 0 ? 1 : 0;
  seen.workers.forEach((worker, index) => {
    const weight = declared[index]!;
    const count = jobs.filter((job) => job.worker === worker.node).length;
    if (count < cycles * weight || count > (cycles + partial) * weight) {
      failures.push(`${at}: worker ${worker.node} of weight ${weight} got ${count} of ${jobs.length} jobs, outside ${cycles * weight}–${(cycles + partial) * weight}`);
    }
  });
  return cycles > 0 ? 1 : 0;
}

/** ip-hash within one pool: one worker per client. Returns how many clients sent at least two jobs in it. */
function checkSticky(at: string, jobs: readonly Job[], failures: string[]): number {
  let checked = 0;
  for (const [client, own] of groupBy(jobs, (job) => job.client)) {
    const workers = new Set(own.map((job) => job.worker));
    if (workers.size > 1) failures.push(`${at}: client ${client}'s ${own.length} jobs went to workers ${[...workers].join(', ')}, not one`);
    if (own.length >= 2) checked += 1;
  }
  return checked;
}

/**
 * The 99th-percentile latency (arrival to answer, at the master) of the first least-connections and the first
 * round-robin service without replication, over the requests that lost no job to a leaving worker in either.
 */
function compareLatency(requests: readonly RequestRecord[], services: readonly Service[], failures: string[]) {
  const single = (scheduler: string) => services.find((service) => service.scheduler === scheduler && service.replicas === 1);
  const [roundRobin, leastConnections] = [single('round-robin'), single('least-connections')];
  const none = { roundRobinP99: 0, leastConnectionsP99: 0, compared: 0 };
  if (!roundRobin || !leastConnections) {
    failures.push('latency: needs a round-robin and a least-connections service, each with replicas 1, to compare');
    return none;
  }
  const key = (record: RequestRecord) => `${record.client}/${record.request}`;
  const untouched = (service: Service) =>
    new Map(requests.filter((record) => record.service === service.name && record.answeredAt !== null && !record.dispatches.some((sent) => sent.lost)).map((record) => [key(record), record]));
  const [rr, lc] = [untouched(roundRobin), untouched(leastConnections)];
  const both = [...rr.keys()].filter((request) => lc.has(request));
  const latency = (records: ReadonlyMap<string, RequestRecord>) => percentiles(both.map((request) => records.get(request)!.answeredAt! - records.get(request)!.arrivedAt)).p99;
  if (both.length < 100) {
    failures.push(`latency: only ${both.length} requests were untouched by churn in both ${roundRobin.name} and ${leastConnections.name}, too few for a 99th percentile`);
    return none;
  }
  const result = { roundRobinP99: latency(rr), leastConnectionsP99: latency(lc), compared: both.length };
  if (result.leastConnectionsP99 >= result.roundRobinP99) {
    failures.push(`latency: least-connections p99 ${result.leastConnectionsP99.toFixed(0)} ms is not below round-robin's ${result.roundRobinP99.toFixed(0)} ms (${both.length} requests)`);
  }
  return result;
}

/** k-way replication: what the master answered against what its replicas said and the right answer. */
function checkReplication(requests: readonly RequestRecord[], services: readonly Service[], workers: ReadonlyMap<string, z.output<typeof workerResult>>, failures: string[]) {
  const replicasOf = new Map(services.map((service) => [service.name, service.replicas]));
  const liars = new Set<string>();
  let wrongAnswers = 0;
  let detected = 0;
  let undetectable = 0;
  for (const record of requests) {
    if (record.answeredAt === null) continue;
    const at = `${record.service}: request ${record.request} of client ${record.client}`;
    const right = rightAnswer(record.query);
    const answered = record.dispatches.filter((sent) => sent.answer !== null);
    const k = replicasOf.get(record.service)!;
    if (answered.length !== k || new Set(answered.map((sent) => sent.replica)).size !== k || new Set(answered.map((sent) => sent.worker)).size !== k) {
      failures.push(`${at}: answered from ${answered.length} replicas on workers ${answered.map((sent) => sent.worker).join(', ')}, not ${k} different ones`);
      continue;
    }
    for (const sent of answered.filter((each) => each.answer !== right)) {
      wrongAnswers += 1;
      liars.add(sent.worker);
      if (workers.get(sent.worker)?.malicious === false) failures.push(`${at}: worker ${sent.worker}, honest by its own report, answered ${JSON.stringify(sent.answer)}`);
    }
    const agreed = answered.every((sent) => sent.answer === answered[0]!.answer);
    if (record.answer === null) {
      if (agreed) failures.push(`${at}: rejected, though all ${k} replicas answered ${JSON.stringify(answered[0]!.answer)}`);
      else detected += 1;
    } else if (!agreed || record.answer !== answered[0]!.answer) {
      failures.push(`${at}: answered ${JSON.stringify(record.answer)}, though its replicas said ${answered.map((sent) => JSON.stringify(sent.answer)).join(', ')}`);
    } else if (record.answer !== right && k > 1) {
      undetectable += 1;
    }
  }
  if (![...replicasOf.values()].some((k) => k > 1)) failures.push('replication: no service replicates requests (replicas ≥ 2), so detection went untested');
  else if (detected === 0) failures.push('replication: no replicated request met a wrong answer, so detection went untested (no malicious worker?)');
  return { wrongAnswers, detected, undetectable, liars: liars.size };
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
