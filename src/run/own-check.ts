import path from 'node:path';
import type { Check, Json } from '../sdk/types.js';
import { MAX_LISTED_FAILURES, type Oracle } from '../verify/types.js';

/**
 * An algorithm file's own `check` as an oracle. It is the user's code, so what it returns is checked for
 * shape, and an exception in it becomes a failed verdict that says so (the run's results are still written).
 */
export function ownCheckOracle(check: Check, source: string): Oracle {
  const where = `the check in ${path.basename(source)}`;
  const failed = (summary: string, failures: string[] = []) => ({ passed: false, summary, metrics: {}, failures });
  return ({ graph, params, results }) => {
    let returned: unknown;
    try {
      returned = check({ graph, params, results });
    } catch (error) {
      const failure = error instanceof Error ? (error.stack ?? error.message) : String(error);
      return failed(`${where} threw: ${error instanceof Error ? error.message : String(error)}`, [failure]);
    }
    if (typeof returned !== 'object' || returned === null || typeof (returned as { passed?: unknown }).passed !== 'boolean') {
      return failed(`${where} returned ${returned instanceof Promise ? 'a promise' : JSON.stringify(returned) ?? String(returned)}, not { passed: boolean, summary: string }`);
    }
    const verdict = returned as ReturnType<Check>;
    const metrics = Object.fromEntries(Object.entries(verdict.metrics ?? {}).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
    return {
      passed: verdict.passed,
      summary: typeof verdict.summary === 'string' && verdict.summary !== '' ? verdict.summary : verdict.passed ? `${where} passed` : `${where} failed`,
      expected: verdict.expected ?? (null as Json),
      actual: verdict.actual ?? (null as Json),
      metrics,
      failures: (Array.isArray(verdict.failures) ? verdict.failures.map(String) : []).slice(0, MAX_LISTED_FAILURES),
    };
  };
}
