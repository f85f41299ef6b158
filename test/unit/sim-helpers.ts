import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { bundleAlgorithm } from '../../src/plugins/bundle.js';
import { resolveParams } from '../../src/plugins/params.js';
import { simulate } from '../../src/runtime/sim/simulate.js';
import type { Oracle } from '../../src/verify/types.js';
import type { Algorithm, Json } from '../../src/sdk/types.js';
import type { RunRequest } from '../../src/run/run.js';
import { loadTopology, type Topology } from '../../src/topology/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Bundles an algorithm as `peerlab run` does (the same code path), from algorithms/ or test/fixtures/. */
export async function loadAlgorithm(relative: string): Promise<Algorithm> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-sim-test-'));
  return (await bundleAlgorithm(path.join(root, relative), outDir)).algorithm;
}

export async function topology(spec: string, seed = 1): Promise<Topology> {
  return (await loadTopology(spec, { seed })).graph;
}

/** Runs an algorithm to completion in the simulator with `--param`-style assignments, and judges it by its oracle. */
export async function simulateAndVerify(algorithm: Algorithm, spec: string, seed: number, assignments: string[], oracle: Oracle) {
  const graph = await topology(spec, seed);
  const params = resolveParams(algorithm, assignments) as Record<string, Json>;
  const outcome = await simulate({ graph, algorithm, params, seed, maxPayloadBytes: 65_536 });
  expect(outcome.endReason).toBe('complete');
  return { graph, outcome, params, verdict: oracle({ graph, results: outcome.results, params }) };
}

/** A `peerlab run` request in the simulator, as the benches' tests make them: seed 1, no parameters, 60 s. */
export function simRunRequest(resultsRoot: string, algorithm: string, topology: string): RunRequest {
  return { algorithm, params: [], topology, seed: 1, allowDisconnected: false, timeoutMs: 60_000, resultsRoot, runtime: 'sim' };
}
