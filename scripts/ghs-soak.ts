/**
 * GHS soak: seeded random cases (topology family and size, weights with or without ties, wakeup mode, and an
 * adversarial delay model), each run in the simulator and required to end with every node reporting and the
 * oracle passing (exactly the Kruskal MST). A stalled run (nothing left to happen, some node without a result)
 * is a deadlock. test/unit/ghs-soak.test.ts runs a CI-sized share of these cases; this file is also a CLI for
 * long soaks. tsx is not installed, so bundle it with esbuild first (externals resolve from node_modules):
 *
 *   npx esbuild scripts/ghs-soak.ts --bundle --platform=node --format=esm --packages=external \
 *     --alias:peerlab=./src/sdk/index.ts --outfile=node_modules/.cache/peerlab/ghs-soak.mjs
 *   node node_modules/.cache/peerlab/ghs-soak.mjs --cases 100000 [--first 0] [--workers 2] [--max-nodes 300]
 *
 * It prints progress to stderr and a JSON summary to stdout (cases, by family / delay / weights / wakeup,
 * largest graph, failures with their seeds, messages against 5·N·log2(N) + 2·E). Case `seed` is replayable:
 * `--first SEED --cases 1`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import ghs from '../algorithms/ghs.js';
import { simulate } from '../src/runtime/sim/simulate.js';
import { constantDelay, exponentialDelay, uniformDelay, weightDelay, type DelayContext, type DelayModel } from '../src/runtime/sim/delay.js';
import type { Json } from '../src/sdk/types.js';
import { loadTopology, type Topology } from '../src/topology/index.js';
import { createRandom, hashSeed, type Random } from '../src/util/random.js';
import { verifyGhs } from '../src/verify/ghs.js';
import { ZOO_DIR } from '../test/zoo.js';

const ZOO_MAPS = ['Nordu1989', 'Abilene', 'Internet2', 'Arpanet19728', 'Bics', 'Geant2012', 'Uninett2011', 'GtsCe'] as const;

export type Family = 'ba' | 'er' | 'grid' | 'ring' | 'complete' | 'tree' | 'ws' | 'star' | 'line' | 'torus' | 'zoo';
export type Weights = 'unique' | 'uniform' | `ties:${number}`;

/** Everything about one case, derived from its seed alone. */
export interface SoakCase {
  readonly seed: number;
  readonly family: Family;
  /** A generator spec or a zoo file path. */
  readonly spec: string;
  readonly weights: Weights;
  readonly delay: string;
  readonly wakeup: 'one' | 'all';
  /** With wakeup 'one'; chosen once the graph is known (its order). */
  readonly wakeupPick: number;
}

export interface CaseOutcome {
  readonly case: SoakCase;
  readonly ok: boolean;
  /** 'complete', or what went wrong: stalled (deadlock), failure, timeout, event-cap, oracle, bound. */
  readonly reason: string;
  readonly detail: string | undefined;
  readonly nodes: number;
  readonly edges: number;
  readonly messages: number;
  readonly ghsMessages: number;
  readonly bound: number;
  readonly boundRatio: number;
  readonly maxLevel: number;
  readonly wallMs: number;
}

export interface PlanOptions {
  /** Largest graph to draw (default 300). */
  readonly maxNodes?: number;
  /** Share of cases drawn large (81..maxNodes nodes); default 0.08. */
  readonly largeShare?: number;
}

/** One line naming a case, for test titles and failure lists. */
export function describeCase(c: SoakCase): string {
  const topology = c.family === 'zoo' ? `zoo:${path.basename(c.spec, '.graphml')}` : c.spec;
  return `seed ${c.seed}: ${topology} weights=${c.weights} delay=${c.delay} wakeup=${c.wakeup}`;
}

/** The case of a seed: mostly small graphs, some medium, a few up to maxNodes. */
export function planCase(seed: number, options: PlanOptions = {}): SoakCase {
  const random = createRandom(seed, 'ghs-soak');
  const maxNodes = Math.max(2, options.maxNodes ?? 300);
  const largeShare = options.largeShare ?? 0.08;
  const roll = random.next();
  const n =
    roll < largeShare && maxNodes > 80
      ? between(random, 81, maxNodes)
      : roll < largeShare + 0.22 && maxNodes > 20
        ? between(random, 21, Math.min(80, maxNodes))
        : between(random, 2, Math.min(20, maxNodes));

  const families: Family[] = ['ba', 'ba', 'er', 'er', 'grid', 'ring', 'complete', 'tree', 'ws', 'star', 'line', 'torus'];
  families.push('zoo', 'zoo');
  const family = random.pick(families);
  const spec = topologySpec(family, n, random);

  const weightRoll = random.next();
  const weights: Weights =
    weightRoll < 0.55 ? 'unique' : weightRoll < 0.7 ? 'uniform' : `ties:${random.pick([1, 2, 3, 5, 10])}`;
  return {
    seed,
    family,
    spec,
    weights,
    delay: random.pick(DELAY_MODELS),
    wakeup: random.next() < 0.6 ? 'one' : 'all',
    wakeupPick: random.int(1_000_000),
  };
}

function topologySpec(family: Family, n: number, random: Random): string {
  switch (family) {
    case 'ba':
      return n < 3 ? `ba:n=${n},m=1` : `ba:n=${n},m=${between(random, 1, Math.min(3, n - 1))}`;
    case 'er': {
      // Around the connectivity threshold: sometimes disconnected, which GHS handles as a forest with wakeup 'all'.
      const p = Math.min(1, (Math.log(Math.max(n, 2)) * (0.8 + 1.7 * random.next())) / Math.max(n - 1, 1));
      return `er:n=${n},p=${p.toFixed(4)}`;
    }
    case 'grid': {
      const rows = between(random, 1, Math.max(1, Math.floor(Math.sqrt(n))));
      return `grid:rows=${rows},cols=${Math.max(2, Math.floor(n / rows))}`;
    }
    case 'ring':
      return `ring:n=${Math.max(3, n)}`;
    case 'complete':
      return `complete:n=${Math.min(n, 40)}`;
    case 'tree': {
      const r = between(random, 1, 4);
      let h = 0;
      while (treeOrder(r, h + 1) <= Math.max(n, 2)) h += 1;
      return `tree:r=${r},h=${Math.max(1, h)}`;
    }
    case 'ws': {
      const size = Math.max(5, n);
      const k = 2 * between(random, Math.min(2, Math.floor((size - 1) / 2)), Math.min(3, Math.floor((size - 1) / 2)));
      return `ws:n=${size},k=${k},p=${(random.next() * 0.5).toFixed(3)}`;
    }
    case 'star':
      return `star:n=${n}`;
    case 'line':
      return `line:n=${n}`;
    case 'torus': {
      const rows = between(random, 3, Math.max(3, Math.floor(Math.sqrt(n))));
      return `torus:rows=${rows},cols=${Math.max(3, Math.floor(n / rows))}`;
    }
    case 'zoo':
      return path.join(ZOO_DIR, `${random.pick(ZOO_MAPS)}.graphml`);
  }
}

const treeOrder = (r: number, h: number): number => (r === 1 ? h + 1 : (r ** (h + 1) - 1) / (r - 1));
const between = (random: Random, low: number, high: number): number => low + random.int(Math.max(1, high - low + 1));

/**
 * Delay models, all random and seeded (the simulator hands each a per-sender stream), from benign to hostile.
 * FIFO per edge is kept by the simulator; everything else is fair game.
 */
export const DELAY_MODELS = [
  'constant:1',
  'constant:0',
  'uniform:0..1',
  'uniform:0.1..10',
  'exp:1',
  'weight',
  'pareto:0.6',
  'pareto:1.1',
  'pareto:2.5',
  'lognormal:2.5',
  'bimodal:0.05',
  'edge-skew',
  'kind-skew',
  'starve',
  'reverse',
] as const;

/** A delay model by its label; `salt` (the case seed) fixes the per-case choices of the skewed models. */
export function delayModel(label: string, salt: number): DelayModel {
  const [kind, argument] = label.split(':') as [string, string | undefined];
  const value = Number(argument);
  switch (kind) {
    case 'constant':
      return constantDelay(value);
    case 'uniform': {
      const [low, high] = argument!.split('..').map(Number) as [number, number];
      return uniformDelay(low, high);
    }
    case 'exp':
      return exponentialDelay(1);
    case 'weight':
      return weightDelay(1);
    case 'pareto':
      // Heavy-tailed: infinite mean for α < 1, infinite variance for α < 2.
      return custom(label, ({ random }) => pareto(random.next(), value));
    case 'lognormal':
      return custom(label, ({ random }) => Math.exp(value * gaussian(random)));
    case 'bimodal':
      // Mostly prompt, now and then a thousand times slower.
      return custom(label, ({ random }) => (random.next() < value ? 1000 : 1) * random.next());
    case 'edge-skew':
      // Each directed edge gets its own heavy-tailed speed for the whole run, times exponential jitter.
      return custom(label, ({ from, to, random }) => pareto(unit(salt, 'edge', from, to), 0.8) * -Math.log(1 - random.next()));
    case 'kind-skew': {
      // Each message kind gets a speed for the run: e.g. Initiates crawl while Tests and Connects race ahead.
      return custom(label, ({ payload, random }) => {
        const type = payload.slice(6, payload.indexOf('"', 6));
        return 10 ** (4 * unit(salt, 'kind', type) - 2) * -Math.log(1 - random.next());
      });
    }
    case 'starve': {
      // Everything to and from a few nodes (by id hash) is very slow.
      return custom(label, ({ from, to, random }) => {
        const slow = unit(salt, 'node', from) < 0.15 || unit(salt, 'node', to) < 0.15;
        return (slow ? 500 : 1) * random.next();
      });
    }
    case 'reverse':
      // The later a message is sent, the sooner it arrives (across edges; FIFO still holds per edge).
      return custom(label, ({ now, random }) => Math.max(0, 1000 - 10 * now) + random.next());
    default:
      throw new Error(`unknown delay model ${label}`);
  }
}

function custom(spec: string, delay: (context: DelayContext) => number): DelayModel {
  return { spec, delay: (context) => Math.min(delay(context), 1e9) };
}

const pareto = (u: number, alpha: number): number => (1 - u) ** (-1 / alpha) - 1 + 1e-6;
const unit = (...parts: Array<string | number>): number => (hashSeed(...parts) >>> 0) / 2 ** 32;
function gaussian(random: Random): number {
  const u = 1 - random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.next());
}

/** The graph of a case, with tied integer weights written over the generated ones for `ties:k`. */
export async function caseGraph(c: SoakCase): Promise<Topology> {
  const { graph } = await loadTopology(c.spec, {
    seed: c.seed,
    weights: c.weights === 'uniform' ? 'uniform:1..100' : 'unique',
    // ER near its threshold and rewired WS can come out disconnected: GHS then builds a spanning forest.
    allowDisconnected: true,
  });
  if (c.weights.startsWith('ties:')) {
    const k = Number(c.weights.slice('ties:'.length));
    const random = createRandom(c.seed, 'ghs-soak-ties');
    graph.forEachEdge((edge) => graph.setEdgeAttribute(edge, 'weight', 1 + random.int(k)));
  }
  return graph;
}

const isConnected = (graph: Topology): boolean => {
  if (graph.order === 0) return true;
  const seen = new Set<string>([graph.nodes()[0]!]);
  const stack = [graph.nodes()[0]!];
  while (stack.length > 0) {
    for (const next of graph.neighbors(stack.pop()!)) {
      if (!seen.has(next)) {
        seen.add(next);
        stack.push(next);
      }
    }
  }
  return seen.size === graph.order;
};

/** Runs one case; never throws for a GHS failure (it is in the outcome), only for a broken harness. */
export async function runCase(c: SoakCase): Promise<CaseOutcome> {
  const graph = await caseGraph(c);
  // A disconnected graph has a spanning forest, which GHS builds only if every component wakes.
  const wakeup = isConnected(graph) ? c.wakeup : 'all';
  const params: Json = wakeup === 'one' ? { wakeup, wakeupNode: String(c.wakeupPick % graph.order) } : { wakeup };
  const N = graph.order;
  const E = graph.size;
  const bound = N > 1 ? 5 * N * Math.log2(N) + 2 * E : 0;
  const began = performance.now();
  const outcome = await simulate({
    graph,
    algorithm: ghs,
    params,
    seed: c.seed,
    maxPayloadBytes: 4096,
    delay: delayModel(c.delay, c.seed),
    fifo: true,
    timeoutMs: 1e15,
    // GHS sends at most 5N·log2N + 2E messages, plus n − 2 Done: far more events than that is a livelock.
    maxEvents: Math.ceil(4 * (bound + N)) + 1000,
  });
  const wallMs = performance.now() - began;
  const base = { case: { ...c, wakeup }, nodes: N, edges: E, bound, wallMs };
  const none = { messages: outcome.messages, ghsMessages: 0, boundRatio: 0, maxLevel: 0 };
  if (outcome.endReason !== 'complete') {
    const detail =
      outcome.failure !== undefined
        ? `node ${outcome.failure.nodeId}: ${outcome.failure.message}`
        : `${outcome.missing.length} node(s) without a result (e.g. ${outcome.missing.slice(0, 5).join(', ')}) after ${outcome.events} events`;
    return { ...base, ...none, ok: false, reason: outcome.endReason, detail };
  }
  const verdict = verifyGhs({ graph, results: outcome.results, params: params as Record<string, unknown> });
  const m = verdict.metrics;
  const counted = {
    messages: outcome.messages,
    ghsMessages: m['ghsMessages'] ?? 0,
    boundRatio: m['boundRatio'] ?? 0,
    maxLevel: m['maxLevel'] ?? 0,
  };
  if (!verdict.passed) return { ...base, ...counted, ok: false, reason: 'oracle', detail: verdict.failures.join('; ') };
  if (m['messages'] !== outcome.messages) {
    return { ...base, ...counted, ok: false, reason: 'count', detail: `nodes counted ${m['messages']} sends, the simulator ${outcome.messages}` };
  }
  if (counted.boundRatio > 1) {
    return { ...base, ...counted, ok: false, reason: 'bound', detail: `${counted.ghsMessages} messages > 5N·log2N + 2E = ${bound.toFixed(1)}` };
  }
  return { ...base, ...counted, ok: true, reason: 'complete', detail: undefined };
}

// ---------------------------------------------------------------------------------------------------------
// CLI

interface Tally {
  cases: number;
  failed: number;
}

export interface SoakSummary {
  cases: number;
  passed: number;
  failed: number;
  firstSeed: number;
  wallSeconds: number;
  maxNodes: number;
  maxEdges: number;
  maxMessages: number;
  boundRatio: { max: number; maxCase: string | null; mean: number };
  maxLevel: number;
  byFamily: Record<string, Tally>;
  byDelay: Record<string, Tally>;
  byWeights: Record<string, Tally>;
  byWakeup: Record<string, Tally>;
  bySize: Record<string, Tally>;
  failures: Array<{ seed: number; case: string; reason: string; detail: string | undefined }>;
}

export function summarise(outcomes: readonly CaseOutcome[], firstSeed: number, wallSeconds: number): SoakSummary {
  const summary: SoakSummary = {
    cases: outcomes.length,
    passed: 0,
    failed: 0,
    firstSeed,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    maxNodes: 0,
    maxEdges: 0,
    maxMessages: 0,
    boundRatio: { max: 0, maxCase: null, mean: 0 },
    maxLevel: 0,
    byFamily: {},
    byDelay: {},
    byWeights: {},
    byWakeup: {},
    bySize: {},
    failures: [],
  };
  let ratioSum = 0;
  const count = (table: Record<string, Tally>, key: string, ok: boolean): void => {
    const tally = (table[key] ??= { cases: 0, failed: 0 });
    tally.cases += 1;
    if (!ok) tally.failed += 1;
  };
  for (const o of outcomes) {
    if (o.ok) summary.passed += 1;
    else {
      summary.failed += 1;
      if (summary.failures.length < 100) summary.failures.push({ seed: o.case.seed, case: describeCase(o.case), reason: o.reason, detail: o.detail });
    }
    summary.maxNodes = Math.max(summary.maxNodes, o.nodes);
    summary.maxEdges = Math.max(summary.maxEdges, o.edges);
    summary.maxMessages = Math.max(summary.maxMessages, o.messages);
    summary.maxLevel = Math.max(summary.maxLevel, o.maxLevel);
    ratioSum += o.boundRatio;
    if (o.boundRatio > summary.boundRatio.max) {
      summary.boundRatio.max = o.boundRatio;
      summary.boundRatio.maxCase = `${describeCase(o.case)} (${o.ghsMessages} of ${o.bound.toFixed(1)})`;
    }
    count(summary.byFamily, o.case.family, o.ok);
    count(summary.byDelay, o.case.delay, o.ok);
    count(summary.byWeights, o.case.weights.startsWith('ties') ? 'ties' : o.case.weights, o.ok);
    count(summary.byWakeup, o.case.wakeup, o.ok);
    count(summary.bySize, o.nodes <= 20 ? '2-20' : o.nodes <= 80 ? '21-80' : '81+', o.ok);
  }
  summary.boundRatio.mean = outcomes.length > 0 ? ratioSum / outcomes.length : 0;
  summary.boundRatio.max = Math.round(summary.boundRatio.max * 1e4) / 1e4;
  summary.boundRatio.mean = Math.round(summary.boundRatio.mean * 1e4) / 1e4;
  return summary;
}

interface WorkerJob {
  readonly ghsSoak: true;
  readonly seeds: readonly number[];
  readonly plan: PlanOptions;
}

async function runSeeds(seeds: readonly number[], plan: PlanOptions, each: (outcome: CaseOutcome) => void): Promise<void> {
  for (const seed of seeds) each(await runCase(planCase(seed, plan)));
}

async function main(argv: readonly string[]): Promise<void> {
  const option = (name: string, fallback: number): number => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return fallback;
    const value = Number(argv[index + 1]);
    if (!Number.isFinite(value)) throw new Error(`--${name} needs a number`);
    return value;
  };
  const cases = option('cases', 10_000);
  const first = option('first', 0);
  const workers = Math.max(1, option('workers', 2));
  const plan: PlanOptions = { maxNodes: option('max-nodes', 300), largeShare: option('large-share', 0.08) };
  const seeds = Array.from({ length: cases }, (_, i) => first + i);
  const outcomes: CaseOutcome[] = [];
  const began = performance.now();
  let lastPrint = 0;
  const record = (outcome: CaseOutcome): void => {
    outcomes.push(outcome);
    if (!outcome.ok) process.stderr.write(`FAIL ${describeCase(outcome.case)}: ${outcome.reason} ${outcome.detail ?? ''}\n`);
    const now = performance.now();
    if (now - lastPrint > 2000 || outcomes.length === cases) {
      lastPrint = now;
      const failed = outcomes.filter((o) => !o.ok).length;
      process.stderr.write(`${outcomes.length}/${cases} cases, ${failed} failed, ${((now - began) / 1000).toFixed(0)} s\n`);
    }
  };

  if (workers === 1) {
    await runSeeds(seeds, plan, record);
  } else {
    const file = fileURLToPath(import.meta.url);
    await Promise.all(
      Array.from({ length: workers }, (_, w) => {
        const share = seeds.filter((_, i) => i % workers === w);
        return new Promise<void>((resolve, reject) => {
          const job: WorkerJob = { ghsSoak: true, seeds: share, plan };
          const worker = new Worker(file, { workerData: job });
          worker.on('message', (outcome: CaseOutcome) => record(outcome));
          worker.on('error', reject);
          worker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${w} exited with ${code}`))));
        });
      }),
    );
  }
  outcomes.sort((a, b) => a.case.seed - b.case.seed);
  const summary = summarise(outcomes, first, (performance.now() - began) / 1000);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exitCode = summary.failed === 0 ? 0 : 1;
}

const job = isMainThread ? undefined : (workerData as Partial<WorkerJob> | undefined);
if (job?.ghsSoak) {
  await runSeeds(job.seeds ?? [], job.plan ?? {}, (outcome) => parentPort!.postMessage(outcome));
} else if (isMainThread && process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
