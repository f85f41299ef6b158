import { PeerlabError } from '../errors.js';
import { createRandom } from '../util/random.js';
import { listSome, quote, readNumber } from './raw-graph.js';
import type { NodeAttributes, TopologyDraft } from './types.js';

const MODES_HINT = 'use one of unique, uniform:a..b (e.g. uniform:1..10), geo, attr:NAME';
const EARTH_RADIUS_KM = 6371;

export interface ChosenWeights {
  /** One per draft edge, in draft order. */
  weights: number[];
  notes: string[];
}

/**
 * The weight of every edge under `mode` (see TopologyOptions.weights). `spec` only names the
 * topology in error messages.
 */
export function chooseWeights(draft: TopologyDraft, mode: string | undefined, seed: number | string, spec: string): ChosenWeights {
  const random = createRandom(seed, 'topology-weights');
  const E = draft.edges.length;

  if (mode === undefined) {
    const stored = draft.edges.map((edge) => readNumber(edge.attributes['weight']));
    if (E > 0 && stored.every((weight) => weight !== undefined)) {
      return { weights: stored as number[], notes: ['kept the weight attribute of the file (pass --weights to choose others)'] };
    }
    mode = 'unique';
  }
  // A permutation of 1..E: distinct, as GHS-style algorithms need, and small enough to read.
  if (mode === 'unique') return { weights: random.shuffle(Array.from({ length: E }, (_, i) => i + 1)), notes: [] };
  if (mode === 'geo') return { weights: geoWeights(draft, spec), notes: [] };
  if (mode.startsWith('uniform:')) {
    const [low, high] = parseRange(mode);
    return { weights: draft.edges.map(() => low + (high - low) * random.next()), notes: [] };
  }
  if (mode.startsWith('attr:') && mode.length > 'attr:'.length) return { weights: attributeWeights(draft, mode.slice(5), spec), notes: [] };
  throw new PeerlabError(`unknown weight mode "${mode}"`, { hint: MODES_HINT });
}

function parseRange(mode: string): [number, number] {
  const bounds = mode.slice('uniform:'.length).split('..');
  const [low, high] = bounds.map((bound) => (bound.trim() === '' ? NaN : Number(bound)));
  if (bounds.length !== 2 || !Number.isFinite(low) || !Number.isFinite(high) || low! >= high!) {
    throw new PeerlabError(`weight mode "${mode}" needs two numbers a < b as uniform:a..b`, { hint: 'e.g. --weights uniform:1..10' });
  }
  return [low!, high!];
}

function geoWeights(draft: TopologyDraft, spec: string): number[] {
  const uncharted = draft.nodes.filter((node) => node.latitude === undefined || node.longitude === undefined);
  if (uncharted.length > 0) {
    throw new PeerlabError(
      `--weights geo needs coordinates, but ${uncharted.length} of ${draft.nodes.length} nodes of "${spec}" have none: ${listSome(uncharted.map((node) => quote(node.label)))}`,
      { hint: 'use --weights unique, or give every node Latitude and Longitude' },
    );
  }
  return draft.edges.map((edge) => haversineKm(draft.nodes[edge.source]!, draft.nodes[edge.target]!));
}

/** Great-circle distance on a sphere of the Earth's mean radius. */
export function haversineKm(a: NodeAttributes, b: NodeAttributes): number {
  const radians = (degrees: number): number => (degrees * Math.PI) / 180;
  const [lat1, lat2] = [radians(a.latitude!), radians(b.latitude!)];
  const dLat = lat2 - lat1;
  const dLon = radians(b.longitude! - a.longitude!);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1) * Math.cos(lat2) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

function attributeWeights(draft: TopologyDraft, name: string, spec: string): number[] {
  return draft.edges.map((edge, index) => {
    const weight = readNumber(edge.attributes[name]);
    if (weight !== undefined) return weight;
    const numeric = Object.keys(edge.attributes).filter((key) => readNumber(edge.attributes[key]) !== undefined);
    const ends = `${quote(draft.nodes[edge.source]!.label)} – ${quote(draft.nodes[edge.target]!.label)}`;
    throw new PeerlabError(`edge ${index} (${ends}) of "${spec}" has no numeric attribute "${name}"`, {
      hint:
        numeric.length > 0
          ? `its numeric attributes are ${numeric.join(', ')}`
          : 'that edge carries no numeric attributes; use --weights unique',
    });
  });
}
