/**
 * A client of the thesis' microservices (§3.4): it never knows where a service runs, it asks the service
 * registry, as "other services on the network can query the etcd registry to know what services are offered
 * at which interfaces".
 *
 *   wait:   at the barrier `registered`, until every service instance is in the registry
 *   then, `requests` times, taking the services in turn:
 *     discover the service's live instances, and note when it looked and what it found
 *     call one of them, chosen at random, with one of the queries it registered, and wait for the answer
 *     (at most answerTimeoutMs: an instance that has stopped answers nothing); note the call and the answer
 *     pause intervalMs
 *   report: every discovery and every call, for the check (src/verify/service-discovery.ts); then wait at
 *           the barrier `done`, which tells the services that the clients have finished
 *
 * Requests go over the overlay, and node.send reaches neighbours only: run clients on a topology where they
 * neighbour every service, e.g. a complete graph (as every container reaches every other on one network).
 */
import { defineAlgorithm, z, type Node, type ServiceInstance } from 'peerlab';
import type { LookupAnswer, LookupInfo, LookupRequest } from '../lib/lookup-service.js';

/** One look into the registry: when it began and ended (node time, ms) and which nodes it listed. */
type Discovery = { service: string; began: number; ended: number; instances: string[] };
/** One request: to which instance, based on which discovery (its index), and the answer (null: none came). */
type Call = { service: string; instance: string; discovery: number; query: string; sentAt: number; answer: string | null };

const params = z.object({
  services: z.array(z.string()).default(['weather', 'feed']).describe('the services to call, in turn'),
  requests: z.number().int().positive().default(24).describe('requests per client'),
  intervalMs: z.number().nonnegative().default(200).describe('pause between requests'),
  answerTimeoutMs: z.number().positive().default(5_000).describe('how long to wait for an answer'),
});

type Client = Node<z.output<typeof params>, ReturnType<typeof newState>, LookupRequest | LookupAnswer>;

function newState() {
  return {
    discoveries: [] as Discovery[],
    calls: [] as Call[],
    /** The requests waiting for an answer, by number. */
    waiting: new Map<number, (answer: string) => void>(),
  };
}

export default defineAlgorithm({
  name: 'service-client',
  description: 'Finds services through the service registry, calls them, and reports what it found and what they answered.',
  params,
  state: newState,

  async run(node: Client) {
    await node.barrier('registered');
    for (let request = 0; request < node.params.requests; request++) {
      const service = node.params.services[request % node.params.services.length]!;
      const instances = await discover(node, service);
      if (instances.length > 0) await call(node, service, node.random.pick(instances), request);
      await node.sleep(node.params.intervalMs);
    }
    const { discoveries, calls } = node.state;
    node.metric('answered', calls.filter((call) => call.answer !== null).length);
    node.result({ discoveries, calls });
    await node.barrier('done');
  },

  onMessage(node: Client, { payload }) {
    const { request, answer } = payload as LookupAnswer;
    node.state.waiting.get(request)?.(answer);
  },
});

async function discover(node: Client, service: string): Promise<ServiceInstance[]> {
  const began = node.now();
  const instances = await node.services.discover(service);
  node.state.discoveries.push({ service, began, ended: node.now(), instances: instances.map((instance) => instance.node) });
  return instances;
}

async function call(node: Client, service: string, instance: ServiceInstance, request: number): Promise<void> {
  const query = node.random.pick((instance.info as LookupInfo).queries);
  const record: Call = { service, instance: instance.node, discovery: node.state.discoveries.length - 1, query, sentAt: node.now(), answer: null };
  node.state.calls.push(record);
  await new Promise<void>((resolve) => {
    const stopWaiting = (): void => {
      node.state.waiting.delete(request);
      resolve();
    };
    const cancelTimeout = node.setTimer(node.params.answerTimeoutMs, stopWaiting);
    node.state.waiting.set(request, (answer) => {
      record.answer = answer;
      cancelTimeout();
      stopWaiting();
    });
    node.send(instance.node, { service, request, query });
  });
}
