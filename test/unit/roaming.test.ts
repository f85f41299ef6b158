/**
 * Seed 004's roaming service in the simulator: experiments/roaming.yaml end to end (a client's stream through a
 * proxy to a service that migrates every 4 s, beside a baseline whose service restarts), and the roaming check
 * failing on results that are wrong in each of the ways it promises to catch.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClientResult, ServiceResult } from '../../algorithms/lib/roaming-stream.js';
import type { RunRequest } from '../../src/run/run.js';
import type { Json } from '../../src/sdk/types.js';
import { faultsSeenOf } from '../../src/verify/faults.js';
import { verifyRoaming } from '../../src/verify/roaming.js';
import type { OracleInput } from '../../src/verify/types.js';
import { copiedResults, oracleInputOf, simulateExperiment } from './case-study-helpers.js';

const EXPERIMENT = 'experiments/roaming.yaml';
/** The experiment's nodes: the roaming client and service, and the baseline's (README: roles take ids in order). */
const ROAMING_CLIENT = '0';
const ROAMING_SERVICE = '2';
const BASELINE_CLIENT = '3';

let request: RunRequest;
let experiment: Awaited<ReturnType<typeof simulateExperiment>>['experiment'];

beforeAll(async () => {
  ({ experiment, request } = await simulateExperiment(EXPERIMENT));
});

describe('experiments/roaming.yaml', () => {
  it('runs in the simulator and passes its check, with the numbers its README paragraph quotes', () => {
    expect(experiment).toMatchObject({ runs: 1, passed: 1, failed: 0, errors: 0 });
    const summary = readFileSync(experiment.files.summary, 'utf8');
    expect(summary).toContain('roaming client 0: 1200 requests across 4 migrations of service 2, 1 stream, its count went on (its state restored on 4 new containers)');
    expect(summary).toContain('baseline client 3: 1200 requests across 4 restarts of service 5, 4 reconnect(s) (4 on a reset), 4 request(s) sent again');
  });

  it('lists each migrate and restart of the schedule as a move of its node, for the check', () => {
    expect(faultsSeenOf(request.faults ?? []).moves?.map((move) => `${move.action} ${move.node} ${move.atMs}`)).toEqual([
      'migrate 2 4000',
      'restart 5 6000',
      'migrate 2 8000',
      'restart 5 10000',
      'migrate 2 12000',
      'restart 5 14000',
      'migrate 2 16000',
      'restart 5 18000',
    ]);
  });
});

describe('the roaming check fails on wrong results', () => {
  let honest: OracleInput | undefined;
  /** The experiment's results, simulated again from its request, with one thing changed. */
  async function tampered(change: (results: Map<string, Json | undefined>) => void, faults?: OracleInput['faults']) {
    honest ??= await oracleInputOf(request);
    const results = copiedResults(honest);
    change(results);
    return verifyRoaming({ ...honest, results, ...(faults !== undefined && { faults }) });
  }
  const client = (results: Map<string, Json | undefined>, id: string) => results.get(id) as unknown as ClientResult;

  it('passes the honest results, with both kinds of stream measured', async () => {
    const verdict = await tampered(() => {});
    expect(verdict.passed, verdict.failures.join('\n')).toBe(true);
    expect(verdict.metrics).toMatchObject({ streams: 2, moves: 4, restarts: 4, roamingReconnects: 0, baselineReconnects: 4 });
  });

  const cases: Array<{ what: string; change: (results: Map<string, Json | undefined>) => void; failure: RegExp }> = [
    {
      what: 'a request is lost (a gap)',
      change: (results) => void client(results, ROAMING_CLIENT).records.splice(500, 1),
      failure: /^client 0: 1199 of its 1200 requests were answered/,
    },
    {
      what: 'a request is answered twice (a duplicate)',
      change: (results) => {
        const records = client(results, ROAMING_CLIENT).records;
        records.splice(501, 0, [...records[500]!]);
      },
      failure: /^client 0: answer 502 was for request 501, so requests were lost, duplicated or reordered/,
    },
    {
      what: 'two answers come in the wrong order',
      change: (results) => {
        const records = client(results, ROAMING_CLIENT).records;
        [records[500], records[501]] = [records[501]!, records[500]!];
      },
      failure: /^client 0: answer 501 was for request 502/,
    },
    {
      what: "the service's count starts over after a move (its state was lost)",
      change: (results) => {
        for (const record of client(results, ROAMING_CLIENT).records) if (record[0] >= 600) record[3] = record[0] - 599;
      },
      failure: /^client 0 \(roaming\): request 600 was the service's answer 1: its count did not go on across the moves/,
    },
    {
      what: 'the roaming stream is given up and reopened',
      change: (results) => void client(results, ROAMING_CLIENT).reconnects.push({ at: 8100, cause: 'timeout', stream: 2, from: 400, resent: 3 }),
      failure: /^client 0 \(roaming\): the stream was given up 1 time\(s\), first at 8100 ms \(timeout\), sending 3 request\(s\) again/,
    },
    {
      what: 'the service was restored on fewer new containers than it was migrated',
      change: (results) => void (results.get(ROAMING_SERVICE) as unknown as ServiceResult).restoredAt.pop(),
      failure: /^service 2: restored 3 time\(s\) on a new container for 4 migration\(s\)/,
    },
    {
      what: 'the baseline never reconnects, its service keeping its count',
      change: (results) => {
        const baseline = client(results, BASELINE_CLIENT);
        baseline.reconnects.splice(0);
        for (const record of baseline.records) record[3] = record[0];
      },
      failure: /^client 3 \(baseline\): reconnected 0 time\(s\) for 4 restart\(s\) of service 5 completed during its stream: a restart cost it nothing/,
    },
    {
      what: 'a client reports nothing',
      change: (results) => void results.set(ROAMING_CLIENT, undefined),
      failure: /^node 0: reported no result/,
    },
  ];
  for (const { what, change, failure } of cases) {
    it(`fails when ${what}`, async () => {
      const verdict = await tampered(change);
      expect(verdict.passed).toBe(false);
      expect(verdict.failures.some((line) => failure.test(line)), verdict.failures.join('\n')).toBe(true);
    });
  }

  it('fails a run whose services were never moved: it checked nothing', async () => {
    const verdict = await tampered(() => {}, { removedNodes: [] });
    expect(verdict.passed).toBe(false);
    expect(verdict.failures).toEqual(
      expect.arrayContaining([
        "service 2 (client 0's) was never moved: its stream tests nothing",
        'no stream whose service (role running roaming-service) was migrated: roaming went untested',
        'no stream whose service was restarted: there is no baseline to compare with',
      ]),
    );
  });

  it('fails a move that met no request of the stream', async () => {
    const moves = [...(honest!.faults!.moves ?? []), { node: ROAMING_SERVICE, action: 'migrate' as const, atMs: 60_000 }];
    const verdict = await tampered(() => {}, { ...honest!.faults!, moves });
    expect(verdict.failures).toContain("service 2's migrate at 60000 ms met no request of client 0: it tested nothing");
  });
});
