import { expect, it } from 'vitest';
import { simulate } from '../../src/runtime/sim/index.js';
import { verifyFlood } from '../../src/verify/flood.js';
import { loadAlgorithm, topology } from './sim-helpers.js';

it('floods a 100,000-node ring', async () => {
  const algorithm = await loadAlgorithm('algorithms/flood.ts');
  const graph = await topology('ring:n=100000');
  const began = performance.now();
  const outcome = await simulate({ graph, algorithm, params: {}, seed: 1, maxPayloadBytes: 1 << 20 });
  const totalMs = performance.now() - began;
  console.log(
    `sim: flood on ring:n=100000: ${outcome.events} events, ${outcome.messages} messages, ` +
      `${Math.round(totalMs)} ms wall with set-up (${Math.round(outcome.wallMs)} ms event loop, ` +
      `${Math.round(outcome.events / (outcome.wallMs / 1000))} events/s), ${outcome.virtualTimeMs.toFixed(1)} virtual ms`,
  );
  expect(outcome.endReason).toBe('complete');
  expect(verifyFlood({ graph, results: outcome.results, params: {} }).passed).toBe(true);
  expect(totalMs).toBeLessThan(60_000);
}, 180_000);
