import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';
import { connectDocker, RUN_LABEL } from '../../src/docker/engine.js';
import { packageRoot } from '../../src/util/paths.js';

const exec = promisify(execFile);
export const bin = path.join(packageRoot, 'bin', 'run.js');

/** The built CLI, run in `cwd` as a user runs it. */
export async function peerlabIn(cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return peerlabWithNodeFlags(cwd, [], ...args);
}

/** The same, with flags for Node.js itself before the CLI's (`node --max-old-space-size=16384 bin/run.js …`). */
export async function peerlabWithNodeFlags(cwd: string, nodeFlags: string[], ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [...nodeFlags, bin, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** The containers and networks labelled with the run's id: what a run left behind. */
export async function leftovers(runId: string): Promise<{ containers: number; networks: number }> {
  const docker = await connectDocker();
  const filters = { label: [`${RUN_LABEL}=${runId}`] };
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return { containers: containers.length, networks: networks.length };
}

/** leftovers, described as the shared scenarios take it (e.g. "container ×2"): empty when nothing is left. */
export async function leftOnEngine(runId: string): Promise<string[]> {
  const { containers, networks } = await leftovers(runId);
  return [containers > 0 && `container ×${containers}`, networks > 0 && `network ×${networks}`].filter((kind): kind is string => kind !== false);
}

/**
 * What an invocation left behind. The CLI announces `run <id>` on stderr before it creates anything, so an
 * invocation that failed before announcing created nothing; one that announced must have removed all of it.
 * (Counting every peerlab object would break when other runs share the engine.)
 */
export async function leftBehind(stderr: string): Promise<number> {
  let count = 0;
  for (const [, runId] of stderr.matchAll(/^run (\S+)$/gm)) {
    const { containers, networks } = await leftovers(runId!);
    count += containers + networks;
  }
  return count;
}

/** Each node's result as recorded in results/<run>/nodes.csv, in node order (undefined for a node without one). */
export async function nodeResults(resultsDir: string): Promise<Array<Record<string, unknown> | undefined>> {
  const rows = parse(await readFile(path.join(resultsDir, 'nodes.csv'), 'utf8'), { columns: true }) as Array<{ result: string }>;
  return rows.map((row) => (row.result ? (JSON.parse(row.result) as Record<string, unknown>) : undefined));
}

/**
 * Runs the CLI in `cwd` and presses Ctrl-C once the run it announced has more than `nodeContainers` node
 * containers (say, past its start-up, or past its first joins); resolves with the exit code, stderr and run id.
 */
export async function interruptPast(cwd: string, args: readonly string[], nodeContainers: number, timeoutMs: number): Promise<{ code: number | null; stderr: string; runId: string }> {
  const child = spawn(process.execPath, [bin, ...args], { cwd });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const docker = await connectDocker();
  for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 250))) {
    const runId = /^run (\S+)$/m.exec(stderr)?.[1];
    const nodes = runId ? await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`, 'peerlab.role=node'] } }) : [];
    if (runId && nodes.length > nodeContainers) {
      child.kill('SIGINT');
      return { code: await exited, stderr, runId };
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the run had no more than ${nodeContainers} node containers after ${timeoutMs / 1000} s; its stderr: ${stderr}`);
    }
  }
}

/** The CLI in the background, with `env` added; once it has announced its run id when it runs one. */
export function cliInBackground(args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], { cwd: packageRoot, env: { ...process.env, ...env } });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const ended = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return {
    output,
    ended,
    async runId(): Promise<string> {
      for (let waited = 0; !/^run (\S+)$/m.test(output.stderr); waited += 100) {
        expect(waited, output.stderr + output.stdout).toBeLessThan(60_000);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return /^run (\S+)$/m.exec(output.stderr)![1]!;
    },
    /** A failed assertion must not leave it going: Ctrl-C, and wait for its teardown. */
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await ended;
      }
    },
  };
}

/** `peerlab migrate` (with `env` added), asked again while the run is still coming up, then taken once it has started. */
export async function migrateOnceStarted(runId: string, args: readonly string[], env: Record<string, string> = {}) {
  for (let tries = 0; ; tries++) {
    const mover = cliInBackground(['migrate', runId, ...args], env);
    const code = await mover.ended;
    if (!/still in bring-up|has no run|no run .* is up/.test(mover.output.stderr) || tries > 120) return { code, ...mover.output };
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
