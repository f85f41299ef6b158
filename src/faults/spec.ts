/**
 * `--fault` specs: what to do, to what (a selector in graph terms) and when. A spec is words separated by spaces,
 * in any order:
 *
 *   at=T          when the first occurrence fires (default 0s); T is 500ms, 2s, 1.5m, …
 *   ACTION        kill | stop | pause | restart | migrate | skew | partition | cut | flap | degrade | drop-messages:P%
 *   SELECTOR      nodes: top-degree:K, top-betweenness:K, random:K, random:P%, ids:1,2,… (K may be 0, the
 *                 baseline of a sweep: the fault then hits nothing and makes no event),
 *                 region:LAT1,LON1,LAT2,LON2, role:NAME, leader[:NAME]
 *                 edges: mincut:K, bridges, random-edges:P%, heavier-than:W, edges:1-2,3-4, high-risk:FOLDER
 *   for=D         pause, skew, partition, cut: heal (resume, clock right, links up) D after each occurrence;
 *                 flap: how long the link keeps flapping (default: until the timeout)
 *   every=P       repeat the occurrence every P (flap: the period, down for P/2 then up for P/2)
 *   until=T       when a repetition stops (default: the run's timeout)
 *   oneway        partition, cut, flap, degrade, drop-messages: only the direction from → to is hit
 *   delay=D jitter=D loss=P rate=R
 *                 degrade: what the links change to (as in --links: 100ms, exp:2ms, 1%, 10mbit); what is not
 *                 named stays as the run gave it; for=D restores the run's own link after D
 *   drop-messages:P%  the receiver drops P % of the messages on the links (a seeded draw per message); for=D ends it
 *   offset=±D rate=R
 *                 skew: the nodes' clocks jump by D (+500ms ahead, -200ms behind) and run R times as fast (1.05:
 *                 5 % fast; default 1); for=D sets them right again. What that means for now() and for timers
 *                 already pending is in src/host/node-clock.ts. rate= is a clock rate for skew, a link rate
 *                 (10mbit) for degrade.
 *
 * kill, stop, restart and migrate act on nodes and have nothing to heal; partition, cut, flap and degrade act on edges, or on the
 * edges between the selected nodes and the rest. Parsing only checks the words: the selectors are resolved
 * against the graph in selectors.ts, and the times against the timeout in schedule.ts. Errors are one line
 * naming the fault by its number and text (see faultError).
 *
 * A small hand-written grammar rather than zod: the words come in any order and each error must name the word
 * and suggest the nearest valid one, which a schema's issues do not give.
 */
import { PeerlabError } from '../errors.js';
import { nearMiss } from '../util/did-you-mean.js';
import type { ClockSkew } from '../host/node-clock.js';
import type { LinkChange } from '../links/model.js';
import { parseQuantity, QuantityError } from '../links/spec.js';

export const NODE_ACTIONS = ['kill', 'stop', 'pause', 'restart', 'skew', 'migrate'] as const;
export const EDGE_ACTIONS = ['partition', 'cut', 'flap', 'degrade', 'drop-messages'] as const;

export type FaultVerb = (typeof NODE_ACTIONS)[number] | (typeof EDGE_ACTIONS)[number];

export type NodeSelector =
  | { readonly kind: 'top-degree'; readonly count: number }
  | { readonly kind: 'top-betweenness'; readonly count: number }
  | { readonly kind: 'random'; readonly count: number }
  | { readonly kind: 'random-share'; readonly percent: number }
  | { readonly kind: 'ids'; readonly ids: readonly string[] }
  | { readonly kind: 'region'; readonly lat1: number; readonly lon1: number; readonly lat2: number; readonly lon2: number }
  | { readonly kind: 'role'; readonly role: string }
  /** Whoever holds the election when the fault fires: resolved by the runtime, not here. */
  | { readonly kind: 'leader'; readonly election: string };

export type EdgeSelector =
  | { readonly kind: 'mincut'; readonly parts: number }
  | { readonly kind: 'bridges' }
  | { readonly kind: 'random-edges'; readonly percent: number }
  | { readonly kind: 'heavier-than'; readonly weight: number }
  | { readonly kind: 'edges'; readonly pairs: ReadonlyArray<readonly [string, string]> }
  | { readonly kind: 'high-risk'; readonly folder: string };

export type Selector = NodeSelector | EdgeSelector;

export interface FaultSpec {
  /** Its number among the faults (1-based, as the user counts them): FaultEvent.fault names it. */
  readonly index: number;
  /** How errors name it: `--fault 2` on the command line, `fault 2` in an experiment file. */
  readonly name: string;
  /** As the user wrote it. */
  readonly text: string;
  readonly verb: FaultVerb;
  readonly selector: Selector;
  readonly atMs: number;
  readonly forMs: number | undefined;
  readonly everyMs: number | undefined;
  readonly untilMs: number | undefined;
  readonly oneway: boolean;
  /** degrade: what the links change to; undefined for every other action. */
  readonly link: LinkChange | undefined;
  /** drop-messages: the share of messages dropped, in percent; undefined for every other action. */
  readonly dropPercent: number | undefined;
  /** skew: how the nodes' clocks run off; undefined for every other action. */
  readonly skew: ClockSkew | undefined;
}

/** The election a bare `leader` names. */
export const DEFAULT_ELECTION = 'leader';

const NODE_SELECTORS = ['top-degree', 'top-betweenness', 'random', 'ids', 'region', 'role', 'leader'] as const;
const EDGE_SELECTORS = ['mincut', 'bridges', 'random-edges', 'heavier-than', 'edges', 'high-risk'] as const;
const KEYS = ['at', 'for', 'every', 'until'] as const;
/** skew's settings; `rate` is shared with degrade, and read as the action says. */
const SKEW_KEYS = ['offset', 'rate'] as const;
/** degrade's settings, named as in --links. */
const LINK_KEYS = ['delay', 'jitter', 'loss', 'rate'] as const;
const WORDS = [...NODE_ACTIONS, ...EDGE_ACTIONS, ...NODE_SELECTORS, ...EDGE_SELECTORS, 'oneway'];

export const FAULT_HINT = "write e.g. --fault 'at=2s kill top-degree:5' or --fault 'at=5s partition mincut:2 for=20s'";

/** The one line of every fault error: `--fault 2 "at=5s kill top-degre:5": unknown selector top-degre — did you mean top-degree?`. */
export function faultError(fault: { readonly name: string; readonly text: string }, why: string, hint: string = FAULT_HINT): PeerlabError {
  return new PeerlabError(`${fault.name} "${fault.text}": ${why}`, { hint });
}

/** How a fault is named on the command line. */
export const flagName = (index: number): string => `--fault ${index}`;

/** `did you mean X?` when `word` is a near miss of a known word, else the general hint. */
function nearest(word: string, known: readonly string[], otherwise: string): string {
  const match = nearMiss(word, known);
  return match ? `did you mean ${match}?` : otherwise;
}

/** Parses each `--fault` (numbered from 1 in the given order); `nameOf` names them in errors. */
export function parseFaultSpecs(texts: readonly string[], nameOf: (index: number) => string = flagName): FaultSpec[] {
  return texts.map((text, position) => parseFaultSpec(text, position + 1, nameOf(position + 1)));
}

export function parseFaultSpec(text: string, index: number, name: string = flagName(index)): FaultSpec {
  const fault = { name, text };
  const fail = (why: string, hint?: string): never => {
    throw faultError(fault, why, hint);
  };
  const words = text.trim().split(/\s+/).filter((word) => word !== '');
  if (words.length === 0) fail('the fault is empty');
  const times: Partial<Record<(typeof KEYS)[number], number>> = {};
  let verb: FaultVerb | undefined;
  let selector: Selector | undefined;
  let oneway = false;
  let link: LinkChange | undefined;
  let dropPercent: number | undefined;
  // offset= and rate= are read once the action is known: rate= means a clock rate for skew, a link rate for degrade.
  const skewWords: Partial<Record<(typeof SKEW_KEYS)[number], string>> = {};
  for (const word of words) {
    const equals = word.indexOf('=');
    if (equals > 0) {
      const key = word.slice(0, equals).toLowerCase();
      if ((SKEW_KEYS as readonly string[]).includes(key)) {
        if (skewWords[key as (typeof SKEW_KEYS)[number]] !== undefined) fail(`${key}= is given twice`);
        skewWords[key as (typeof SKEW_KEYS)[number]] = word.slice(equals + 1);
        continue;
      }
      if ((LINK_KEYS as readonly string[]).includes(key)) {
        link = parseLinkSetting(key as (typeof LINK_KEYS)[number], word.slice(equals + 1), link, fail);
        continue;
      }
      if (!(KEYS as readonly string[]).includes(key)) fail(`unknown setting ${key}=`, nearest(key, [...KEYS, ...LINK_KEYS, ...SKEW_KEYS], 'the settings are at=, for=, every=, until= (and delay=, jitter=, loss=, rate= for degrade; offset=, rate= for skew)'));
      const known = key as (typeof KEYS)[number];
      if (times[known] !== undefined) fail(`${key}= is given twice`);
      times[known] = parseDuration(word.slice(equals + 1), (why) => fail(`${key}=${word.slice(equals + 1)}: ${why}`, 'write a time like 500ms, 2s or 1m'));
      continue;
    }
    const lower = word.toLowerCase();
    if (lower === 'oneway') {
      oneway = true;
      continue;
    }
    if (lower === 'drop-messages' || lower.startsWith('drop-messages:')) {
      if (verb) fail(`a second action drop-messages after ${verb}`, 'give one action per --fault (repeat --fault for more)');
      const share = /^drop-messages:(\d+(?:\.\d+)?)%$/.exec(lower);
      if (!share || Number(share[1]) <= 0 || Number(share[1]) > 100) fail(`${word}: drop-messages needs a share in (0%, 100%]`, "write e.g. 'at=2s drop-messages:5% edges:1-2 for=3s'");
      verb = 'drop-messages';
      dropPercent = Number(share![1]);
      continue;
    }
    if (([...NODE_ACTIONS, ...EDGE_ACTIONS] as readonly string[]).includes(lower)) {
      if (verb) fail(`a second action ${lower} after ${verb}`, 'give one action per --fault (repeat --fault for more)');
      verb = lower as FaultVerb;
      continue;
    }
    if (selector) fail(`unexpected word ${word} after the selector`, nearest(lower, WORDS, FAULT_HINT));
    selector = parseSelector(word, fail);
  }
  if (!verb) return fail('no action', `add one of ${[...NODE_ACTIONS, ...EDGE_ACTIONS].join(', ')}`);
  let skew: ClockSkew | undefined;
  if (verb === 'skew') skew = parseSkew(skewWords, fail);
  else if (skewWords.offset !== undefined) fail(`offset= sets a clock, which ${verb} does not`, "use skew, e.g. 'at=2s skew ids:3 offset=+500ms'");
  else if (skewWords.rate !== undefined) link = parseLinkSetting('rate', skewWords.rate, link, fail);
  if (!selector) return fail(`no selector: what should ${verb} hit?`, (NODE_ACTIONS as readonly string[]).includes(verb) ? 'add e.g. top-degree:5, random:10% or ids:3,4' : 'add e.g. mincut:2, bridges or edges:1-2');
  const onEdges = (EDGE_SELECTORS as readonly string[]).includes(selector.kind);
  const isNodeAction = (NODE_ACTIONS as readonly string[]).includes(verb);
  if (isNodeAction && onEdges) fail(`${verb} acts on nodes, and ${selector.kind} selects edges`, 'select nodes (top-degree:K, random:K, ids:…), or use partition, cut or flap for edges');
  if (!isNodeAction && selector.kind === 'leader') fail(`${verb} of the leader's links is not supported`, 'select the leader with a node action (kill, stop, pause, restart, skew)');
  if (oneway && isNodeAction) fail(`oneway applies to links, not to ${verb}`, 'drop oneway, or use partition, cut, flap or degrade');
  if (verb === 'degrade' && link === undefined) fail('degrade needs what to change', "add delay=, jitter=, loss= or rate=, e.g. 'at=2s degrade edges:1-2 delay=100ms for=5s'");
  if (verb !== 'degrade' && link !== undefined) fail(`${Object.keys(link).filter((field) => field !== 'jitterDistribution').map(settingOf).join(', ')} change a link, which ${verb} does not`, 'use degrade to change links, e.g. \'at=2s degrade edges:1-2 delay=100ms\'');
  if (times.for !== undefined && (verb === 'kill' || verb === 'stop' || verb === 'restart' || verb === 'migrate')) {
    fail(`${verb} has nothing to heal, so for= would do nothing`, 'use pause with for= for a node that comes back, or a second --fault with restart');
  }
  if (times.for === 0) fail('for=0 heals at once, so the fault would do nothing', 'give a positive duration');
  if (verb === 'flap' && times.every === undefined) fail('flap needs every= (its period)', "write e.g. 'at=2s flap edges:1-2 every=500ms for=5s'");
  if (times.every !== undefined) {
    if (times.every === 0) fail('every=0 repeats forever at one instant', 'give a positive period');
    if (verb !== 'flap' && times.for !== undefined && times.for >= times.every) {
      fail(`for=${formatMs(times.for)} is not shorter than every=${formatMs(times.every)}, so one occurrence would not heal before the next`, 'shorten for= or lengthen every=');
    }
  } else if (times.until !== undefined) {
    fail('until= ends a repetition, but there is no every=', 'add every=, or drop until=');
  }
  const atMs = times.at ?? 0;
  if (times.until !== undefined && times.until <= atMs) fail(`until=${formatMs(times.until)} is not after at=${formatMs(atMs)}`, 'make until= later than at=');
  return { index, name, text, verb, selector, atMs, forMs: times.for, everyMs: times.every, untilMs: times.until, oneway, link, dropPercent, skew };
}

const SKEW_HINT = "write e.g. 'at=2s skew ids:3 offset=+500ms' or 'at=2s skew random:2 rate=1.05 for=10s'";

/** skew's offset=±D (a signed time) and rate=R (a positive factor, 1 by default); at least one of them. */
function parseSkew(words: { offset?: string; rate?: string }, fail: (why: string, hint?: string) => never): ClockSkew {
  if (words.offset === undefined && words.rate === undefined) fail('skew needs offset= or rate=', SKEW_HINT);
  let offsetMs = 0;
  if (words.offset !== undefined) {
    const sign = words.offset.startsWith('-') ? -1 : 1;
    const magnitude = words.offset.replace(/^[+-]/, '');
    offsetMs = sign * parseDuration(magnitude, (why) => fail(`offset=${words.offset}: ${why}`, 'write a signed time like +500ms or -2s'));
  }
  let rate = 1;
  if (words.rate !== undefined) {
    rate = /^\d+(\.\d+)?$/.test(words.rate) ? Number(words.rate) : NaN;
    if (!(rate > 0)) fail(`rate=${words.rate}: a clock rate is a number above 0`, 'write e.g. rate=1.05 (5 % fast) or rate=0.9 (10 % slow)');
  }
  if (offsetMs === 0 && rate === 1) fail('offset=0 and rate=1 leave the clock as it is, so the skew would do nothing', SKEW_HINT);
  return { offsetMs, rate };
}

/** One of degrade's settings, added to the change so far; its value is read as --links reads it. */
function parseLinkSetting(key: (typeof LINK_KEYS)[number], value: string, link: LinkChange | undefined, fail: (why: string, hint?: string) => never): LinkChange {
  const field = LINK_FIELDS[key];
  if (link?.[field] !== undefined) fail(`${key}= is given twice`);
  const exponential = key === 'jitter' && /^exp(onential)?:/i.test(value);
  let quantity: number;
  try {
    quantity = parseQuantity(key, exponential ? value.slice(value.indexOf(':') + 1) : value);
  } catch (error) {
    if (error instanceof QuantityError) fail(`${key}=${value}: ${error.message}`, 'write it as --links does, e.g. delay=100ms, jitter=5ms, loss=1%, rate=10mbit');
    throw error;
  }
  return { ...link, [field]: quantity, ...(key === 'jitter' && { jitterDistribution: exponential ? 'exponential' : 'uniform' }) };
}

const LINK_FIELDS = { delay: 'delayMs', jitter: 'jitterMs', loss: 'lossPercent', rate: 'rateBps' } as const satisfies Record<(typeof LINK_KEYS)[number], keyof LinkChange>;

/** The setting that writes a LinkChange field (delayMs → delay=). */
function settingOf(field: string): string {
  return `${Object.entries(LINK_FIELDS).find(([, name]) => name === field)?.[0] ?? field}=`;
}

function parseSelector(word: string, fail: (why: string, hint?: string) => never): Selector {
  const colon = word.indexOf(':');
  const name = (colon < 0 ? word : word.slice(0, colon)).toLowerCase();
  const argument = colon < 0 ? undefined : word.slice(colon + 1);
  const need = (example: string): string => {
    if (argument === undefined || argument === '') fail(`${name} needs an argument`, `write e.g. ${example}`);
    return argument!;
  };
  const count = (text: string, example: string, least = 1): number => {
    if (!/^\d+$/.test(text) || Number(text) < least) fail(`${name}:${text}: "${text}" is not a whole number ≥ ${least}`, `write e.g. ${example}`);
    return Number(text);
  };
  const percent = (text: string, example: string): number => {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(text);
    if (!match || Number(match[1]) <= 0 || Number(match[1]) > 100) fail(`${name}:${text}: "${text}" is not a share in (0%, 100%]`, `write e.g. ${example}`);
    return Number(match![1]);
  };
  switch (name) {
    case 'top-degree':
    case 'top-betweenness':
      // 0 is allowed: it hits nothing, the baseline of a sweep over K.
      return { kind: name, count: count(need(`${name}:5`), `${name}:5`, 0) };
    case 'random': {
      const text = need('random:3 or random:10%');
      return text.endsWith('%') ? { kind: 'random-share', percent: percent(text, 'random:10%') } : { kind: 'random', count: count(text, 'random:3 or random:10%', 0) };
    }
    case 'ids': {
      const ids = need('ids:3,4').split(',').map((id) => id.trim());
      if (ids.some((id) => id === '')) fail(`ids:${argument}: an empty id (two commas in a row?)`, 'write e.g. ids:3,4');
      if (new Set(ids).size !== ids.length) fail(`ids:${argument}: an id is listed twice`, 'list each node once');
      return { kind: 'ids', ids };
    }
    case 'region': {
      const numbers = need('region:45,5,55,15').split(',').map((part) => Number(part));
      if (numbers.length !== 4 || numbers.some((n) => !Number.isFinite(n))) fail(`region:${argument}: expected four numbers LAT1,LON1,LAT2,LON2`, 'write e.g. region:45,5,55,15 (the corners of a latitude/longitude box)');
      const [lat1, lon1, lat2, lon2] = numbers as [number, number, number, number];
      if ([lat1, lat2].some((lat) => Math.abs(lat) > 90) || [lon1, lon2].some((lon) => Math.abs(lon) > 180)) {
        fail(`region:${argument}: latitudes lie in [−90, 90] and longitudes in [−180, 180]`, 'write LAT1,LON1,LAT2,LON2 in degrees');
      }
      return { kind: 'region', lat1, lon1, lat2, lon2 };
    }
    case 'role':
      return { kind: 'role', role: need('role:client') };
    case 'leader':
      if (argument === '') fail('leader: needs an election name after the colon', 'write leader or leader:NAME');
      return { kind: 'leader', election: argument ?? DEFAULT_ELECTION };
    case 'mincut': {
      const parts = count(need('mincut:2'), 'mincut:2');
      if (parts < 2) fail('mincut:1 splits nothing', 'write mincut:2 or more parts');
      return { kind: 'mincut', parts };
    }
    case 'bridges':
      if (argument !== undefined) fail('bridges takes no argument', 'write bridges');
      return { kind: 'bridges' };
    case 'random-edges':
      return { kind: 'random-edges', percent: percent(need('random-edges:10%'), 'random-edges:10%') };
    case 'heavier-than': {
      const text = need('heavier-than:5');
      const weight = Number(text);
      if (text.trim() === '' || !Number.isFinite(weight)) fail(`heavier-than:${text}: "${text}" is not a number`, 'write e.g. heavier-than:5 (edges whose weight is above 5)');
      return { kind: 'heavier-than', weight };
    }
    case 'edges': {
      const pairs = need('edges:1-2,3-4').split(',').map((pair): [string, string] => {
        const ends = pair.split('-').map((end) => end.trim());
        if (ends.length !== 2 || ends.some((end) => end === '')) fail(`edges:${argument}: "${pair}" is not an edge u-v`, 'write e.g. edges:1-2,3-4');
        if (ends[0] === ends[1]) fail(`edges:${argument}: "${pair}" is a self-loop`, 'name two different nodes');
        return [ends[0]!, ends[1]!];
      });
      return { kind: 'edges', pairs };
    }
    case 'high-risk':
      return { kind: 'high-risk', folder: need('high-risk:results/high-risk-edges-20250101-120000-ab12') };
    default:
      return fail(`unknown selector ${name}`, nearest(name, [...NODE_SELECTORS, ...EDGE_SELECTORS, ...NODE_ACTIONS, ...EDGE_ACTIONS], `selectors: ${[...NODE_SELECTORS, ...EDGE_SELECTORS].join(', ')}`));
  }
}

const TIME_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** A time with its unit (500ms, 2s, 1.5m); a bare 0 is allowed, any other bare number is refused as ambiguous. */
export function parseDuration(text: string, fail: (why: string) => never): number {
  const match = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text.trim());
  if (!match) return fail(`"${text}" is not a time`);
  const value = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  if (unit === '') return value === 0 ? 0 : fail(`"${text}" has no unit`);
  const factor = TIME_UNITS[unit];
  if (factor === undefined) return fail(`"${unit}" is not a unit of time (ms, s, m, h)`);
  return Math.round(value * factor);
}

/** 2500 → 2.5s, 300 → 300ms: how errors quote times. */
export function formatMs(ms: number): string {
  return ms >= 1000 && ms % 100 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** True for the selectors that pick nodes (the rest pick edges). */
export function selectsNodes(selector: Selector): selector is NodeSelector {
  return !(EDGE_SELECTORS as readonly string[]).includes(selector.kind);
}
