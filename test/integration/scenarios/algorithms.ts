/**
 * Every shipped algorithm on real containers with a real etcd, checked by its oracle, in CI time: the
 * parameters are cut down from the defaults only where that keeps the run short (fewer hops or iterations).
 * Registered by algorithms.test.ts on Docker (30 nodes) and by swarm.test.ts on the local Swarm (fewer: its
 * engines start about one task a second on this host, whatever the concurrency): one set of assertions for both
 * container runtimes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlgorithm, type RunRequest, type RunSummary } from '../../../src/run/run.js';
import type { RuntimeKind } from '../../../src/runtime/types.js';

/** Every case's seed (its topology's and its algorithm's). */
export const CASE_SEED = 5;

const cases: Array<{ algorithm: string; params: string[] }> = [
  { algorithm: 'ghs', params: [] },
  { algorithm: 'random-walk', params: ['walkers=4', 'hops=60', 'hopDelayMs=2'] },
  { algorithm: 'push-sum', params: [] },
  { algorithm: 'high-risk-edges', params: ['walkers=4', 'hops=60', 'hopDelayMs=2', 'iterations=4'] },
];

/** Every case runs on a Barabási–Albert graph of this many nodes unless its suite says fewer. */
export const CASE_NODES = 30;

/** The graph every case runs on, at `nodes`. */
export function caseTopology(nodes: number = CASE_NODES): string {
  return `ba:n=${nodes},m=2`;
}

/**
 * Runs the case of `algorithm` on `runtime` at `nodes` and asserts what every case asserts of its run; `more`
 * adds to the request (e.g. a Swarm placement), so a suite can fold a case into a run it makes anyway.
 */
export async function runCasePassingItsOracle(
  algorithm: string,
  runtime: Exclude<RuntimeKind, 'sim'>,
  resultsRoot: string,
  { nodes = CASE_NODES, more = {} }: { nodes?: number; more?: Partial<RunRequest> } = {},
): Promise<RunSummary> {
  const { params } = cases.find((entry) => entry.algorithm === algorithm)!;
  const topology = caseTopology(nodes);
  const summary = await runAlgorithm({ algorithm, params, topology, seed: CASE_SEED, allowDisconnected: false, timeoutMs: 240_000, resultsRoot, runtime, ...more });
  expect(summary.runtime).toBe(runtime);
  expect(summary.nodes).toBe(nodes);
  expect(summary.missing).toEqual([]);
  // high-risk-edges runs the thesis's early release: a faithful reproduction, never PASS.
  expect(summary.outcome, summary.verdict).toBe(algorithm === 'high-risk-edges' ? 'reproduced' : 'pass');
  expect(summary.failed).toBe(false);
  expect(summary.metrics.messages).toBeGreaterThan(0);
  return summary;
}

/**
 * `nodes`: the size of every case's graph (CASE_NODES unless given); `runElsewhere`: algorithms whose case the
 * caller's suite runs itself, through runCasePassingItsOracle.
 */
export function algorithmsPassTheirOracles(
  runtime: Exclude<RuntimeKind, 'sim'>,
  { nodes = CASE_NODES, runElsewhere = [] }: { nodes?: number; runElsewhere?: readonly string[] } = {},
): void {
  describe(`algorithms on ${runtime}`, () => {
    let resultsRoot: string;
    beforeAll(async () => {
      resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-algorithms-'));
    });
    afterAll(async () => {
      await rm(resultsRoot, { recursive: true, force: true });
    });

    for (const { algorithm } of cases.filter((entry) => !runElsewhere.includes(entry.algorithm))) {
      it(`${algorithm} on ${caseTopology(nodes)} passes its oracle`, async () => {
        await runCasePassingItsOracle(algorithm, runtime, resultsRoot, { nodes });
      });
    }
  });
}
