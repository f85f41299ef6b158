import os from 'node:os';
import path from 'node:path';
import type { Json } from '../sdk/types.js';
import type { NodeReport, RunConfig } from '../coordination/protocol.js';
import { bundleAlgorithm } from '../plugins/bundle.js';
import { resolveParams } from '../plugins/params.js';
import { resolveAlgorithm } from '../plugins/resolve.js';
import { writeRunResults, type RunRecord } from '../results/run-results.js';
import { DEFAULT_NODE_MEMORY, DEFAULT_START_CONCURRENCY } from '../runtime/docker.js';
import { loadTopology, type LoadedTopology } from '../topology/index.js';
import { oracleFor, type Verdict } from '../verify/index.js';
import { peerlabVersion } from '../util/version.js';
import { deployOnDocker, runStateDir, type Deployment, type Stage } from './docker-deployment.js';
import { newRunId } from './run-id.js';

export interface RunRequest {
  readonly algorithm: string;
  readonly params: readonly string[];
  readonly topology: string;
  readonly seed: number;
  readonly weights?: string;
  readonly allowDisconnected: boolean;
  readonly timeoutMs: number;
  readonly resultsRoot: string;
  readonly nodeMemoryLimit?: number;
  readonly concurrency?: number;
  readonly etcdImage?: string;
  readonly etcdPort?: number;
  readonly etcdEndpoints?: string[];
  readonly baseImage?: string;
  readonly maxPayloadBytes?: number;
  readonly command?: string[];
  readonly onStage?: (stage: Stage, detail?: string) => void;
  readonly onStarted?: (started: number, total: number) => void;
  readonly onReady?: (ready: number, total: number) => void;
  /** Called with the run id before anything is created, so an interrupt knows what to remove. */
  readonly onRunId?: (runId: string) => void;
}

export interface RunSummary {
  readonly runId: string;
  readonly algorithm: string;
  readonly nodes: number;
  readonly edges: number;
  readonly passed: boolean;
  readonly verdict: string;
  readonly metrics: Record<string, number>;
  readonly timings: Record<string, number>;
  readonly resultsDir: string;
  readonly missing: string[];
}

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** The part of a run shared by `up` and `run`: topology, algorithm bundle, and the nodes brought up. */
export async function bringUp(request: RunRequest): Promise<{
  runId: string;
  topology: LoadedTopology;
  source: string;
  algorithmName: string;
  params: Json;
  deployment: Deployment;
}> {
  const topology = await loadTopology(request.topology, {
    seed: request.seed,
    weights: request.weights,
    allowDisconnected: request.allowDisconnected,
  });
  const source = resolveAlgorithm(request.algorithm);
  const name = path.basename(source, path.extname(source));
  const runId = newRunId(name);
  request.onRunId?.(runId);
  const bundle = await bundleAlgorithm(source, path.join(runStateDir(runId), 'algorithm'));
  const params = resolveParams(bundle.algorithm, request.params);
  const config: RunConfig = {
    runId,
    algorithm: bundle.algorithm.name,
    params,
    seed: request.seed,
    size: topology.graph.order,
    maxPayloadBytes: request.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
  };
  const deployment = await deployOnDocker({
    runId,
    graph: topology.graph,
    config,
    algorithmFile: bundle.file,
    nodeMemoryLimit: request.nodeMemoryLimit ?? DEFAULT_NODE_MEMORY,
    concurrency: request.concurrency ?? DEFAULT_START_CONCURRENCY,
    etcdImage: request.etcdImage,
    etcdPort: request.etcdPort ?? 0,
    etcdEndpoints: request.etcdEndpoints,
    baseImage: request.baseImage,
    startupTimeoutMs: Math.max(120_000, topology.graph.order * 1000),
    onStage: request.onStage,
    onStarted: request.onStarted,
    onReady: request.onReady,
  });
  return { runId, topology, source, algorithmName: bundle.algorithm.name, params, deployment };
}

/** `peerlab run`: bring up, run the algorithm to completion, verify, write results, tear down. */
export async function runAlgorithm(request: RunRequest): Promise<RunSummary> {
  const began = Date.now();
  const startedAt = new Date().toISOString();
  const { runId, topology, source, algorithmName, params, deployment } = await bringUp(request);
  const stage = request.onStage ?? (() => {});
  try {
    stage('running');
    const { controller, runtime } = deployment;
    await controller.start();
    const collected = await controller.collectResults({
      timeoutMs: request.timeoutMs,
      check: async () => {
        const crashed = (await runtime.listNodes()).find((node) => node.state === 'exited' || node.state === 'dead');
        if (crashed) throw new Error(`node ${crashed.id} exited during the run`);
      },
    });
    stage('collecting');
    const reports = await controller.stopAndCollectReports(30_000);

    const graph = topology.graph;
    const results = new Map<string, Json | undefined>(graph.nodes().map((id) => [id, collected.results.get(id)]));
    const verdict = judge(algorithmName, graph, results, params as Record<string, unknown>, collected.missing);
    const timings = {
      ...deployment.timings,
      algorithmMs: collected.durationMs,
      totalMs: Date.now() - began,
    };
    const messages = sumReports(reports);
    const metrics = { ...verdict.metrics, messages: messages.messages, bytes: messages.bytes };
    const resultsDir = path.resolve(request.resultsRoot, runId);
    const record: RunRecord = {
      runId,
      peerlab: peerlabVersion,
      command: request.command ?? process.argv.slice(2),
      algorithm: { name: algorithmName, source, params },
      topology: {
        spec: topology.spec,
        seed: request.seed,
        weights: request.weights ?? 'default',
        nodes: graph.order,
        edges: graph.size,
        notes: topology.notes,
      },
      runtime: 'docker',
      images: deployment.image,
      host: { hostname: os.hostname(), platform: `${os.platform()} ${os.release()}`, cpus: os.cpus().length, memoryBytes: os.totalmem(), node: process.version },
      timings,
      startedAt,
    };
    await writeRunResults(resultsDir, { record, graph, results, reports, verdict: { ...verdict, metrics } });
    return {
      runId,
      algorithm: record.algorithm.name,
      nodes: graph.order,
      edges: graph.size,
      passed: verdict.passed,
      verdict: verdict.summary,
      metrics,
      timings,
      resultsDir,
      missing: collected.missing,
    };
  } finally {
    stage('tearing down');
    await deployment.tearDown();
  }
}

function judge(
  algorithm: string,
  graph: LoadedTopology['graph'],
  results: Map<string, Json | undefined>,
  params: Record<string, unknown>,
  missing: string[],
): Verdict {
  if (missing.length > 0) {
    return {
      passed: false,
      summary: `timed out: ${missing.length} node(s) reported no result (${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''})`,
      expected: null,
      actual: null,
      metrics: { missing: missing.length },
      failures: missing.slice(0, 10).map((id) => `node ${id}: no result before the timeout`),
    };
  }
  const oracle = oracleFor(algorithm);
  if (!oracle) {
    return { passed: true, summary: `no oracle for ${algorithm}: results recorded, not checked`, expected: null, actual: null, metrics: {}, failures: [] };
  }
  return oracle({ graph, results, params });
}

function sumReports(reports: ReadonlyMap<string, NodeReport>): { messages: number; bytes: number } {
  let messages = 0;
  let bytes = 0;
  for (const report of reports.values()) {
    for (const count of Object.values(report.sent)) {
      messages += count.messages;
      bytes += count.bytes;
    }
  }
  return { messages, bytes };
}
