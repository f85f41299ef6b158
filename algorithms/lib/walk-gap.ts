/**
 * The spectral gap of the lazy random walk on a graph: 1 − λ₂ of P = (I + D⁻¹A) / 2, the walk that stays put
 * with probability ½ and otherwise moves to a uniformly random neighbour. Gossip averaging on a graph is
 * ε-close to the mean after about log(n/ε) / gap rounds (Boyd, Ghosh, Prabhakar & Shah, "Randomized gossip
 * algorithms", IEEE Trans. Inf. Theory 2006); the gap is large on expanders and tiny on long chains.
 *
 * Computed by power iteration, hand-written: npm has no well-kept sparse eigensolver (the matrix packages are
 * dense, n² memory, useless at 10⁵ nodes), and a power iteration is a few lines. It runs on the symmetric
 * form S = D^½ P D^-½ = (I + D^-½ A D^-½) / 2, which has P's eigenvalues, all in [0, 1] (the walk is lazy, so
 * no eigenvalue is near −1 to be mistaken for λ₂). Its top eigenvector, for λ₁ = 1, is √d (the walk's
 * stationary distribution, d / 2m, in this basis): projecting it out of every iterate (deflation) makes the
 * iteration converge to λ₂ instead. The Rayleigh quotient xᵀSx of the iterate approaches λ₂ from below, so
 * an iteration stopped early overstates the gap; it stops when a step moves the gap by less than 0.1 % (on a
 * 20-node ring the result is then 0.5 % above the exact gap), or after MAX_ITERATIONS, so on a graph whose gap
 * is below ~1 / MAX_ITERATIONS (a ring of thousands) the result is an upper bound of the gap. Cost: one pass
 * over the edges per iteration, O(n + m) memory; ~90 iterations on Barabási–Albert graphs, 0.6 s at 10⁵ nodes
 * (m=2), a fifth of the 2.8 s it takes to generate that graph.
 */
import type { GraphDefaultsInput } from 'peerlab';

type Topology = GraphDefaultsInput['graph'];

const MAX_ITERATIONS = 3000;
const RELATIVE_STEP = 1e-3;

/**
 * The smallest gap among the graph's connected components of two nodes or more (on a disconnected graph each
 * component averages on its own, and the slowest one decides); 1 when the graph has no edge.
 *
 * One iteration serves every component at once: deflating each component's own top eigenvector leaves the
 * largest λ₂ of any component as the largest eigenvalue of the whole, that is the smallest gap.
 */
export function lazyWalkGap(graph: Topology): number {
  if (graph.size === 0) return 1;
  const { start, adjacent } = adjacencyRows(graph);
  const n = graph.order;
  const component = components(start, adjacent);
  const inverseRoot = new Float64Array(n); // 0 for an isolated node: its walk never moves
  const top = new Float64Array(n); // √d, normalised within each component
  for (let i = 0; i < n; i++) {
    const degree = start[i + 1]! - start[i]!;
    inverseRoot[i] = degree === 0 ? 0 : 1 / Math.sqrt(degree);
    top[i] = Math.sqrt(degree);
  }
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[component[i]!] = norms[component[i]!]! + top[i]! * top[i]!;
  for (let i = 0; i < n; i++) top[i] = norms[component[i]!] === 0 ? 1 : top[i]! / Math.sqrt(norms[component[i]!]!);
  const deflate = (x: Float64Array): void => {
    const along = new Float64Array(n);
    for (let i = 0; i < n; i++) along[component[i]!] = along[component[i]!]! + x[i]! * top[i]!;
    for (let i = 0; i < n; i++) x[i] = x[i]! - along[component[i]!]! * top[i]!;
  };

  // A fixed, irregular start (not Math.random): the same graph always gets the same gap, so the same default.
  let x = new Float64Array(n).map((_, i) => (Math.sin(12.9898 * (i + 1)) * 43758.5453) % 1);
  let y = new Float64Array(n);
  const scaled = new Float64Array(n);
  deflate(x);
  normalise(x);
  let gap = 1;
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    for (let i = 0; i < n; i++) scaled[i] = x[i]! * inverseRoot[i]!;
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let k = start[i]!; k < start[i + 1]!; k++) sum += scaled[adjacent[k]!]!;
      y[i] = (x[i]! + sum * inverseRoot[i]!) / 2;
    }
    const next = 1 - dot(x, y); // 1 − the Rayleigh quotient (x is a unit vector)
    deflate(y); // rounding lets the top eigenvectors creep back in
    normalise(y);
    [x, y] = [y, x];
    const settled = gap - next < RELATIVE_STEP * next;
    gap = next;
    if (settled) break;
  }
  return gap;
}

/**
 * The adjacency in compressed sparse rows, nodes numbered in graph order: the iteration's inner loop then
 * reads only typed arrays. Built from one pass over the edges, several times faster than asking graphology
 * for each node's neighbours at 10⁵ nodes; a self-loop is left out (gossip never sends to itself).
 */
function adjacencyRows(graph: Topology): { start: Int32Array; adjacent: Int32Array } {
  const index = new Map<string, number>();
  graph.forEachNode((id) => void index.set(id, index.size));
  const ends = new Int32Array(2 * graph.size);
  const start = new Int32Array(graph.order + 1);
  let edges = 0;
  graph.forEachEdge((_edge, _attributes, source, target) => {
    if (source === target) return;
    const a = index.get(source)!;
    const b = index.get(target)!;
    ends[edges++] = a;
    ends[edges++] = b;
    start[a + 1]!++;
    start[b + 1]!++;
  });
  for (let i = 0; i < graph.order; i++) start[i + 1] = start[i + 1]! + start[i]!;
  const filled = start.slice(0, graph.order);
  const adjacent = new Int32Array(edges);
  for (let e = 0; e < edges; e += 2) {
    adjacent[filled[ends[e]!]!++] = ends[e + 1]!;
    adjacent[filled[ends[e + 1]!]!++] = ends[e]!;
  }
  return { start, adjacent };
}

/**
 * Each node's component number, by breadth-first search on the rows just built (graphology-components would
 * walk the graph's objects again, the slowest part of this at 10⁵ nodes).
 */
function components(start: Int32Array, adjacent: Int32Array): Int32Array {
  const n = start.length - 1;
  const component = new Int32Array(n).fill(-1);
  const queue = new Int32Array(n);
  let count = 0;
  for (let root = 0; root < n; root++) {
    if (component[root] !== -1) continue;
    component[root] = count;
    let head = 0;
    let tail = 0;
    queue[tail++] = root;
    while (head < tail) {
      const i = queue[head++]!;
      for (let k = start[i]!; k < start[i + 1]!; k++) {
        if (component[adjacent[k]!] === -1) {
          component[adjacent[k]!] = count;
          queue[tail++] = adjacent[k]!;
        }
      }
    }
    count++;
  }
  return component;
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

function normalise(x: Float64Array): void {
  const norm = Math.sqrt(dot(x, x));
  for (let i = 0; i < x.length; i++) x[i] = x[i]! / norm;
}
