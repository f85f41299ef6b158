import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { connectDocker, NODE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { PeerlabError } from '../errors.js';
import { DockerRuntime } from '../runtime/docker.js';
import { parseRunId } from '../util/names.js';
import { LOGS_FOLDER, nodeLogFile } from '../util/node-logs.js';

/** Node ids are made by the topology loader (0..n−1); anything else never reaches a path. */
const NODE_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const POLL_MS = 250;

export interface LogRequest {
  readonly runId: string;
  readonly nodeId: string;
  readonly resultsRoot: string;
  /** Keep printing what the node prints until its run ends. */
  readonly follow: boolean;
  readonly write: (chunk: Buffer) => void;
}

/**
 * Shows a node's log: from its container while a Docker run is up, else from results/<run>/logs/<node>.log,
 * which both runtimes write (the simulator while it runs, Docker when the run ends). Following a file stops
 * when the run's folder gets its run.json or error.json, i.e. when the run is over.
 */
export async function showNodeLog(request: LogRequest): Promise<void> {
  const { nodeId } = request;
  const runId = parseRunId(request.runId, 'peerlab logs <run>', 'see `peerlab status` or `peerlab results list` for run ids');
  if (!NODE_ID.test(nodeId)) throw new PeerlabError(`"${nodeId}" is not a node id`, { hint: 'node ids are the topology\'s, e.g. 0, 1, 2' });

  const docker = await connectDocker().catch(() => undefined);
  if (docker) {
    const [container] = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`, `${NODE_LABEL}=${nodeId}`] } });
    if (container) {
      await DockerRuntime.attach(docker, runId).streamLog(nodeId, request.write, { follow: request.follow });
      return;
    }
  }

  const runDir = path.resolve(request.resultsRoot, runId);
  if (!existsSync(runDir)) {
    throw new PeerlabError(`run ${runId} is not up and has no folder under ${path.resolve(request.resultsRoot)}`, {
      hint: 'check the run id (`peerlab status`, `peerlab results list`), or point --results at its results folder',
    });
  }
  await followFile(nodeLogFile(path.join(runDir, LOGS_FOLDER), nodeId), runDir, request);
}

async function followFile(file: string, runDir: string, request: LogRequest): Promise<void> {
  const ended = () => existsSync(path.join(runDir, 'run.json')) || existsSync(path.join(runDir, 'error.json'));
  let offset = 0;
  for (;;) {
    // Read "ended" before the file, so the lines written just before the run ended are still printed.
    const over = !request.follow || ended();
    offset += await copyFrom(file, offset, request.write);
    if (over) break;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  if (offset === 0 && ended() && !existsSync(file)) {
    process.stderr.write(`node ${request.nodeId} of run ${request.runId} printed nothing\n`);
  }
}

/** Copies what the file holds past `offset` (nothing if it does not exist yet); returns the bytes copied. */
async function copyFrom(file: string, offset: number, write: (chunk: Buffer) => void): Promise<number> {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return 0;
  try {
    let copied = 0;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset + copied);
      if (bytesRead === 0) return copied;
      write(Buffer.from(buffer.subarray(0, bytesRead)));
      copied += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
