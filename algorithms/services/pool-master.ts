/**
 * The master of seed 003's donated-hosting pool: the one node clients talk to, which proxies each request to
 * workers of its pool (the seed's NginxMasterService, load balancing method #3 "remapping in the server",
 * §4.5.4 and §8.3.1). It never knows its workers in advance: it reads the pool from the service registry,
 * where a worker appears once it is ready and disappears when it leaves (its lease), as the seed's master
 * heard of workers through notify_ready() and connectionLost.
 *
 *   pool:     every refreshMs it lists the registered workers; a different list is a new pool, numbered (its
 *             epoch) and recorded with the time, and every scheduler starts afresh on it (the seed's
 *             on_worker_change(), nginx reloading its upstream list). A job whose worker has left is lost: it
 *             goes again to a worker of the new pool (a request is never dropped); a job no worker can take
 *             waits for the next pool
 *   services: each service it offers has its scheduler (round-robin, least-connections, weighted, ip-hash)
 *             and a replication factor k: each request goes to k different workers, and the master answers
 *             only if all k answers agree; otherwise it answers null, having detected a wrong answer (the
 *             seed's RQ4.3: "send the web requests to two worker nodes and validate that the returned web
 *             responses are equal")
 *   report:   once every client is done (barrier `done`): each pool with its epoch and start, and every request
 *             with its arrival, its answer and when, and every job it became (worker, epoch, answer), for the
 *             check (src/verify/donated-hosting.ts)
 *
 * Requests travel over the overlay: the master must neighbour every worker and client (a complete graph, as
 * every container reaches every other on one Docker network).
 */
import { defineAlgorithm, z, type Node } from 'peerlab';
import {
  SCHEDULERS,
  WORKER_SERVICE,
  chooseWorker,
  freshSchedulerState,
  type Job,
  type JobAnswer,
  type Member,
  type PoolAnswer,
  type PoolRequest,
  type SchedulerState,
  type WorkerInfo,
} from '../lib/donated-pool.js';

const service = z.object({
  name: z.string().min(1),
  scheduler: z.enum(SCHEDULERS),
  replicas: z.number().int().positive().default(1).describe('k: how many different workers answer each request'),
});

const params = z.object({
  services: z.array(service).min(1).describe('the services the master offers, each with its scheduler and replication'),
  refreshMs: z.number().positive().default(100).describe('how often the master reads the pool from the registry'),
});

/** One job a request became: to which worker, in which pool, for which replica, and what came back. */
type Dispatch = { worker: string; epoch: number; replica: number; answer: string | null; lost: boolean };
/** One client request to one service, as the master saw it. */
type RequestRecord = {
  service: string;
  client: string;
  request: number;
  query: number;
  /** The work the client asked for (ms at weight 1): a job sent again costs the same. */
  costMs: number;
  arrivedAt: number;
  answeredAt: number | null;
  /** What the client got: the replicas' common answer, or null when they disagreed. */
  answer: string | null;
  dispatches: Dispatch[];
};
type PoolChange = { epoch: number; at: number; workers: Member[] };

type Master = Node<z.output<typeof params>, ReturnType<typeof newState>, PoolRequest | JobAnswer | Job | PoolAnswer>;

function newState() {
  return {
    pool: [] as Member[],
    epoch: 0,
    pools: [] as PoolChange[],
    schedulers: {} as Record<string, SchedulerState>,
    /** Per service, per worker: jobs sent and not answered (least-connections counts them per service). */
    outstanding: {} as Record<string, Record<string, number>>,
    requests: [] as RequestRecord[],
    /** Jobs awaiting an answer, by number: the request (its index) and the dispatch (its index in the request). */
    jobs: new Map<number, { request: number; dispatch: number }>(),
    nextJob: 0,
    /** Replicas no worker could take (the pool was empty, or smaller than k): tried again on the next pool. */
    waiting: [] as Array<{ request: number; replica: number }>,
    finished: false,
  };
}

export default defineAlgorithm({
  name: 'pool-master',
  description: 'The master of a donated-hosting pool: reads its workers from the registry and proxies requests to them by a scheduler, replicated k ways.',
  params,
  state: newState,

  async run(node: Master) {
    const refreshing = keepRefreshing(node);
    await node.barrier('pool-ready');
    await refreshPool(node);
    await node.barrier('serving');
    await node.barrier('done');
    node.state.finished = true;
    await refreshing;
    const { pools, requests } = node.state;
    node.metric('requests', requests.length);
    node.metric('pools', pools.length);
    node.result({ pools, requests });
  },

  onMessage(node: Master, { from, payload }) {
    if (payload.kind === 'request') receiveRequest(node, from, payload);
    else if (payload.kind === 'job-answer') receiveAnswer(node, payload);
  },
});

async function keepRefreshing(node: Master): Promise<void> {
  while (!node.state.finished) {
    await refreshPool(node);
    await node.sleep(node.params.refreshMs);
  }
}

async function refreshPool(node: Master): Promise<void> {
  const instances = await node.services.discover(WORKER_SERVICE);
  const pool = instances.map((instance): Member => ({ node: instance.node, weight: (instance.info as WorkerInfo).weight }));
  const { state } = node;
  if (JSON.stringify(pool) === JSON.stringify(state.pool)) return;
  state.pool = pool;
  state.epoch += 1;
  state.pools.push({ epoch: state.epoch, at: node.now(), workers: pool });
  state.schedulers = {};
  const present = new Set(pool.map((member) => member.node));
  const again = state.waiting.splice(0);
  for (const [job, { request, dispatch }] of state.jobs) {
    const record = state.requests[request]!;
    const sent = record.dispatches[dispatch]!;
    if (present.has(sent.worker)) continue;
    sent.lost = true;
    state.jobs.delete(job);
    again.push({ request, replica: sent.replica });
  }
  for (const outstanding of Object.values(state.outstanding)) {
    for (const worker of Object.keys(outstanding)) if (!present.has(worker)) delete outstanding[worker];
  }
  for (const { request, replica } of again) dispatch(node, request, replica);
}

function receiveRequest(node: Master, client: string, { service, request, query, costMs }: PoolRequest): void {
  const offered = node.params.services.find((candidate) => candidate.name === service);
  if (!offered) {
    node.log(`client ${client} asked for ${service}, which this master does not offer`);
    return;
  }
  const index = node.state.requests.push({ service, client, request, query, costMs, arrivedAt: node.now(), answeredAt: null, answer: null, dispatches: [] }) - 1;
  for (let replica = 0; replica < offered.replicas; replica++) dispatch(node, index, replica);
}

/** Sends replica `replica` of request `index` to the worker its service's scheduler chooses, or lets it wait. */
function dispatch(node: Master, index: number, replica: number): void {
  const { state } = node;
  const record = state.requests[index]!;
  const { scheduler } = node.params.services.find((candidate) => candidate.name === record.service)!;
  const outstanding = (state.outstanding[record.service] ??= {});
  // The request's other replicas, answered or under way, are on workers this one must not share.
  const exclude = new Set(record.dispatches.filter((sent) => sent.replica !== replica && !sent.lost).map((sent) => sent.worker));
  const worker = chooseWorker({
    scheduler,
    pool: state.pool,
    state: (state.schedulers[record.service] ??= freshSchedulerState()),
    client: record.client,
    outstanding: (id) => outstanding[id] ?? 0,
    exclude,
  });
  if (worker === undefined) {
    state.waiting.push({ request: index, replica });
    return;
  }
  const job = state.nextJob++;
  state.jobs.set(job, { request: index, dispatch: record.dispatches.length });
  record.dispatches.push({ worker, epoch: state.epoch, replica, answer: null, lost: false });
  outstanding[worker] = (outstanding[worker] ?? 0) + 1;
  void node.send(worker, { kind: 'job', job, service: record.service, query: record.query, costMs: record.costMs });
}

function receiveAnswer(node: Master, { job, answer }: JobAnswer): void {
  const { state } = node;
  const sent = state.jobs.get(job);
  // A job lost with a worker that left, answered after all: it went again elsewhere, that answer counts.
  if (!sent) return;
  state.jobs.delete(job);
  const record = state.requests[sent.request]!;
  const dispatched = record.dispatches[sent.dispatch]!;
  dispatched.answer = answer;
  const outstanding = state.outstanding[record.service]!;
  if (outstanding[dispatched.worker] !== undefined) outstanding[dispatched.worker]! -= 1;
  const { replicas } = node.params.services.find((candidate) => candidate.name === record.service)!;
  const answers = record.dispatches.filter((each) => each.answer !== null).map((each) => each.answer!);
  if (answers.length < replicas) return;
  record.answeredAt = node.now();
  record.answer = answers.every((each) => each === answers[0]) ? answers[0]! : null;
  const reply: PoolAnswer = { kind: 'answer', service: record.service, request: record.request, answer: record.answer };
  void node.send(record.client, reply);
}
