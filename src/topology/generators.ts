import { PeerlabError } from '../errors.js';
import { createRandom, type Random } from '../util/random.js';
import { describeModel, parseGeneratorSpec, type ModelSyntax } from './spec.js';
import type { TopologyDraft } from './types.js';

/*
 * Written here rather than taken from graphology-generators, on purpose: a seed must give the same graph in
 * every peerlab version (results/ and experiments replay by seed), with edges built as plain pairs so that
 * 100,000-node specs are refused or built before any graph object exists; and graphology-generators has no
 * ER G(n,m), grid, torus, tree or line models and a different Barabási–Albert start (no m+1 star).
 */
type Edge = [number, number];

interface Model<P> extends ModelSyntax {
  /** A message when the parameters are individually valid but do not fit together. */
  check?(p: P): string | undefined;
  order(p: P): number;
  /** Edge count (expected, for random models), to refuse a runaway spec before building it. */
  size(p: P): number;
  edges(p: P, random: Random): Edge[];
}

// The simulator's scale (10⁶ nodes, as PeerSim runs), with room for denser graphs; refused beyond, where a typo
// (an extra zero) would otherwise spend minutes and gigabytes before anything ran.
const MAX_NODES = 2_000_000;
const MAX_EDGES = 10_000_000;

/** The parser has checked that every non-optional parameter is present, which P relies on. */
function model<P>(definition: Model<P>): Model<Record<string, number | undefined>> {
  return definition as unknown as Model<Record<string, number | undefined>>;
}

const pairs = (n: number): number => (n * (n - 1)) / 2;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const MODELS: Record<string, Model<Record<string, number | undefined>>> = {
  ba: model<{ n: number; m: number }>({
    params: { n: { kind: 'integer', min: 2 }, m: { kind: 'integer', min: 1 } },
    example: 'ba:n=100,m=2',
    check: ({ n, m }) => (m < n ? undefined : `ba needs m < n (got n=${n}, m=${m})`),
    order: ({ n }) => n,
    size: ({ n, m }) => m * (n - m),
    edges: ({ n, m }, random) => barabasiAlbert(n, m, random),
  }),
  er: model<{ n: number; p?: number; m?: number }>({
    params: {
      n: { kind: 'integer', min: 1 },
      p: { kind: 'probability', optional: true },
      m: { kind: 'integer', min: 0, optional: true },
    },
    example: 'er:n=50,p=0.1 or er:n=50,m=120',
    check: ({ n, p, m }) => {
      if ((p === undefined) === (m === undefined)) return 'er needs exactly one of p (G(n,p)) or m (G(n,m))';
      if (m !== undefined && m > pairs(n)) return `er needs m ≤ n(n−1)/2 = ${pairs(n)} (got n=${n}, m=${m})`;
      return undefined;
    },
    order: ({ n }) => n,
    size: ({ n, p, m }) => m ?? p! * pairs(n),
    edges: ({ n, p, m }, random) => (m === undefined ? gnp(n, p!, random) : gnm(n, m, random)),
  }),
  ws: model<{ n: number; k: number; p: number }>({
    params: { n: { kind: 'integer', min: 3 }, k: { kind: 'integer', min: 2 }, p: { kind: 'probability' } },
    example: 'ws:n=100,k=4,p=0.1',
    check: ({ n, k }) => (k % 2 === 0 && k < n ? undefined : `ws needs an even k < n (got n=${n}, k=${k})`),
    order: ({ n }) => n,
    size: ({ n, k }) => (n * k) / 2,
    edges: ({ n, k, p }, random) => wattsStrogatz(n, k, p, random),
  }),
  ring: model<{ n: number }>({
    params: { n: { kind: 'integer', min: 3 } },
    example: 'ring:n=10',
    order: ({ n }) => n,
    size: ({ n }) => n,
    edges: ({ n }) => range(n).map((i) => [i, (i + 1) % n]),
  }),
  line: model<{ n: number }>({
    params: { n: { kind: 'integer', min: 1 } },
    example: 'line:n=10',
    order: ({ n }) => n,
    size: ({ n }) => n - 1,
    edges: ({ n }) => range(n - 1).map((i) => [i, i + 1]),
  }),
  grid: model<{ rows: number; cols: number }>({
    params: { rows: { kind: 'integer', min: 1 }, cols: { kind: 'integer', min: 1 } },
    example: 'grid:rows=4,cols=5',
    order: ({ rows, cols }) => rows * cols,
    size: ({ rows, cols }) => rows * (cols - 1) + cols * (rows - 1),
    edges: ({ rows, cols }) => lattice(rows, cols, false),
  }),
  torus: model<{ rows: number; cols: number }>({
    // Below 3 the wrap-around edges would double up existing ones or loop back to the same node.
    params: { rows: { kind: 'integer', min: 3 }, cols: { kind: 'integer', min: 3 } },
    example: 'torus:rows=4,cols=5',
    order: ({ rows, cols }) => rows * cols,
    size: ({ rows, cols }) => 2 * rows * cols,
    edges: ({ rows, cols }) => lattice(rows, cols, true),
  }),
  star: model<{ n: number }>({
    params: { n: { kind: 'integer', min: 1 } },
    example: 'star:n=10',
    order: ({ n }) => n,
    size: ({ n }) => n - 1,
    edges: ({ n }) => range(n - 1).map((i) => [0, i + 1]),
  }),
  complete: model<{ n: number }>({
    params: { n: { kind: 'integer', min: 1 } },
    example: 'complete:n=8',
    order: ({ n }) => n,
    size: ({ n }) => pairs(n),
    edges: ({ n }) => range(n).flatMap((j) => range(j).map((i): Edge => [i, j])),
  }),
  tree: model<{ r: number; h: number }>({
    params: { r: { kind: 'integer', min: 1 }, h: { kind: 'integer', min: 0 } },
    example: 'tree:r=2,h=4',
    order: treeOrder,
    size: (p) => treeOrder(p) - 1,
    // Breadth-first numbering: node i's parent is ⌊(i−1)/r⌋.
    edges: (p) => range(treeOrder(p) - 1).map((i): Edge => [Math.floor(i / p.r), i + 1]),
  }),
};

export const GENERATOR_MODELS: readonly string[] = Object.keys(MODELS);

export function generateTopology(spec: string, seed: number | string): TopologyDraft {
  const { model: name, params } = parseGeneratorSpec(spec, MODELS);
  const definition = MODELS[name]!;
  const hint = describeModel(name, definition);
  const problem = definition.check?.(params);
  if (problem) throw new PeerlabError(`${problem} in topology "${spec}"`, { hint });

  const order = definition.order(params);
  const size = definition.size(params);
  if (order > MAX_NODES || size > MAX_EDGES) {
    throw new PeerlabError(`topology "${spec}" is too large: ${order} nodes, ~${Math.round(size)} edges`, {
      hint: `peerlab generates at most ${MAX_NODES} nodes and ${MAX_EDGES} edges`,
    });
  }

  const edges = definition.edges(params, createRandom(seed, 'topology', name));
  return {
    nodes: range(order).map((i) => ({ label: String(i) })),
    edges: edges.map(([source, target]) => ({ source, target, attributes: {} })),
    notes: [],
  };
}

function treeOrder({ r, h }: { r: number; h: number }): number {
  return r === 1 ? h + 1 : (r ** (h + 1) - 1) / (r - 1);
}

/**
 * Starts from a star on nodes 0..m (centre 0); every later node attaches to m distinct earlier
 * nodes. `ends` lists each edge's two endpoints, so a uniform pick from it is a degree-weighted pick.
 */
function barabasiAlbert(n: number, m: number, random: Random): Edge[] {
  const edges: Edge[] = [];
  const ends: number[] = [];
  const connect = (u: number, v: number): void => {
    edges.push([u, v]);
    ends.push(u, v);
  };
  for (let v = 1; v <= m; v++) connect(0, v);
  for (let v = m + 1; v < n; v++) {
    const targets = new Set<number>();
    while (targets.size < m) targets.add(random.pick(ends));
    for (const target of targets) connect(target, v);
  }
  return edges;
}

/**
 * G(n,p) by geometric skips over the pair sequence (Batagelj & Brandes), so a sparse graph costs
 * O(n + m) random draws instead of one per pair.
 */
function gnp(n: number, p: number, random: Random): Edge[] {
  if (p === 0) return [];
  const edges: Edge[] = [];
  const logQ = Math.log(1 - p);
  let v = 1;
  let w = -1;
  while (v < n) {
    w += 1 + (p === 1 ? 0 : Math.floor(Math.log(1 - random.next()) / logQ));
    while (w >= v && v < n) {
      w -= v;
      v++;
    }
    if (v < n) edges.push([w, v]);
  }
  return edges;
}

/** G(n,m): Floyd's sampling of m distinct indices into the pair sequence, then decoding each index. */
function gnm(n: number, m: number, random: Random): Edge[] {
  const total = pairs(n);
  const chosen = new Set<number>();
  for (let j = total - m; j < total; j++) {
    const t = random.int(j + 1);
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((a, b) => a - b).map(pairAt);
}

/** The index-th pair (i, j), i < j, in the order (0,1), (0,2), (1,2), (0,3), … */
function pairAt(index: number): Edge {
  let j = Math.floor((1 + Math.sqrt(1 + 8 * index)) / 2);
  // The square root can land one off for large indices.
  while (pairs(j) > index) j--;
  while (pairs(j + 1) <= index) j++;
  return [index - pairs(j), j];
}

/**
 * Ring lattice of k nearest neighbours; then, lap by lap outwards, each edge (u, u+j) is moved with
 * probability p to (u, w), w uniform among the nodes u is not yet adjacent to.
 */
function wattsStrogatz(n: number, k: number, p: number, random: Random): Edge[] {
  const neighbours = range(n).map(() => new Set<number>());
  const edges = new Map<number, Edge>();
  const key = (u: number, v: number): number => Math.min(u, v) * n + Math.max(u, v);
  const add = (u: number, v: number): void => {
    neighbours[u]!.add(v);
    neighbours[v]!.add(u);
    edges.set(key(u, v), [u, v]);
  };
  for (let j = 1; j <= k / 2; j++) for (let u = 0; u < n; u++) add(u, (u + j) % n);

  for (let j = 1; j <= k / 2; j++) {
    for (let u = 0; u < n; u++) {
      if (random.next() >= p || neighbours[u]!.size >= n - 1) continue;
      let w: number;
      do w = random.int(n);
      while (w === u || neighbours[u]!.has(w));
      const v = (u + j) % n;
      neighbours[u]!.delete(v);
      neighbours[v]!.delete(u);
      edges.delete(key(u, v));
      add(u, w);
    }
  }
  return [...edges.values()];
}

/** Node r·cols+c; edges to the right and downwards, wrapping around on a torus. */
function lattice(rows: number, cols: number, wrap: boolean): Edge[] {
  const edges: Edge[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const node = r * cols + c;
      if (c + 1 < cols || wrap) edges.push([node, r * cols + ((c + 1) % cols)]);
      if (r + 1 < rows || wrap) edges.push([node, ((r + 1) % rows) * cols + c]);
    }
  }
  return edges;
}
