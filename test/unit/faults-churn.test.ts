import { describe, expect, it } from 'vitest';
import { churnFaultEvents, parseChurnSpec, planChurn } from '../../src/faults/churn.js';
import { generateTopology } from '../../src/topology/generators.js';
import { buildTopology } from '../../src/topology/build.js';
import { errorLine } from './faults-helpers.js';

const draft = generateTopology('ba:n=100,m=2', 1);
const graph = buildTopology(draft, draft.edges.map((_e, i) => i + 1));
const SPEC = 'join=0.5/s leave=0.2/s crash=0.1/s for=60s';

describe('--churn', () => {
  it('parses rates, duration and the attachment rule', () => {
    expect(parseChurnSpec(SPEC)).toEqual({ text: SPEC, joinPerS: 0.5, leavePerS: 0.2, crashPerS: 0.1, atMs: 0, forMs: 60_000, attach: 'ba', m: 2 });
    expect(parseChurnSpec('join=6/m attach=uniform m=3 at=5s')).toMatchObject({ joinPerS: 0.1, attach: 'uniform', m: 3, atMs: 5000, forMs: undefined });
    expect(errorLine(() => parseChurnSpec('join=fast'))).toMatch(/^--churn "join=fast": join=fast is not a rate — write e.g. join=0.5\/s/);
    expect(errorLine(() => parseChurnSpec('for=10s'))).toMatch(/no rate: nothing would join or leave/);
    expect(errorLine(() => parseChurnSpec('join=1/s attach=ring'))).toMatch(/attach=ring: expected ba or uniform/);
    expect(errorLine(() => parseChurnSpec('jion=1/s'))).toMatch(/unknown setting jion=/);
  });

  it('the same seed gives the same plan; another seed another', () => {
    const spec = parseChurnSpec(SPEC);
    const plan = planChurn(spec, { graph, seed: 7, timeoutMs: 120_000 });
    expect(planChurn(spec, { graph, seed: 7, timeoutMs: 120_000 })).toEqual(plan);
    expect(planChurn(spec, { graph, seed: 8, timeoutMs: 120_000 }).events).not.toEqual(plan.events);
  });

  it('events follow the rates, stay in the window, and keep membership consistent', () => {
    const spec = parseChurnSpec('join=2/s leave=1/s crash=1/s for=200s');
    const { events } = planChurn(spec, { graph, seed: 3, timeoutMs: 300_000 });
    const count = (kind: string) => events.filter((e) => e.kind === kind).length;
    // Poisson counts over 200 s: means 400, 200, 200; 5 standard deviations either side.
    expect(Math.abs(count('join') - 400)).toBeLessThan(5 * Math.sqrt(400));
    expect(Math.abs(count('leave') - 200)).toBeLessThan(5 * Math.sqrt(200));
    expect(Math.abs(count('crash') - 200)).toBeLessThan(5 * Math.sqrt(200));
    const members = new Set(graph.nodes());
    let previous = 0;
    for (const event of events) {
      expect(event.atMs).toBeGreaterThanOrEqual(previous);
      expect(event.atMs).toBeLessThan(200_000);
      previous = event.atMs;
      if (event.kind === 'join') {
        expect(members.has(event.node)).toBe(false);
        expect(event.attachTo).toHaveLength(2);
        expect(new Set(event.attachTo).size).toBe(2);
        for (const other of event.attachTo) expect(members.has(other)).toBe(true);
        members.add(event.node);
      } else {
        expect(members.delete(event.node)).toBe(true);
      }
    }
  });

  it('ba attachment prefers high degrees, uniform does not', () => {
    const hubs = new Set(graph.nodes().sort((a, b) => graph.degree(b) - graph.degree(a)).slice(0, 10));
    const hubShare = (attach: string) => {
      const { events } = planChurn(parseChurnSpec(`join=5/s for=100s attach=${attach}`), { graph, seed: 1, timeoutMs: 100_000 });
      const picks = events.flatMap((e) => (e.kind === 'join' ? e.attachTo : []));
      return picks.filter((id) => hubs.has(id)).length / picks.length;
    };
    // The 10 hubs hold about a quarter of BA(100, 2)'s edge ends, but a tenth of its nodes.
    expect(hubShare('ba')).toBeGreaterThan(0.12);
    expect(hubShare('uniform')).toBeLessThan(hubShare('ba'));
  });

  it('joins become join events with their weighted edges, leaves stop events and crashes kill events', () => {
    const plan = planChurn(parseChurnSpec(SPEC), { graph, seed: 7, timeoutMs: 120_000 });
    const faults = churnFaultEvents(plan, 3);
    expect(faults).toHaveLength(plan.events.length);
    faults.forEach((fault, i) => {
      const event = plan.events[i]!;
      const action = event.kind === 'join' ? 'join' : event.kind === 'leave' ? 'stop' : 'kill';
      expect(fault).toMatchObject({ atMs: event.atMs, action, nodes: [event.node], fault: 3 });
      if (event.kind === 'join') expect(fault.attach).toEqual(event.attachTo.map((id, k) => ({ id, weight: event.weights[k] })));
    });
    expect(faults.some((fault) => fault.action === 'join')).toBe(true);
  });

  it('is bounded by the timeout', () => {
    expect(errorLine(() => planChurn(parseChurnSpec(SPEC), { graph, seed: 1, timeoutMs: 30_000 }))).toMatch(/for= runs to 60s, past the run's timeout \(30s\)/);
  });
});
