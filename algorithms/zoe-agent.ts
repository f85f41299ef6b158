/**
 * Seed 000's Zoe agents, as its Scout balances them (§6.3): each agent does a fixed amount of work on whatever
 * machine it runs on, for the length of the test, and moves when the Scout says so.
 *   - dummy1–3: 20 threads looping, about 4.8 MIPS measured;
 *   - fibonacci, madtrans, outpostest: waiting for requests, under 0.01 MIPS;
 *   - overload: wastes the processor, as many MIPS as it can get.
 *
 * Node i is agent `agents[i]`: it wants that many MIPS of its host (`node.demand`) from the start, and again in
 * a new host after a move (a demand is its process's). A node past the list is no agent, and wants nothing. The
 * Scout itself is not a node: peerlab's placement policy plays it (`--policy equal`, `--hosts` with Table 6.1's
 * machines), and the check (src/verify/zoe-agent.ts) compares its rounds with the thesis's tables.
 *
 * In the simulator a host shares its MIPS among its agents' demands, so an agent measures what it wants where it
 * fits, and the overload agent measures a machine's whole capacity: 5,200 MIPS on the central server, 138 on an
 * outpost. In a container the node spins a CPU share instead (README, "Placement policies on a running run").
 */
import { defineAlgorithm, z, type Node } from 'peerlab';
import { demandUntil } from './lib/demand.js';

const agent = z.object({
  name: z.string().min(1).describe("the agent's name in the thesis's tables"),
  mips: z.number().nonnegative().describe('the MIPS it wants of its machine, in the unit of the hosts (Table 6.1)'),
});

const params = z.object({
  agents: z.array(agent).default([]).describe('the agent of each node, in node order'),
  durationMs: z.number().int().positive().default(1_000_000).describe('how long the agents run, then report'),
});
type Params = z.output<typeof params>;

export default defineAlgorithm({
  name: 'zoe-agent',
  description: "Seed 000's Zoe agents: each wants its MIPS of the machine it runs on, for the test's duration, while a placement policy moves them.",
  params,
  init: work,
  // Nothing to carry: an agent's demand is its name's, and its report comes when the test ends.
  snapshot: () => null,
  restore: work,
  onMessage() {},
});

function work(node: Node<Params>): void {
  const mine = node.params.agents[Number(node.id)];
  demandUntil(node, mine?.mips ?? 0, node.params.durationMs, { agent: mine?.name ?? null });
}
