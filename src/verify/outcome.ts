import type { CheckResult, Outcome, Verdict } from './types.js';

/** How each outcome is marked where people read it (CLI lines, results list, progress). */
export const OUTCOME_MARK: Readonly<Record<Outcome, string>> = {
  pass: '✔ PASS',
  fail: '✖ FAIL',
  unchecked: '? UNCHECKED',
  reproduced: '≈ REPRODUCED',
};

/** A check's answer as the run's verdict: `pass` only when the check passed a method that is meant to be exact. */
export function verdictOf(result: CheckResult): Verdict {
  const outcome: Outcome = !result.passed ? 'fail' : result.reproduced ? 'reproduced' : 'pass';
  return { ...result, outcome, passed: outcome === 'pass', expected: result.expected ?? null, actual: result.actual ?? null };
}

const UNCHECKED_SUFFIX = 'results recorded, not checked';

/** The verdict of a run nothing checked. */
export function uncheckedVerdict(why: string): Verdict {
  return { outcome: 'unchecked', passed: false, summary: `${why}: ${UNCHECKED_SUFFIX}`, expected: null, actual: null, metrics: {}, failures: [] };
}

/**
 * Whether a run with this outcome fails (non-zero exit, a failed run of an experiment or bench): a failed
 * check always; an unchecked run only when a check was required (`--require-check`, `requireCheck:`), so a CI
 * job that runs a work-in-progress algorithm is not broken by the missing check unless it asks to be.
 */
export function outcomeFails(outcome: Outcome, requireCheck: boolean): boolean {
  return outcome === 'fail' || (outcome === 'unchecked' && requireCheck);
}

/**
 * The outcome a verify.json records. Files written before outcomes existed had only `passed`, and called an
 * unchecked run passed ("…: results recorded, not checked"): read as what it was.
 */
export function outcomeOfFile(verify: { outcome?: unknown; passed?: unknown; summary?: unknown } | undefined): Outcome | undefined {
  if (verify === undefined) return undefined;
  if (verify.outcome === 'pass' || verify.outcome === 'fail' || verify.outcome === 'unchecked' || verify.outcome === 'reproduced') return verify.outcome;
  if (typeof verify.summary === 'string' && verify.summary.endsWith(UNCHECKED_SUFFIX)) return 'unchecked';
  return verify.passed === true ? 'pass' : verify.passed === false ? 'fail' : undefined;
}
