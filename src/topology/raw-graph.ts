import { PeerlabError } from '../errors.js';
import type { DraftEdge, NodeAttributes, TopologyDraft } from './types.js';

/** A graph as a file states it: its own ids, any attributes, possibly a multigraph with loops. */
export interface RawGraph {
  nodes: RawNode[];
  edges: RawEdge[];
  directed: boolean;
}

export interface RawNode {
  id: string;
  attributes: Record<string, unknown>;
  line?: number;
}

export interface RawEdge {
  source: string;
  target: string;
  attributes: Record<string, unknown>;
  line?: number;
}

/** The error for anything wrong inside a topology file, located as `file:line:` like a compiler would. */
export function malformed(file: string, message: string, options: { line?: number; hint?: string } = {}): PeerlabError {
  const where = options.line === undefined ? file : `${file}:${options.line}`;
  return new PeerlabError(`${where}: ${message}`, {
    hint: options.hint ?? 'fix the file, or generate a topology instead (e.g. ring:n=10)',
  });
}

/** A number, or a string holding exactly one (files often store numbers as text). */
export function readNumber(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}

const SHOWN = 5;

/** Labels are free text (`Poti, Georgia`), so lists of them quote each one. */
export function quote(label: string | undefined): string {
  return JSON.stringify(label ?? '');
}

/** `a, b, c, d, e, …` — enough to find the culprits without flooding the terminal. */
export function listSome(items: readonly string[]): string {
  return items.slice(0, SHOWN).join(', ') + (items.length > SHOWN ? ', …' : '');
}

/**
 * Turns a file's graph into a simple undirected one numbered 0..n-1. Ids that already are 0..n-1
 * keep their number, anything else is numbered in file order; self-loops are dropped and parallel
 * edges merged into the first, each reported in the notes.
 */
export function normalizeRawGraph(raw: RawGraph, file: string): TopologyDraft {
  const positions = new Map<string, number>();
  for (const node of raw.nodes) {
    if (positions.has(node.id)) throw malformed(file, `node id "${node.id}" is declared twice`, { line: node.line });
    positions.set(node.id, positions.size);
  }
  const n = raw.nodes.length;
  const numbered = raw.nodes.every((node) => /^(0|[1-9]\d*)$/.test(node.id) && Number(node.id) < n);
  const indexOf = (id: string): number => (numbered ? Number(id) : positions.get(id)!);

  const nodes: NodeAttributes[] = new Array<NodeAttributes>(n);
  for (const node of raw.nodes) nodes[indexOf(node.id)] = nodeAttributes(node);
  const label = (index: number): string => quote(nodes[index]!.label);

  const edges: DraftEdge[] = [];
  const seen = new Set<string>();
  const loops: string[] = [];
  const parallel: string[] = [];
  for (const edge of raw.edges) {
    const [source, target] = [edge.source, edge.target].map((id) => {
      if (!positions.has(id)) {
        throw malformed(file, `edge ${edge.source} – ${edge.target} refers to node "${id}", which is not declared`, {
          line: edge.line,
        });
      }
      return indexOf(id);
    }) as [number, number];
    if (source === target) {
      loops.push(label(source));
      continue;
    }
    const pair = source < target ? `${source} ${target}` : `${target} ${source}`;
    if (seen.has(pair)) {
      parallel.push(`${label(source)} – ${label(target)}`);
      continue;
    }
    seen.add(pair);
    edges.push({ source, target, attributes: edge.attributes });
  }

  const notes: string[] = [];
  if (raw.directed) notes.push('read the directed edges as undirected');
  if (!numbered && n > 0) notes.push(`numbered the nodes 0..${n - 1} in file order (labels keep the names)`);
  if (loops.length > 0) notes.push(`dropped ${count(loops.length, 'self-loop')} (at ${listSome(loops)})`);
  if (parallel.length > 0) notes.push(`merged ${count(parallel.length, 'parallel edge')} (kept the first): ${listSome(parallel)}`);
  // Only a partial lack is news: a file without any coordinates is plainly not a map.
  const uncharted = nodes.filter((node) => node.latitude === undefined).map((node) => quote(node.label));
  if (uncharted.length > 0 && uncharted.length < n) {
    notes.push(`${uncharted.length} of ${n} nodes have no coordinates: ${listSome(uncharted)}`);
  }
  return { nodes, edges, notes };
}

export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function nodeAttributes(node: RawNode): NodeAttributes {
  const label = node.attributes['label'];
  const attributes: NodeAttributes = {
    label: typeof label === 'string' || typeof label === 'number' ? String(label) : node.id,
  };
  const latitude = readNumber(attributeIgnoringCase(node.attributes, 'latitude'));
  const longitude = readNumber(attributeIgnoringCase(node.attributes, 'longitude'));
  // A lone latitude or longitude places nothing, so coordinates come in pairs or not at all.
  if (latitude !== undefined && longitude !== undefined) Object.assign(attributes, { latitude, longitude });
  return attributes;
}

function attributeIgnoringCase(attributes: Record<string, unknown>, name: string): unknown {
  const key = Object.keys(attributes).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : attributes[key];
}
