import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { resolveRunFaults } from '../../src/faults/index.js';
import { runAlgorithm } from '../../src/run/run.js';
import { simRunRequest } from './sim-helpers.js';

const TOPOLOGY = 'ba:n=30,m=2';
const CHURN = 'join=1/s leave=0.2/s crash=0.2/s for=8s';
const TIMEOUT_MS = 20_000;

type Probe = { initAt: number; atInit: string[]; ups: Array<[string, number]>; downs: Array<[string, number, string]>; heard: string[]; neighbours: string[] };

async function churnRun(algorithm: string, params: string[], churn = CHURN, seed = 1) {
  const faults = await resolveRunFaults({ topology: TOPOLOGY, seed, faults: [], churn, timeoutMs: TIMEOUT_MS, allowDisconnected: false });
  const root = mkdtempSync(path.join(os.tmpdir(), 'peerlab-churn-'));
  const summary = await runAlgorithm({ ...simRunRequest(root, algorithm, TOPOLOGY), seed, params, faults, timeoutMs: TIMEOUT_MS });
  return { faults, summary };
}

describe('churn joins in the simulator', () => {
  it('the same seed gives the same join events at the virtual times of the plan', async () => {
    const first = await churnRun('test/fixtures/membership-probe.ts', ['durationMs=10000']);
    const again = await churnRun('test/fixtures/membership-probe.ts', ['durationMs=10000']);
    const planned = first.faults.filter((event) => event.action === 'join');
    expect(planned.length).toBeGreaterThan(3);
    const applied = first.summary.faults.filter((event) => event.action === 'join');
    expect(applied.map(({ appliedMs, error, ...event }) => ({ ...event, appliedMs, error }))).toEqual(planned.map((event) => ({ ...event, appliedMs: event.atMs, error: undefined })));
    expect(again.summary.faults).toEqual(first.summary.faults);
    const other = await churnRun('test/fixtures/membership-probe.ts', ['durationMs=10000'], CHURN, 2);
    expect(other.summary.faults).not.toEqual(first.summary.faults);
  });

  it('a joined node runs init at its join with the members it attached to; they get onNeighbourUp and hear it', async () => {
    const { summary } = await churnRun('test/fixtures/membership-probe.ts', ['durationMs=10000']);
    const rows = parse(readFileSync(path.join(summary.resultsDir, 'nodes.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const results = Object.fromEntries(rows.map((row) => [row.id!, row.result ? (JSON.parse(row.result) as Probe) : undefined]));
    const joins = summary.faults.filter((event) => event.action === 'join' && event.error === undefined);
    let checked = 0;
    for (const join of joins) {
      const id = join.nodes[0]!;
      const attached = join.attach!.map(({ id: other }) => other);
      const own = results[id];
      if (own) {
        expect(own.initAt).toBe(join.atMs);
        expect(own.atInit).toEqual(attached);
        checked += 1;
      }
      for (const other of attached) {
        const seen = results[other];
        if (!seen) continue;
        expect(seen.ups).toContainEqual([id, join.atMs]);
        // It greeted its neighbours at init: one that stayed was heard.
        if (own) expect(seen.heard).toContain(id);
      }
    }
    expect(checked).toBeGreaterThan(0);
    // Every member that ever took part is in the results, joined and departed ones included.
    expect(rows.map((row) => row.id)).toEqual(expect.arrayContaining([...Array.from({ length: 30 }, (_v, i) => String(i)), ...joins.map((join) => join.nodes[0]!)]));
    expect(summary.departed.size).toBeGreaterThan(0);
    for (const join of joins) expect(rows.find((row) => row.id === join.nodes[0])!.joined).toBe(`at ${join.atMs} ms, attached to ${join.attach!.map(({ id }) => id).join(' ')}`);
  });

  it('flood owes nothing to a node that joined after its wave', async () => {
    const flood = await churnRun('flood', [], 'join=200/s for=40ms');
    expect(flood.summary.outcome).toBe('pass');
    expect(flood.summary.verdict).toMatch(/node\(s\) that joined later, \d+ reached, and owed nothing/);
  });

  it("push-sum owes every member, joiners included, the mean of all members' values: joins spread over its rounds", async () => {
    const { faults, summary } = await churnRun('push-sum', [], 'join=5/s for=3s');
    const joined = faults.filter((event) => event.action === 'join').length;
    expect(joined).toBeGreaterThan(5);
    expect(summary.outcome, summary.verdict).toBe('pass');
    expect(summary.verdict).toMatch(new RegExp(`^push-sum: all ${30 + joined} nodes \\(${joined} joined mid-run, each bringing its value with weight 1\\)`));
    // Its thesis variant runs iterations in lockstep: its oracle is silent on joins, so such a run is unchecked.
    const thesis = await churnRun('push-sum', ['variant=thesis', 'iterations=2'], 'join=200/s for=40ms');
    expect(thesis.summary.outcome).toBe('unchecked');
    expect(thesis.summary.verdict).toMatch(/thesis variant runs its iterations in lockstep/);
  });

  it('GHS owes the MST of the graph it started on; what a joiner sends it ignores', async () => {
    // wakeup=all: the joiners wake too and send Connect over edges the members never had (a crash before).
    for (const wakeup of ['one', 'all']) {
      const { summary } = await churnRun('ghs', [`wakeup=${wakeup}`], 'join=2000/s for=5ms');
      expect(summary.outcome, summary.verdict).toBe('pass');
      expect(summary.verdict).toMatch(/^GHS found the MST: 29 edges.*; \d+ node\(s\) joined mid-run, outside the graph GHS ran on, and are owed nothing$/);
    }
  });
});

describe('random walks under joins in the simulator', () => {
  it('walkers hop onto and off the edges of joined nodes; every walk message is counted at both ends', async () => {
    // Walkers hop for the whole run (durationMs), so they meet the joiners' edges as the joins come.
    const { faults, summary } = await churnRun('random-walk', ['hops=0', 'durationMs=2500', 'hopDelayMs=50'], 'join=5/s for=2s');
    const joined = faults.filter((event) => event.action === 'join').map((event) => event.nodes[0]!);
    expect(joined.length).toBeGreaterThan(5);
    expect(summary.failed, summary.verdict).toBe(false);
    // Its oracle does not say what a walk owes a joiner: unchecked, not judged on the wrong graph.
    expect(summary.outcome).toBe('unchecked');
    const rows = parse(readFileSync(path.join(summary.resultsDir, 'nodes.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    const edges = new Map(rows.map((row) => [row.id!, (JSON.parse(row.result!) as { edges: Record<string, { sent: number; received: number }> }).edges]));
    let onJoinedEdges = 0;
    for (const [id, own] of edges) {
      for (const [other, { sent }] of Object.entries(own)) {
        // No walker is lost (no node left): what one end sent the other end received.
        expect(edges.get(other)![id]?.received ?? 0, `${id} → ${other}`).toBe(sent);
        if (joined.includes(id) || joined.includes(other)) onJoinedEdges += sent;
      }
    }
    expect(onJoinedEdges).toBeGreaterThan(0);
  });
});
