/**
 * GHS when nodes die during it, in the simulator, through `peerlab run`'s own path: the survivors abort when a
 * neighbour goes down, and the verdict says GHS did not terminate and checks what it built.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm } from '../../src/run/run.js';
import { nodeResults } from '../integration/cli-helpers.js';
import { simRunRequest, topology } from './sim-helpers.js';

const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-ghs-faults-'));
const TOPOLOGY = 'ba:n=50,m=2';

async function ghsUnder(faults: string[]) {
  const request = simRunRequest(resultsRoot, 'ghs', TOPOLOGY);
  const summary = await runAlgorithm({ ...request, faults: resolveFaults(faults, { graph: await topology(TOPOLOGY), seed: 1, timeoutMs: request.timeoutMs }) });
  const results = (await nodeResults(summary.resultsDir)) as Array<{ terminated: boolean; branches: string[] } | undefined>;
  return { summary, results };
}

describe('GHS when nodes die during it, in the simulator', () => {
  it('reports that it did not terminate, and checks that every survivor reported MST fragments', async () => {
    // Fault-free, GHS on this graph ends at 80.7 virtual ms: 20 ms is well inside it.
    const { summary, results } = await ghsUnder(['at=20ms kill random:2']);
    expect(summary.outcome).toBe('pass');
    expect(summary.verdict).toMatch(/^GHS did not terminate: 48 of the 48 survivors aborted when a neighbour went down \(2 node\(s\) removed by faults\); what it built checks: \d+ MST edges among survivors in \d+ fragment\(s\)/);
    expect(summary.metrics).toMatchObject({ terminated: 0, survivors: 48, aborted: 48 });
    expect(summary.metrics['builtEdges']! + summary.metrics['fragments']!).toBe(48);
    const killed = summary.faults[0]!.nodes;
    expect(results.filter((result, id) => result === undefined && !killed.includes(String(id)))).toEqual([]);
    expect(results.filter((result) => result?.terminated === true)).toEqual([]);
  });

  it('still finds the MST, marked terminated, without faults', async () => {
    const { summary, results } = await ghsUnder([]);
    expect(summary.verdict).toMatch(/^GHS found the MST: 49 edges/);
    expect(results.every((result) => result?.terminated === true)).toBe(true);
  });
});
