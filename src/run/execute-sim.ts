import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { NodeFailed } from './controller.js';
import { DEFAULT_DELAY_SPEC, parseDelay, simulate, type TraceEvent } from '../runtime/sim/index.js';
import type { Execution } from './execution.js';
import type { PreparedRun } from './prepare.js';

/**
 * Runs the algorithm in the deterministic simulator: the same plugin code, no Docker. The same topology, seed,
 * parameters and delay model give a bit-identical outcome, so the run's own command is its replay.
 */
export async function executeInSimulator(
  prepared: PreparedRun,
  options: { delay?: string; timeoutMs: number; traceFile?: string; onEvent?: (event: TraceEvent) => void },
): Promise<Execution> {
  const delaySpec = options.delay ?? DEFAULT_DELAY_SPEC;
  const delay = parseDelay(delaySpec);
  const file = options.traceFile ? await openTrace(options.traceFile) : undefined;
  const { onEvent } = options;
  const trace =
    file && onEvent
      ? (event: TraceEvent) => {
          file.write(event);
          onEvent(event);
        }
      : (file?.write ?? onEvent);
  const outcome = await simulate({
    graph: prepared.topology.graph,
    groups: prepared.groups,
    seed: prepared.config.seed,
    maxPayloadBytes: prepared.config.maxPayloadBytes,
    delay,
    timeoutMs: options.timeoutMs,
    trace,
  });
  await file?.close();
  if (outcome.failure) throw new NodeFailed(outcome.failure.nodeId, outcome.failure.message, outcome.failure.stack);
  return {
    runtime: 'sim',
    results: outcome.results,
    reports: outcome.reports,
    missing: outcome.missing,
    timings: { algorithmMs: outcome.wallMs, virtualTimeMs: outcome.virtualTimeMs },
    facts: { delay: delaySpec, endReason: outcome.endReason, events: outcome.events, virtualTimeMs: outcome.virtualTimeMs },
  };
}

/** Streams trace events as NDJSON to a temporary file, renamed into place once complete. */
async function openTrace(file: string): Promise<{ write: (event: TraceEvent) => void; close: () => Promise<void> }> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp`;
  const stream = createWriteStream(temporary);
  return {
    write: (event) => {
      stream.write(`${JSON.stringify(event)}\n`);
    },
    close: async () => {
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
      await rename(temporary, file);
    },
  };
}
