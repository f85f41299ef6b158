import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppliedFault } from '../../src/faults/events.js';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { loadTopology } from '../../src/topology/index.js';
import { nodeResults } from '../integration/cli-helpers.js';

/**
 * test/fixtures/clock-probe.ts on star:n=`size` under `faults`, in either runtime: by leaf, the pairs [hub's clock
 * when the reading arrived, the leaf's now()] of each of its ticks, and faults.ndjson.
 */
export async function clockProbe(runtime: 'sim' | 'docker', resultsRoot: string, size: number, faults: string[], params: string[], extra: Partial<RunRequest> = {}) {
  const topology = `star:n=${size}`;
  const graph = (await loadTopology(topology, { seed: 1 })).graph;
  const timeoutMs = 60_000;
  const summary = await runAlgorithm({
    algorithm: 'test/fixtures/clock-probe.ts',
    params,
    topology,
    seed: 1,
    allowDisconnected: false,
    timeoutMs,
    resultsRoot,
    runtime,
    faults: resolveFaults(faults, { graph, seed: 1, timeoutMs }),
    ...extra,
  });
  const [hub] = (await nodeResults(summary.resultsDir)) as Array<{ readings: Record<string, Array<[number, number]>> } | undefined>;
  const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
  return { readings: hub!.readings, applied, summary };
}
