/**
 * Hosts far apart in the simulator (a placement input's hosts with latitude and longitude; seed 001's sites):
 * a message between two of them takes their distance on top of its link's delay, as `--links geo` delays an
 * edge, and a node that moves is away for its snapshot's trip from the old host to the new: the move's downtime,
 * with what arrives meanwhile held and handled after, none lost, duplicated or reordered.
 */
import { describe, expect, it } from 'vitest';
import type { FaultEvent } from '../../src/faults/events.js';
import { FIBRE_KM_PER_MS, GEO_HOP_MS } from '../../src/links/spec.js';
import { constantDelay, Simulation, type TraceEvent } from '../../src/runtime/sim/index.js';
import type { PlacementHost } from '../../src/sdk/placement.js';
import type { Json } from '../../src/sdk/types.js';
import { haversineKm } from '../../src/topology/weights.js';
import { loadAlgorithm, topology } from './sim-helpers.js';

const OSLO: PlacementHost = { name: 'oslo', capacity: 1, priority: 1, central: false, latitude: 59.9139, longitude: 10.7522 };
const GJOVIK: PlacementHost = { name: 'gjovik', capacity: 1, priority: 1, central: false, latitude: 60.7957, longitude: 10.6916 };
/** One way, Oslo to Gjøvik: 98 km of fibre and the routers at each end, as `--links geo` gives an edge. */
const OSLO_GJOVIK_MS = haversineKm(OSLO, GJOVIK) / FIBRE_KM_PER_MS + GEO_HOP_MS;

async function run(hosts: readonly PlacementHost[], faults: FaultEvent[] = []) {
  const trace: TraceEvent[] = [];
  const simulation = new Simulation({
    graph: await topology('line:n=3'),
    algorithm: await loadAlgorithm('test/fixtures/seq-stream.ts'),
    params: { rate: 20, durationMs: 1_000 } as Json,
    seed: 1,
    maxPayloadBytes: 65_536,
    delay: constantDelay(2),
    // Node 1 starts in Oslo with node 0; node 2 is in Gjøvik.
    hosts: { list: hosts, hostOf: { '0': 'oslo', '1': 'oslo', '2': 'gjovik' } },
    trace: (event) => trace.push(event),
  });
  simulation.scheduleFaults(faults);
  simulation.startAll();
  return { outcome: await simulation.run(), trace };
}

/** Each message's time in flight from `from` to `to` (sent after `after` ms), to the nanosecond: the clock's sums round. */
const flights = (trace: TraceEvent[], from: string, to: string, after = -1): Set<number> =>
  new Set(trace.flatMap((event) => (event.type === 'send' && event.from === from && event.to === to && event.time > after ? [ns(event.deliverAt - event.time)] : [])));
const ns = (ms: number): number => Math.round(ms * 1e6) / 1e6;

describe('hosts far apart in the simulator', () => {
  it('delay each message between two of them by their distance, on top of the link, and none on one host', async () => {
    expect(OSLO_GJOVIK_MS).toBeCloseTo(1.49, 2);
    const { outcome, trace } = await run([OSLO, GJOVIK]);
    expect(outcome.endReason).toBe('complete');
    expect(flights(trace, '0', '1')).toEqual(new Set([2]));
    expect(flights(trace, '1', '2')).toEqual(new Set([ns(2 + OSLO_GJOVIK_MS)]));
    expect(flights(trace, '2', '1')).toEqual(new Set([ns(2 + OSLO_GJOVIK_MS)]));
    // Without coordinates the hosts are one place, as before.
    const unplaced = await run([OSLO, GJOVIK].map(({ latitude: _latitude, longitude: _longitude, ...host }) => host));
    expect(flights(unplaced.trace, '1', '2')).toEqual(new Set([2]));
  });

  it('keep a moving node away for its snapshot’s trip between them, holding what comes for it, losing nothing', async () => {
    const migrate: FaultEvent = { atMs: 301, action: 'migrate', nodes: ['1'], edges: [], fault: 0, spec: 'at=301ms migrate ids:1' };
    const { outcome, trace } = await run([OSLO, GJOVIK], [migrate]);
    expect(outcome.endReason).toBe('complete');
    expect(outcome.migrations).toEqual([
      expect.objectContaining({ node: '1', kind: 'migrate', frozenAt: 301, resumedAt: 301 + OSLO_GJOVIK_MS, downtimeMs: expect.closeTo(OSLO_GJOVIK_MS, 9) }),
    ]);
    expect(outcome.migrations[0]!.replayed).toBeGreaterThan(0);
    // Every stream arrived whole and in order, the moved node's included (seq-stream reports its own errors).
    for (const [id, result] of outcome.results) expect((result as { errors: string[] }).errors, `node ${id}`).toEqual([]);
    // After the move node 1 is in Gjøvik: its link to node 2 is one host, its link to node 0 the way to Oslo.
    expect(flights(trace, '1', '2', 400)).toEqual(new Set([2]));
    expect(flights(trace, '0', '1', 400)).toEqual(new Set([ns(2 + OSLO_GJOVIK_MS)]));
  });
});
