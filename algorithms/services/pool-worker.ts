/**
 * A worker of seed 003's donated-hosting pool: a donated computer that serves the master's services. As the
 * seed's WorkerNode starts its service and then calls notify_ready() (§8.2.2, §8.3.2), it warms up first and
 * only then registers in the service registry; the registration is held by its node's lease, so it leaves the
 * pool at once when it stops gracefully and when its lease runs out when it crashes (§8.3.1, step 5).
 *
 *   start:  a worker of the starting pool warms up (readyMs), registers as `pool-worker` with its weight, and
 *           waits for the others at the barriers `pool-ready` and `serving`; one with joinAfterMs passes the
 *           barriers first and joins that long later (a donor who starts the worker mid-run); one that a
 *           `restart` fault brings back runs this afresh, so it rejoins after warming up
 *   serve:  each service is its own process on the worker (the seed's service class starts a child process),
 *           so each has its own queue, served one job at a time, a job of cost C taking C / weight ms
 *   lie:    a malicious worker (each decides from its seeded random source, with probability maliciousShare)
 *           answers every job with the same forgery as every other malicious worker: they collude
 *   report: once every client is done (barrier `done`), its weight, whether it lied, and the jobs it served
 */
import { defineAlgorithm, z, type Node } from 'peerlab';
import { WORKER_SERVICE, forgedAnswer, rightAnswer, type Job, type JobAnswer, type WorkerInfo } from '../lib/donated-pool.js';

const params = z.object({
  weight: z.number().positive().default(1).describe("how much load the worker takes (nginx's weight); it serves that much faster"),
  readyMs: z.number().nonnegative().default(500).describe('warm-up before the worker registers: starting its service process'),
  joinAfterMs: z.number().nonnegative().optional().describe('join the pool this long after the clients started, rather than before'),
  maliciousShare: z.number().min(0).max(1).default(0).describe('the probability that this worker lies, drawn from its seeded random source'),
});

type Worker = Node<z.output<typeof params>, ReturnType<typeof newState>, Job | JobAnswer>;

function newState() {
  return {
    malicious: false,
    /** Each service's jobs waiting, the first being served. */
    queues: {} as Record<string, Job[]>,
    served: 0,
  };
}

export default defineAlgorithm({
  name: 'pool-worker',
  description: 'A donated worker of the hosting pool: registers once ready, serves each service from its own queue, and may lie.',
  params,
  state: newState,

  async run(node: Worker) {
    node.state.malicious = node.random.next() < node.params.maliciousShare;
    const { joinAfterMs } = node.params;
    if (joinAfterMs === undefined) await becomeReady(node);
    await node.barrier('pool-ready');
    await node.barrier('serving');
    if (joinAfterMs !== undefined) {
      await node.sleep(joinAfterMs);
      await becomeReady(node);
    }
    await node.barrier('done');
    node.metric('served', node.state.served);
    node.result({ weight: node.params.weight, malicious: node.state.malicious, served: node.state.served });
  },

  onMessage(node: Worker, { from, payload }) {
    const job = payload as Job;
    const queue = (node.state.queues[job.service] ??= []);
    queue.push(job);
    if (queue.length === 1) serveNext(node, from, queue);
  },
});

async function becomeReady(node: Worker): Promise<void> {
  await node.sleep(node.params.readyMs);
  const info: WorkerInfo = { weight: node.params.weight };
  await node.services.register(WORKER_SERVICE, info);
  node.log(`ready at ${node.now()} ms, weight ${node.params.weight}${node.state.malicious ? ', malicious' : ''}`);
}

/** Serves the job at the head of `queue`, answers `master`, and goes on while jobs wait. */
function serveNext(node: Worker, master: string, queue: Job[]): void {
  const job = queue[0]!;
  node.setTimer(job.costMs / node.params.weight, () => {
    node.state.served += 1;
    const answer: JobAnswer = { kind: 'job-answer', job: job.job, answer: node.state.malicious ? forgedAnswer(job.query) : rightAnswer(job.query) };
    void node.send(master, answer);
    queue.shift();
    if (queue.length > 0) serveNext(node, master, queue);
  });
}
