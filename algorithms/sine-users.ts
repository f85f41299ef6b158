/**
 * Seed 001's users and their web server (§7.8): the users of each site send the server requests at a rate that
 * follows their day, C·(1 − a·cos(ω(x − tᵢ))) per second (eq. 7.1), each site with its time-zone offset tᵢ. The
 * server only counts them; a placement policy (`--policy self-placement`) moves it toward the site most of its
 * requests come from, as the source's virtual machine migrated itself.
 *
 * Node `server` is the server; every other node, in id order, is the users of `sites[k]`, and should run on the
 * host of that name (the sites are the run's hosts: `--hosts oslo=1,gjovik=1,…`). At zero `noise` request k of a
 * site leaves exactly when the site's demand since the start reaches k, so the counts follow the curve and the
 * rule's windows can be solved in closed form (src/verify/sine-users.ts); with noise, each gap is stretched or
 * shrunk at random, up to that share, from the run's seed. With `answer`, the server answers each request and
 * each user measures its round trip (metric `rttMs`), the user experience seed 001 measured with ping (§6.3):
 * short while the server is at the users' site, the way to it and back while it is elsewhere (hosts far apart,
 * experiments/self-placement/sites.yaml). A user then gets answers from the server's site only, so a run holds
 * the users (`--hold`) for a policy that follows requests not to move them.
 */
import { defineAlgorithm, z, type Node } from 'peerlab';
import { demandRate, demandSince0, type DemandSite } from './lib/sine-demand.js';

const site = z.object({
  name: z.string().min(1).describe('the host its users are nearest to'),
  offsetHours: z.number().describe("its users' time-zone offset: their day peaks 12 hours later"),
  amplitude: z.number().min(0).max(0.99).default(0.9).describe('how much their demand swings over a day (0 flat); below 1, so that it never stops'),
});

const params = z.object({
  server: z.string().default('0').describe('the node that serves the requests'),
  sites: z.array(site).default([]).describe('the users of each other node, in id order'),
  requestsPerSecond: z.number().positive().default(1).describe("each site's average request rate, C"),
  dayMs: z.number().positive().default(86_400_000).describe('the length of a day'),
  durationMs: z.number().int().positive().default(172_800_000).describe('how long the users send'),
  noise: z.number().min(0).max(0.9).default(0).describe('each gap between requests varies by up to this share, at random'),
  answer: z.boolean().default(false).describe('the server answers each request, and each user measures its round trip (metric rttMs)'),
});
type Params = z.output<typeof params>;
/** `pending`: when each request not yet answered left, in order (a link keeps its order, across moves too). */
type State = { sent: number; handled: number; answered: number; pending: number[]; rttSumMs: number };
type Users = Node<Params, State>;

export default defineAlgorithm({
  name: 'sine-users',
  description: "Seed 001's users: each site requests its web server along a day's sine, while a placement policy moves the server.",
  params,
  state: (): State => ({ sent: 0, handled: 0, answered: 0, pending: [], rttSumMs: 0 }),
  init: start,
  // The counts travel with a moved node: the server goes on counting, users go on from their next request.
  restore(node, saved) {
    Object.assign(node.state, saved);
    start(node);
  },
  onMessage(node, { from, payload }) {
    const { state } = node;
    const message = payload as { request: number } | { answer: number };
    if ('request' in message) {
      state.handled += 1;
      if (node.params.answer) void node.send(from, { answer: message.request });
      return;
    }
    const rtt = node.now() - state.pending.shift()!;
    state.answered += 1;
    state.rttSumMs += rtt;
    node.metric('rttMs', rtt);
  },
});

function start(node: Users): void {
  if (node.id === node.params.server) finishAt(node);
  else sendNext(node, siteOf(node));
}

type Site = DemandSite & { readonly perSecond: number; readonly dayS: number };

/** This node's site, in the units of the demand curves (seconds). */
function siteOf(node: Users): Site {
  const others = [...Array(node.size).keys()].map(String).filter((id) => id !== node.params.server);
  const given = node.params.sites[others.indexOf(node.id)];
  if (given === undefined) throw new Error(`node ${node.id} has no site: list one per user node in sites`);
  return { name: given.name, offsetS: given.offsetHours * 3600, amplitude: given.amplitude, perSecond: node.params.requestsPerSecond, dayS: node.params.dayMs / 1000 };
}

/** Sends request `sent + 1` when the site's demand since the start reaches it, then the next; reports at the end. */
function sendNext(node: Users, users: Site): void {
  const k = node.state.sent + 1;
  // Newton's method on demand(t) = k from the last request's time: the demand is smooth and never flat.
  let t = node.now() / 1000;
  for (let step = 0; step < 20; step++) {
    const off = demandSince0(users, users.dayS, users.perSecond, t) - k;
    if (Math.abs(off) < 1e-9) break;
    t -= off / demandRate(users, users.dayS, users.perSecond, t);
  }
  const gapMs = Math.max(0, t * 1000 - node.now()) * (1 + node.params.noise * (2 * node.random.next() - 1));
  if (node.now() + gapMs >= node.params.durationMs) return finishAt(node);
  node.setTimer(gapMs, () => {
    node.state.sent = k;
    if (node.params.answer) node.state.pending.push(node.now());
    void node.send(node.params.server, { request: k });
    sendNext(node, users);
  });
}

/** How long after the users' last request the server reports (and, with answers, the users): time for it to arrive, on any link. */
const LAST_REQUEST_GRACE_MS = 5_000;

/** Reports the counts once the users are done: the server a grace period later, so that it has handled all of theirs. */
function finishAt(node: Users): void {
  const { state, params } = node;
  const waits = node.id === params.server || params.answer;
  const end = params.durationMs + (waits ? LAST_REQUEST_GRACE_MS : 0);
  node.setTimer(Math.max(0, end - node.now()), () => {
    const counts = { sent: state.sent, handled: state.handled };
    if (!params.answer || node.id === params.server) return node.result(counts);
    node.result({ ...counts, answered: state.answered, meanRttMs: state.answered > 0 ? state.rttSumMs / state.answered : null });
  });
}
