import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PeerlabError } from '../errors.js';

/** Writes algorithms/<name>.ts: a commented, working template a student can run at once and then change. */
export async function scaffoldAlgorithm(name: string, cwd = process.cwd()): Promise<string> {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) {
    throw new PeerlabError(`algorithm name "${name}" is not lowercase letters, digits and dashes`, { hint: 'e.g. peerlab algorithms new echo-wave' });
  }
  const file = path.join(cwd, 'algorithms', `${name}.ts`);
  if (existsSync(file)) throw new PeerlabError(`${path.relative(cwd, file)} already exists`, { hint: 'choose another name, or edit that file' });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, template(name));
  return file;
}

function template(name: string): string {
  return `/**
 * ${name}: describe the algorithm here, and cite where it comes from.
 *
 * Run it:    npx peerlab run ${name} --topology ring:n=10 --runtime sim     (in-process, deterministic)
 *            npx peerlab run ${name} --topology ba:n=50,m=2                   (50 Docker containers)
 * Results:   results/<run-id>/nodes.csv holds each node's result and metrics; logs/<id>.log what each node
 *            printed (node.log and console.log), also shown by \`npx peerlab logs <run-id> <id>\`.
 *
 * As written it is an echo: the starter sends a token around; every node reports the hop count it saw first.
 */
import { defineAlgorithm, nodeId, z, type Check, type GraphDefaults } from 'peerlab';

// nodeId() marks a parameter that names a node (ids are strings): the run refuses one the topology does not have.
const params = z.object({
  starter: nodeId().default('0').describe('the node that sends first'),
});

export default defineAlgorithm({
  name: '${name}',
  description: 'A template: the starter floods a token and every node reports its hop count.',

  // Parameters, validated before any node starts: --param starter=3
  params,

  // Each node's own variables. Never keep node state in module variables: in the simulator all nodes share
  // this module.
  state: () => ({ seen: false }),

  // Called once per node when the run starts. node.neighbours lists { id, weight } of this node's edges.
  init(node) {
    if (node.id !== node.params.starter) return;
    node.state.seen = true;
    node.result({ hops: 0 });
    for (const neighbour of node.neighbours) node.send(neighbour.id, { hops: 1 });
  },

  // Called for every message, in the order each neighbour sent them. Payloads are JSON.
  onMessage(node, { from, payload }) {
    const { hops } = payload as { hops: number };
    if (node.state.seen) return;
    node.state.seen = true;
    node.metric('first_from', Number(from));
    node.result({ hops }); // once per node; the run ends when every node has called it
    for (const neighbour of node.neighbours) {
      if (neighbour.id !== from) node.send(neighbour.id, { hops: hops + 1 });
    }
  },

  // Prefer rounds? Replace init/onMessage with:
  //   async run(node) { const { from, payload } = await node.receive(); await node.sleep(10); ... }
  // Also there: node.random (seeded), node.now(), node.setTimer(), await node.barrier('name'),
  // node.store (shared key-value), node.services (register and discover services), node.log(...).
});

// The check: without one, a run's verdict is UNCHECKED (and --require-check fails it). Uncomment this to make
// the verdict PASS or FAIL. It runs in the CLI after the run, never in a node: a pure function of the graph
// (graphology), the parameters and every node's result, returning what peerlab's own oracles do.
//
// export const check: Check<z.output<typeof params>> = ({ graph, params, results }) => {
//   const failures: string[] = [];
//   for (const id of graph.nodes()) {
//     const result = results.get(id) as { hops?: number } | undefined;
//     if (typeof result?.hops !== 'number') failures.push(\`node \${id}: no hop count (\${JSON.stringify(result)})\`);
//     else if (id === params.starter && result.hops !== 0) failures.push(\`node \${id}: the starter reports \${result.hops} hops\`);
//   }
//   return {
//     passed: failures.length === 0,
//     summary: failures.length === 0 ? \`all \${graph.order} nodes have a hop count\` : \`\${failures.length} node(s) wrong\`,
//     metrics: { wrong: failures.length },
//     failures, // the first few, each naming a node
//   };
// };

// Defaults drawn from the graph: a parameter whose right value depends on the whole graph (rounds, a timeout
// that grows with it) can take its default from it. This runs in the CLI before any node starts, never in a
// node; it fills only parameters the user did not set (--param wins), and the run records and replays what it
// chose. Uncomment this to start from the node of highest degree unless --param starter=… says otherwise:
//
// export const graphDefaults: GraphDefaults<z.output<typeof params>> = ({ graph }) => ({ starter: graph.nodes().reduce((a, b) => (graph.degree(b) > graph.degree(a) ? b : a)) });
`;
}
