import { Flags } from '@oclif/core';
import { PeerlabError } from '../errors.js';
import { compareToBaseline, readBaseline, type BenchKind, type BenchReport } from '../bench/report.js';
import { DEFAULT_MAX_REGRESSION_PERCENT, parseMaxRegression } from '../bench/regression.js';
import { outputFile, writeJson } from '../util/files.js';

/**
 * `--out`: the report is also written to a file after every N, so that a long bench cut short (an N = 1,000
 * start-up takes half an hour on a slow engine) keeps what it measured; `--json` prints only at the end.
 */
export const benchOutFlag = {
  out: Flags.string({ description: 'also write the report to this JSON file, rewritten after each N so that a bench cut short keeps the Ns it finished' }),
};

/** Checks --out before anything is measured, and returns what writes the report so far (nothing without --out). */
export function reportKeeper(flags: { out?: string }): (report: unknown) => Promise<void> {
  if (flags.out === undefined) return async () => {};
  const file = outputFile('--out', flags.out, 'bench.json');
  return (report) => writeJson(file, report);
}

/** Flags shared by the `peerlab bench` commands: the sizes measured, and the regression gate. */
export function benchFlags(defaultNodes: string) {
  return {
    nodes: Flags.string({ default: defaultNodes, description: 'comma-separated node counts' }),
    ...benchOutFlag,
    m: Flags.integer({ default: 2, description: 'Barabási–Albert attachment: topology ba:n=N,m=M' }),
    baseline: Flags.string({ description: 'a previous --json output of the same bench: exit 1 if a gated metric regressed against it' }),
    'max-regression': Flags.string({
      description: `how much worse than --baseline a gated metric may get (default ${DEFAULT_MAX_REGRESSION_PERCENT}%)`,
    }),
  };
}

export function nodeCounts(flags: { nodes: string; m: number }): number[] {
  const counts = flags.nodes.split(',').map((value) => Number(value.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n <= flags.m)) {
    throw new PeerlabError(`--nodes "${flags.nodes}" must list whole numbers above m=${flags.m}`, { hint: 'e.g. --nodes 25,50,100' });
  }
  return counts;
}

export type BaselineGate = <Sample>(samples: readonly Sample[]) => BenchReport<Sample>['comparison'];

/**
 * Reads --baseline now, before anything is measured, so a bad file fails in a second rather than after the bench.
 * The gate it returns compares the samples, writes one line per regression, improvement and missing sample to
 * stderr (even under --json, so a CI log says why it failed), and sets exit code 1 on a regression.
 */
export async function openBaselineGate(flags: { baseline?: string; 'max-regression'?: string }, kind: BenchKind): Promise<BaselineGate> {
  if (flags.baseline === undefined) {
    if (flags['max-regression'] !== undefined) {
      throw new PeerlabError('--max-regression needs --baseline', { hint: `add --baseline <file>, a previous \`${kind.command} --json\` output` });
    }
    return () => undefined;
  }
  const maxRegressionPercent = parseMaxRegression(flags['max-regression'] ?? `${DEFAULT_MAX_REGRESSION_PERCENT}%`);
  const baseline = await readBaseline(flags.baseline, kind);
  return (samples) => {
    const comparison = compareToBaseline(kind, samples, baseline, maxRegressionPercent);
    const say = (line: string) => process.stderr.write(`${line}\n`);
    for (const line of comparison.missing) say(`not in the baseline, not compared: ${line}`);
    for (const line of comparison.improvements) say(`improved: ${line}`);
    for (const line of comparison.regressions) say(`regression: ${line}`);
    say(
      comparison.passed
        ? `✔ no gated metric regressed by more than ${maxRegressionPercent}% against ${baseline.file}`
        : `✖ ${comparison.regressions.length} gated metric(s) regressed by more than ${maxRegressionPercent}% against ${baseline.file}`,
    );
    if (!comparison.passed) process.exitCode = 1;
    return comparison;
  };
}
