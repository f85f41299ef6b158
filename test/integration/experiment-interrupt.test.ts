/**
 * Ctrl-C during `peerlab experiment run`: the run in progress ends, no further run starts, the report of what
 * finished is written and the command says how to resume, exiting 130. In the simulator, with runs that would
 * otherwise last their whole 60 s timeout (test/fixtures/spin-forever.ts: a node that never returns), so an
 * experiment that went on to its next run could not exit within seconds. The built CLI, in a real child process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';
import { bin } from './cli-helpers.js';

const cwd = mkdtempSync(path.join(os.tmpdir(), 'peerlab-experiment-interrupt-'));

afterAll(() => rmSync(cwd, { recursive: true, force: true }));

describe('Ctrl-C during an experiment', () => {
  it('ends the run in progress, starts no other, writes the report so far and says how to resume; exit 130', async () => {
    const spinner = path.join(packageRoot, 'test', 'fixtures', 'spin-forever.ts');
    writeFileSync(path.join(cwd, 'spin.yaml'), `name: spin\nruntime: sim\ntopology: { spec: "ring:n=6" }\nalgorithm: ${spinner}\nrepetitions: 3\ntimeout: 60\n`);
    const child = spawn(process.execPath, [bin, 'experiment', 'run', 'spin.yaml'], { cwd });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // The first run is under way once its in-flight record exists.
    const experiments = path.join(cwd, 'results', 'spin');
    const inFlight = () => (existsSync(experiments) ? readdirSync(experiments).some((stamp) => existsSync(path.join(experiments, stamp, 'in-flight.json'))) : false);
    await expect.poll(inFlight, { timeout: 60_000, interval: 100 }).toBe(true);
    child.kill('SIGINT');
    const signalled = performance.now();
    expect(await exited, stderr).toBe(130);
    // The spinning run stops within the simulator's grace; a next run would spin for its 60 s.
    expect(performance.now() - signalled, stderr).toBeLessThan(20_000);
    expect(stderr).toMatch(/^continue with: peerlab experiment run spin\.yaml --resume$/m);
    const [stamp] = readdirSync(experiments);
    const folder = path.join(experiments, stamp!);
    expect(existsSync(path.join(folder, 'report.html'))).toBe(true);
    // Each run that started has its own results folder beside the experiment's: only the first one started.
    expect(readdirSync(path.join(cwd, 'results')).filter((entry) => entry.startsWith('spin-forever-'))).toHaveLength(1);
  }, 120_000);
});
