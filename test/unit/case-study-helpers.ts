/**
 * The harness of a case study's test (an experiments/*.yaml of one run with groups and its oracle): the
 * experiment run end to end in the simulator, and its oracle's input, for checks of the oracle on tampered results.
 */
import { rm } from 'node:fs/promises';
import { prepareExperiment, runExperiment } from '../../src/experiment/experiment.js';
import { simulateRun } from '../../src/run/execute-sim.js';
import { prepareRun } from '../../src/run/prepare.js';
import { runStateDir } from '../../src/run/state.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import type { Json } from '../../src/sdk/types.js';
import { faultsSeenOf } from '../../src/verify/faults.js';
import type { OracleInput } from '../../src/verify/types.js';
import { tempDir } from './experiment-helpers.js';

/** Runs the experiment `file` in the simulator; `request` is what its (last) run was asked: groups, seed, faults. */
export async function simulateExperiment(file: string): Promise<{ experiment: Awaited<ReturnType<typeof runExperiment>>; request: RunRequest }> {
  const prepared = await prepareExperiment(file, { runtime: 'sim' });
  let request: RunRequest | undefined;
  const runner = (asked: RunRequest) => {
    request = asked;
    return runAlgorithm(asked);
  };
  const experiment = await runExperiment({ prepared, resultsRoot: tempDir(), resume: false, runner, render: async (plots) => plots.map((plot) => ({ ...plot, svg: '<svg/>' })) });
  return { experiment, request: request! };
}

/** What the run's oracle is given, its results simulated again from `request`. */
export async function oracleInputOf(request: RunRequest): Promise<OracleInput> {
  const run = await prepareRun(request);
  // runAlgorithm removes a run's state folder (its bundles) when it ends; a test that prepares one itself does.
  const execution = await simulateRun(run, { timeoutMs: request.timeoutMs, until: 'results', faults: request.faults }).finally(() => rm(runStateDir(run.runId), { recursive: true, force: true }));
  const groups = run.groups.map(({ role, algorithm, params, nodes }) => ({ role, algorithm: algorithm.name, params, nodes }));
  return { graph: run.topology.graph, results: execution.results, params: {}, groups, faults: faultsSeenOf(request.faults ?? []) };
}

/** A deep copy of `input`'s results, for a test to change. */
export function copiedResults(input: OracleInput): Map<string, Json | undefined> {
  return new Map(JSON.parse(JSON.stringify([...input.results])) as Array<[string, Json]>) as Map<string, Json | undefined>;
}
