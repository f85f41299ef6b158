/**
 * GHS: the distributed minimum-spanning-tree algorithm of Gallager, Humblet and Spira ("A distributed
 * algorithm for minimum-weight spanning trees", ACM TOPLAS 5(1), 1983). The code follows the paper's
 * pseudocode, as reproduced in chapter 4 of the thesis:
 * responses (1)–(12) keep their numbers and their variable names (SN, SE, LN, FN, find-count, best-edge,
 * best-wt, test-edge, in-branch), so the two can be read side by side.
 *
 * Distinct weights. GHS needs every edge weight to be different; topologies need not provide that (geo or
 * attr weights, zoo files). Edges are therefore ordered by the triple (weight, smaller id, larger id), ids
 * compared as numbers ("2" < "10"); every comparison of weights below (best-wt, the order in which edges are
 * tested, the fragment identity FN) uses that triple, and src/verify/ghs.ts orders edges the same way. FN is
 * the core edge's triple; best-wt = ∞ travels as `null` (JSON has no Infinity).
 *
 * Wakeup. `wakeup: 'all'` wakes every node spontaneously (response (1)) at init. `wakeup: 'one'` (default)
 * wakes one node; the others wake on their first Connect or Test. Which one must be the same decision at
 * every node, so it cannot come from `node.random` (seeded per node): it is `wakeupNode` if given, otherwise
 * node `hash(wakeupSeed) mod n`; every node computes that from the params and n alone (ids are "0".."n-1").
 * On a disconnected graph only 'all' reaches every component (each then builds its own tree: a forest).
 *
 * Termination. Response (10) halts only the two core nodes (both see Report(∞) with best-wt = ∞); nobody else
 * learns it. Here each core node then sends Done over its branch edges other than the core, every node passes
 * Done on away from where it came, and every node reports `{ branches, level, messages, sent, terminated }` once it has
 * Done: its Branch neighbours (sorted), its final LN, and the messages it sent by kind (also as metrics
 * msg_<kind>). Done adds n − 2 messages to GHS's own; `sent` separates them.
 *
 * Faults. GHS assumes that no node or link fails; when a neighbour goes down before a node has had Done, the
 * algorithm can no longer terminate as the paper's. The node then stops, reports what it built, marked
 * `terminated: false` (its Branch edges, the dead neighbour's included: each was chosen as a minimum outgoing
 * edge, so it is an MST edge of the graph GHS started on), and sends Abort over its other edges; every node that
 * has not had Done does the same on its first Abort, so each survivor reports rather than waits forever. A node
 * that had Done keeps its result and ignores Abort. The oracle (src/verify/ghs.ts) then says whether GHS
 * terminated, and checks that what it built is made of MST fragments.
 *
 * Joins. GHS runs on a fixed graph: a node's edges are those it had at the start. A node that joins mid-run
 * (churn's join=) is not in that graph, so what it sends is ignored and it is owed nothing; the oracle judges
 * the MST of the graph the run started with.
 *
 * The queue rule "place received message on end of queue" (responses (3), (6), (10)). A message that cannot
 * be answered yet is put aside, and the put-aside messages are re-examined, in arrival order, right after
 * every change of LN, SN or some SE (the only state their conditions read; a version counter tracks it), not
 * on the next arrival: a node never sits on an answerable message. Re-examining at once is what the paper's
 * queue does when nothing else is waiting in it, a schedule that arbitrary delays always allow.
 *
 * On the "bug in GHS" and the deadlock of the thesis (§4.2). The thesis reports that its Go implementation
 * deadlocked and cites C.-T. Chou's manuscript "A bug in GHS" (1988) and Moses & Shimony (DISC 2006). We could
 * not obtain Chou's manuscript or a statement of its counter-example from any source we could search (we
 * found only Lamport's account that Chou, with Gafni, gave one of the three PODC '88 proofs of GHS and later
 * a full invariance proof, and Hesselink's NQTHM proof), so we do not claim to reproduce Chou's scenario.
 * What we can state precisely is where the pseudocode's liveness rests: which "place received message on
 * end of queue" can wait forever when an implementation departs from the paper.
 *  - Response (6), Test(L, F): "if L > LN then place received message on end of queue, else if F ≠ FN then
 *    send Accept". F ≠ FN proves "different fragments" only because L ≤ LN: a node of F's fragment has a
 *    level ≤ L, so with L ≤ LN it has LN = L, and a node's FN changes only when its LN grows, so its FN = F.
 *    A node of lower level may already belong to the tester's fragment (its Initiate is still on the way)
 *    and still carry an old FN; answering Accept there lets the fragment choose one of its own edges, whose
 *    Connect then meets a node of the same fragment and level with SE = Basic, which response (3) defers
 *    forever. That is the Test/Accept rule at stake, and we keep it exactly.
 *  - Response (3), Connect(L): "else if SE(j) = Basic then place received message on end of queue". Two
 *    fragments of equal level waiting on each other must have chosen the same edge, true only if minimum
 *    outgoing edges are unique. With tied weights F picks e, F' picks e' of equal weight, and each defers the
 *    other's Connect forever; tied core weights also give two fragments one FN, so (6) rejects a real
 *    outgoing edge. Hence the strict (weight, id, id) order and the triple as FN.
 *  - Responses (3), (6), (10) also wait forever if put-aside messages are re-examined only when a new message
 *    arrives (the change that releases them may be the node's last event), or if a sleeping node judges a
 *    Connect or Test before waking. And "halt" reaches the core only: waiting for every node to halt hangs.
 * Evidence: the soak (test/unit/ghs-soak.test.ts, scripts/ghs-soak.ts) runs tens of thousands of seeded
 * cases under random, heavy-tailed, per-edge and per-kind skewed FIFO delays, each required to terminate
 * with exactly the Kruskal MST; each of these departures, put into this file on purpose (no LN guard in (6);
 * FN and edge order by weight alone; re-examining only on the next arrival; (8) without its SE = Basic
 * guard), made 17–97% of the first 2,000 soak cases fail, mostly as stalled runs (deadlocks).
 */
import { defineAlgorithm, nodeId, z, type Node } from 'peerlab';

/** An edge's place in the strict total order: [weight, smaller id, larger id]. */
type EdgeKey = [number, number, number];
type NodeStatus = 'Sleeping' | 'Find' | 'Found';
type EdgeStatus = 'Basic' | 'Branch' | 'Rejected';

type GhsMessage =
  | { k: 'Connect'; L: number }
  | { k: 'Initiate'; L: number; F: EdgeKey; S: 'Find' | 'Found' }
  | { k: 'Test'; L: number; F: EdgeKey }
  | { k: 'Accept' }
  | { k: 'Reject' }
  /** best-wt; null is ∞. */
  | { k: 'Report'; w: EdgeKey | null }
  | { k: 'ChangeRoot' }
  | { k: 'Done' }
  /** Not in the paper: a neighbour went down, so nobody terminates (see Faults). */
  | { k: 'Abort' };
/** The messages of the paper's responses (and Done), which an aborted node no longer answers. */
type PaperMessage = Exclude<GhsMessage, { k: 'Abort' }>;
type Kind = GhsMessage['k'];
const KINDS: readonly Kind[] = ['Connect', 'Initiate', 'Test', 'Accept', 'Reject', 'Report', 'ChangeRoot', 'Done', 'Abort'];
/** Each kind's metric name, made once: a name built per message was a string to allocate and hash per send. */
const METRIC_OF = Object.fromEntries(KINDS.map((kind) => [kind, `msg_${kind}`])) as Record<Kind, string>;

interface Edge {
  readonly to: string;
  readonly key: EdgeKey;
  SE: EdgeStatus;
}

interface GhsState {
  SN: NodeStatus;
  LN: number;
  FN: EdgeKey | null;
  readonly edges: ReadonlyMap<string, Edge>;
  /** The edges in increasing key order; `basicFrom` skips the prefix that is no longer Basic (SE never returns to Basic). */
  readonly byWeight: readonly Edge[];
  basicFrom: number;
  findCount: number;
  bestEdge: string | null;
  /** null is ∞. */
  bestWt: EdgeKey | null;
  testEdge: string | null;
  inBranch: string | null;
  /** Messages placed "on end of queue", in arrival order. */
  readonly deferred: Array<{ from: string; payload: PaperMessage }>;
  /** Bumped on every change of LN, SN, SE or in-branch: what the deferral conditions read. */
  version: number;
  checkedAt: number;
  /** Reported: after Done (terminated), or after a neighbour went down or an Abort came (aborted). */
  done: boolean;
  aborted: boolean;
  readonly sent: Record<Kind, number>;
}

const Params = z.object({
  wakeup: z.enum(['one', 'all']).default('one').describe('wake one node spontaneously, or all of them'),
  wakeupNode: nodeId().optional().describe("with wakeup 'one': the node to wake (default: chosen from wakeupSeed)"),
  wakeupSeed: z.number().int().nonnegative().default(0).describe("with wakeup 'one' and no wakeupNode: picks the node"),
});
type GhsNode = Node<z.output<typeof Params>, GhsState, GhsMessage>;

export default defineAlgorithm<typeof Params, GhsState, GhsMessage>({
  name: 'ghs',
  description: 'Gallager–Humblet–Spira minimum spanning tree; every node reports its MST branch edges.',
  params: Params,

  state({ id, neighbours }) {
    const self = Number(id);
    const edges = new Map<string, Edge>();
    for (const { id: to, weight } of neighbours) {
      const other = Number(to);
      edges.set(to, { to, key: [weight, Math.min(self, other), Math.max(self, other)], SE: 'Basic' });
    }
    const sent = Object.fromEntries(KINDS.map((kind) => [kind, 0])) as Record<Kind, number>;
    return {
      SN: 'Sleeping',
      LN: 0,
      FN: null,
      edges,
      byWeight: [...edges.values()].sort((a, b) => compareKeys(a.key, b.key)),
      basicFrom: 0,
      findCount: 0,
      bestEdge: null,
      bestWt: null,
      testEdge: null,
      inBranch: null,
      deferred: [],
      version: 0,
      checkedAt: 0,
      done: false,
      aborted: false,
      sent,
    };
  },

  init(node) {
    if (node.neighbours.length === 0) {
      // A graph of one node: its MST is empty and there is nobody to talk to.
      finish(node);
      return;
    }
    // (1) Response to spontaneous awakening.
    if (node.params.wakeup === 'all' || node.id === wakeupNode(node)) wakeup(node);
  },

  onMessage(node, { from, payload }) {
    const s = node.state;
    // From a node that joined mid-run: not an edge of the graph GHS runs on (Joins, above).
    if (!s.edges.has(from)) return;
    if (payload.k === 'Abort') {
      if (!s.done) abort(node, from);
      return;
    }
    // An aborted node has stopped: what is still on its way to it changes nothing.
    if (s.aborted) return;
    if (s.done) throw new Error(`GHS: ${payload.k} from ${from} after termination`);
    // (3), (6): a sleeping node wakes before it judges a Connect or a Test.
    if (s.SN === 'Sleeping' && (payload.k === 'Connect' || payload.k === 'Test')) wakeup(node);
    if (!respond(node, from, payload)) s.deferred.push({ from, payload });
    reexamineDeferred(node);
  },

  onNeighbourDown(node) {
    if (!node.state.done) abort(node, null);
  },
});

/** The node to wake under wakeup 'one': the same answer at every node. */
function wakeupNode(node: GhsNode): string {
  const { wakeupNode: chosen, wakeupSeed } = node.params;
  if (chosen !== undefined) {
    const index = Number(chosen);
    if (!Number.isInteger(index) || index < 0 || index >= node.size || String(index) !== chosen) {
      throw new Error(`GHS: wakeupNode "${chosen}" is not a node id (ids are 0..${node.size - 1})`);
    }
    return chosen;
  }
  return String(mix32(wakeupSeed) % node.size);
}

/** Handles one message; false means "place received message on end of queue" (nothing was changed). */
function respond(node: GhsNode, j: string, message: PaperMessage): boolean {
  switch (message.k) {
    case 'Connect':
      return onConnect(node, j, message.L);
    case 'Initiate':
      onInitiate(node, j, message.L, message.F, message.S);
      return true;
    case 'Test':
      return onTest(node, j, message.L, message.F);
    case 'Accept':
      onAccept(node, j);
      return true;
    case 'Reject':
      onReject(node, j);
      return true;
    case 'Report':
      return onReport(node, j, message.w);
    case 'ChangeRoot':
      // (12) Response to receipt of Change-root.
      changeRoot(node);
      return true;
    case 'Done':
      onDone(node, j);
      return true;
  }
}

/**
 * Re-examines the put-aside messages after a state change, in arrival order, until a pass changes nothing.
 * A pass runs only if the version moved since the last one: a deferral condition can only turn true then.
 */
function reexamineDeferred(node: GhsNode): void {
  const s = node.state;
  while (s.deferred.length > 0 && s.version !== s.checkedAt) {
    s.checkedAt = s.version;
    let i = 0;
    while (i < s.deferred.length) {
      // Taken out while it is handled (the handler may finish the node, which wants an empty queue).
      const [{ from, payload }] = s.deferred.splice(i, 1) as [{ from: string; payload: PaperMessage }];
      if (!respond(node, from, payload)) s.deferred.splice(i++, 0, { from, payload });
    }
  }
}

// (2) procedure wakeup
function wakeup(node: GhsNode): void {
  const s = node.state;
  const m = s.byWeight[0]!; // the adjacent edge of minimum weight
  setSE(s, m, 'Branch');
  s.LN = 0;
  s.SN = 'Found';
  s.findCount = 0;
  s.version += 1;
  send(node, m.to, { k: 'Connect', L: 0 });
}

// (3) Response to receipt of Connect(L) on edge j
function onConnect(node: GhsNode, j: string, L: number): boolean {
  const s = node.state;
  const edge = edgeTo(s, j);
  if (L < s.LN) {
    // Absorb the lower-level fragment; it joins the current search if there is one.
    setSE(s, edge, 'Branch');
    send(node, j, { k: 'Initiate', L: s.LN, F: s.FN!, S: s.SN === 'Find' ? 'Find' : 'Found' });
    if (s.SN === 'Find') s.findCount += 1;
    return true;
  }
  if (edge.SE === 'Basic') return false; // place received message on end of queue
  // Both fragments chose j at the same level: merge, j is the new core.
  send(node, j, { k: 'Initiate', L: s.LN + 1, F: edge.key, S: 'Find' });
  return true;
}

// (4) Response to receipt of Initiate(L, F, S) on edge j
function onInitiate(node: GhsNode, j: string, L: number, F: EdgeKey, S: 'Find' | 'Found'): void {
  const s = node.state;
  s.LN = L;
  s.FN = F;
  s.SN = S;
  s.inBranch = j;
  s.bestEdge = null;
  s.bestWt = null;
  s.version += 1;
  for (const edge of s.byWeight) {
    if (edge.to === j || edge.SE !== 'Branch') continue;
    send(node, edge.to, { k: 'Initiate', L, F, S });
    if (S === 'Find') s.findCount += 1;
  }
  if (S === 'Find') test(node);
}

// (5) procedure test
function test(node: GhsNode): void {
  const s = node.state;
  while (s.basicFrom < s.byWeight.length && s.byWeight[s.basicFrom]!.SE !== 'Basic') s.basicFrom += 1;
  const edge = s.byWeight[s.basicFrom];
  if (edge) {
    // The minimum-weight adjacent edge in state Basic.
    s.testEdge = edge.to;
    send(node, edge.to, { k: 'Test', L: s.LN, F: s.FN! });
  } else {
    s.testEdge = null;
    report(node);
  }
}

// (6) Response to receipt of Test(L, F) on edge j
function onTest(node: GhsNode, j: string, L: number, F: EdgeKey): boolean {
  const s = node.state;
  if (L > s.LN) return false; // place received message on end of queue
  if (s.FN === null || !sameKey(F, s.FN)) {
    send(node, j, { k: 'Accept' });
    return true;
  }
  const edge = edgeTo(s, j);
  if (edge.SE === 'Basic') setSE(s, edge, 'Rejected');
  if (s.testEdge !== j) send(node, j, { k: 'Reject' });
  else test(node);
  return true;
}

// (7) Response to receipt of Accept on edge j
function onAccept(node: GhsNode, j: string): void {
  const s = node.state;
  s.testEdge = null;
  const key = edgeTo(s, j).key;
  if (lessThan(key, s.bestWt)) {
    s.bestEdge = j;
    s.bestWt = key;
  }
  report(node);
}

// (8) Response to receipt of Reject on edge j
function onReject(node: GhsNode, j: string): void {
  const s = node.state;
  const edge = edgeTo(s, j);
  if (edge.SE === 'Basic') setSE(s, edge, 'Rejected');
  test(node);
}

// (9) procedure report
function report(node: GhsNode): void {
  const s = node.state;
  if (s.findCount === 0 && s.testEdge === null) {
    s.SN = 'Found';
    s.version += 1;
    send(node, s.inBranch!, { k: 'Report', w: s.bestWt });
  }
}

// (10) Response to receipt of Report(w) on edge j
function onReport(node: GhsNode, j: string, w: EdgeKey | null): boolean {
  const s = node.state;
  if (j !== s.inBranch) {
    s.findCount -= 1;
    if (lessThan(w, s.bestWt)) {
      s.bestWt = w;
      s.bestEdge = j;
    }
    report(node);
    return true;
  }
  if (s.SN === 'Find') return false; // place received message on end of queue
  if (lessThan(s.bestWt, w)) changeRoot(node); // w > best-wt
  else if (w === null && s.bestWt === null) halt(node); // w = best-wt = ∞
  return true;
}

// (11) procedure change-root
function changeRoot(node: GhsNode): void {
  const s = node.state;
  const edge = edgeTo(s, s.bestEdge!);
  if (edge.SE === 'Branch') {
    send(node, edge.to, { k: 'ChangeRoot' });
  } else {
    send(node, edge.to, { k: 'Connect', L: s.LN });
    setSE(s, edge, 'Branch');
  }
}

/** "halt", reached at both core nodes: each tells its side of the tree (the core edge is in-branch). */
function halt(node: GhsNode): void {
  node.log(`halt: the MST is found; core edge to ${node.state.inBranch}, level ${node.state.LN}`);
  broadcastDone(node, node.state.inBranch);
  finish(node);
}

function onDone(node: GhsNode, j: string): void {
  broadcastDone(node, j);
  finish(node);
}

function broadcastDone(node: GhsNode, except: string | null): void {
  for (const edge of node.state.byWeight) {
    if (edge.SE === 'Branch' && edge.to !== except) send(node, edge.to, { k: 'Done' });
  }
}

function finish(node: GhsNode): void {
  const s = node.state;
  if (s.deferred.length > 0) {
    throw new Error(`GHS: terminated with ${s.deferred.length} unanswered message(s), the first a ${s.deferred[0]!.payload.k} from ${s.deferred[0]!.from}`);
  }
  reportResult(node, true);
}

/** A neighbour went down, or an Abort came from `j`: stop, pass Abort on, and report what was built (see Faults). */
function abort(node: GhsNode, j: string | null): void {
  node.state.aborted = true;
  for (const { id } of node.neighbours) if (id !== j) send(node, id, { k: 'Abort' });
  reportResult(node, false);
}

function reportResult(node: GhsNode, terminated: boolean): void {
  const s = node.state;
  s.done = true;
  const branches = s.byWeight
    .filter((edge) => edge.SE === 'Branch')
    .map((edge) => edge.to)
    .sort((a, b) => Number(a) - Number(b));
  let messages = 0;
  for (const kind of KINDS) messages += s.sent[kind];
  node.result({ branches, level: s.LN, messages, sent: { ...s.sent }, terminated });
}

function send(node: GhsNode, to: string, message: GhsMessage): void {
  node.send(to, message);
  const count = (node.state.sent[message.k] += 1);
  node.metric(METRIC_OF[message.k], count);
}

function setSE(s: GhsState, edge: Edge, status: EdgeStatus): void {
  edge.SE = status;
  s.version += 1;
}

function edgeTo(s: GhsState, j: string): Edge {
  const edge = s.edges.get(j);
  if (!edge) throw new Error(`GHS: no edge to ${j}`);
  return edge;
}

function compareKeys(a: EdgeKey, b: EdgeKey): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

function sameKey(a: EdgeKey, b: EdgeKey): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}

/** a < b, where null is ∞. */
function lessThan(a: EdgeKey | null, b: EdgeKey | null): boolean {
  if (a === null) return false;
  if (b === null) return true;
  return compareKeys(a, b) < 0;
}

/** A 32-bit integer hash (murmur3's finaliser): spreads consecutive seeds over the nodes. */
function mix32(seed: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
