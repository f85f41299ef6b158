import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppliedFault, FaultEvent } from '../../src/faults/events.js';
import { REGISTRATION_TTL_SECONDS } from '../../src/coordination/protocol.js';
import { runAlgorithm } from '../../src/run/run.js';
import { constantDelay, Simulation, type TraceEvent } from '../../src/runtime/sim/index.js';
import type { MembershipChange } from '../../src/runtime/sim/simulation.js';
import { loadAlgorithm, simRunRequest, topology } from './sim-helpers.js';

function fault(atMs: number, action: FaultEvent['action'], targets: { nodes?: string[]; edges?: Array<[string, string]> }): FaultEvent {
  return { atMs, action, nodes: targets.nodes ?? [], edges: targets.edges ?? [], fault: 0, spec: `at=${atMs}ms ${action}` };
}

/** Flood from node 0 with every message taking exactly 1 virtual ms, under a fault schedule. */
async function flood(spec: string, faults: FaultEvent[]) {
  const trace: TraceEvent[] = [];
  const simulation = new Simulation({
    graph: await topology(spec),
    algorithm: await loadAlgorithm('algorithms/flood.ts'),
    params: {},
    seed: 1,
    maxPayloadBytes: 1 << 20,
    delay: constantDelay(1),
    trace: (event) => trace.push(event),
  });
  const changes: MembershipChange[] = [];
  simulation.membership.push((change) => changes.push(change));
  simulation.scheduleFaults(faults);
  simulation.startAll();
  return { outcome: await simulation.run(), trace, changes };
}

describe('faults in the simulator', () => {
  it('a node killed at 0 ms never starts, and the run completes without it', async () => {
    const { outcome, trace, changes } = await flood('line:n=5', [fault(0, 'kill', { nodes: ['4'] })]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.missing).toEqual([]);
    expect([...outcome.departed.keys()]).toEqual(['4']);
    expect(trace.filter((event) => event.type === 'start').map((event) => (event as { node: string }).node)).not.toContain('4');
    // Done once 0–3 have results (at 3 ms): the token 3 sent to 4 is not waited for.
    expect(outcome.virtualTimeMs).toBe(3);
    expect(changes).toEqual([{ node: '4', how: 'killed', time: 0 }]);
    expect(outcome.faults).toEqual([expect.objectContaining({ atMs: 0, appliedMs: 0, action: 'kill', nodes: ['4'] })]);
  });

  it('a migrate moves the node into a fresh host at its time, in no virtual time: the run goes on unchanged', async () => {
    const plain = await flood('line:n=5', []);
    const { outcome } = await flood('line:n=5', [fault(1.5, 'migrate', { nodes: ['2'] })]);
    expect(outcome.faults).toEqual([expect.objectContaining({ atMs: 1.5, appliedMs: 1.5, action: 'migrate', nodes: ['2'] })]);
    expect(outcome.faults[0]!.error).toBeUndefined();
    expect(outcome.results).toEqual(plain.outcome.results);
    expect(outcome.virtualTimeMs).toBe(plain.outcome.virtualTimeMs);
  });

  it('killing a node mid-run drops its messages still in flight and those sent to it later', async () => {
    // Node 5 hears the token at 5 ms and sends it on to 6 (due at 6 ms); it dies at 5.5 ms.
    const { outcome, trace } = await flood('line:n=10', [fault(5.5, 'kill', { nodes: ['5'] })]);
    expect(outcome.results.get('5')).toMatchObject({ distance: 5 });
    expect(trace).toContainEqual(expect.objectContaining({ type: 'drop', from: '5', to: '6', time: 6, reason: 'node 5 dead' }));
    // Node 5 had its result before it died: it counts, and it did not depart without one.
    expect(outcome.departed.size).toBe(0);
    expect(outcome.missing).toEqual(['6', '7', '8', '9']);
    expect(outcome.endReason).toBe('stalled');
    expect(outcome.lostWithDeparted).toBe(1);
    expect(outcome.faults[0]).toMatchObject({ atMs: 5.5, appliedMs: 5.5 });
  });

  it('a paused node handles nothing until resumed, then what waited in arrival order', async () => {
    const { outcome, trace } = await flood('line:n=4', [fault(0.5, 'pause', { nodes: ['1'] }), fault(10, 'resume', { nodes: ['1'] })]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.results.get('1')).toMatchObject({ distance: 1, time: 10 });
    expect(outcome.results.get('3')).toMatchObject({ distance: 3, time: 12 });
    const delivered = trace.filter((event) => event.type === 'deliver' && event.to === '1');
    expect(delivered.map((event) => event.time)).toEqual([10]);
    expect(outcome.faults.map((applied: AppliedFault) => [applied.action, applied.appliedMs])).toEqual([
      ['pause', 0.5],
      ['resume', 10],
    ]);
  });

  it('a link taken down drops what it carries, in that direction only, until it comes up', async () => {
    // Ring 0-1-2-3: the token can no longer go 0 → 1, so it reaches 1 the long way round.
    const { outcome, trace } = await flood('ring:n=4', [fault(0, 'link-down', { edges: [['0', '1']] })]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.results.get('1')).toMatchObject({ distance: 3, parent: '2' });
    // Dropped on arrival and counted by the receiver, as the node agent does, not as lost with a departed node.
    expect(outcome.reports.get('1')!.dropped).toEqual({ '0': 1 });
    expect(outcome.lostWithDeparted).toBe(0);
    expect(trace).toContainEqual(expect.objectContaining({ type: 'drop', from: '0', to: '1', time: 1, reason: 'link down' }));
    // 1 → 0 still carries: what node 1 passes back to 0 is on its way, not dropped.
    expect(trace).toContainEqual(expect.objectContaining({ type: 'send', from: '1', to: '0' }));
    expect(trace.filter((event) => event.type === 'drop' && event.from === '1')).toEqual([]);

    // Cut while the token 0 → 1 is on its way (sent at 0, due at 1 ms): lost unless the link is up again by then.
    const cut = await flood('ring:n=4', [fault(0.5, 'link-down', { edges: [['0', '1']] })]);
    expect(cut.outcome.reports.get('1')!.dropped).toEqual({ '0': 1 });
    const healed = await flood('ring:n=4', [fault(0.5, 'link-down', { edges: [['0', '1']] }), fault(0.7, 'link-up', { edges: [['0', '1']] })]);
    expect(healed.outcome.reports.get('1')!.dropped).toBeUndefined();
    expect(healed.outcome.results.get('1')).toMatchObject({ distance: 1, parent: '0' });
  });

  it('an event that cannot apply is recorded with its error and the run goes on', async () => {
    const { outcome } = await flood('line:n=3', [fault(0, 'kill', { nodes: ['2'] }), fault(1, 'pause', { nodes: ['2'] }), fault(1, 'link-down', { edges: [['0', '2']] })]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.faults[1]).toMatchObject({ action: 'pause', error: 'node 2 cannot be paused: it is dead' });
    expect(outcome.faults[2]!.error).toMatch(/no edge 0→2/);
  });

  it('the run completes when every surviving node has a result', async () => {
    const { outcome } = await flood('complete:n=12', [fault(0, 'kill', { nodes: ['3', '7'] }), fault(0.5, 'stop', { nodes: ['9'] })]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.missing).toEqual([]);
    expect(Object.fromEntries(outcome.departed)).toEqual({ '3': 'killed at 0 virtual ms', '7': 'killed at 0 virtual ms', '9': 'stopped at 0.5 virtual ms' });
    expect(outcome.results.size).toBe(9);
  });

  it('a stopped node deregisters at once; a killed one stays listed until its lease runs out', async () => {
    const seenBy3 = async (action: 'stop' | 'kill') => {
      const simulation = new Simulation({ graph: await topology('ring:n=4'), algorithm: await loadAlgorithm('test/fixtures/sim-services.ts'), params: {}, seed: 1, maxPayloadBytes: 1 << 20 });
      simulation.scheduleFaults([fault(20, action, { nodes: ['2'] })]);
      simulation.startAll();
      const outcome = await simulation.run();
      return (outcome.results.get('3') as { seen: Array<{ at: number; instances: Array<{ node: string }> }> }).seen.find(({ at }) => at === 30)!.instances.map(({ node }) => node);
    };
    expect(await seenBy3('stop')).toEqual(['1']);
    expect(await seenBy3('kill')).toEqual(['1', '2']);
  });

  it('a run given a schedule applies it in the worker and writes faults.ndjson, and nodes.csv says who departed', async () => {
    const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-sim-faults-'));
    const faults = [fault(0, 'kill', { nodes: ['5'] }), fault(0, 'link-down', { edges: [['0', '1']] })];
    const summary = await runAlgorithm({ ...simRunRequest(resultsRoot, 'flood', 'complete:n=8'), faults });
    expect(summary.missing).toEqual([]);
    expect([...summary.departed.keys()]).toEqual(['5']);
    const lines = readFileSync(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
    expect(lines).toEqual(faults.map((event) => ({ ...event, appliedMs: event.atMs })));
    const nodes = readFileSync(path.join(summary.resultsDir, 'nodes.csv'), 'utf8').trim().split('\n');
    expect(nodes[0]).toContain(',departed,');
    expect(nodes.find((row) => row.startsWith('5,'))).toContain('killed at 0 virtual ms');
    // The run's report lists the faults as applied and marks them on its time charts.
    const report = readFileSync(path.join(summary.resultsDir, 'report.html'), 'utf8');
    const table = report.slice(report.indexOf('<table class="faults">'), report.indexOf('</table>', report.indexOf('<table class="faults">')));
    expect(table.match(/<tr><td/g)).toHaveLength(2);
    expect(table).toContain('<td>kill</td><td>5</td>');
    expect(table).toContain('<td>link-down</td><td>0→1</td>');
    expect(report.match(/stroke-dasharray="4,3"/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  });

  it('registry.ndjson and the report follow the registry: a stop leaves at once, a kill a lease time later', async () => {
    const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-sim-registry-'));
    const faults = [fault(2_000, 'stop', { nodes: ['1'] }), fault(2_000, 'kill', { nodes: ['4'] })];
    const summary = await runAlgorithm({ ...simRunRequest(resultsRoot, 'heartbeat-detector', 'ring:n=6'), params: ['durationMs=30000'], faults });
    const lines = readFileSync(path.join(summary.resultsDir, 'registry.ndjson'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual([
      { atMs: 0, registered: 6 },
      { atMs: 2_000, node: '1', change: 'left' },
      { atMs: 2_000 + REGISTRATION_TTL_SECONDS * 1000, node: '4', change: 'left' },
    ]);
    const report = readFileSync(path.join(summary.resultsDir, 'report.html'), 'utf8');
    expect(report).toContain('nodes in the registry');
  });

  it('a run whose registry never changed writes no registry.ndjson and no registry chart', async () => {
    const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-sim-registry-'));
    const summary = await runAlgorithm(simRunRequest(resultsRoot, 'flood', 'ring:n=6'));
    expect(existsSync(path.join(summary.resultsDir, 'registry.ndjson'))).toBe(false);
    expect(readFileSync(path.join(summary.resultsDir, 'report.html'), 'utf8')).not.toContain('nodes in the registry');
  });
});
