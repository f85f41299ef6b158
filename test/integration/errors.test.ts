/**
 * Issue 9 §5 where the behaviour is Docker's, and the CLI's own output: a node's stack trace from a container
 * names the algorithm's .ts line; every node's output lands in results/<run>/logs/; `peerlab logs` shows a
 * node's log while its run is up (from the container) and after (from the file); console output never reaches
 * --json; bad flags get one line in their own terms.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';
import { bin, leftBehind, peerlabIn } from './cli-helpers.js';

let resultsRoot: string;
/** Run from the package root, as a student runs `peerlab` beside their algorithm files. */
const peerlab = (...args: string[]) => peerlabIn(packageRoot, ...args, ...(args[0] === 'run' || args[0] === 'logs' ? ['--results', resultsRoot] : []));
const THROWS_AT = 'test/fixtures/throw-on-node-7.ts:14:32';

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-errors-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

const runIdOf = (stderr: string) => /^run (\S+)$/m.exec(stderr)?.[1];

describe.each(['docker', 'sim'])('a node that throws, on %s', (runtime) => {
  it("is reported at its .ts line; its log and the failed run's data are kept, and results list shows it failed", async () => {
    const { code, stderr } = await peerlab('run', 'test/fixtures/throw-on-node-7.ts', '--topology', 'ring:n=10', '--runtime', runtime);
    expect(code).not.toBe(0);
    const errorLines = stderr.split('\n').filter((line) => line.startsWith('error:'));
    expect(errorLines).toHaveLength(1);
    expect(errorLines[0]).toMatch(new RegExp(`^error: node 7 failed at ${THROWS_AT}: fixture: node 7 fails on purpose — its log is .*/logs/7\\.log`));
    expect(errorLines[0]).not.toMatch(/docker logs/);
    const runDir = path.join(resultsRoot, runIdOf(stderr)!);
    const log = await readFile(path.join(runDir, 'logs', '7.log'), 'utf8');
    expect(log).toContain(`${path.join(packageRoot, THROWS_AT)}`);
    expect(log).not.toMatch(/throw-on-node-7(\.node)?\.cjs/);
    const errorJson = JSON.parse(await readFile(path.join(runDir, 'error.json'), 'utf8')) as { node: string; stack: string };
    expect(errorJson).toMatchObject({ node: '7', stack: expect.stringContaining(path.join(packageRoot, THROWS_AT)) });
    expect((await readFile(path.join(runDir, 'nodes.csv'), 'utf8')).trim().split('\n')).toHaveLength(11);
    const list = await peerlabIn(packageRoot, 'results', 'list', '--results', resultsRoot, '--json');
    const entry = (JSON.parse(list.stdout) as { results: Array<{ id: string; passed: boolean; verdict: string }> }).results.find((e) => e.id === runIdOf(stderr));
    expect(entry).toMatchObject({ outcome: 'fail', verdict: expect.stringMatching(/^failed: node 7 failed at /) });
    expect(await leftBehind(stderr)).toBe(0);
  });
});

describe('node logs', () => {
  it('on Docker: `peerlab logs` reads a node while the run is up, -f follows it, and logs/ holds every node after', async () => {
    const child = spawn(process.execPath, [bin, 'run', 'test/fixtures/chatty.ts', '--topology', 'ring:n=6', '--param', 'sleepMs=12000', '--results', resultsRoot], {
      cwd: packageRoot,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    // A run that never exits fails this test with what it printed, and is stopped (it then removes its objects).
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGTERM');
    });
    onTestFailed(() => console.error(`the run printed:\n${stderr}\n${stdout}`));
    await expect.poll(() => runIdOf(stderr), { timeout: 60_000, interval: 200 }).toBeTruthy();
    const runId = runIdOf(stderr)!;
    // While the run is up, from the container: the talker has printed and is sleeping.
    await expect
      .poll(async () => (await peerlab('logs', runId, '2')).stdout, { timeout: 240_000, interval: 1000 })
      .toContain('console.log from node 2');
    const followed = await peerlab('logs', runId, '2', '-f');
    expect(followed.code).toBe(0);
    expect(followed.stdout).toContain('[node 2] done sleeping');
    expect(await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running 60 s after its nodes ended'), 60_000))])).toBe(0);
    expect(stdout).toContain(`results in ${path.join(resultsRoot, runId)}`);
    const logs = path.join(resultsRoot, runId, 'logs');
    expect((await readdir(logs)).sort()).toEqual(['0.log', '1.log', '2.log', '3.log', '4.log', '5.log']);
    const talker = await readFile(path.join(logs, '2.log'), 'utf8');
    expect(talker).toContain('[node 2] hello from 2\n');
    expect(talker).toContain('console.log from node 2\n');
    expect(talker).toContain("{ from: '2', stream: 'stderr' }\n");
    // After the run, from the file.
    const after = await peerlab('logs', runId, '2');
    expect(after.stdout).toBe(talker);
    expect(await leftBehind(stderr)).toBe(0);
  });

  it('in the simulator: console output goes to the node log, and stdout stays one JSON object', async () => {
    const { code, stdout, stderr } = await peerlab('run', 'test/fixtures/chatty.ts', '--topology', 'ring:n=6', '--runtime', 'sim', '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout) as { resultsDir: string; runId: string };
    expect(stderr).not.toContain('console.log from node 2');
    const shown = await peerlab('logs', summary.runId, '2');
    expect(shown.stdout).toMatch(/^\[node 2\] hello from 2\nconsole\.log from node 2\n\{ from: '2', stream: 'stderr' \}\n┌─+┬─+┐\n[^]*\[node 2\] done sleeping\n$/);
    expect(shown.stdout).toBe(await readFile(path.join(summary.resultsDir, 'logs', '2.log'), 'utf8'));
  });
});

describe('bad flags get one line in their own terms', () => {
  const cases: Array<{ name: string; args: string[]; message: RegExp }> = [
    { name: 'a negative --timeout', args: ['run', 'flood', '--topology', 'ring:n=5', '--runtime', 'sim', '--timeout', '-1'], message: /^error: --timeout -1 is not a positive number of seconds — / },
    { name: 'a misspelt --param', args: ['run', 'flood', '--topology', 'ring:n=5', '--param', 'rot=3'], message: /^error: --param rot is not a parameter of flood — did you mean root\?/ },
    { name: 'a root that is not a node', args: ['run', 'flood', '--topology', 'ring:n=10', '--param', 'root=500'], message: /^error: --param root=500 of flood: the topology has no node "500" — / },
  ];
  for (const { name, args, message } of cases) {
    it(`refuses ${name}`, async () => {
      const { code, stderr } = await peerlab(...args);
      expect(code).not.toBe(0);
      const lines = stderr.split('\n').filter((line) => line.startsWith('error:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(await leftBehind(stderr)).toBe(0);
    });
  }
});
