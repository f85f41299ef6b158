import { z } from 'zod';
import { MAX_LISTED_FAILURES, parseResults, type Oracle, type OracleGroup } from './types.js';

/** When an instance left the registry: its deregistration began and ended (node time, ms since the start). */
const interval = z.object({ began: z.number(), ended: z.number() });
const serviceResult = z.object({ service: z.string(), served: z.number().int().nonnegative(), deregistered: interval.nullable() });
const discovery = z.object({ service: z.string(), began: z.number(), ended: z.number(), instances: z.array(z.string()) });
const call = z.object({
  service: z.string(),
  instance: z.string(),
  discovery: z.number().int().nonnegative(),
  query: z.string(),
  sentAt: z.number(),
  answer: z.string().nullable(),
});
const clientResult = z.object({ discoveries: z.array(discovery), calls: z.array(call) });

type Instance = { readonly node: string; readonly deregistered: z.output<typeof interval> | null };

/**
 * The check of the microservices example (experiments/services.yaml, algorithms/services/): lookup services
 * register in the service registry, clients discover them there and call them. From what the nodes report:
 *
 *   registry: every discovery lists every instance of the service that was live throughout it, and none that
 *             had finished leaving before it began (one that overlapped an instance's leaving may list it or not)
 *   calls:    every call goes to an instance listed by the discovery it was based on (so none to an instance
 *             that had left), and every call to an instance that never left got the right answer: the one in
 *             the `answers` parameter of the instance's role; only an instance that left may not have answered
 *   coverage: every client called every service, and looked again after each instance left, so the run
 *             really tested that a stopped service disappears
 */
export const verifyServiceDiscovery: Oracle = ({ graph, results, groups }) => {
  const { reported, failures } = parseResults(graph, results, z.union([serviceResult, clientResult]), 'a service or a client result');
  const services = new Map<string, Map<string, Instance>>();
  const clients = new Map<string, z.output<typeof clientResult>>();
  for (const [id, result] of reported) {
    if ('calls' in result) {
      clients.set(id, result);
      continue;
    }
    const instances = services.get(result.service) ?? new Map<string, Instance>();
    services.set(result.service, instances);
    instances.set(id, { node: id, deregistered: result.deregistered });
  }
  if (services.size === 0) failures.push('no node reported a service result: nothing offered a service');
  if (clients.size === 0) failures.push('no node reported a client result: nobody looked for a service');
  const answersOf = answerTables(groups ?? [], failures);

  let discoveries = 0;
  let staleListings = 0;
  let answered = 0;
  let unansweredAfterLeaving = 0;
  let calls = 0;
  for (const [client, result] of clients) {
    for (const [index, seen] of result.discoveries.entries()) {
      discoveries += 1;
      const at = `client ${client}, discovery ${index} of ${seen.service} at ${seen.began} ms`;
      const instances = services.get(seen.service);
      if (!instances) {
        failures.push(`${at}: no node offers ${seen.service}`);
        continue;
      }
      for (const node of seen.instances) {
        if (!instances.has(node)) failures.push(`${at}: listed node ${node}, which never offered ${seen.service}`);
      }
      for (const { node, deregistered } of instances.values()) {
        const listed = seen.instances.includes(node);
        if (!listed && (deregistered === null || seen.ended < deregistered.began)) {
          failures.push(`${at}: missed instance ${node}, which was live`);
        } else if (listed && deregistered !== null && seen.began > deregistered.ended) {
          failures.push(`${at}: still listed instance ${node}, which had left at ${deregistered.ended} ms`);
        } else if (listed && deregistered !== null && seen.ended >= deregistered.began) {
          staleListings += 1;
        }
      }
    }

    for (const [index, made] of result.calls.entries()) {
      calls += 1;
      const at = `client ${client}, call ${index} to ${made.service} on node ${made.instance} at ${made.sentAt} ms`;
      const basis = result.discoveries[made.discovery];
      if (!basis || basis.service !== made.service || !basis.instances.includes(made.instance)) {
        failures.push(`${at}: not among the instances its discovery (${made.discovery}) listed`);
        continue;
      }
      const instance = services.get(made.service)?.get(made.instance);
      if (!instance) continue;
      if (made.answer === null) {
        if (instance.deregistered === null) failures.push(`${at}: no answer, though the instance never left`);
        else unansweredAfterLeaving += 1;
        continue;
      }
      const expected = answersOf.get(made.instance)?.[made.query];
      if (made.answer !== expected) failures.push(`${at}: answered ${JSON.stringify(made.answer)} to ${made.query}, expected ${JSON.stringify(expected ?? null)}`);
      else answered += 1;
    }

    for (const [service, instances] of services) {
      if (!result.calls.some((made) => made.service === service && made.answer !== null)) {
        failures.push(`client ${client}: no answer from ${service} at all`);
      }
      for (const { node, deregistered } of instances.values()) {
        if (deregistered && !result.discoveries.some((seen) => seen.service === service && seen.began > deregistered.ended)) {
          failures.push(`client ${client}: never looked for ${service} after instance ${node} left, so its leaving went untested`);
        }
      }
    }
  }

  const left = [...services].flatMap(([service, instances]) => [...instances.values()].filter((i) => i.deregistered).map((i) => `${service} on node ${i.node}`));
  const instanceCount = [...services.values()].reduce((sum, instances) => sum + instances.size, 0);
  const passed = failures.length === 0;
  return {
    passed,
    summary: passed
      ? `${clients.size} clients found every live instance of ${[...services.keys()].join(' and ')} (${instanceCount} in all) in the registry; ` +
        `${answered} of ${calls} calls answered correctly` +
        (left.length > 0 ? `; after ${left.join(', ')} left, no client found or called it` : '')
      : `service discovery failed (${failures.length} problem(s)): ${failures[0]}`,
    expected: {
      instances: Object.fromEntries([...services].map(([service, instances]) => [service, [...instances.keys()]])),
      left,
    },
    actual: { clients: Object.fromEntries([...clients].map(([id, result]) => [id, { discoveries: result.discoveries.length, calls: result.calls.length }])) },
    metrics: {
      clients: clients.size,
      services: services.size,
      instances: instanceCount,
      stoppedInstances: left.length,
      discoveries,
      calls,
      answered,
      unansweredAfterLeaving,
      staleListings,
    },
    failures: failures.slice(0, MAX_LISTED_FAILURES),
  };
};

/** Each service node's `answers` table (its role's parameter): the ground truth of its answers. */
function answerTables(groups: readonly OracleGroup[], failures: string[]): Map<string, Record<string, string>> {
  const tables = new Map<string, Record<string, string>>();
  for (const group of groups) {
    const answers = (group.params as { answers?: unknown } | null)?.answers;
    if (answers === undefined) continue;
    const table = z.record(z.string(), z.string()).safeParse(answers);
    if (!table.success) {
      failures.push(`role ${group.role}: its answers parameter is not a table of strings`);
      continue;
    }
    for (const node of group.nodes) tables.set(node, table.data);
  }
  return tables;
}
