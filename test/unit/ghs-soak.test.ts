/**
 * GHS never deadlocks: 20,000 seeded cases (GHS_SOAK_CASES to change it) over BA, ER, grid, torus, ring,
 * line, star, complete, tree, Watts–Strogatz and the zoo maps, 2 to 300 nodes (most under 20, about 8% over
 * 80), unique / random / heavily tied weights, wakeup one or all, and a delay model per case from constant to
 * heavy-tailed (Pareto α = 0.6 has no mean), per-edge and per-message-kind skews, starved nodes and
 * late-sent-first. Each case must end with every node reporting and exactly the Kruskal MST; a "stalled" run is
 * a deadlock. The cases and their runner live in scripts/ghs-soak.ts, which is also the CLI for longer soaks.
 * Failures name the seed: `node …/ghs-soak.mjs --first SEED --cases 1` replays one.
 */
import { describe, expect, it } from 'vitest';
import { DELAY_MODELS, describeCase, planCase, runCase, summarise, type CaseOutcome } from '../../scripts/ghs-soak.js';

const CASES = Number(process.env['GHS_SOAK_CASES'] ?? 20_000);
const BATCH = 500;
const FIRST = Number(process.env['GHS_SOAK_FIRST'] ?? 0);

const outcomes: CaseOutcome[] = [];

describe(`GHS soak: ${CASES} seeded cases from seed ${FIRST}`, () => {
  for (let start = FIRST; start < FIRST + CASES; start += BATCH) {
    const end = Math.min(start + BATCH, FIRST + CASES);
    it(`seeds ${start}..${end - 1} terminate with the exact MST`, async () => {
      const failed: string[] = [];
      for (let seed = start; seed < end; seed++) {
        const soakCase = planCase(seed);
        const outcome = await runCase(soakCase);
        outcomes.push(outcome);
        if (!outcome.ok) failed.push(`${describeCase(outcome.case)} → ${outcome.reason}: ${outcome.detail}`);
      }
      expect(failed, `failed cases:\n${failed.join('\n')}`).toEqual([]);
    }, 300_000);
  }

  it('covered every family, delay model, weight kind, wakeup mode and size band, within the message bound', () => {
    const summary = summarise(outcomes, FIRST, 0);
    expect(summary.cases).toBe(CASES);
    if (CASES < 2_000) return;
    const families = ['ba', 'complete', 'er', 'grid', 'line', 'ring', 'star', 'torus', 'tree', 'ws', 'zoo'];
    expect(Object.keys(summary.byFamily).sort()).toEqual(families.sort());
    expect(Object.keys(summary.byDelay).sort()).toEqual([...DELAY_MODELS].sort());
    expect(Object.keys(summary.byWeights).sort()).toEqual(['ties', 'uniform', 'unique']);
    expect(Object.keys(summary.byWakeup).sort()).toEqual(['all', 'one']);
    expect(summary.bySize['81+']?.cases).toBeGreaterThan(CASES * 0.05);
    expect(summary.maxNodes).toBeGreaterThan(250);
    expect(summary.boundRatio.max).toBeLessThanOrEqual(1);
    console.log(
      `GHS soak: ${summary.passed}/${summary.cases} passed; largest ${summary.maxNodes} nodes / ${summary.maxEdges} edges / ` +
        `${summary.maxMessages} messages; messages ÷ (5N·log2N + 2E): max ${summary.boundRatio.max}, mean ${summary.boundRatio.mean}; ` +
        `max level ${summary.maxLevel}`,
    );
  });
});
