/**
 * Message delay models for the simulator. A model is asked once per message and sees everything about it
 * (edge, weight, virtual send time, size, payload, a per-sender seeded random stream), so besides the
 * stock random models below a test can plug in an adversarial scheduler that picks each delay on purpose.
 */
import { PeerlabError } from '../../errors.js';
import { directedLink } from '../../links/edges.js';
import { LinkSchedule, linkStream, UNSHAPED, type LinkParams } from '../../links/model.js';
import type { Topology } from '../../topology/types.js';
import { createRandom, type Random } from '../../util/random.js';

/** What the model sees of one message: valid only during the `delay` call (the simulator refills it for the next). */
export interface DelayContext {
  readonly from: string;
  readonly to: string;
  /** The overlay edge's weight. */
  readonly weight: number;
  /** Virtual time of the send, in ms. */
  readonly now: number;
  /** The payload as JSON text, made when read (the simulator makes none otherwise), and the text's size in bytes. */
  readonly payload: string;
  readonly bytes: number;
  /** Seeded per sending node from the run seed (`createRandom(seed, 'sim-delay', from)`): draw only from it. */
  readonly random: Random;
}

export interface DelayModel {
  /** How to write it back as a `--delay` spec, for run records. */
  readonly spec: string;
  /** The message's delay in virtual ms: finite and not negative. */
  delay(context: DelayContext): number;
  /**
   * A model built on the link model: the LinkSchedule of the directed edge, which a link change during the run
   * (Simulation.changeLink) re-parameterises, as the Docker agent does its outbox's.
   */
  link?(from: string, to: string): LinkSchedule;
}

/** Every message takes exactly `ms`: synchronous rounds, so a flood follows BFS exactly. */
export function constantDelay(ms: number): DelayModel {
  checkNumber(ms, 'constant delay');
  return { spec: `constant:${ms}`, delay: () => ms };
}

/** Uniform in [min, max). */
export function uniformDelay(min: number, max: number): DelayModel {
  checkNumber(min, 'uniform delay minimum');
  checkNumber(max, 'uniform delay maximum');
  if (max < min) throw new PeerlabError(`uniform delay ${min}..${max} has its maximum below its minimum`, { hint: 'write it as uniform:MIN..MAX' });
  const span = max - min;
  return { spec: `uniform:${min}..${max}`, delay: ({ random }) => min + span * random.next() };
}

/** Exponential with the given mean: memoryless and unbounded, so independent draws overtake each other. */
export function exponentialDelay(mean: number): DelayModel {
  checkNumber(mean, 'exponential delay mean');
  return { spec: `exp:${mean}`, delay: ({ random }) => -mean * Math.log(1 - random.next()) };
}

/** The edge's weight times `scale`: weighted topologies as latency maps. */
export function weightDelay(scale = 1): DelayModel {
  checkNumber(scale, 'weight delay scale');
  return {
    spec: scale === 1 ? 'weight' : `weight:${scale}`,
    delay: ({ weight }) => weight * scale,
  };
}

/**
 * Each directed edge's link model (src/links), from the edges' `link` attributes: the very LinkSchedule the Docker
 * node agent runs per outgoing edge, with the same per-edge random stream, so a simulated run and a Docker run
 * with the same `--links` and seed differ only by the agents' real processing time. It is FIFO by itself.
 */
export function linkDelay(links: Topology | Readonly<Record<string, LinkParams>>, seed: number, spec: string): DelayModel {
  const linkOf = isTopology(links) ? (from: string, to: string) => directedLink(links, from, to) : (from: string, to: string) => links[`${from}>${to}`];
  const schedules = new Map<string, LinkSchedule>();
  const link = (from: string, to: string): LinkSchedule => {
    const key = `${from}>${to}`;
    let schedule = schedules.get(key);
    if (schedule === undefined) {
      schedule = new LinkSchedule(linkOf(from, to) ?? UNSHAPED, createRandom(seed, ...linkStream(from, to)));
      schedules.set(key, schedule);
    }
    return schedule;
  };
  return { spec, link, delay: ({ from, to, now, bytes }) => link(from, to).arrival(now, bytes) - now };
}

function isTopology(links: Topology | Readonly<Record<string, LinkParams>>): links is Topology {
  return typeof (links as Topology).forEachEdge === 'function';
}

/**
 * `--delay` is a shorthand for a `--links` spec, so both runtimes honour it through the one link model:
 * constant:MS is delay=MSms; uniform:A..B is delay=(A+B)/2 ms with uniform jitter (B−A)/2 ms, the same
 * per-message distribution; exp:MEAN is exponential jitter of that mean; weight[:SCALE] is the same source.
 */
export function delayAsLinks(spec: string): string {
  const model = parseDelay(spec);
  const [kind, argument = ''] = model.spec.split(':');
  switch (kind) {
    case 'constant':
      return `delay=${argument}ms`;
    case 'uniform': {
      const [low, high] = argument.split('..').map(Number) as [number, number];
      return `delay=${(low + high) / 2}ms,jitter=${(high - low) / 2}ms`;
    }
    case 'exp':
      return `jitter=exp:${argument}ms`;
    default:
      return model.spec;
  }
}

/**
 * The default: exponential with a mean of 1 ms and no minimum. Every message is an independent draw with a
 * long tail, so without FIFO messages on an edge overtake each other, and a flood's first arrivals stray
 * from the BFS tree: timing assumptions an algorithm should not make show up at once.
 */
export const DEFAULT_DELAY_SPEC = 'exp:1';

export function defaultDelay(): DelayModel {
  return exponentialDelay(1);
}

const DELAY_HINT = 'use constant:MS, uniform:MIN..MAX, exp:MEAN or weight[:SCALE] (virtual milliseconds), e.g. --delay exp:1';

/** Reads a `--delay` spec: `constant:5`, `uniform:0.5..2`, `exp:1` (or `exponential:1`), `weight`, `weight:0.1`. */
export function parseDelay(spec: string): DelayModel {
  const trimmed = spec.trim();
  const split = trimmed.indexOf(':');
  const kind = (split < 0 ? trimmed : trimmed.slice(0, split)).toLowerCase();
  const argument = split < 0 ? undefined : trimmed.slice(split + 1);
  const bad = (why: string): PeerlabError => new PeerlabError(`--delay "${spec}": ${why}`, { hint: DELAY_HINT });
  const number = (text: string | undefined, what: string): number => {
    if (text === undefined || text.trim() === '') throw bad(`${what} is missing`);
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw bad(`${what} "${text}" is not a finite number ≥ 0`);
    return value;
  };

  switch (kind) {
    case 'constant':
    case 'const':
      return constantDelay(number(argument, 'the delay'));
    case 'uniform': {
      const bounds = argument?.split('..');
      if (!bounds || bounds.length !== 2) throw bad('a uniform delay is written uniform:MIN..MAX');
      const min = number(bounds[0], 'the minimum');
      const max = number(bounds[1], 'the maximum');
      if (max < min) throw bad(`the maximum ${max} is below the minimum ${min}`);
      return uniformDelay(min, max);
    }
    case 'exp':
    case 'exponential': {
      const mean = number(argument, 'the mean');
      if (mean === 0) throw bad('the mean must be above 0 (use constant:0 for no delay)');
      return exponentialDelay(mean);
    }
    case 'weight':
      return weightDelay(argument === undefined ? 1 : number(argument, 'the scale'));
    default:
      throw bad(kind === '' ? 'no delay model given' : `unknown delay model "${kind}"`);
  }
}

function checkNumber(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new PeerlabError(`${what} must be a finite number ≥ 0, got ${value}`, { hint: DELAY_HINT });
  }
}
