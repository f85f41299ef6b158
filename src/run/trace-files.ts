import { chmod, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/files.js';
import { runStateDir } from './state.js';
import type { RunId } from '../util/names.js';

/**
 * The per-node trace files of a traced Docker run (see node/trace.ts): a folder the nodes can write, and their
 * merge into one events.ndjson.
 */
export async function makeNodeTraceDir(runId: RunId): Promise<string> {
  // Beside the algorithm bundles, whose folders the nodes can already reach (a results folder may sit under a
  // private one, such as a temporary directory), and removed with them at teardown.
  const dir = path.join(runStateDir(runId), 'trace');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // The nodes run as an unprivileged user of their own (uid 1000), not as whoever runs the CLI.
  await chmod(dir, 0o777);
  return dir;
}

interface TracedLine {
  readonly lamport: number;
  readonly time: number;
  readonly line: string;
}

/**
 * Merges every node's file into `traceFile` in Lamport order (which respects causality: a delivery always comes
 * after its send), ties by local time, and removes the folder. Returns the number of events.
 */
export async function mergeNodeTraces(dir: string, traceFile: string): Promise<number> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.ndjson'));
  const events: TracedLine[] = [];
  for (const name of files) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
      if (!line) continue;
      const { lamport, time } = JSON.parse(line) as { lamport: number; time: number };
      events.push({ lamport, time, line });
    }
  }
  events.sort((a, b) => a.lamport - b.lamport || a.time - b.time);
  await writeFileAtomic(traceFile, events.map((event) => `${event.line}\n`).join(''));
  await rm(dir, { recursive: true, force: true });
  return events.length;
}
