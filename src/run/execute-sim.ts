import { createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { NodeFailed } from './controller.js';
import { hasLinks } from '../links/edges.js';
import { DEFAULT_DELAY_SPEC, linkDelay, parseDelay, simulate, type TraceEvent } from '../runtime/sim/index.js';
import { ExecutionFailed, type Execution } from './execution.js';
import type { PreparedRun } from './prepare.js';
import { NodeLogWriter } from '../util/node-logs.js';

/**
 * Runs the algorithm in the deterministic simulator: the same plugin code, no Docker. The same topology, seed,
 * parameters and links give a bit-identical outcome, so the run's own command is its replay. Shaped edges take
 * their link model (the Docker agent's own); a run without any takes the simulator's default delay, exp:1.
 */
export async function executeInSimulator(
  prepared: PreparedRun,
  options: { timeoutMs: number; traceFile?: string; /** Where each node's log goes (see NodeLogWriter); without it node.log() lines are dropped. */ logsDir?: string },
): Promise<Execution> {
  const graph = prepared.topology.graph;
  const delay = hasLinks(graph) ? linkDelay(graph, prepared.config.seed, prepared.links ?? 'file') : parseDelay(DEFAULT_DELAY_SPEC);
  const delaySpec = hasLinks(graph) ? `links ${delay.spec}` : delay.spec;
  const trace = options.traceFile ? await openTrace(options.traceFile) : undefined;
  // Lines as the node agent prints them in a container, so a node's log reads the same from either runtime.
  const logs = options.logsDir === undefined ? undefined : new NodeLogWriter(options.logsDir);
  let outcome;
  try {
    outcome = await simulate({
      graph: prepared.topology.graph,
      groups: prepared.groups,
      seed: prepared.config.seed,
      maxPayloadBytes: prepared.config.maxPayloadBytes,
      delay,
      timeoutMs: options.timeoutMs,
      trace: trace?.write,
      log: logs && ((nodeId, line) => logs.write(nodeId, `[node ${nodeId}] ${line}`)),
      console: logs && ((nodeId, line) => logs.write(nodeId, line)),
    });
    if (outcome.failure) logs?.write(outcome.failure.nodeId, `[node ${outcome.failure.nodeId}] ${outcome.failure.stack ?? outcome.failure.message}`);
  } finally {
    logs?.close();
  }
  await trace?.close();
  if (outcome.failure) {
    const { nodeId, message, stack } = outcome.failure;
    throw new ExecutionFailed(new NodeFailed(nodeId, message, stack), { results: outcome.results, reports: outcome.reports });
  }
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
