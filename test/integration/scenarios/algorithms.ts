/**
 * Every shipped algorithm on 30+ real containers with a real etcd, checked by its oracle, in CI time: the
 * parameters are cut down from the defaults only where that keeps the run short (fewer hops or iterations).
 * Registered by algorithms.test.ts on Docker and by swarm.test.ts on the local Swarm: one set of assertions for
 * both container runtimes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlgorithm } from '../../../src/run/run.js';
import type { RuntimeKind } from '../../../src/runtime/types.js';

const cases: Array<{ algorithm: string; topology: string; params: string[] }> = [
  { algorithm: 'ghs', topology: 'ba:n=30,m=2', params: [] },
  { algorithm: 'random-walk', topology: 'ba:n=30,m=2', params: ['walkers=4', 'hops=60', 'hopDelayMs=2'] },
  { algorithm: 'push-sum', topology: 'ba:n=30,m=2', params: [] },
  { algorithm: 'high-risk-edges', topology: 'ba:n=30,m=2', params: ['walkers=4', 'hops=60', 'hopDelayMs=2', 'iterations=4'] },
];

/** `coveredElsewhere`: algorithms whose case the caller's own suite already runs on this runtime (saves CI a run). */
export function algorithmsPassTheirOracles(runtime: Exclude<RuntimeKind, 'sim'>, coveredElsewhere: readonly string[] = []): void {
  describe(`algorithms on ${runtime}`, () => {
    let resultsRoot: string;
    beforeAll(async () => {
      resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-algorithms-'));
    });
    afterAll(async () => {
      await rm(resultsRoot, { recursive: true, force: true });
    });

    for (const { algorithm, topology, params } of cases.filter((entry) => !coveredElsewhere.includes(entry.algorithm))) {
      it(`${algorithm} on ${topology} passes its oracle`, async () => {
        const summary = await runAlgorithm({ algorithm, params, topology, seed: 5, allowDisconnected: false, timeoutMs: 240_000, resultsRoot, runtime });
        expect(summary.runtime).toBe(runtime);
        expect(summary.nodes).toBeGreaterThanOrEqual(30);
        expect(summary.missing).toEqual([]);
        // high-risk-edges runs the thesis's early release: a faithful reproduction, never PASS.
        expect(summary.outcome, summary.verdict).toBe(algorithm === 'high-risk-edges' ? 'reproduced' : 'pass');
        expect(summary.failed).toBe(false);
        expect(summary.metrics.messages).toBeGreaterThan(0);
      });
    }
  });
}
