/** Running a shipped experiment file of one run on Docker, as `peerlab experiment run` does, for its outcome. */
import { expect } from 'vitest';
import { prepareExperiment, runExperiment } from '../../src/experiment/experiment.js';
import { readOutcomes, type RunOutcome } from '../../src/experiment/store.js';
import type { BaseRequest } from '../../src/experiment/execute.js';
import { runAlgorithm } from '../../src/run/run.js';

/** Runs `file` (which must ask for Docker) into `resultsRoot`; `onRunId` learns the run's id as soon as it has one. */
export async function runDockerExperiment(file: string, options: { resultsRoot: string; base?: Omit<BaseRequest, 'resultsRoot'>; onRunId: (id: string) => void }): Promise<RunOutcome | undefined> {
  const prepared = await prepareExperiment(file);
  expect(prepared.plan.runtime).toBe('docker');
  const result = await runExperiment({
    prepared,
    resultsRoot: options.resultsRoot,
    resume: false,
    runner: runAlgorithm,
    ...(options.base && { base: options.base }),
    hooks: { onRunId: (_run, id) => options.onRunId(id) },
    render: async (plots) => plots.map((plot) => ({ ...plot, svg: '<svg/>' })),
  });
  const [outcome] = await readOutcomes(result.folder);
  return outcome;
}
