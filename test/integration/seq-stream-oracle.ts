/**
 * The migration tests' oracle: test/fixtures/seq-stream.ts numbers every message on every edge, so a lost,
 * duplicated or reordered one shows as a gap, a repeat or a step back, and a moved node whose state were lost
 * would count from 0 again. Shared by migration.test.ts and migration-robust.test.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import type { MigrationRecord } from '../../src/coordination/protocol.js';
import { NODE_LABEL, RUN_LABEL } from '../../src/docker/engine.js';
import { loadTopology, type Topology } from '../../src/topology/index.js';
import { check, type StreamResult } from '../fixtures/seq-stream.js';
import { leftovers, nodeResults } from './cli-helpers.js';

export const SEQ_STREAM = 'test/fixtures/seq-stream.ts';


/** Each node's result of a finished run, by id, and its graph. */
export async function streamResults(resultsDir: string, topology: string) {
  const graph = (await loadTopology(topology, { seed: 5 })).graph;
  const rows = await nodeResults(resultsDir);
  return { graph, results: new Map(graph.nodes().map((id, i) => [id, rows[i] as unknown as StreamResult])) };
}

/** The fixture's own check: on every directed edge, every number sent arrived once, in order; counters went on across moves. */
export function expectExactlyOnceInOrder(graph: Topology, results: Map<string, StreamResult>): void {
  const verdict = check({ graph, params: { rate: 0, durationMs: 0, stateKiB: 0 }, results });
  expect(verdict.failures).toEqual([]);
  expect(verdict.passed).toBe(true);
}

/** A run's migration records, in the order written. */
export async function migrationRecords(resultsDir: string): Promise<MigrationRecord[]> {
  return (await readFile(path.join(resultsDir, 'migrations.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as MigrationRecord);
}

/** The oracle over a finished run (seed 5), and nothing left of it; returns its migration records. */
export async function expectStreamWhole(resultsRoot: string, runId: string, topology: string): Promise<MigrationRecord[]> {
  const resultsDir = path.join(resultsRoot, runId);
  const { graph, results } = await streamResults(resultsDir, topology);
  expectExactlyOnceInOrder(graph, results);
  expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  return migrationRecords(resultsDir);
}

/** The running containers of one node of a run. */
export function containersOf(runId: string, nodeId: string): string[] {
  const listing = execFileSync('docker', ['ps', '--filter', `label=${RUN_LABEL}=${runId}`, '--filter', `label=${NODE_LABEL}=${nodeId}`, '--format', '{{.ID}}'], { encoding: 'utf8' });
  return listing.trim().split('\n').filter(Boolean);
}
