/**
 * Leader election with etcd's own recipe (the thesis, §2: etcd gives a distributed program locks, barriers and
 * leader election). Every node campaigns; the first in line leads, and the next one leads when the leader
 * dies and its lease runs out. No messages: the nodes coordinate through the run's etcd (or the simulator's
 * stand-in), and the overlay may have no edges at all.
 *
 *   campaign for "leader"                               -- resolves once this node leads
 *   on leading:  term ← term + 1 (compare-and-swap)     -- the term numbers the leaders, 1, 2, 3, …
 *                every beat: write { term, leader, since, beat: now } to the store, under the term's number
 *   every node, every beat: read every term's record, and remember who led it, since when, and its last beat
 *                (every term's, not the latest only: a term that ends within a beat is not missed)
 *   at the end: report what this node saw (and its own terms); leaders resign
 *
 * The check (below) puts every survivor's view together and checks the two promises of an election under
 * crashes: at most one leader at any time (a term's last beat comes before the next term begins), and a new
 * leader within the lease time after the old one died (the gap from the old leader's last beat to the new
 * one's start is at most the lease, plus one beat (the precision of a beat) and `slackMs`).
 */
import { defineAlgorithm, z, type Check, type Node } from 'peerlab';

const params = z.object({
  durationMs: z.number().int().positive().default(40_000).describe('how long the nodes watch the leadership before they report'),
  beatMs: z.number().int().positive().default(250).describe('how often the leader writes its record, and every node reads it'),
  leaseMs: z.number().int().positive().default(20_000).describe('the node lease a dead leader holds on to (peerlab’s registry lease, 20 s)'),
  slackMs: z.number().int().nonnegative().default(1_000).describe('what a failover may take beyond the lease: etcd checks leases every 500 ms, then a watch and two store calls'),
});
type Params = z.output<typeof params>;

/** What the leader writes to the store, every beat. */
type LeaderRecord = {
  term: number;
  leader: string;
  since: number;
  beat: number;
};

/** One term as a node saw it: who led, since when, and the last beat of it that this node read. */
type Term = Omit<LeaderRecord, 'beat'> & { lastBeat: number };

type Result = {
  /** The terms this node saw, by term number. */
  terms: Term[];
  /** The terms this node led itself. */
  led: number[];
  /** Every change of leader, as `observe` told this node: [time, leader or null]. */
  observed: Array<[number, string | null]>;
};

export default defineAlgorithm({
  name: 'leader-election',
  description: 'every node campaigns; the leader counts its term with compare-and-swap and beats through the store',
  params,
  state: () => ({ terms: new Map<number, Term>(), led: [] as number[], observed: [] as Array<[number, string | null]> }),

  async run(node) {
    const { beatMs, durationMs } = node.params;
    const election = node.election('leader');
    election.observe((leader) => node.state.observed.push([node.now(), leader ?? null]));
    const stopReading = every(node, beatMs, () => readLeaderRecords(node));
    let stopBeating = (): void => {};
    node.setTimer(durationMs, () => {
      stopReading();
      stopBeating();
      void election.resign();
      node.result({ terms: [...node.state.terms.values()].sort((a, b) => a.term - b.term), led: node.state.led, observed: node.state.observed });
    });

    await election.campaign(node.id);
    if (node.now() >= durationMs) return;
    const term = await nextTerm(node);
    const since = node.now();
    node.state.led.push(term);
    node.log(`leads term ${term} from ${since} ms`);
    node.metric('led_term', term);
    const beat = () => node.store.put(`leader-${term}`, JSON.stringify({ term, leader: node.id, since, beat: node.now() } satisfies LeaderRecord));
    await beat();
    stopBeating = every(node, beatMs, beat);
  },
});

/** Term k+1 after the last term anyone wrote: a compare-and-swap, retried if another node got in first. */
async function nextTerm(node: Node<Params, unknown>): Promise<number> {
  for (;;) {
    const last = await node.store.get('term');
    const next = Number(last ?? 0) + 1;
    if (await node.store.compareAndSwap('term', last, String(next))) return next;
  }
}

async function readLeaderRecords(node: Node<Params, { terms: Map<number, Term> }>): Promise<void> {
  const terms = Number((await node.store.get('term')) ?? 0);
  for (let number = 1; number <= terms; number++) {
    const text = await node.store.get(`leader-${number}`);
    if (text === undefined) continue; // the new leader has not written its first beat yet
    const { term, leader, since, beat } = JSON.parse(text) as LeaderRecord;
    const known = node.state.terms.get(term);
    node.state.terms.set(term, { term, leader, since, lastBeat: Math.max(beat, known?.lastBeat ?? beat) });
  }
}

/** Runs `action` every `ms` until the returned function is called. */
function every(node: Node<Params, unknown>, ms: number, action: () => unknown): () => void {
  let cancel = node.setTimer(ms, function tick() {
    void action();
    cancel = node.setTimer(ms, tick);
  });
  return () => cancel();
}

export const check: Check<Params, Result> = ({ params: { leaseMs, beatMs, slackMs }, results }) => {
  const survivors = [...results].filter((entry): entry is [string, Result] => entry[1] !== undefined);
  // Every survivor's view of each term, put together: the earliest start and the latest beat anyone saw.
  const terms = new Map<number, Term>();
  const failures: string[] = [];
  for (const [id, result] of survivors) {
    for (const seen of result.terms) {
      const known = terms.get(seen.term);
      if (known && known.leader !== seen.leader) failures.push(`term ${seen.term} has two leaders: ${known.leader} and ${seen.leader} (seen by node ${id})`);
      terms.set(seen.term, { ...seen, since: Math.min(seen.since, known?.since ?? seen.since), lastBeat: Math.max(seen.lastBeat, known?.lastBeat ?? 0) });
    }
  }
  const ordered = [...terms.values()].sort((a, b) => a.term - b.term);
  if (ordered.length === 0) failures.push('no node saw a leader');
  const failoversMs: number[] = [];
  for (let i = 1; i < ordered.length; i++) {
    const [before, after] = [ordered[i - 1]!, ordered[i]!];
    if (before.lastBeat > after.since) {
      failures.push(`two leaders at once: ${before.leader} (term ${before.term}) still beat at ${before.lastBeat} ms, after ${after.leader} began term ${after.term} at ${after.since} ms`);
    }
    const gap = after.since - before.lastBeat;
    failoversMs.push(gap);
    if (gap > leaseMs + beatMs + slackMs) {
      failures.push(`term ${after.term} (${after.leader}) began ${gap} ms after the last beat of ${before.leader}, more than the lease (${leaseMs} ms), a beat (${beatMs} ms) and the slack (${slackMs} ms)`);
    }
  }
  // When a leader died, leadership must have moved on: the last leader is a node that reported.
  const last = ordered.at(-1);
  if (last && results.get(last.leader) === undefined) failures.push(`the last leader, ${last.leader}, reported nothing: leadership did not move on after it died`);
  const failovers = failoversMs.length;
  return {
    passed: failures.length === 0,
    summary:
      failures.length === 0
        ? `${ordered.length} term(s), never two leaders at once${failovers > 0 ? `; each new leader within ${Math.round(Math.max(...failoversMs))} ms of the last beat of the old one (lease ${leaseMs} ms)` : ''}`
        : failures[0]!,
    metrics: { terms: ordered.length, failovers, ...(failovers > 0 ? { maxFailoverMs: Math.max(...failoversMs) } : {}) },
    failures,
    actual: ordered.map(({ term, leader, since, lastBeat }) => ({ term, leader, since, lastBeat })),
  };
};
