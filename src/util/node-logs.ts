import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** Every node's output lives in results/<run-id>/logs/<node id>.log, in both runtimes. */
export const LOGS_FOLDER = 'logs';

export function nodeLogFile(logsDir: string, nodeId: string): string {
  return path.join(logsDir, `${nodeId}.log`);
}

/** How much output the writer holds before it writes, whatever the time. */
const FLUSH_BYTES = 1024 * 1024;
const FLUSH_EVERY_MS = 500;

/**
 * Appends node output to the per-node log files of one run, in batches: a simulated run can print millions
 * of lines, and a file write per line would cost more than the simulation. Batches go out every half second
 * (so `peerlab logs -f` follows a run that is up), whenever a megabyte is waiting, and on close. A node that
 * prints nothing gets no file. Writes are synchronous so the order of lines is the order they were printed.
 */
export class NodeLogWriter {
  private pending = new Map<string, string[]>();
  private pendingBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.timer = setInterval(() => this.flush(), FLUSH_EVERY_MS);
    this.timer.unref();
  }

  write(nodeId: string, line: string): void {
    let lines = this.pending.get(nodeId);
    if (!lines) this.pending.set(nodeId, (lines = []));
    lines.push(line);
    this.pendingBytes += line.length + 1;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  flush(): void {
    const pending = this.pending;
    this.pending = new Map();
    this.pendingBytes = 0;
    for (const [nodeId, lines] of pending) appendFileSync(nodeLogFile(this.dir, nodeId), `${lines.join('\n')}\n`);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
