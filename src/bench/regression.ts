/**
 * Regression gating: a bench's samples against those of a baseline file, metric by metric. Pure; reading the
 * baseline file is src/bench/report.ts's job, and the exit code the command's.
 */
import { PeerlabError } from '../errors.js';

/** One measured sample, reduced to what gating needs. */
export interface GateSample {
  /** How a line names it: `N=100`, `push-sum N=100`. */
  readonly label: string;
  /** The workload measured (topology, seed, algorithm, runtime…): only samples with equal keys are compared. */
  readonly key: string;
  /** By metric name; a metric the sample has no value for (virtual time on Docker) is not compared. */
  readonly values: Readonly<Record<string, number | undefined>>;
}

/** A metric a bench gates on: larger is worse, unless `largerIsBetter` (a throughput ratio). */
export interface GatedMetric {
  readonly name: string;
  /** As a line names it: `allConnected ratio`. */
  readonly label: string;
  /**
   * A change smaller than this, in the metric's own unit, is noise whatever its percentage: 2 ms → 3 ms is +50%
   * but says nothing about the code.
   */
  readonly noiseFloor: number;
  readonly format: (value: number) => string;
  readonly largerIsBetter?: boolean;
}

export type CheckStatus = 'regressed' | 'within' | 'improved';

export interface MetricCheck {
  readonly sample: string;
  readonly metric: string;
  readonly baseline: number;
  readonly current: number;
  /** null when the baseline is 0. */
  readonly changePercent: number | null;
  readonly status: CheckStatus;
}

export interface Comparison {
  readonly maxRegressionPercent: number;
  /** No gated metric regressed. */
  readonly passed: boolean;
  readonly checks: MetricCheck[];
  /** One line per regressed metric: `N=100 allConnected ratio 1.05 → 1.40 (+33% > 20%)`. */
  readonly regressions: string[];
  /** One line per metric that got better by more than the tolerance: the baseline may be due for a refresh. */
  readonly improvements: string[];
  /** Samples with no sample of the same workload in the baseline: reported, not gated. */
  readonly missing: string[];
}

export const DEFAULT_MAX_REGRESSION_PERCENT = 20;

export function compareSamples(options: {
  current: readonly GateSample[];
  baseline: readonly GateSample[];
  metrics: readonly GatedMetric[];
  maxRegressionPercent: number;
}): Comparison {
  const { metrics, maxRegressionPercent: tolerance } = options;
  const baselineByKey = new Map(options.baseline.map((sample) => [sample.key, sample]));
  const checks: MetricCheck[] = [];
  const regressions: string[] = [];
  const improvements: string[] = [];
  const missing: string[] = [];
  for (const sample of options.current) {
    const before = baselineByKey.get(sample.key);
    if (!before) {
      missing.push(`${sample.label} (${sample.key})`);
      continue;
    }
    for (const metric of metrics) {
      const baseline = before.values[metric.name];
      const current = sample.values[metric.name];
      if (baseline === undefined || current === undefined) continue;
      const changePercent = baseline === 0 ? (current === 0 ? 0 : null) : ((current - baseline) / baseline) * 100;
      const beyondTolerance = changePercent === null || Math.abs(changePercent) > tolerance;
      const beyondNoise = Math.abs(current - baseline) > metric.noiseFloor;
      const worse = metric.largerIsBetter ? current < baseline : current > baseline;
      const status: CheckStatus = !beyondTolerance || !beyondNoise ? 'within' : worse ? 'regressed' : 'improved';
      checks.push({ sample: sample.label, metric: metric.name, baseline, current, changePercent, status });
      const line = `${sample.label} ${metric.label} ${metric.format(baseline)} → ${metric.format(current)} (${formatChange(changePercent)}`;
      if (status === 'regressed') regressions.push(`${line} > ${tolerance}%)`);
      if (status === 'improved') improvements.push(`${line})`);
    }
  }
  return { maxRegressionPercent: tolerance, passed: regressions.length === 0, checks, regressions, improvements, missing };
}

/** `--max-regression 20%` (or `20`): the percentage a gated metric may grow by. */
export function parseMaxRegression(text: string): number {
  const percent = Number(text.trim().replace(/%$/, ''));
  if (text.trim() === '' || !Number.isFinite(percent) || percent < 0) {
    throw new PeerlabError(`--max-regression "${text}" is not a percentage`, { hint: 'give how much worse a metric may get, e.g. --max-regression 20%' });
  }
  return percent;
}

function formatChange(changePercent: number | null): string {
  if (changePercent === null) return '+∞%';
  const rounded = Math.round(changePercent);
  return `${rounded >= 0 ? '+' : '−'}${Math.abs(rounded)}%`;
}
