/**
 * Churn on a real container run (issue 11): joins, graceful leaves and crashes under the heartbeat detector,
 * checked from what the run wrote: the registry (registry.ndjson) matches the event log (faults.ndjson) within
 * the lease time at every event, results/ records every member that ever took part, the detector's oracle finds
 * every departure suspected, and nothing is left behind. Registered by churn.test.ts on Docker and by
 * swarm.test.ts on the local Swarm (where each joining node is a service of its own on the cluster).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REGISTRATION_TTL_SECONDS } from '../../../src/coordination/protocol.js';
import type { AppliedFault } from '../../../src/faults/events.js';
import { resolveRunFaults } from '../../../src/faults/index.js';
import { runAlgorithm, type RunSummary } from '../../../src/run/run.js';
import type { RegistryChange, RuntimeKind } from '../../../src/runtime/types.js';

const LEASE_MS = REGISTRATION_TTL_SECONDS * 1000;
/** A leave deregisters at once; on a loaded host "at once" is an etcd round trip and a watch event later. */
const AT_ONCE_MS = 2_000;

const readNdjson = async <T>(file: string): Promise<T[]> =>
  (await readFile(file, 'utf8')).trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);

/** Who is registered at `atMs` on the run's clock, by registry.ndjson (the start's members, then each change). */
function registeredAt(initial: readonly string[], changes: readonly RegistryChange[], atMs: number): Set<string> {
  const members = new Set(initial);
  for (const { atMs: when, node, change } of changes) {
    if (when > atMs) break;
    if (change === 'registered') members.add(node);
    else members.delete(node);
  }
  return members;
}

/** Who is a member at `atMs` by the event log: the start's members, plus each join, minus each leave and crash applied by then. */
function membersAt(initial: readonly string[], applied: readonly AppliedFault[], atMs: number): Set<string> {
  const members = new Set(initial);
  for (const event of applied) {
    if (event.appliedMs! > atMs) continue;
    for (const id of event.nodes) {
      if (event.action === 'join') members.add(id);
      else if (event.action === 'kill' || event.action === 'stop') members.delete(id);
    }
  }
  return members;
}

export interface ChurnSize {
  /** BA(nodes, 2) at the start. */
  readonly nodes: number;
  /** How long joins, leaves and crashes go on; the detector reports 10 s after. */
  readonly churnSeconds: number;
}

/**
 * Registers the scenario's test (inside the caller's describe). `leftBehind` describes what the run left on the
 * engines (e.g. "container ×2"), empty when nothing; `checkJoins`, when given, asserts what the runtime makes of
 * the joins besides (e.g. the Swarm's placement of each joiner).
 */
export function churnFollowsItsEventLog(
  runtime: Exclude<RuntimeKind, 'sim'>,
  size: ChurnSize,
  leftBehind: (runId: string) => Promise<string[]>,
  checkJoins?: (summary: RunSummary, joins: readonly AppliedFault[]) => void,
): void {
  /** When the detector's nodes report (its durationMs), on the run's clock: 10 s after the churn ends. */
  const DETECTOR_END_MS = (size.churnSeconds + 10) * 1000;
  let resultsRoot: string;
  beforeAll(async () => {
    resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-churn-'));
  });
  afterAll(async () => {
    await rm(resultsRoot, { recursive: true, force: true });
  });

  it(
    `${size.churnSeconds} s of joins, leaves and crashes on BA(${size.nodes}, 2) on ${runtime}: the registry follows the event log within the lease time, results/ has every member, nothing is left`,
    async () => {
      const topology = `ba:n=${size.nodes},m=2`;
      const churn = `join=0.5/s leave=0.2/s crash=0.1/s for=${size.churnSeconds}s`;
      const timeoutMs = DETECTOR_END_MS + 80_000;
      const faults = await resolveRunFaults({ topology, seed: 1, faults: [], churn, timeoutMs, allowDisconnected: false });
      let runId = '';
      const summary = await runAlgorithm({
        algorithm: 'algorithms/heartbeat-detector.ts',
        params: [`durationMs=${DETECTOR_END_MS}`],
        topology,
        seed: 1,
        allowDisconnected: false,
        timeoutMs,
        resultsRoot,
        runtime,
        faults,
        onRunId: (id) => (runId = id),
      });
      const dir = summary.resultsDir;
      const applied = (await readNdjson<AppliedFault>(path.join(dir, 'faults.ndjson'))).filter((event) => event.error === undefined);
      const [start, ...changes] = await readNdjson<RegistryChange & { registered?: number }>(path.join(dir, 'registry.ndjson'));
      const initial = Array.from({ length: size.nodes }, (_v, i) => String(i));
      expect(start).toEqual({ atMs: 0, registered: size.nodes });

      // Every event of the plan was applied (the run lasts past the churn), late by its lag only.
      expect(applied.map(({ atMs, action, nodes }) => ({ atMs, action, nodes })).sort((a, b) => a.atMs - b.atMs)).toEqual(
        faults.map(({ atMs, action, nodes }) => ({ atMs, action, nodes })),
      );
      const joins = applied.filter((event) => event.action === 'join');
      // The plan's joins come at 0.5/s: three quarters of them at least, whatever the seed made of the rest.
      expect(joins.length).toBeGreaterThan(size.churnSeconds * 0.5 * 0.75);
      expect(applied.some((event) => event.action === 'stop') && applied.some((event) => event.action === 'kill')).toBe(true);
      const lags = applied.map((event) => event.appliedMs! - event.atMs);
      expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
      const lagOf = (action: string) => applied.filter((event) => event.action === action).map((event) => event.appliedMs! - event.atMs).sort((a, b) => a - b);
      const describe = (action: string) => {
        const sorted = lagOf(action);
        return `${sorted.length} ${action} (lag median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms)`;
      };
      // The measurements, for whoever reads the test's output.
      console.log(`churn on ${runtime}, ${churn}: ${['join', 'stop', 'kill'].map(describe).join(', ')}; bring-up ${summary.timings.allReadyMs} ms, algorithm ${summary.timings.algorithmMs} ms`);

      // Each event shows in the registry when it should: a join registers before it is applied (ready), after it
      // was due; a leave deregisters at once; a crash's lease runs out within the lease time (if the run lasted).
      const ended = summary.timings.algorithmMs!;
      for (const event of applied) {
        const id = event.nodes[0]!;
        const seen = changes.find((change) => change.node === id && change.change === (event.action === 'join' ? 'registered' : 'left') && change.atMs >= event.atMs - AT_ONCE_MS);
        if (event.action === 'join') {
          expect(seen, `node ${id} registered after its join was due`).toBeDefined();
          expect(seen!.atMs).toBeLessThanOrEqual(event.appliedMs!);
        } else if (event.action === 'stop') {
          expect(seen, `node ${id} left the registry after its leave`).toBeDefined();
          expect(seen!.atMs - event.appliedMs!).toBeLessThanOrEqual(AT_ONCE_MS);
        } else if (event.appliedMs! + LEASE_MS + AT_ONCE_MS < ended) {
          expect(seen, `node ${id}'s lease ran out after its crash`).toBeDefined();
          expect(seen!.atMs - event.appliedMs!).toBeLessThanOrEqual(LEASE_MS + AT_ONCE_MS);
        }
      }
      // And at every event, the registry's membership is the event log's, but for nodes with an event within a lease
      // time of it (a joining node registers before its join is applied, once ready; a crashed one's lease runs on).
      const recent = (atMs: number) => new Set(applied.filter((event) => Math.abs(atMs - event.appliedMs!) <= LEASE_MS + AT_ONCE_MS).flatMap((event) => event.nodes));
      for (const atMs of applied.map((event) => event.appliedMs!)) {
        const registry = registeredAt(initial, changes, atMs);
        const log = membersAt(initial, applied, atMs);
        const differ = [...registry].filter((id) => !log.has(id)).concat([...log].filter((id) => !registry.has(id)));
        expect(differ.filter((id) => !recent(atMs).has(id)), `at ${atMs} ms`).toEqual([]);
      }

      // results/ records every member that ever took part: the first nodes, each joined node (when, attached to whom), each that left.
      const rows = parse(await readFile(path.join(dir, 'nodes.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
      expect(rows.map((row) => row.id).sort()).toEqual([...initial, ...joins.map((join) => join.nodes[0]!)].sort());
      for (const join of joins) {
        const row = rows.find((r) => r.id === join.nodes[0])!;
        expect(row.joined).toBe(`at ${join.atMs} ms, attached to ${join.attach!.map(({ id }) => id).join(' ')}`);
        expect(row.role).toBe('heartbeat-detector');
      }
      for (const event of applied.filter((e) => e.action !== 'join')) expect(rows.find((r) => r.id === event.nodes[0])!.departed).toMatch(/^(killed|stopped) at /);
      const edges = parse(await readFile(path.join(dir, 'edges.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
      expect(edges).toHaveLength(summary.edges + joins.reduce((sum, join) => sum + join.attach!.length, 0));
      // A joined node that stayed, and came early enough to beat before the detector's end, ran it with the members
      // it attached to, and they with it. (A join is applied once its node is up: 6–13 s after it was due in CI,
      // up to 19 s, so the last ones come after the detector's end and rightly send nothing.)
      const survivors = joins.filter((join) => rows.find((r) => r.id === join.nodes[0])!.result !== '' && join.appliedMs! < DETECTOR_END_MS - 5_000);
      expect(survivors.length).toBeGreaterThan(0);
      for (const join of survivors) {
        const beats = rows.find((r) => r.id === join.nodes[0])!;
        expect(Number(beats.messages_sent)).toBeGreaterThan(0);
        expect(Number(beats.messages_received)).toBeGreaterThan(0);
      }

      // The detector's own check judged the run, joined nodes included, and found it complete: every node that crashed
      // or left is suspected by each surviving neighbour. (Its accuracy, no survivor suspecting a survivor at the end,
      // is timing: on a host at a load of 70, a starved node can go silent past its neighbours' timeouts at the end.)
      // Completeness is eventual: a node that went within the detection time of the detector's end (its silence not
      // yet past the 1 s timeout at a 200 ms beat, or its leave not yet heard) cannot be suspected yet, and the
      // schedule's lag (up to 15 s at load) can apply a departure due before the churn ends that late.
      expect(summary.outcome).not.toBe('unchecked');
      const verdict = JSON.parse(await readFile(path.join(dir, 'verify.json'), 'utf8')) as { failures: string[] };
      const wentAt = new Map(applied.filter((event) => event.action !== 'join').map((event) => [event.nodes[0]!, event.appliedMs!]));
      const detectable = (id: string) => (wentAt.get(id) ?? 0) < DETECTOR_END_MS - (1_000 + 200 + AT_ONCE_MS);
      const unsuspected = verdict.failures.flatMap((failure) => /does not suspect (\S+), which is gone/.exec(failure)?.[1] ?? []);
      expect(
        unsuspected.filter(detectable).map((id) => `${id} (went at ${wentAt.get(id) ?? '?'} ms)`),
        summary.verdict,
      ).toEqual([]);

      checkJoins?.(summary, joins);
      expect(await leftBehind(runId)).toEqual([]);
    },
    360_000,
  );
}
