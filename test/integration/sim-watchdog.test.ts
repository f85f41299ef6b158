/**
 * The simulator never hangs: a node whose onMessage never returns (test/fixtures/spin-forever.ts) is stopped once
 * it has held the simulation for --timeout, by Ctrl-C and SIGTERM, and by the death of the process that launched
 * the CLI, while a run that is only slow is not stopped for it, through the built
 * CLI in a real child process. Times are measured from the CLI's `running:` line, which it prints once the
 * simulated nodes are built and the first event is about to run, so a slow start-up on a busy machine is not
 * counted against the watchdog.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/paths.js';
import { bin } from './cli-helpers.js';

const spinner = path.join(packageRoot, 'test', 'fixtures', 'spin-forever.ts');

interface Exited {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** ms from the `running:` line to the exit. */
  readonly afterRunningMs: number;
}

/** Starts the CLI; `running` resolves when the simulation's first event is due, `exited` when the process ends. */
function start(args: string[], options: { command?: string[]; env?: NodeJS.ProcessEnv } = {}) {
  const command = options.command ?? [process.execPath, bin];
  const child: ChildProcess = spawn(command[0]!, [...command.slice(1), ...args], { cwd: packageRoot, env: options.env ?? process.env });
  let stdout = '';
  let stderr = '';
  let runningAt: number | undefined;
  let onRunning: () => void = () => {};
  const running = new Promise<void>((resolve) => (onRunning = resolve));
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (runningAt === undefined && /^running: /m.test(stderr)) {
      runningAt = performance.now();
      onRunning();
    }
  });
  const exited = new Promise<Exited>((resolve) =>
    child.on('exit', (code, signal) =>
      // 'exit' can come before the pipes are drained: wait for them.
      setTimeout(() => resolve({ code, signal, stdout, stderr, afterRunningMs: performance.now() - (runningAt ?? Number.NaN) }), 50),
    ),
  );
  return { child, running, exited };
}

function resultsRoot(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'peerlab-watchdog-'));
}

function errorJson(root: string): { node: string | null; message: string } {
  const [run] = readdirSync(root);
  return JSON.parse(readFileSync(path.join(root, run!, 'error.json'), 'utf8')) as { node: string | null; message: string };
}

const spin = (root: string, timeout: number) => ['run', spinner, '--runtime', 'sim', '--topology', 'ring:n=10', '--timeout', String(timeout), '--results', root];

describe('a node that never returns from onMessage', () => {
  it('is stopped by --timeout 5 within 6 s, and the error names the node and the handler', async () => {
    const root = resultsRoot();
    const { exited } = start(spin(root, 5));
    const result = await exited;
    expect(result.code).not.toBe(0);
    expect(result.afterRunningMs).toBeLessThan(6_000);
    expect(result.afterRunningMs).toBeGreaterThanOrEqual(4_900);
    expect(result.stderr).toMatch(/node 3 failed: did not return from onMessage \(a message from (2|4)\) within the 5 s timeout/);
    expect(errorJson(root)).toMatchObject({ node: '3' });
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`is stopped by ${signal} within a second, keeping error.json`, async () => {
      const root = resultsRoot();
      const { child, running, exited } = start(spin(root, 300));
      await running;
      await new Promise((resolve) => setTimeout(resolve, 300)); // node 3 is spinning by now: its message is due at ~3 virtual ms
      child.kill(signal);
      const signalledAt = performance.now();
      const result = await exited;
      expect(result.code).toBe(130);
      expect(performance.now() - signalledAt).toBeLessThan(1_000);
      expect(result.stderr).toMatch(/interrupted: stopping/);
      expect(result.stderr).toMatch(/^node 3 failed: did not return from onMessage .* when the run was interrupted: the simulator stopped it — its log is /m);
      const error = errorJson(root);
      expect(error.node).toBe('3');
      expect(error.message).toMatch(/did not return from onMessage .* when the run was interrupted/);
    });
  }

  it('leaves no process behind when the npx that launched it is killed', async () => {
    const root = resultsRoot();
    // As npx does: npm → `sh -c peerlab …` → node; SIGKILL of npm reaches neither the shell nor the CLI.
    const launcher = [
      process.execPath,
      '-e',
      "require('node:child_process').spawn('sh', ['-c', process.argv.slice(1).map((a) => `'${a}'`).join(' ')], { stdio: 'inherit' }); setInterval(() => {}, 1e6);",
      process.execPath,
      bin,
    ];
    const { child, running } = start(spin(root, 300), { command: launcher, env: { ...process.env, npm_command: 'exec' } });
    await running;
    child.kill('SIGKILL');
    const killedAt = performance.now();
    while (cliProcesses(root).length > 0 && performance.now() - killedAt < 5_000) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(cliProcesses(root)).toEqual([]);
    expect(performance.now() - killedAt).toBeLessThan(2_000);
  });
});

describe('--timeout in the simulator', () => {
  it('is virtual time: a run slower than it in real time, whose handlers each return, runs to its verdict', async () => {
    // 192 push-sum rounds of 1 virtual ms on 3,000 nodes: about a million messages, seconds of real time.
    const root = resultsRoot();
    const args = ['run', 'push-sum', '--runtime', 'sim', '--topology', 'ba:n=3000,m=2', '--param', 'roundMs=1', '--timeout', '1', '--results', root];
    const result = await start(args).exited;
    expect(result.afterRunningMs).toBeGreaterThan(1_000);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/PASS .*all 3000 nodes within 0\.0001 of the mean/);
  });
});

describe('the event cap', () => {
  it('is reported as the cap, with the flag that raises it, and not as a timeout', async () => {
    const root = resultsRoot();
    const fixture = path.join(packageRoot, 'test', 'fixtures', 'tick-forever.ts');
    const args = ['run', fixture, '--param', 'period=0', '--runtime', 'sim', '--topology', 'ring:n=10', '--max-events', '10000', '--results', root];
    const result = await start(args).exited;
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL .*cut short by the simulator's event cap of 10,000 events \(raise it with --max-events\): 1 node\(s\) reported no result/);
    expect(result.stdout).not.toMatch(/timed out/);
    expect(result.stdout).toMatch(/replay: .*--max-events 10000/);
  });
});

/** Live processes whose command line names this test's results folder. */
function cliProcesses(root: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      const file = `/proc/${pid}/cmdline`;
      try {
        return existsSync(file) && readFileSync(file, 'utf8').includes(root);
      } catch {
        return false;
      }
    })
    .map(Number);
}
