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
import { loadTopology } from '../../src/topology/index.js';
import { leftovers, nodeResults } from './cli-helpers.js';

export const SEQ_STREAM = 'test/fixtures/seq-stream.ts';

export interface StreamResult {
  readonly sent: Record<string, number>;
  readonly last: Record<string, number>;
  readonly handled: number;
  readonly errors: string[];
}

/** Each node's result of a finished run, by id, and its graph. */
export async function streamResults(resultsDir: string, topology: string) {
  const graph = (await loadTopology(topology, { seed: 5 })).graph;
  const rows = await nodeResults(resultsDir);
  return { graph, results: new Map(graph.nodes().map((id, i) => [id, rows[i] as unknown as StreamResult])) };
}

/** On every directed edge, every number from 1 to the last sent arrived once, in order; counters went on across moves. */
export function expectExactlyOnceInOrder(graph: { nodes(): string[]; neighbors(id: string): string[] }, results: Map<string, StreamResult>): void {
  for (const id of graph.nodes()) {
    const result = results.get(id)!;
    expect(result, `node ${id} has a result`).toBeDefined();
    expect(result.errors, `node ${id}: gaps, repeats or reorderings`).toEqual([]);
    for (const from of graph.neighbors(id)) {
      expect(result.last[from], `${from}→${id}: the last number received is the last sent`).toBe(results.get(from)!.sent[id]! - 1);
    }
    // Its count of handled messages went on across its moves: exactly what it received over the whole run.
    expect(result.handled, `node ${id}'s counter`).toBe(Object.values(result.last).reduce((sum, last) => sum + last, 0));
  }
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
