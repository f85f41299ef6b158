/**
 * `--links` specs and the quantities in them. A spec is a comma-separated list of a source and settings:
 *
 *   geo[:HOP]          delay from great-circle distance at 2/3 c, plus HOP per edge (default 1ms)
 *   weight[:SCALE]     delay = the edge weight × SCALE, in ms (default 1)
 *   none               no shaping, even where the file gives link attributes
 *   delay=D jitter=D loss=D rate=D queue=N
 *                      D is a value (40ms, 0.5%, 10mbit) or uniform:LOW..HIGH drawn once per edge from the
 *                      run seed; jitter=exp:2ms draws each message's jitter from an exponential of mean 2 ms
 *                      instead of uniformly in [−2, +2] ms.
 *
 * Settings override the source; the source overrides the file's own attributes (see plan.ts).
 */
import { PeerlabError } from '../errors.js';
import { haversineKm } from '../topology/weights.js';
import type { JitterDistribution } from './model.js';

export type Quantity = 'delay' | 'jitter' | 'loss' | 'rate' | 'queue';

/** A value for every edge, or one drawn per edge. */
export type Distribution = { readonly kind: 'constant'; readonly value: number } | { readonly kind: 'uniform'; readonly low: number; readonly high: number };

export type LinkSource =
  | { readonly kind: 'file' }
  | { readonly kind: 'none' }
  | { readonly kind: 'geo'; readonly hopMs: number }
  | { readonly kind: 'weight'; readonly scale: number };

export interface LinkSpec {
  /** As the user wrote it: what run.json records and a replay passes back. */
  readonly text: string;
  readonly source: LinkSource;
  readonly settings: Partial<Record<Quantity, Distribution>>;
  readonly jitterDistribution: JitterDistribution | undefined;
}

export const LINKS_HINT =
  "write e.g. --links geo, --links weight:0.5, or --links 'delay=uniform:5..80ms,jitter=2ms,loss=0.5%,rate=10mbit' (settings: delay, jitter, loss, rate, queue)";

/** The default geo per-hop constant: switching and serialisation in the routers at each end of a WAN link. */
export const GEO_HOP_MS = 1;
/** Light in fibre: 2/3 c ≈ 199,862 km/s, i.e. about 200 km per ms. */
export const FIBRE_KM_PER_MS = 299_792.458 / 1000 / 1.5;

/** The `geo` delay between two placed points, in ms: light in fibre over their great-circle distance, plus `hopMs`. */
export function geoDelayMs(a: { readonly latitude?: number; readonly longitude?: number }, b: { readonly latitude?: number; readonly longitude?: number }, hopMs = GEO_HOP_MS): number {
  return haversineKm(a, b) / FIBRE_KM_PER_MS + hopMs;
}

export function parseLinkSpec(text: string): LinkSpec {
  const bad = (why: string): PeerlabError => new PeerlabError(`--links "${text}": ${why}`, { hint: LINKS_HINT });
  let source: LinkSource = { kind: 'file' };
  const settings: Partial<Record<Quantity, Distribution>> = {};
  let jitterDistribution: JitterDistribution | undefined;
  const items = text.split(',').map((item) => item.trim());
  if (items.every((item) => item === '')) throw bad('the spec is empty');
  for (const item of items) {
    if (item === '') throw bad('it has an empty item (two commas in a row?)');
    const equals = item.indexOf('=');
    if (equals < 0) {
      if (source.kind !== 'file') throw bad(`"${item}" is a second source after ${source.kind}`);
      source = parseSource(item, bad);
      continue;
    }
    const key = item.slice(0, equals).trim().toLowerCase() as Quantity;
    let value = item.slice(equals + 1).trim();
    if (!QUANTITIES.includes(key)) throw bad(`unknown setting "${item.slice(0, equals)}"`);
    if (settings[key]) throw bad(`${key} is given twice`);
    if (key === 'jitter' && /^exp(onential)?:/i.test(value)) {
      jitterDistribution = 'exponential';
      value = value.slice(value.indexOf(':') + 1);
    }
    try {
      settings[key] = parseDistribution(key, value);
    } catch (error) {
      if (error instanceof QuantityError) throw bad(`${key}=${value}: ${error.message}`);
      throw error;
    }
  }
  if (source.kind === 'none' && Object.keys(settings).length > 0) throw bad('"none" turns shaping off and cannot take settings');
  return { text, source, settings, jitterDistribution };
}

const QUANTITIES: readonly Quantity[] = ['delay', 'jitter', 'loss', 'rate', 'queue'];

function parseSource(item: string, bad: (why: string) => PeerlabError): LinkSource {
  const [kind, argument, ...rest] = item.split(':');
  if (rest.length > 0) throw bad(`"${item}" has too many ":"`);
  switch (kind!.toLowerCase()) {
    case 'none':
      if (argument !== undefined) throw bad('"none" takes no argument');
      return { kind: 'none' };
    case 'geo':
      try {
        return { kind: 'geo', hopMs: argument === undefined ? GEO_HOP_MS : parseQuantity('delay', argument) };
      } catch (error) {
        if (error instanceof QuantityError) throw bad(`geo:${argument}: the per-hop constant ${error.message}`);
        throw error;
      }
    case 'weight': {
      const scale = argument === undefined ? 1 : Number(argument);
      if (argument !== undefined && (argument.trim() === '' || !Number.isFinite(scale) || scale < 0)) {
        throw bad(`the scale "${argument}" is not a number ≥ 0 (milliseconds per unit of weight)`);
      }
      return { kind: 'weight', scale };
    }
    default:
      throw bad(`unknown source "${item}" (sources: geo[:HOP], weight[:SCALE], none)`);
  }
}

/** An error in one quantity, which the caller places (a flag, a file's edge). */
export class QuantityError extends Error {}

function parseDistribution(key: Quantity, value: string): Distribution {
  const uniform = /^uniform:(.*)\.\.(.*)$/i.exec(value);
  if (!uniform) return { kind: 'constant', value: parseQuantity(key, value) };
  // The unit may be written once, after the upper bound: uniform:5..80ms.
  const unit = /[a-z%µ]+$/i.exec(uniform[2]!.trim())?.[0] ?? '';
  const lowText = /[a-z%µ]$/i.test(uniform[1]!.trim()) ? uniform[1]! : `${uniform[1]!.trim()}${unit}`;
  const low = parseQuantity(key, lowText);
  const high = parseQuantity(key, uniform[2]!);
  if (high < low) throw new QuantityError(`the upper bound is below the lower one`);
  return { kind: 'uniform', low, high };
}

const TIME_UNITS: Record<string, number> = { us: 0.001, µs: 0.001, ms: 1, s: 1000 };
const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/**
 * One value in the unit peerlab keeps (ms, percent, bit/s, packets). A bare number is milliseconds, percent or
 * bit/s. A space before the unit is accepted (Shadow writes `latency "50 ms"`). tc's `bps` means bytes per
 * second and is too easily read as bits, so rates are refused in it.
 */
export function parseQuantity(key: Quantity, text: string | number): number {
  const raw = String(text).trim();
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)\s*([a-zµ%]*)$/i.exec(raw);
  if (!match) throw new QuantityError(`"${raw}" is not a number with a unit`);
  const number = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  if (number < 0) throw new QuantityError(`"${raw}" is negative`);
  const scaled = (units: Record<string, number>, what: string): number => {
    if (unit === '') return number;
    const factor = units[unit];
    if (factor === undefined) throw new QuantityError(`"${unit}" is not a unit of ${what} (use ${Object.keys(units).join(', ')})`);
    return number * factor;
  };
  switch (key) {
    case 'delay':
    case 'jitter':
      return scaled(TIME_UNITS, 'time');
    case 'loss':
      if (unit !== '' && unit !== '%') throw new QuantityError(`loss is a percentage, e.g. 0.5%`);
      if (number > 100) throw new QuantityError(`"${raw}" is above 100%`);
      return number;
    case 'rate':
      if (/bps$/.test(unit)) throw new QuantityError(`"${unit}" is ambiguous (tc reads it as bytes per second): write kbit, mbit or gbit`);
      if (number === 0) throw new QuantityError('a rate of 0 carries nothing (leave rate out for an unlimited link)');
      return scaled(RATE_UNITS, 'rate');
    case 'queue':
      if (unit !== '' && unit !== 'p' && unit !== 'packets') throw new QuantityError('a queue is a number of packets');
      if (!Number.isInteger(number) || number < 1) throw new QuantityError(`"${raw}" is not a whole number of packets ≥ 1`);
      return number;
  }
}

/**
 * parseQuantity for a value given on the command line: a bad one is refused in one line that begins with `what`
 * (the flag and its value, as the user wrote them) and says why.
 */
export function flagQuantity(what: string, key: Quantity, text: string, hint: string): number {
  try {
    return parseQuantity(key, text);
  } catch (error) {
    if (error instanceof QuantityError) throw new PeerlabError(`${what}: ${error.message}`, { hint });
    throw error;
  }
}

/** How a rate reads back: 10mbit, 1.5gbit, 64kbit. */
export function formatRate(bps: number | null): string {
  if (bps === null) return 'unlimited';
  for (const [unit, factor] of [['gbit', 1e9], ['mbit', 1e6], ['kbit', 1e3]] as const) if (bps >= factor) return `${+(bps / factor).toFixed(3)}${unit}`;
  return `${bps}bit`;
}
