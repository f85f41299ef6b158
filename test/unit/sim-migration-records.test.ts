/**
 * A simulator run with migrate and restart faults writes what its Docker twin writes (src/run/run.ts):
 * migrations.ndjson, one record per move on the run's virtual clock, and the run's migration metrics, so that
 * `peerlab results compare` finds them on both sides.
 */
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MigrationRecord } from '../../src/coordination/protocol.js';
import { resolveFaults } from '../../src/faults/index.js';
import { runAlgorithm } from '../../src/run/run.js';
import { simRunRequest, topology } from './sim-helpers.js';

const TOPOLOGY = 'ba:n=8,m=2';
const FAULTS = ['at=1001ms migrate ids:2', 'at=1500ms restart ids:4', 'at=2001ms migrate ids:3'];

async function moves(resultsRoot: string) {
  const graph = await topology(TOPOLOGY);
  const summary = await runAlgorithm({
    ...simRunRequest(resultsRoot, 'test/fixtures/seq-stream.ts', TOPOLOGY),
    params: ['rate=20', 'durationMs=3000'],
    faults: resolveFaults(FAULTS, { graph, seed: 1, timeoutMs: 60_000 }),
  });
  const text = await readFile(path.join(summary.resultsDir, 'migrations.ndjson'), 'utf8');
  return { summary, text, records: text.trim().split('\n').map((line) => JSON.parse(line) as MigrationRecord) };
}

describe('migration records in the simulator', () => {
  const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'peerlab-sim-moves-'));

  it('writes one record per move to migrations.ndjson, and the migration metrics', async () => {
    const { summary, records } = await moves(resultsRoot);
    expect(records.map(({ node, kind, frozenAt, resumedAt, downtimeMs }) => ({ node, kind, frozenAt, resumedAt, downtimeMs }))).toEqual([
      { node: '2', kind: 'migrate', frozenAt: 1_001, resumedAt: 1_001, downtimeMs: 0 },
      { node: '4', kind: 'restart', frozenAt: 1_500, resumedAt: 1_500, downtimeMs: 0 },
      { node: '3', kind: 'migrate', frozenAt: 2_001, resumedAt: 2_001, downtimeMs: 0 },
    ]);
    for (const record of records) {
      expect(record).not.toHaveProperty('from');
      expect(record).not.toHaveProperty('to');
      expect(record).not.toHaveProperty('failed');
      expect(record.snapshotBytes > 0).toBe(record.kind === 'migrate');
    }
    // A millisecond after the ticks at 1 s and 2 s, some of what they sent the node is still on its way (exp:1).
    expect(summary.metrics.migrationMessagesReplayed).toBeGreaterThan(0);
    expect(summary.metrics).toMatchObject({ migrations: 2, restarts: 1, migrationDowntimeP50Ms: 0, migrationDowntimeP95Ms: 0, migrationDowntimeMaxMs: 0 });
    expect(summary.metrics.migrationSnapshotMaxBytes).toBe(Math.max(...records.map(({ snapshotBytes }) => snapshotBytes)));
  });

  it('writes the same records in a replay with the same seed', async () => {
    const first = await moves(resultsRoot);
    const second = await moves(resultsRoot);
    expect(second.summary.resultsDir).not.toBe(first.summary.resultsDir);
    expect(second.text).toBe(first.text);
  });
});
