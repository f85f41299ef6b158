/**
 * A lookup microservice, like the weather and RSS feed services of thesis §3.4 (Figures 18–20): it answers
 * queries from a table, and it is found through the service registry rather than at a fixed address.
 *
 *   start:   register the service, with the queries it answers as its info (Registrator added the running
 *            container to etcd, Figure 19 "added: …"); then wait at the barrier `registered` with every
 *            other node, so that no client looks before every service is in the registry
 *   serve:   answer each request { service, request, query } with { request, answer }
 *   stop:    given stopAfterMs, that long after the barrier it leaves the registry and then stops answering,
 *            as a stopped container dropped out of etcd (Figure 19 "removed: …")
 *   report:  once every client is done (barrier `done`), how many requests it served and when it left
 *
 * Requests reach a service over the overlay, so clients must neighbour the services they call.
 */
import { defineAlgorithm, z } from 'peerlab';

export type LookupRequest = {
  readonly service: string;
  /** The client's number for the request, echoed in the answer. */
  readonly request: number;
  readonly query: string;
};

export type LookupAnswer = {
  readonly request: number;
  readonly answer: string;
};

/** What an instance registers: the queries it answers. */
export type LookupInfo = {
  readonly queries: string[];
};

/** A lookup service named `name` that answers from `answers` unless its params give another table. */
export function lookupService(definition: { name: string; description: string; answers: Record<string, string> }) {
  const { name } = definition;
  return defineAlgorithm({
    name,
    description: definition.description,
    params: z.object({
      answers: z.record(z.string(), z.string()).default(definition.answers).describe('the answer to each query'),
      stopAfterMs: z.number().nonnegative().optional().describe('leave the registry and stop answering this long after every node registered'),
    }),
    state: () => ({ serving: false, served: 0 }),

    async run(node) {
      const info: LookupInfo = { queries: Object.keys(node.params.answers) };
      await node.services.register(name, info);
      node.state.serving = true;
      await node.barrier('registered');

      let deregistered = null;
      if (node.params.stopAfterMs !== undefined) {
        await node.sleep(node.params.stopAfterMs);
        // Leave the registry first, then stop answering: a client that looks from now on no longer finds this
        // instance, and only one that found it just before can still send it a request, which goes unanswered.
        const began = node.now();
        await node.services.deregister(name);
        node.state.serving = false;
        deregistered = { began, ended: node.now() };
        node.log(`${name} stopped at ${deregistered.ended} ms, after serving ${node.state.served} requests`);
      }
      await node.barrier('done');
      node.metric('served', node.state.served);
      node.result({ service: name, served: node.state.served, deregistered });
    },

    onMessage(node, { from, payload }) {
      const { service, request, query } = payload as LookupRequest;
      if (!node.state.serving || service !== name) return;
      node.state.served += 1;
      const answer: LookupAnswer = { request, answer: node.params.answers[query] ?? `unknown query "${query}"` };
      node.send(from, answer);
    },
  });
}
