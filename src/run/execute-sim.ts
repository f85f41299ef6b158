import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { NodeFailed } from './controller.js';
import { hasLinks } from '../links/edges.js';
import { DEFAULT_DELAY_SPEC, linkDelay, parseDelay, simulate, type TraceEvent } from '../runtime/sim/index.js';
import type { Execution } from './execution.js';
import type { PreparedRun } from './prepare.js';

/**
 * Runs the algorithm in the deterministic simulator: the same plugin code, no Docker. The same topology, seed,
 * parameters and links give a bit-identical outcome, so the run's own command is its replay. Shaped edges take
 * their link model (the Docker agent's own); a run without any takes the simulator's default delay, exp:1.
 */
export async function executeInSimulator(
  prepared: PreparedRun,
  options: { timeoutMs: number; until?: 'results' | 'quiescent'; traceFile?: string },
): Promise<Execution> {
  const graph = prepared.topology.graph;
  const delay = hasLinks(graph) ? linkDelay(graph, prepared.config.seed, prepared.links ?? 'file') : parseDelay(DEFAULT_DELAY_SPEC);
  const delaySpec = hasLinks(graph) ? `links ${delay.spec}` : delay.spec;
  const trace = options.traceFile ? await openTrace(options.traceFile) : undefined;
  const outcome = await simulate({
    graph: prepared.topology.graph,
    groups: prepared.groups,
    seed: prepared.config.seed,
    maxPayloadBytes: prepared.config.maxPayloadBytes,
    delay,
    timeoutMs: options.timeoutMs,
    until: options.until,
    trace: trace?.write,
  });
  await trace?.close();
  if (outcome.failure) throw new NodeFailed(outcome.failure.nodeId, outcome.failure.message, outcome.failure.stack);
  return {
    runtime: 'sim',
    results: outcome.results,
    reports: outcome.reports,
    missing: outcome.missing,
    inFlight: outcome.inFlight,
    timings: { algorithmMs: outcome.wallMs, virtualTimeMs: outcome.virtualTimeMs },
    facts: { delay: delaySpec, endReason: outcome.endReason, events: outcome.events, messagesInFlight: outcome.inFlight, virtualTimeMs: outcome.virtualTimeMs },
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
