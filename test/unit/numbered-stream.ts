import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppliedFault } from '../../src/faults/events.js';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { loadTopology } from '../../src/topology/index.js';
import { nodeResults } from '../integration/cli-helpers.js';

/**
 * test/fixtures/numbered-stream.ts on line:n=2 with 5 ms links, under `faults`, in either runtime: numbers
 * 0–149 leave each node at 300 ms + 10 ms·k. Returns what node 1 received from 0, and 0 from 1, in order.
 */
export async function numberedStream(runtime: 'sim' | 'docker', resultsRoot: string, faults: string[], seed = 1, extra: Partial<RunRequest> = {}) {
  const graph = (await loadTopology('line:n=2', { seed })).graph;
  const timeoutMs = 60_000;
  const summary = await runAlgorithm({
    algorithm: 'test/fixtures/numbered-stream.ts',
    params: [],
    topology: 'line:n=2',
    seed,
    allowDisconnected: false,
    timeoutMs,
    resultsRoot,
    runtime,
    links: 'delay=5ms',
    faults: resolveFaults(faults, { graph, seed, timeoutMs }),
    ...extra,
  });
  const [zero, one] = (await nodeResults(summary.resultsDir)) as Array<{ received: Record<string, number[]> } | undefined>;
  const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
  return { oneGot: one!.received['0']!, zeroGot: zero!.received['1']!, applied, summary };
}

/** The numbers in [from, to) not received. */
export const missing = (got: readonly number[], from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i).filter((n) => !got.includes(n));
