import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';
import type { AppliedFault } from '../../src/faults/events.js';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { loadTopology } from '../../src/topology/index.js';

/** What test/fixtures/restart-probe.ts keeps of each process of a sender. */
export type Process = { firstAt: number; count: number; lead: number };

const TOPOLOGY = 'complete:n=5';
const TICKS = 10;
/** Every restart has begun by then: a sender's process that began later is its new container. */
const RESTARTED_BY_MS = 1_000;
const SKEW_MS = 60_000;
const DELAY_MS = 300;
/**
 * How far two node processes' clocks may disagree. In the simulator there is one clock. A container's run clock
 * is its process's wall-clock origin plus its monotonic time since (src/node/agent.ts), so two processes started
 * a second apart agree only as well as the host's wall clock kept pace with its monotonic one in between (the
 * likely cause, not measured: a quiet host shows no drift). A local CI run read node 0's clock 2.5 ms ahead of
 * the restarted node 1's, the skew aside.
 */
const CLOCK_AGREEMENT_MS = { sim: 0, docker: 10 } as const;
/**
 * Node 1 comes back under the faults it had when it restarted: the link from 2 into it down, all from 3 dropped,
 * its link to 0 delayed, and its clock 60 s ahead. Node 4 is killed, then restarted.
 */
const FAULTS = [
  'at=0s cut edges:2-1 oneway',
  'at=0s drop-messages:100% edges:3-1 oneway',
  `at=0s degrade edges:1-0 delay=${DELAY_MS}ms oneway`,
  `at=0s skew ids:1 offset=+${SKEW_MS}ms`,
  'at=300ms kill ids:4',
  `at=${RESTARTED_BY_MS}ms restart ids:1,4`,
];

/** test/fixtures/restart-probe.ts on complete:n=5 under FAULTS, in either runtime: each node's result, and faults.ndjson. */
export async function restartProbe(runtime: 'sim' | 'docker', resultsRoot: string, extra: Partial<RunRequest> = {}) {
  const graph = (await loadTopology(TOPOLOGY, { seed: 1 })).graph;
  const timeoutMs = 60_000;
  const summary = await runAlgorithm({
    algorithm: 'test/fixtures/restart-probe.ts',
    params: [`ticks=${TICKS}`, 'restarted=1,4', `restartedBy=${RESTARTED_BY_MS}`],
    topology: TOPOLOGY,
    seed: 1,
    allowDisconnected: false,
    timeoutMs,
    resultsRoot,
    runtime,
    faults: resolveFaults(FAULTS, { graph, seed: 1, timeoutMs }),
    ...extra,
  });
  const rows = parse(await readFile(path.join(summary.resultsDir, 'nodes.csv'), 'utf8'), { columns: true }) as Array<{ id: string; result: string }>;
  const results = new Map(rows.map(({ id, result }) => [id, result ? (JSON.parse(result) as { processes: Record<string, Process[]> }) : undefined]));
  const applied = (await readFile(path.join(summary.resultsDir, 'faults.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as AppliedFault);
  return { runtime, summary, results, applied };
}

/**
 * The checks both runtimes must pass: the restarted node 1 still drops what 2 and 3 send it, its clock is still
 * 60 s ahead, and its link to 0 still delays; the killed and restarted node 4 is a member again, and reported.
 */
export function expectTakenOver({ runtime, summary, results, applied }: Awaited<ReturnType<typeof restartProbe>>): void {
  const agreement = CLOCK_AGREEMENT_MS[runtime];
  for (const record of applied) expect(record.error, record.spec).toBeUndefined();
  expect(applied.filter(({ action }) => action === 'restart').flatMap(({ nodes }) => nodes)).toEqual(['1', '4']);
  // Node 4 restarted after its kill: a member again, not departed, and its new container reported.
  expect([...summary.departed.keys()]).toEqual([]);
  expect(summary.missing).toEqual([]);
  expect(results.get('4'), 'the restarted node 4 reported').toBeDefined();

  // Node 1's result is its new container's (the old one's is overwritten). It heard nothing from 2 (cut) and 3
  // (all dropped); what 0 sent it reads 60 s behind its own clock.
  const own = results.get('1')!.processes;
  expect(own['2'] ?? [], 'messages from 2 over the cut link').toEqual([]);
  expect(own['3'] ?? [], 'messages from 3, 100 % dropped').toEqual([]);
  expect(own['0']!.at(-1)!.lead).toBeGreaterThan(-SKEW_MS - 1_000);
  expect(own['0']!.at(-1)!.lead).toBeLessThanOrEqual(-SKEW_MS + agreement);
  // Its new process as 2 and 0 heard it: 60 s ahead, and 300 ms later on the degraded link to 0.
  const heard = (by: string, from: string) => results.get(by)!.processes[from]!.find(({ firstAt, count }) => firstAt >= RESTARTED_BY_MS && count >= TICKS)!;
  const at2 = heard('2', '1');
  const at0 = heard('0', '1');
  expect(at2.lead, "node 1's clock as node 2 reads it").toBeGreaterThan(SKEW_MS - 1_000);
  expect(at2.lead).toBeLessThanOrEqual(SKEW_MS + agreement);
  expect(at2.lead - at0.lead, 'the delay on the degraded link 1 → 0').toBeGreaterThan(DELAY_MS - 50);
  expect(at2.lead - at0.lead).toBeLessThan(DELAY_MS + 150);
  // And node 4's new process was heard, ahead of nothing.
  expect(Math.abs(heard('0', '4').lead)).toBeLessThan(1_000);
}
