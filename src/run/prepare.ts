import path from 'node:path';
import type { Json, Algorithm } from '../sdk/types.js';
import type { RunConfig } from '../coordination/protocol.js';
import { bundleAlgorithm, bundleForNodes } from '../plugins/bundle.js';
import { resolveParams } from '../plugins/params.js';
import { resolveAlgorithm } from '../plugins/resolve.js';
import { loadTopology, type LoadedTopology } from '../topology/index.js';
import { runStateDir } from './state.js';
import { newRunId } from './run-id.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** What every runtime needs before the first node starts: the graph, the bundled algorithm, its parameters. */
export interface PreparedRun {
  readonly runId: string;
  readonly topology: LoadedTopology;
  /** The algorithm's source file. */
  readonly source: string;
  /** The algorithm bundled for the node containers (see bundleForNodes). */
  readonly nodeBundleFile: string;
  readonly algorithm: Algorithm;
  readonly params: Json;
  readonly config: RunConfig;
}

export async function prepareRun(request: {
  algorithm: string;
  params: readonly string[];
  topology: string;
  seed: number;
  weights?: string;
  allowDisconnected: boolean;
  maxPayloadBytes?: number;
  onRunId?: (runId: string) => void;
}): Promise<PreparedRun> {
  const topology = await loadTopology(request.topology, {
    seed: request.seed,
    weights: request.weights,
    allowDisconnected: request.allowDisconnected,
  });
  const source = resolveAlgorithm(request.algorithm);
  const runId = newRunId(path.basename(source, path.extname(source)));
  request.onRunId?.(runId);
  const bundleDir = path.join(runStateDir(runId), 'algorithm');
  const [bundle, nodeBundleFile] = await Promise.all([bundleAlgorithm(source, bundleDir), bundleForNodes(source, bundleDir)]);
  const params = resolveParams(bundle.algorithm, request.params);
  return {
    runId,
    topology,
    source,
    nodeBundleFile,
    algorithm: bundle.algorithm,
    params,
    config: {
      runId,
      algorithm: bundle.algorithm.name,
      params,
      seed: request.seed,
      size: topology.graph.order,
      maxPayloadBytes: request.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    },
  };
}
