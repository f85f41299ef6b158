/**
 * Fault specs expanded into the run's time line: every occurrence of every fault, its selector resolved, its
 * heal added, sorted by time. The result is what both runtimes apply (see events.ts).
 *
 *   pause … for=D            pause at T, resume at T + D
 *   skew … for=D             clocks off at T, set right at T + D
 *   partition/cut … for=D    links down at T (both directions, or from → to with oneway), up at T + D
 *   flap … every=P for=D     down at T, up at T + P/2, down at T + P, … for D (default: until the timeout)
 *   degrade … for=D          links changed at T (both directions, or from → to with oneway), restored at T + D
 *   drop-messages:P% … for=D the share dropped on the links from T, and no more from T + D
 *   … every=P [until=U]      the occurrence repeats at T, T + P, T + 2P, … before U (default: the timeout);
 *                            random selectors draw anew each time, skipping nodes this fault already removed
 *
 * A heal that would fall at or after the timeout of a repeated fault is left out: the run is over by then, and
 * the teardown removes paused containers and downed links anyway. For a single occurrence it is an error, since
 * the user asked for a heal that cannot happen.
 */
import type { Topology } from '../topology/index.js';
import type { FaultAction, FaultEvent } from './events.js';
import { edgesBetween, resolveTarget, type Target } from './selectors.js';
import { faultError, formatMs, parseFaultSpecs, type FaultSpec } from './spec.js';

/** The most occurrences one repeated fault (or flap periods) may make. */
export const MAX_OCCURRENCES = 10_000;

export interface ScheduleOptions {
  readonly graph: Topology;
  readonly seed: number | string;
  /** The run's timeout: no fault may start at or after it. */
  readonly timeoutMs: number;
  /** A run with groups: each role's nodes (for `role:NAME`). */
  readonly roles?: ReadonlyMap<string, readonly string[]>;
}

/** Parses the `--fault` texts and expands them: the one call the CLI makes. Throws a one-line PeerlabError. */
export function resolveFaults(texts: readonly string[], options: ScheduleOptions, nameOf?: (index: number) => string): FaultEvent[] {
  return scheduleFaults(parseFaultSpecs(texts, nameOf), options);
}

export function scheduleFaults(specs: readonly FaultSpec[], options: ScheduleOptions): FaultEvent[] {
  const events = specs.flatMap((spec) => expand(spec, options));
  // Stable: events at the same time keep the order of their faults, and a fault's own order.
  return events.sort((a, b) => a.atMs - b.atMs);
}

function expand(spec: FaultSpec, options: ScheduleOptions): FaultEvent[] {
  const { timeoutMs } = options;
  const timeout = formatMs(timeoutMs);
  const fail = (why: string, hint: string): never => {
    throw faultError(spec, why, hint);
  };
  if (spec.atMs >= timeoutMs) fail(`at=${formatMs(spec.atMs)} is past the run's timeout (${timeout})`, 'make it earlier, or raise --timeout');
  if (spec.untilMs !== undefined && spec.untilMs > timeoutMs) fail(`until=${formatMs(spec.untilMs)} is past the run's timeout (${timeout})`, 'make it earlier, or raise --timeout');
  const repeated = spec.everyMs !== undefined && spec.verb !== 'flap';
  if (!repeated && spec.forMs !== undefined && spec.atMs + spec.forMs > timeoutMs) {
    fail(`it heals at ${formatMs(spec.atMs + spec.forMs)}, past the run's timeout (${timeout})`, 'shorten for=, or raise --timeout');
  }

  // A period far below the span (every=1ms over minutes) would flood both runtimes with events: refused.
  const span = (spec.verb === 'flap' ? Math.min(spec.forMs ?? timeoutMs, timeoutMs - spec.atMs) : (spec.untilMs ?? timeoutMs) - spec.atMs);
  if (spec.everyMs !== undefined && span / spec.everyMs > MAX_OCCURRENCES) {
    fail(`every=${formatMs(spec.everyMs)} over ${formatMs(span)} makes ${Math.ceil(span / spec.everyMs)} occurrences (at most ${MAX_OCCURRENCES})`, 'lengthen every=, or end sooner with for= or until=');
  }
  const starts: number[] = [];
  if (repeated) for (let t = spec.atMs; t < (spec.untilMs ?? timeoutMs); t += spec.everyMs!) starts.push(t);
  else starts.push(spec.atMs);

  const events: FaultEvent[] = [];
  const gone = new Set<string>();
  const event = (atMs: number, action: FaultAction, target: { nodes?: readonly string[]; edges?: ReadonlyArray<readonly [string, string]>; leader?: string }): void => {
    if (atMs >= timeoutMs) return;
    events.push({
      atMs,
      action,
      nodes: target.nodes ?? [],
      edges: target.edges ?? [],
      fault: spec.index,
      spec: spec.text,
      ...(target.leader !== undefined && { leader: target.leader }),
      ...(action === 'degrade' && { link: spec.link }),
      ...(action === 'drop-messages' && { dropPercent: spec.dropPercent }),
      ...(action === 'skew' && { skew: spec.skew }),
    });
  };
  starts.forEach((start, occurrence) => {
    const target = resolveTarget(spec, spec.selector, { graph: options.graph, seed: options.seed, roles: options.roles, gone, occurrence });
    // top-degree:0 and the like, the baseline of a sweep: nothing to do.
    if (target.kind === 'nodes' && target.nodes.length === 0) return;
    switch (spec.verb) {
      case 'kill':
      case 'stop':
      case 'restart':
      case 'migrate':
      case 'skew':
      case 'pause': {
        const hit = target.kind === 'leader' ? { leader: target.election } : { nodes: (target as Extract<Target, { kind: 'nodes' }>).nodes };
        event(start, spec.verb, hit);
        if (spec.verb === 'kill' || spec.verb === 'stop') for (const id of hit.nodes ?? []) gone.add(id);
        if (spec.forMs !== undefined) event(start + spec.forMs, spec.verb === 'pause' ? 'resume' : 'skew-end', hit);
        break;
      }
      case 'degrade':
      case 'drop-messages': {
        const links = directed(spec, linksOf(spec, target, options.graph));
        event(start, spec.verb, { edges: links });
        if (spec.forMs !== undefined) event(start + spec.forMs, spec.verb === 'degrade' ? 'restore' : 'drop-messages-end', { edges: links });
        break;
      }
      case 'partition':
      case 'cut':
      case 'flap': {
        const links = directed(spec, linksOf(spec, target, options.graph));
        const end = spec.verb === 'flap' ? (spec.forMs === undefined ? timeoutMs : start + spec.forMs) : undefined;
        if (end === undefined) {
          event(start, 'link-down', { edges: links });
          if (spec.forMs !== undefined) event(start + spec.forMs, 'link-up', { edges: links });
          break;
        }
        for (let down = start; down < end; down += spec.everyMs!) {
          event(down, 'link-down', { edges: links });
          // The last up comes at the end of the flapping at the latest, so the links are left up.
          event(Math.min(down + spec.everyMs! / 2, end), 'link-up', { edges: links });
        }
        break;
      }
    }
  });
  return events;
}

/** The undirected edges a link fault hits: the selected edges, or those between the selected nodes and the rest. */
function linksOf(spec: FaultSpec, target: Target, graph: Topology): ReadonlyArray<readonly [string, string]> {
  if (target.kind === 'edges') return target.edges;
  if (target.kind === 'leader') throw faultError(spec, `${spec.verb} of the leader's links is not supported`, 'select edges, or nodes to cut off');
  const edges = edgesBetween(graph, [target.nodes]);
  if (edges.length === 0) throw faultError(spec, `the selected nodes have no link to the rest of the graph, so there is nothing to ${spec.verb}`, 'select fewer nodes, or edges');
  return edges;
}

/** Each undirected edge as its two directions, or only from → to with `oneway`. */
function directed(spec: FaultSpec, edges: ReadonlyArray<readonly [string, string]>): Array<readonly [string, string]> {
  return edges.flatMap(([from, to]): Array<readonly [string, string]> => (spec.oneway ? [[from, to]] : [[from, to], [to, from]]));
}
