/**
 * On real containers, a run ends once every node has a result, whatever is still in flight, and `--until
 * quiescent` waits (by counting waves the nodes answer through etcd) until no message is. The fixture's
 * token walks 2,000 hops from node to node after every node has reported in init. Registered by
 * run-end.test.ts on Docker and by swarm.test.ts on the local Swarm.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlgorithm, type RunRequest } from '../../../src/run/run.js';
import type { RuntimeKind } from '../../../src/runtime/types.js';
import { packageRoot } from '../../../src/util/paths.js';

const HOPS = 2000;

export function runsEndWhenTheyShould(runtime: Exclude<RuntimeKind, 'sim'>): void {
  describe(`the end of a run on ${runtime}`, () => {
    let resultsRoot: string;
    beforeAll(async () => {
      resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-run-end-'));
    });
    afterAll(async () => {
      await rm(resultsRoot, { recursive: true, force: true });
    });
    const walk = (extra: Partial<RunRequest> = {}) =>
      runAlgorithm({
        algorithm: path.join(packageRoot, 'test', 'fixtures', 'token-walk.ts'),
        params: [`hops=${HOPS}`],
        topology: 'ring:n=8',
        seed: 2,
        allowDisconnected: false,
        timeoutMs: 240_000,
        resultsRoot,
        runtime,
        ...extra,
      });

    // Each node freezes at stop (handles, sends and counts nothing more) before it reports, so the totals are a
    // consistent cut: one token, so at most one message in flight.
    it('comes when every node has a result, with the walk still going: fewer messages than hops', async () => {
      const summary = await walk();
      expect(summary.runtime).toBe(runtime);
      expect(summary.missing).toEqual([]);
      expect(summary.outcome).toBe('unchecked');
      expect(summary.metrics.messages).toBeLessThan(HOPS);
      expect(summary.metrics.messagesInFlight).toBe(summary.inFlight);
      expect(summary.inFlight).toBeGreaterThanOrEqual(0);
      expect(summary.inFlight).toBeLessThanOrEqual(1);
      // The nodes' own totals, unclipped: every message received was sent, and at most the token is missing.
      const rows = (await readFile(path.join(summary.resultsDir, 'nodes.csv'), 'utf8')).trim().split('\n');
      const columns = rows[0]!.split(',');
      const total = (column: string) => rows.slice(1).reduce((sum, row) => sum + Number(row.split(',')[columns.indexOf(column)]), 0);
      expect(total('messages_sent') - total('messages_received')).toBe(summary.inFlight);
    });

    it('with --until quiescent comes only once the walk has ended: every hop sent and received, none in flight', async () => {
      const summary = await walk({ until: 'quiescent' });
      expect(summary.missing).toEqual([]);
      expect(summary).toMatchObject({ outcome: 'unchecked', failed: false, inFlight: 0 });
      expect(summary.metrics.messages).toBe(HOPS);
    });
  });
}
