import { aggregateNodeMetrics } from '../../src/run/node-metrics.js';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { PeerlabError } from '../../src/errors.js';
import type { Runner } from '../../src/experiment/execute.js';
import { expandExperiment, type Plan } from '../../src/experiment/expand.js';
import { parseExperiment, type LoadedExperiment } from '../../src/experiment/load.js';
import type { CellFacts } from '../../src/experiment/preflight.js';
import type { RunRequest, RunSummary } from '../../src/run/run.js';
import { parseRunId } from '../../src/util/names.js';

export function tempDir(prefix = 'peerlab-experiment-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The one-line error a malformed file gives. */
export function errorOf(text: string, file = 'bad.yaml'): string {
  try {
    parseExperiment(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(PeerlabError);
    return (error as PeerlabError).line;
  }
  throw new Error('expected the file to be rejected');
}

/** An experiment from its text, without touching Docker, esbuild or the topology generators. */
export function prepared(text: string, file = '/tmp/experiments/test.yaml'): { loaded: LoadedExperiment; plan: Plan; facts: Map<string, CellFacts> } {
  const loaded = parseExperiment(text, path.basename(file), file);
  const plan = expandExperiment(loaded, { source: path.basename(file) });
  const facts = new Map(plan.cells.map((cell) => [cell.id, { nodes: sizeOf(cell.topology), edges: 2 * sizeOf(cell.topology) - 3 }]));
  return { loaded, plan, facts };
}

export function sizeOf(spec: string): number {
  return Number(/n=(\d+)/.exec(spec)?.[1] ?? 10);
}

export interface FakeRunner {
  readonly runner: Runner;
  readonly requests: RunRequest[];
}

/**
 * A runner that "runs" instantly: it walks through the stages, writes a run folder with run.json and
 * verify.json like the real one, and reports deterministic metrics (messages = 2E − N + 1 for E = 2N − 3).
 * `fail(request)` returning 'throw' makes the run throw, 'fail' makes verification fail.
 */
export function fakeRunner(options: { fail?: (request: RunRequest, index: number) => 'throw' | 'fail' | 'unchecked' | undefined; algorithm?: string } = {}): FakeRunner {
  const requests: RunRequest[] = [];
  const runner: Runner = async (request) => {
    const index = requests.length;
    requests.push(request);
    const nodes = sizeOf(request.topology);
    const edges = 2 * nodes - 3;
    const runId = parseRunId(`${options.algorithm ?? request.algorithm}-20250101-${String(100000 + index)}-${(1000 + Math.floor(Math.random() * 9000)).toString(16)}`, 'fake run id');
    request.onRunId?.(runId);
    request.onStage?.('images');
    request.onStage?.('starting');
    request.onStarted?.(nodes, nodes);
    request.onStage?.('registering');
    request.onReady?.(nodes, nodes);
    request.onStage?.('running');
    const mode = options.fail?.(request, index);
    if (mode === 'throw') {
      request.onStage?.('tearing down');
      throw new PeerlabError(`node 3 exited during the run`, { hint: 'see its logs' });
    }
    request.onStage?.('collecting');
    request.onStage?.('tearing down');
    const outcome = mode === 'fail' ? 'fail' : mode === 'unchecked' ? 'unchecked' : 'pass';
    const passed = outcome === 'pass';
    // A per-node metric as an algorithm would set it: node i's hop count, i mod (3 + seed mod 2).
    const nodeMetrics = aggregateNodeMetrics(Array.from({ length: nodes }, (_, index) => ({ metrics: { hops: index % (3 + (request.seed % 2)) } })));
    const metrics = { reached: nodes, eccentricity: 3 + (request.seed % 2), messages: 2 * edges - nodes + 1 + request.seed, bytes: 40 * edges };
    const timings = { allReadyMs: 250 * nodes + request.seed, algorithmMs: 10 * nodes, totalMs: 300 * nodes };
    const resultsDir = path.join(request.resultsRoot, runId);
    await mkdir(resultsDir, { recursive: true });
    await writeFile(
      path.join(resultsDir, 'run.json'),
      JSON.stringify({
        runId,
        algorithm: { name: options.algorithm ?? request.algorithm, source: 'x', params: {} },
        topology: { spec: request.topology, seed: request.seed, weights: request.weights ?? 'default', nodes, edges, notes: [] },
        runtime: 'docker',
        host: { hostname: 'test', platform: 'linux', cpus: 2, memoryBytes: 1, node: 'v20', docker: '20.10.24' },
        timings,
        startedAt: `2025-01-01T10:00:${String(index).padStart(2, '0')}.000Z`,
      }),
    );
    const verdict =
      outcome === 'pass' ? `flood reached all ${nodes} nodes` : outcome === 'unchecked' ? 'no oracle for echo: results recorded, not checked' : 'flood failed on 1 node(s): node 7 has no parent';
    await writeFile(
      path.join(resultsDir, 'verify.json'),
      JSON.stringify({ outcome, passed, summary: verdict, metrics, failures: outcome === 'fail' ? ['node 7 has no parent'] : [] }),
    );
    const replay = `peerlab run ${request.algorithm} --topology ${request.topology} --seed ${request.seed} --runtime docker`;
    const failed = outcome === 'fail' || (outcome === 'unchecked' && request.requireCheck === true);
    const summary: RunSummary = { runId, algorithm: request.algorithm, runtime: 'docker', nodes, edges, outcome, passed, failed, verdict, inFlight: 0, metrics, nodeMetrics, timings, resultsDir, missing: [], departed: new Map(), faults: [], replay, linksLayer: 'message', runtimeFacts: {} };
    return summary;
  };
  return { runner, requests };
}

/** Every field the format has, as the shipped experiments will use them. */
export const FULL = `# every field
name: thesis-high-risk
description: High-risk edge detection on BA graphs, as in the thesis (chapter 5).
runtime: auto
topology:
  model: ba
  n: [20, 40, 60, 80, 100, 120]
  m: 2
weights: [unique, "uniform:1..10"]
algorithm:
  name: flood
  params:
    root: ["0", "5"]
    budget: 3
    fanout: [[1, 2]]
repetitions: 5
seeds: { from: 11 }
timeout: 120
allowDisconnected: false
nodeMemory: 48
groups:
  - { role: server, count: 1, service: kv, params: { port: 2379 } }
  - { role: client, algorithm: flood }
faults:
  - "at=5s kill ids:3"
  - "at=10s partition random:50% for=5s"
  - "at=12s flap edges:0-1 every=1s for=4s oneway"
  - "at=15s pause role:client for=2s"
plots:
  - x: n
    y: messages
    title: Messages vs N
    series: weights
    log: y
    reference:
      - { x: 20, y: 53, label: thesis }
      - { x: 40, y: 113, label: thesis }
  - { x: nodes, y: duration_s }
`;
