/**
 * `--churn 'join=0.5/s leave=0.2/s crash=0.1/s for=60s'`: nodes joining and leaving during a run, as a plan.
 *
 * Joins, graceful leaves and crashes are three independent Poisson processes of the given rates, drawn from the
 * run's seed, so the same seed gives the same plan in both runtimes. They start at `at=` (default 0s) and last
 * `for=` (default: the run's timeout). A joining node takes the next free id and attaches to `m=` (default 2)
 * distinct members by `attach=`: `ba` (default, preferential attachment: a member is chosen with probability
 * proportional to its degree, as in the BA model the thesis motivates) or `uniform`. A leave is a `stop`
 * (deregisters at once), a crash a `kill` (its lease runs out); the member that goes is drawn uniformly among
 * those present, never the last one.
 *
 * Each new edge is heavier than every edge before it (the heaviest edge of the graph, plus one per edge added), so
 * weights stay distinct wherever they were, as GHS-style algorithms need, and the same plan gives the same
 * weights in both runtimes. churnFaultEvents turns the plan into the FaultEvents both runtimes apply: a join, a
 * stop per leave, a kill per crash.
 */
import type { Topology } from '../topology/index.js';
import { createRandom } from '../util/random.js';
import { PeerlabError } from '../errors.js';
import type { FaultEvent } from './events.js';
import { formatMs, parseDuration } from './spec.js';
import { maxOf } from '../util/extremes.js';
import { compareNodeIds } from '../util/node-ids.js';

export interface ChurnSpec {
  readonly text: string;
  /** Events per second. */
  readonly joinPerS: number;
  readonly leavePerS: number;
  readonly crashPerS: number;
  readonly atMs: number;
  readonly forMs: number | undefined;
  readonly attach: 'ba' | 'uniform';
  /** Edges of each joining node. */
  readonly m: number;
}

export type ChurnEvent =
  | {
      readonly atMs: number;
      readonly kind: 'join';
      readonly node: string;
      readonly attachTo: readonly string[];
      /** The weight of the new edge to each of attachTo, in its order. */
      readonly weights: readonly number[];
    }
  | { readonly atMs: number; readonly kind: 'leave' | 'crash'; readonly node: string };

export interface ChurnPlan {
  readonly spec: string;
  readonly events: readonly ChurnEvent[];
}

export const CHURN_HINT = "write e.g. --churn 'join=0.5/s leave=0.2/s crash=0.1/s for=60s' (also at=, attach=ba|uniform, m=)";

export function parseChurnSpec(text: string): ChurnSpec {
  const fail = (why: string, hint = CHURN_HINT): never => {
    throw new PeerlabError(`--churn "${text}": ${why}`, { hint });
  };
  const settings = new Map<string, string>();
  for (const word of text.trim().split(/\s+/).filter((w) => w !== '')) {
    const equals = word.indexOf('=');
    if (equals <= 0) fail(`"${word}" is not a setting key=value`);
    const key = word.slice(0, equals).toLowerCase();
    if (!['join', 'leave', 'crash', 'for', 'at', 'attach', 'm'].includes(key)) fail(`unknown setting ${key}=`);
    if (settings.has(key)) fail(`${key}= is given twice`);
    settings.set(key, word.slice(equals + 1));
  }
  const rate = (key: string): number => {
    const value = settings.get(key);
    if (value === undefined) return 0;
    const match = /^(\d+(?:\.\d+)?)\/(s|m|min)$/.exec(value);
    if (!match) fail(`${key}=${value} is not a rate`, `write e.g. ${key}=0.5/s or ${key}=3/m`);
    return Number(match![1]) / (match![2] === 's' ? 1 : 60);
  };
  const time = (key: string): number | undefined => {
    const value = settings.get(key);
    return value === undefined ? undefined : parseDuration(value, (why) => fail(`${key}=${value}: ${why}`, 'write a time like 500ms, 2s or 1m'));
  };
  const [joinPerS, leavePerS, crashPerS] = [rate('join'), rate('leave'), rate('crash')];
  if (joinPerS + leavePerS + crashPerS === 0) fail('no rate: nothing would join or leave', 'give join=, leave= or crash=, e.g. join=0.5/s');
  const attach = settings.get('attach') ?? 'ba';
  if (attach !== 'ba' && attach !== 'uniform') fail(`attach=${attach}: expected ba or uniform`);
  const mText = settings.get('m') ?? '2';
  if (!/^\d+$/.test(mText) || Number(mText) < 1) fail(`m=${mText}: expected a whole number of edges ≥ 1`);
  const forMs = time('for');
  if (forMs === 0) fail('for=0 leaves no time for churn', 'give a positive duration');
  return { text, joinPerS, leavePerS, crashPerS, atMs: time('at') ?? 0, forMs, attach: attach as 'ba' | 'uniform', m: Number(mText) };
}

/**
 * The churn plan on `graph`, bounded by the timeout. Membership evolves as the plan goes: a join attaches to
 * members present at that time (by their degree then, for `ba`), and a node that left is never chosen again.
 */
export function planChurn(spec: ChurnSpec, options: { graph: Topology; seed: number | string; timeoutMs: number }): ChurnPlan {
  const { graph, timeoutMs } = options;
  const fail = (why: string, hint: string): never => {
    throw new PeerlabError(`--churn "${spec.text}": ${why}`, { hint });
  };
  if (spec.atMs >= timeoutMs) fail(`at=${formatMs(spec.atMs)} is past the run's timeout (${formatMs(timeoutMs)})`, 'make it earlier, or raise --timeout');
  const end = spec.forMs === undefined ? timeoutMs : spec.atMs + spec.forMs;
  if (end > timeoutMs) fail(`for= runs to ${formatMs(end)}, past the run's timeout (${formatMs(timeoutMs)})`, 'shorten for=, or raise --timeout');
  if (spec.joinPerS > 0 && spec.m > graph.order) fail(`m=${spec.m}: a joining node cannot attach to ${spec.m} of ${graph.order} nodes`, `give m ≤ ${graph.order}`);

  const random = createRandom(options.seed, 'churn');
  const degree = new Map(graph.nodes().map((id) => [id, graph.degree(id)]));
  let nextId = maxOf(graph.nodes().map(Number).filter(Number.isInteger), -1) + 1;
  let heaviest = maxOf(graph.mapEdges((_edge, { weight }) => weight), 0);
  const total = spec.joinPerS + spec.leavePerS + spec.crashPerS;
  const events: ChurnEvent[] = [];
  // The superposition of the three processes: exponential gaps at the total rate, each event's kind drawn by its share.
  for (let t = spec.atMs + exponential(random.next(), total); t < end; t += exponential(random.next(), total)) {
    const atMs = Math.round(t);
    const members = [...degree.keys()].sort(compareNodeIds);
    const draw = random.next() * total;
    if (draw < spec.joinPerS) {
      const node = String(nextId++);
      const attachTo = chooseAttachments(members, degree, spec, random);
      for (const other of attachTo) degree.set(other, degree.get(other)! + 1);
      degree.set(node, attachTo.length);
      events.push({ atMs, kind: 'join', node, attachTo, weights: attachTo.map(() => ++heaviest) });
    } else if (members.length > 1) {
      const node = random.pick(members);
      degree.delete(node);
      events.push({ atMs, kind: draw < spec.joinPerS + spec.leavePerS ? 'leave' : 'crash', node });
    }
  }
  return { spec: spec.text, events };
}

/** Inverse-transform sample of an exponential gap in ms, for a rate per second. */
function exponential(uniform: number, ratePerS: number): number {
  return (-Math.log(1 - uniform) / ratePerS) * 1000;
}

/** m distinct members: by degree (+1, so a member left without edges can still be chosen) for ba, else uniformly. */
function chooseAttachments(members: readonly string[], degree: ReadonlyMap<string, number>, spec: ChurnSpec, random: ReturnType<typeof createRandom>): string[] {
  const candidates = [...members];
  const chosen: string[] = [];
  while (chosen.length < spec.m && candidates.length > 0) {
    let index: number;
    if (spec.attach === 'uniform') index = random.int(candidates.length);
    else {
      const weights = candidates.map((id) => degree.get(id)! + 1);
      let draw = random.next() * weights.reduce((a, b) => a + b, 0);
      index = 0;
      while (draw >= weights[index]! && index < candidates.length - 1) draw -= weights[index++]!;
    }
    chosen.push(candidates.splice(index, 1)[0]!);
  }
  return chosen.sort(compareNodeIds);
}

/** The plan's joins as `join`, leaves as `stop` and crashes as `kill`, numbered as fault `fault` (after the `--fault`s). */
export function churnFaultEvents(plan: ChurnPlan, fault: number): FaultEvent[] {
  return plan.events.map((event): FaultEvent => {
    const common = { atMs: event.atMs, nodes: [event.node], edges: [], fault, spec: `churn ${event.kind}: ${plan.spec}` };
    if (event.kind !== 'join') return { ...common, action: event.kind === 'leave' ? 'stop' : 'kill' };
    return { ...common, action: 'join', attach: event.attachTo.map((id, i) => ({ id, weight: event.weights[i]! })) };
  });
}
