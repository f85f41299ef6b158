import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleAlgorithm } from '../../src/plugins/bundle.js';
import { resolveParams } from '../../src/plugins/params.js';
import {
  DEFAULT_DELAY_SPEC,
  DEFAULT_MAX_EVENTS,
  DEFAULT_SIM_TIMEOUT_MS,
  parseDelay,
  simulate,
  simulateInWorker,
  toSimGraph,
  type SimulationOutcome,
  type SimulationProgress,
} from '../../src/runtime/sim/index.js';
import { PROGRESS_EVERY } from '../../src/runtime/sim/simulation.js';
import type { Json } from '../../src/sdk/types.js';
import type { Oracle } from '../../src/verify/types.js';
import { verifyGhs } from '../../src/verify/ghs.js';
import { verifyPushSum } from '../../src/verify/push-sum.js';
import { packageRoot } from '../../src/util/paths.js';
import { topology } from './sim-helpers.js';

// Large enough that the run crosses many setImmediate turns and many garbage collections, where an order that
// depended on anything but (virtual time, sequence) would show.
const SPEC = 'ba:n=5000,m=2';
const MAX_PAYLOAD = 65_536;

/** Everything an outcome says except the real time it took, in one string: equal strings are bit-identical outcomes. */
function fingerprint(outcome: SimulationOutcome): string {
  const { wallMs: _wallMs, cpuMs: _cpuMs, results, reports, departed, ...rest } = outcome;
  return JSON.stringify({ ...rest, results: [...results], reports: [...reports], departed: [...departed] });
}

describe('determinism at scale', () => {
  const cases: Array<{ name: string; assignments: string[]; oracle: Oracle }> = [
    { name: 'ghs', assignments: [], oracle: verifyGhs },
    { name: 'push-sum', assignments: ['rounds=40', 'tolerance=0.5'], oracle: verifyPushSum },
  ];
  for (const { name, assignments, oracle } of cases) {
    it(`${name} on ${SPEC}: two runs in the worker thread (watchdog on, progress reported in one) and one in this thread are bit-identical`, async () => {
      const { file, algorithm } = await bundleAlgorithm(path.join(packageRoot, 'algorithms', `${name}.ts`), mkdtempSync(path.join(os.tmpdir(), 'peerlab-determinism-')));
      const graph = await topology(SPEC);
      const params = resolveParams(algorithm, assignments) as Record<string, Json>;
      const inWorker = (progress?: (progress: SimulationProgress) => void) =>
        simulateInWorker(
          {
            graph: toSimGraph(graph),
            groups: [{ role: name, bundleFile: file, params, nodes: graph.nodes() }],
            seed: 3,
            maxPayloadBytes: MAX_PAYLOAD,
            delay: DEFAULT_DELAY_SPEC,
            timeoutMs: DEFAULT_SIM_TIMEOUT_MS,
            maxEvents: DEFAULT_MAX_EVENTS,
          },
          progress && { progress: { everyMs: 0, report: progress } },
        );
      const first = await inWorker();
      const reports: SimulationProgress[] = [];
      const second = await inWorker((progress) => reports.push(progress));
      const inThread = await simulate({ graph, algorithm, params, seed: 3, maxPayloadBytes: MAX_PAYLOAD, delay: parseDelay(DEFAULT_DELAY_SPEC) });
      expect(first.endReason).toBe('complete');
      expect(oracle({ graph, results: first.results, params }).failures).toEqual([]);
      expect(first.messages).toBeGreaterThan(graph.order);
      expect(fingerprint(second)).toBe(fingerprint(first));
      expect(fingerprint(inThread)).toBe(fingerprint(first));
      // With no interval, every call of the simulation's hook is posted: one every PROGRESS_EVERY events, and one at
      // the end that says what the outcome says.
      expect(reports.length).toBe(Math.floor(first.events / PROGRESS_EVERY) + 1);
      reports.slice(0, -1).forEach((progress, index) => expect(progress.events).toBe((index + 1) * PROGRESS_EVERY));
      for (const [before, after] of reports.slice(1).map((progress, index) => [reports[index]!, progress] as const)) {
        expect(after.virtualTimeMs).toBeGreaterThanOrEqual(before.virtualTimeMs);
        expect(after.messages).toBeGreaterThanOrEqual(before.messages);
        expect(after.results).toBeGreaterThanOrEqual(before.results);
      }
      expect(reports.at(-1)).toEqual({ virtualTimeMs: first.virtualTimeMs, events: first.events, messages: first.messages, results: first.results.size, size: graph.order });
    }, 600_000);
  }
});
