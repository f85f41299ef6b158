import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleAlgorithm } from '../../src/plugins/bundle.js';
import type { Algorithm } from '../../src/sdk/types.js';
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
