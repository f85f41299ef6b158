/**
 * A client of seed 003's donated-hosting pool: a user of the hosted web page, who knows only the master (the
 * page's address), never the workers. The master knows it by its node id, as nginx knows a client by its IP,
 * which is what its ip-hash scheduler keys on.
 *
 *   wait:    at the barriers `pool-ready` and `serving`, until the starting pool is registered and the master
 *            has read it
 *   request: `requests` times, at Poisson arrivals (mean gap meanGapMs): a page (query) and its cost, drawn
 *            from its seeded random source, the cost from a capped Pareto distribution (heavy-tailed); the same
 *            request goes to every service listed, so each scheduler is offered the same workload
 *   report:  once every answer has come (or answerTimeoutMs after the last request), how many requests each
 *            service answered, rejected as wrong (null) or left unanswered; then the barrier `done`
 */
import { defineAlgorithm, nodeId, z, type Node } from 'peerlab';
import { paretoMs, type PoolAnswer, type PoolRequest } from '../lib/donated-pool.js';

const params = z.object({
  master: nodeId().default('0').describe('the master, the only node the client talks to'),
  services: z.array(z.string().min(1)).min(1).describe('the services each request goes to'),
  requests: z.number().int().positive().default(100),
  meanGapMs: z.number().positive().default(100).describe('mean time between requests (exponential gaps: Poisson arrivals)'),
  pages: z.number().int().positive().default(1000).describe('how many different pages a request may ask for'),
  costScaleMs: z.number().positive().default(20).describe('the smallest cost of a request, the Pareto scale'),
  costShape: z.number().positive().default(1.5).describe('the Pareto shape: the smaller, the heavier the tail'),
  costCapMs: z.number().positive().default(2_000).describe('the largest cost of a request'),
  answerTimeoutMs: z.number().positive().default(60_000).describe('how long to wait for the last answers'),
});

type Client = Node<z.output<typeof params>, ReturnType<typeof newState>, PoolRequest | PoolAnswer>;
type Tally = { answered: number; rejected: number; unanswered: number };

function newState() {
  return {
    tallies: {} as Record<string, Tally>,
    awaited: 0,
    /** Called when the last awaited answer comes. */
    allAnswered: () => {},
  };
}

export default defineAlgorithm({
  name: 'pool-client',
  description: 'A user of the hosted service: sends heavy-tailed requests to the master at Poisson arrivals, each to every listed service.',
  params,
  state: newState,

  async run(node: Client) {
    const { params, state } = node;
    for (const service of params.services) state.tallies[service] = { answered: 0, rejected: 0, unanswered: 0 };
    await node.barrier('pool-ready');
    await node.barrier('serving');
    for (let request = 0; request < params.requests; request++) {
      const query = node.random.int(params.pages);
      const costMs = paretoMs(node.random, params.costScaleMs, params.costShape, params.costCapMs);
      for (const service of params.services) {
        state.awaited += 1;
        void node.send(params.master, { kind: 'request', service, request, query, costMs });
      }
      await node.sleep(-Math.log(1 - node.random.next()) * params.meanGapMs);
    }
    if (state.awaited > 0) {
      await new Promise<void>((resolve) => {
        const cancel = node.setTimer(params.answerTimeoutMs, resolve);
        state.allAnswered = () => {
          cancel();
          resolve();
        };
      });
    }
    for (const tally of Object.values(state.tallies)) tally.unanswered = params.requests - tally.answered - tally.rejected;
    node.metric('unanswered', Object.values(state.tallies).reduce((sum, tally) => sum + tally.unanswered, 0));
    node.result({ requests: params.requests, services: state.tallies });
    await node.barrier('done');
  },

  onMessage(node: Client, { payload }) {
    const { service, answer } = payload as PoolAnswer;
    const tally = node.state.tallies[service];
    if (!tally) return;
    if (answer === null) tally.rejected += 1;
    else tally.answered += 1;
    node.state.awaited -= 1;
    if (node.state.awaited === 0) node.state.allAnswered();
  },
});
