/**
 * What every edge of a topology is given, from the `--links` spec, the file's own edge attributes, or both:
 * settings in the spec override its source (geo, weight), which overrides the file's attributes. Values drawn
 * from a distribution are drawn once per undirected edge, in edge order, from the run seed, and both directions
 * get them: a physical link's propagation is the same both ways. A file makes a link asymmetric with
 * `<name>_reverse` attributes (see REVERSE_SUFFIX); a run changes one direction with `link set --oneway`.
 */
import { PeerlabError } from '../errors.js';
import { listSome, quote, readNumber } from '../topology/raw-graph.js';
import type { TopologyDraft } from '../topology/types.js';
import { createRandom, type Random } from '../util/random.js';
import { UNSHAPED, type EdgeLink, type LinkParams } from './model.js';
import { geoDelayMs, parseLinkSpec, parseQuantity, QuantityError, type Distribution, type LinkSpec, type Quantity } from './spec.js';

export interface LinkPlan {
  /** One per draft edge, in draft order; undefined when no edge is shaped (no spec, no link attributes). */
  readonly links: EdgeLink[] | undefined;
  readonly notes: string[];
}

/**
 * The suffix of an attribute that gives the edge's other direction, target → source (`delay_reverse`,
 * `latency_reverse`, `rate_reverse`, …); the name without it gives source → target, and both directions when no
 * reverse is given. Shadow's GML has no per-direction names (a directed Shadow graph has one edge per direction).
 */
export const REVERSE_SUFFIX = '_reverse';

/**
 * File attribute names, case-insensitive, per quantity. `latency` and `packet_loss` are the Shadow simulator's
 * GML names; `packet_loss` is a fraction (0.01), peerlab's `loss` a percentage (1 or "1%").
 */
const FILE_NAMES: Record<Quantity, readonly string[]> = {
  delay: ['delay', 'latency'],
  jitter: ['jitter'],
  loss: ['loss', 'packet_loss'],
  rate: ['rate', 'bandwidth'],
  queue: ['queue'],
};

/** Every attribute name fileLink reads, lower case, both directions. */
const LINK_ATTRIBUTES = new Set(Object.values(FILE_NAMES).flatMap((names) => names.flatMap((base) => [base, base + REVERSE_SUFFIX])));

export function planLinks(draft: TopologyDraft, weights: readonly number[], specText: string | undefined, seed: number | string, name: string): LinkPlan {
  const spec = specText === undefined ? undefined : parseLinkSpec(specText);
  if (spec?.source.kind === 'none') return { links: undefined, notes: ['--links none: no edge is shaped'] };
  const fromFile = draft.edges.map((edge, index) => fileLink(draft, index, edge.attributes, name));
  const fileShaped = fromFile.filter((link) => link !== undefined).length;
  if (spec === undefined && fileShaped === 0) return { links: undefined, notes: [] };

  const notes: string[] = [];
  if (fileShaped > 0) {
    const unshaped = draft.edges.length - fileShaped;
    notes.push(`links: ${fileShaped} edge(s) take delay/jitter/loss/rate from the file${unshaped > 0 ? `; ${unshaped} without them are unshaped` : ''}`);
  }
  const asymmetric = fromFile.filter((link) => link !== undefined && link.forward !== link.backward).length;
  if (asymmetric > 0) notes.push(`links: ${asymmetric} edge(s) are asymmetric in the file (attributes ending in ${REVERSE_SUFFIX} give target → source)`);
  const sourceDelay = spec ? sourceDelays(spec, draft, weights, name, notes) : undefined;
  const random = createRandom(seed, 'links');
  const links = draft.edges.map((_edge, index): EdgeLink => {
    const file = fromFile[index] ?? { forward: UNSHAPED, backward: UNSHAPED };
    // One draw per undirected edge: the spec's values replace the file's in both directions alike.
    const values = spec ? drawSettings(spec, random) : undefined;
    const shape = (params: LinkParams): LinkParams => {
      const placed = sourceDelay ? { ...params, delayMs: sourceDelay[index]! } : params;
      return values ? applySettings(placed, spec!, values) : placed;
    };
    return { forward: shape(file.forward), backward: shape(file.backward) };
  });
  return { links, notes };
}

type SettingValues = Record<Quantity, number | undefined>;

function drawSettings(spec: LinkSpec, random: Random): SettingValues {
  const { delay, jitter, loss, rate, queue } = spec.settings;
  // Drawn in a fixed order whether or not each is given, so adding one setting does not reshuffle the others.
  const draw = (distribution: Distribution | undefined): number | undefined => {
    const u = random.next();
    if (!distribution) return undefined;
    return distribution.kind === 'constant' ? distribution.value : distribution.low + (distribution.high - distribution.low) * u;
  };
  return { delay: draw(delay), jitter: draw(jitter), loss: draw(loss), rate: draw(rate), queue: draw(queue) };
}

function applySettings(params: LinkParams, spec: LinkSpec, values: SettingValues): LinkParams {
  return {
    delayMs: values.delay ?? params.delayMs,
    jitterMs: values.jitter ?? params.jitterMs,
    jitterDistribution: spec.jitterDistribution ?? params.jitterDistribution,
    lossPercent: values.loss ?? params.lossPercent,
    rateBps: values.rate === undefined ? params.rateBps : Math.round(values.rate),
    queuePackets: values.queue === undefined ? params.queuePackets : Math.round(values.queue),
  };
}

/** The delay per edge the spec's source gives (geo, weight), or undefined when it names none. */
function sourceDelays(spec: LinkSpec, draft: TopologyDraft, weights: readonly number[], name: string, notes: string[]): number[] | undefined {
  const { source } = spec;
  if (source.kind === 'weight') return weights.map((weight) => weight * source.scale);
  if (source.kind !== 'geo') return undefined;
  const placed = (index: number): boolean => draft.nodes[index]!.latitude !== undefined && draft.nodes[index]!.longitude !== undefined;
  const charted = draft.edges.map((edge) => placed(edge.source) && placed(edge.target));
  if (!charted.some(Boolean)) {
    throw new PeerlabError(`--links geo needs node coordinates, but "${name}" has no edge with both ends placed`, {
      hint: 'give its nodes Latitude and Longitude, or use --links weight or --links delay=…',
    });
  }
  const delays = draft.edges.map((edge, index) =>
    charted[index] ? geoDelayMs(draft.nodes[edge.source]!, draft.nodes[edge.target]!, source.hopMs) : NaN,
  );
  const known = delays.filter((delay) => !Number.isNaN(delay));
  const mean = known.reduce((sum, delay) => sum + delay, 0) / known.length;
  const uncharted = draft.nodes.map((node, index) => (placed(index) ? undefined : quote(node.label))).filter((label) => label !== undefined);
  if (uncharted.length > 0) {
    notes.push(
      `links geo: ${uncharted.length} node(s) have no coordinates (${listSome(uncharted)}); their ${delays.length - known.length} edge(s) get the mean geo delay of the others, ${mean.toFixed(2)} ms`,
    );
  }
  return delays.map((delay) => (Number.isNaN(delay) ? mean : delay));
}

/** The link an edge's own attributes give, both directions, or undefined when it has none of the names. */
function fileLink(draft: TopologyDraft, index: number, attributes: Record<string, unknown>, name: string): EdgeLink | undefined {
  // At once for an edge without link attributes (every generated one): the lookups below, per edge, were a quarter
  // of a 3·10⁵-node topology's preparation.
  if (!Object.keys(attributes).some((key) => LINK_ATTRIBUTES.has(key.toLowerCase()))) return undefined;
  const lower = new Map(Object.entries(attributes).map(([key, value]) => [key.toLowerCase(), [key, value] as const]));
  let found = false;
  let reversed = false;
  const read = (quantity: Quantity, suffix: string): number | undefined => {
    for (const attribute of FILE_NAMES[quantity].map((base) => base + suffix)) {
      const entry = lower.get(attribute);
      if (entry === undefined || entry[1] === null || entry[1] === '') continue;
      found = true;
      if (suffix) reversed = true;
      try {
        const value = readNumber(entry[1]) ?? parseQuantity(quantity, String(entry[1]));
        if (value < 0) throw new QuantityError(`"${entry[1]}" is negative`);
        // Shadow's packet_loss is a fraction of 1.
        if (attribute.startsWith('packet_loss')) {
          if (value > 1) throw new QuantityError(`"${entry[1]}" is above 1 (packet_loss is a fraction; loss is a percentage)`);
          return value * 100;
        }
        return quantity === 'loss' || quantity === 'rate' || quantity === 'queue' ? parseQuantity(quantity, value) : value;
      } catch (error) {
        if (!(error instanceof QuantityError)) throw error;
        const edge = draft.edges[index]!;
        const ends = `${quote(draft.nodes[edge.source]!.label)} – ${quote(draft.nodes[edge.target]!.label)}`;
        throw new PeerlabError(`${name}: edge ${index} (${ends}): ${entry[0]} ${error.message}`, {
          hint: `give ${entry[0]} as a number ≥ 0 (ms, percent, bit/s) or with a unit (40ms, 1%, 10mbit), or override it with --links`,
        });
      }
    }
    return undefined;
  };
  const direction = (suffix: string, fallback?: Record<Quantity, number | undefined>): Record<Quantity, number | undefined> => {
    const value = (quantity: Quantity) => read(quantity, suffix) ?? fallback?.[quantity];
    return { delay: value('delay'), jitter: value('jitter'), loss: value('loss'), rate: value('rate'), queue: value('queue') };
  };
  const forward = direction('');
  const backward = direction(REVERSE_SUFFIX, forward);
  if (!found) return undefined;
  const params = (values: Record<Quantity, number | undefined>): LinkParams => ({
    delayMs: values.delay ?? 0,
    jitterMs: values.jitter ?? 0,
    jitterDistribution: 'uniform',
    lossPercent: values.loss ?? 0,
    rateBps: values.rate === undefined ? null : Math.round(values.rate),
    queuePackets: values.queue === undefined ? null : Math.round(values.queue),
  });
  const there = params(forward);
  return { forward: there, backward: reversed ? params(backward) : there };
}
