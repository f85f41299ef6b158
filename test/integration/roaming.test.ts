/**
 * Seed 004's roaming service (experiments/roaming.yaml) on real Docker: a client's stream through a proxy to a
 * service migrated every 4 s, with its state, beside a baseline whose service is restarted. The experiment's own
 * check must pass, with the state restored on a new container at every migration and the baseline reconnecting.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftovers } from './cli-helpers.js';
import { runDockerExperiment } from './experiment-helpers.js';

let resultsRoot: string;

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-roaming-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

describe('the roaming case study on Docker', () => {
  it('keeps the roaming stream across 4 migrations, its state restored each time, while the baseline reconnects', async () => {
    let runId = '';
    const outcome = await runDockerExperiment('experiments/roaming.yaml', { resultsRoot, onRunId: (id) => (runId = id) });
    expect(outcome?.status, outcome?.verdict).toBe('passed');
    expect(outcome?.verdict).toMatch(/roaming client 0: \d+ requests across 4 migrations of service 2, 1 stream, its count went on \(its state restored on 4 new containers\)/);
    expect(outcome?.verdict).toMatch(/baseline client 3: \d+ requests across 4 restarts of service 5, [4-9] reconnect\(s\)/);
    console.log(`verdict: ${outcome?.verdict}`);
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});
