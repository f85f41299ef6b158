/**
 * Sends respect gRPC flow control on real containers: a node that sends 1 MiB payloads in a loop far faster
 * than its link drains waits (awaiting `send`) and stays well under its memory limit while every message
 * arrives; one that does not wait is told so by a clear failure, instead of being killed by the kernel. The same
 * holds where the agent's outbox shapes a link with a rate (the message layer).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bringUp, runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { packageRoot } from '../../src/util/paths.js';
import { leftovers } from './cli-helpers.js';

const sendBig = path.join(packageRoot, 'test', 'fixtures', 'send-big.ts');
const MiB = 1024 * 1024;
const NODE_MEMORY = 64 * MiB;
let resultsRoot: string;

function request(overrides: Partial<RunRequest>): RunRequest {
  return {
    algorithm: sendBig,
    params: [],
    topology: 'ring:n=3',
    seed: 1,
    allowDisconnected: false,
    timeoutMs: 120_000,
    resultsRoot,
    nodeMemoryLimit: NODE_MEMORY,
    ...overrides,
  };
}

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-results-'));
});

afterAll(async () => {
  await rm(resultsRoot, { recursive: true, force: true });
});

describe('flow control on Docker', () => {
  it('200 payloads of 1 MiB, each send awaited: all arrive in order, and the sender stays under its memory limit', async () => {
    const up = await bringUp(request({ params: ['count=200'] }));
    const { deployment } = up;
    try {
      await deployment.controller.start(0);
      const collected = await deployment.controller.collectResults({ timeoutMs: 120_000, check: () => deployment.watch.check() });
      expect(collected.timedOut).toBe(false);
      expect(collected.results.get('1')).toEqual({ received: 200 });
      const sender = collected.results.get('0') as { sent: number; peakHeld: number };
      expect(sender.sent).toBe(200);
      // 200 MiB went through a 64 MiB container (alive to the end: the crash check below); what its JavaScript
      // held at any time (heap and buffers, garbage not yet collected included) stayed at a few payloads.
      console.log(`sender held at most ${(sender.peakHeld / MiB).toFixed(1)} MiB`);
      expect(sender.peakHeld).toBeLessThan(NODE_MEMORY * 0.75);
      await deployment.watch.check();
    } finally {
      await deployment.tearDown();
    }
    expect(await leftovers(up.runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('a loop that does not await its sends fails the run with the reason, not an OOM kill', async () => {
    let runId = '';
    await expect(runAlgorithm(request({ params: ['count=200', 'wait=false'], onRunId: (id) => (runId = id) }))).rejects.toThrow(
      /^node 0 failed( at test\/fixtures\/send-big\.ts:\d+:\d+)?: node 0 sends faster than its links drain: \d+\.\d MiB are still waiting to go out/,
    );
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });

  it('at the message layer, a rate holds the sender back the same way: the loop that does not await is told, not OOM-killed', async () => {
    // The agent's outbox serialises at the link's rate: what waits there counts against the same send buffer.
    let runId = '';
    await expect(runAlgorithm(request({ params: ['count=200', 'wait=false'], links: 'rate=100mbit', onRunId: (id) => (runId = id) }))).rejects.toThrow(
      /^node 0 failed( at test\/fixtures\/send-big\.ts:\d+:\d+)?: node 0 sends faster than its links drain: \d+\.\d MiB are still waiting to go out/,
    );
    expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});
