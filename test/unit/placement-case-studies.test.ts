/**
 * experiments/zoe-balancers.yaml (seed 000) and experiments/self-placement.yaml (seed 001), run end to end in the
 * simulator as a new user runs them: every run passes its check, with the verdicts their README paragraphs quote.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { simulateExperiment } from './case-study-helpers.js';

describe("the placement case studies", () => {
  it("zoe-balancers: Equal and Prio, Free and Hold, normal and overload, each against its table", async () => {
    const { experiment } = await simulateExperiment('experiments/zoe-balancers.yaml');
    expect(experiment).toMatchObject({ runs: 8, passed: 8, failed: 0, errors: 0 });
    const summary = readFileSync(experiment.files.summary, 'utf8');
    for (const verdict of [
      'equal free normal: Table 6.2 reproduced in rounds 1–3',
      'prio hold normal: Table 6.8 reproduced (up to arco1 ↔ arco2) in rounds 1–3',
      'equal hold overload: compared with Table 6.12 (not judged: the source\'s agent order decides it), 6/4/5 agents as the table in rounds 1–3; the overload agent moved in 3 of 3 rounds',
      'prio free overload: Table 6.14 reproduced (up to arco1 ↔ arco2) in rounds 1–3; the overload agent moved in 0 of 3 rounds',
    ]) {
      expect(summary).toContain(verdict);
    }
  }, 120_000);

  it('self-placement: the server follows the sun as the curves say, at zero noise and with noise', async () => {
    const { experiment } = await simulateExperiment('experiments/self-placement.yaml');
    expect(experiment).toMatchObject({ runs: 2, passed: 2, failed: 0, errors: 0 });
    const summary = readFileSync(experiment.files.summary, 'utf8');
    expect(summary).toContain('6 moves (3.0 a day), as many as the curves give, to the same sites, each inside its window; 518398 requests handled, none lost, each answered');
    expect(summary).toContain('6 moves (3.0 a day), the curves give 6, each inside its window');
    // The sites are far apart (self-placement/sites.yaml): a move takes the way between two of them, and each
    // site's users wait for the server as far as it is, the numbers README's paragraph quotes.
    const zeroNoise = (parse(summary, { columns: true }) as Array<Record<string, string>>).find((row) => row.label === 'noise=0')!;
    const metric = (name: string) => Number(zeroNoise[`metric.${name}`]);
    expect(metric('migrationDowntimeMaxMs')).toBeCloseTo(30.0, 1);
    expect([metric('rttMeanMs_oslo'), metric('rttMeanMs_gjovik'), metric('rttMeanMs_connecticut')].map((ms) => ms.toFixed(1))).toEqual(['23.6', '9.7', '29.7']);
  }, 120_000);
});
