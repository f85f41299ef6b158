import { beforeAll, describe, expect, it } from 'vitest';
import type { Algorithm, Json } from '../../src/sdk/types.js';
import { oracleFor } from '../../src/verify/index.js';
import { scores, verifyHighRiskEdges } from '../../src/verify/high-risk-edges.js';
import { loadAlgorithm, simulateAndVerify } from './sim-helpers.js';
import { GTS_CE } from '../zoo.js';

const zoo: Array<[string, number]> = [[GTS_CE, 1]];
let algorithm: Algorithm;

beforeAll(async () => {
  algorithm = await loadAlgorithm('algorithms/high-risk-edges.ts');
});

const run = (spec: string, seed: number, assignments: string[]) => simulateAndVerify(algorithm, spec, seed, assignments, verifyHighRiskEdges);

type Decision = { mean: number; sd: number; threshold: number; high: boolean; highRiskEdges: string[] };
type Result = { traffic: number; thesis: Decision; spread: Decision; label: boolean; highRiskEdges: string[]; detectionMs: number };

const SMALL_WALKS = ['walkers=5', 'hops=100'];

describe('high-risk-edges in the simulator', () => {
  it.each<[string, number]>([['ba:n=100,m=2', 1], ['ba:n=100,m=2', 2], ...zoo])(
    '%s seed %i (thesis defaults): consistent decisions, precision and recall for both modes',
    async (spec, seed) => {
      const { verdict, outcome } = await run(spec, seed, [...SMALL_WALKS, 'iterations=10']);
      expect(verdict.failures).toEqual([]);
      expect(verdict.passed).toBe(true);
      expect(verdict.summary).toMatch(/thesis: nodes P [\d.]+ R [\d.]+ .*edges P [\d.]+ R [\d.]+.*; spread: nodes P [\d.]+ R [\d.]+ .*edges P/);
      for (const mode of ['thesis', 'spread']) {
        for (const what of ['NodePrecision', 'NodeRecall', 'NodeF1', 'EdgePrecision', 'EdgeRecall', 'EdgeF1']) {
          expect(verdict.metrics[mode + what]).toBeGreaterThanOrEqual(0);
          expect(verdict.metrics[mode + what]).toBeLessThanOrEqual(1);
        }
      }
      // The hubs carry the traffic: whoever is labelled high (either mode) is above the mean.
      const mean = verdict.metrics.trueMean!;
      for (const r of outcome.results.values() as Iterable<Result>) {
        if (r.thesis.high || r.spread.high) expect(r.traffic).toBeGreaterThan(mean);
        expect(r.detectionMs).toBeGreaterThan(0);
      }
      expect(verdict.metrics.detectionMsMax).toBeGreaterThan(0);
    },
  );

  it("release 'all' finds exactly the true high-traffic nodes and high-risk edges in both modes", async () => {
    const { verdict } = await run('ba:n=60,m=2', 3, [...SMALL_WALKS, 'iterations=3', 'release=all', 'thresholdMode=spread']);
    expect(verdict.failures).toEqual([]);
    for (const metric of ['NodePrecision', 'NodeRecall', 'EdgePrecision', 'EdgeRecall']) {
      expect(verdict.metrics[`thesis${metric}`]).toBe(1);
      expect(verdict.metrics[`spread${metric}`]).toBe(1);
    }
    expect(verdict.metrics.spreadTrueHighNodes).toBeGreaterThan(0);
    expect(verdict.metrics.spreadTrueHighNodes).toBeLessThan(verdict.metrics.thesisTrueHighNodes!);
  });

  it('is the registered oracle', () => {
    expect(oracleFor('high-risk-edges')).toBe(verifyHighRiskEdges);
  });
});

describe('high-risk-edges oracle failure cases', () => {
  let base: Awaited<ReturnType<typeof run>>;
  let hub: string;
  beforeAll(async () => {
    base = await run('ba:n=40,m=2', 5, [...SMALL_WALKS, 'iterations=3', 'release=all']);
    expect(base.verdict.failures).toEqual([]);
    hub = [...(base.outcome.results as Map<string, Result>)].sort((a, b) => b[1].traffic - a[1].traffic)[0]![0];
  });
  const tampered = (change: (results: Map<string, Result>) => void) => {
    const results = structuredClone(base.outcome.results) as Map<string, Result>;
    change(results);
    return verifyHighRiskEdges({ graph: base.graph, results: results as Map<string, Json>, params: base.params });
  };

  it('fails a label that does not follow from the threshold', () => {
    const verdict = tampered((results) => {
      results.get(hub)!.spread.high = !results.get(hub)!.spread.high;
    });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures.join('\n')).toMatch(new RegExp(`node ${hub}: spread label`));
  });

  it('fails a high-risk edge claimed by one end only', () => {
    const verdict = tampered((results) => {
      const r = results.get(hub)!;
      const other = base.graph.neighbors(hub).find((n) => !r.thesis.highRiskEdges.includes(n))!;
      r.thesis.highRiskEdges.push(other);
    });
    expect(verdict.failures.join('\n')).toMatch(new RegExp(`node ${hub}: thesis high-risk edges`));
  });

  it("fails a threshold that does not follow from the node's samples", () => {
    const verdict = tampered((results) => {
      const r = results.get(hub)!;
      r.spread.threshold *= 1.5;
      r.spread.high = r.traffic > r.spread.threshold;
    });
    const failures = verdict.failures.join('\n');
    expect(failures).toMatch(new RegExp(`node ${hub}: spread threshold .* does not follow from its samples`));
    expect(failures).toMatch(new RegExp(`node ${hub}: spread threshold .* is not the true`));
  });

  it('fails a traffic count that does not add up', () => {
    const verdict = tampered((results) => {
      results.get('1')!.traffic += 3;
    });
    expect(verdict.failures[0]).toMatch(/node 1: traffic \d+ is not the \d+ messages sent and received/);
  });
});

describe('scores', () => {
  it('computes precision, recall and F1 with empty sets counting as perfect', () => {
    expect(scores(new Set(['a', 'b']), new Set(['b', 'c', 'd']))).toMatchObject({ precision: 0.5, recall: 1 / 3, f1: 0.4, truePositives: 1 });
    expect(scores(new Set(), new Set(['a']))).toMatchObject({ precision: 1, recall: 0, f1: 0 });
    expect(scores(new Set(), new Set())).toMatchObject({ precision: 1, recall: 1, f1: 1 });
  });
});
