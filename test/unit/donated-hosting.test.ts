/**
 * Seed 003's donated-hosting pool in the simulator: experiments/donated-hosting.yaml end to end (a master,
 * seven donated workers that join late, leave, crash and come back, four clients), its schedulers on their
 * own, and the donated-hosting check failing on results that are wrong in each of the ways it promises to catch.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { chooseWorker, freshSchedulerState, type Member, type SchedulerName } from '../../algorithms/lib/donated-pool.js';
import type { RunRequest } from '../../src/run/run.js';
import type { Json } from '../../src/sdk/types.js';
import { verifyDonatedHosting } from '../../src/verify/donated-hosting.js';
import type { OracleInput } from '../../src/verify/types.js';
import { copiedResults, oracleInputOf, simulateExperiment } from './case-study-helpers.js';

const EXPERIMENT = 'experiments/donated-hosting.yaml';

describe('the schedulers', () => {
  const pool: Member[] = [
    { node: '1', weight: 1 },
    { node: '2', weight: 2 },
    { node: '3', weight: 1 },
  ];
  const picks = (scheduler: SchedulerName, count: number, client = (i: number) => `c${i % 3}`) => {
    const state = freshSchedulerState();
    return Array.from({ length: count }, (_, i) => chooseWorker({ scheduler, pool, state, client: client(i), outstanding: () => 0, exclude: new Set() }));
  };

  it('round-robin takes the pool in turn; weighted gives each worker its weight per cycle, interleaved', () => {
    expect(picks('round-robin', 6)).toEqual(['1', '2', '3', '1', '2', '3']);
    expect(picks('weighted', 8)).toEqual(['2', '1', '3', '2', '2', '1', '3', '2']);
  });

  it('ip-hash keeps a client on one worker, and moves it only when that worker leaves', () => {
    const own = picks('ip-hash', 9, () => 'c7');
    expect(new Set(own).size).toBe(1);
    const others = pool.filter((member) => member.node !== own[0]);
    const other = (without: Member[]) => chooseWorker({ scheduler: 'ip-hash', pool: without, state: freshSchedulerState(), client: 'c7', outstanding: () => 0, exclude: new Set() });
    expect(other(others)).not.toBe(own[0]);
    expect(other([...pool, { node: '9', weight: 1 }])).toBeOneOf([own[0], '9']);
  });

  it('least-connections takes the least loaded per weight, round-robin among equals, and never an excluded worker', () => {
    const outstanding: Record<string, number> = { '1': 2, '2': 3, '3': 1 };
    const state = freshSchedulerState();
    const choose = (exclude: string[]) => chooseWorker({ scheduler: 'least-connections', pool, state, client: 'c', outstanding: (node) => outstanding[node]!, exclude: new Set(exclude) });
    expect(choose([])).toBe('3'); // 1/1 against 3/2 and 2/1
    expect(choose(['3'])).toBe('2'); // 1.5 against 2
    expect(choose(['1', '2', '3'])).toBeUndefined();
  });
});

/** The experiment's one run, as it asked for it: its groups, seed and resolved faults. */
let request: RunRequest;
let experiment: Awaited<ReturnType<typeof simulateExperiment>>['experiment'];

beforeAll(async () => {
  ({ experiment, request } = await simulateExperiment(EXPERIMENT));
});

describe('experiments/donated-hosting.yaml', () => {
  it('runs in the simulator and passes its check, with the numbers its README paragraph quotes', () => {
    expect(experiment).toMatchObject({ runs: 1, passed: 1, failed: 0, errors: 0 });
    const summary = readFileSync(experiment.files.summary, 'utf8');
    expect(summary).toContain(
      '4000 requests of 4 clients answered through 5 pools of up to 7 workers; round-robin even within 1 in 5, weighted true to weight in 5, ip-hash 100 % sticky for 19 client-pool pairs; ' +
        'least-connections p99 281 ms < round-robin 653 ms on 726 requests churn left alone; 2-way replication detected 521 of 527 requests with a wrong answer, the other 6 had all 2 replicas lie alike',
    );
  });
});

describe('the donated-hosting check fails on wrong results', () => {
  type Dispatch = { worker: string; epoch: number; replica: number; answer: string | null; lost: boolean };
  type Request = { service: string; client: string; request: number; query: number; arrivedAt: number; answeredAt: number | null; answer: string | null; dispatches: Dispatch[] };
  type Master = { pools: Array<{ epoch: number; workers: Array<{ node: string; weight: number }> }>; requests: Request[] };

  let honest: OracleInput | undefined;
  /** The experiment's results, simulated again from its request, with one thing changed. */
  async function tampered(change: (master: Master, results: Map<string, Json | undefined>) => void) {
    honest ??= await oracleInputOf(request);
    const results = copiedResults(honest);
    change(results.get('0') as unknown as Master, results);
    return verifyDonatedHosting({ ...honest, results });
  }
  const service = (master: Master, name: string) => master.requests.filter((record) => record.service === name);

  it('passes the honest results', async () => {
    const verdict = await tampered(() => {});
    expect(verdict.passed, verdict.failures.join('\n')).toBe(true);
    expect(verdict.metrics).toMatchObject({ requests: 4000, pools: 5, detected: 521, undetectable: 6, liars: 2 });
  });

  const cases: Array<{ what: string; change: (master: Master, results: Map<string, Json | undefined>) => void; failure: RegExp }> = [
    {
      what: 'round-robin gives one worker two more jobs than another in a pool',
      change: (master) => {
        const [first, second] = service(master, 'web-rr').filter((record) => record.dispatches[0]!.epoch === 2).map((record) => record.dispatches[0]!);
        const other = master.pools.find((pool) => pool.epoch === 2)!.workers.map((worker) => worker.node).find((node) => node !== first!.worker)!;
        second!.worker = first!.worker;
        for (const record of service(master, 'web-rr')) if (record.dispatches[0]!.epoch === 2 && record.dispatches[0]!.worker === other) return void (record.dispatches[0]!.worker = first!.worker);
      },
      failure: /^web-rr, pool 2: round-robin gave the 7 workers [\d, ]+ jobs \(differing by [2-9]\)/,
    },
    {
      what: 'ip-hash sends a client to a second worker within a pool',
      change: (master) => {
        const own = service(master, 'web-iphash').filter((record) => record.client === '8' && record.dispatches[0]!.epoch === 2);
        own[1]!.dispatches[0]!.worker = own[0]!.dispatches[0]!.worker === '1' ? '4' : '1';
      },
      failure: /^web-iphash, pool 2: client 8's \d+ jobs went to workers \d, \d, not one/,
    },
    {
      what: 'weighted gives a worker more than its weight',
      change: (master) => {
        const jobs = service(master, 'web-weighted').map((record) => record.dispatches[0]!).filter((sent) => sent.epoch === 2);
        for (const sent of jobs.slice(0, 12)) sent.worker = '1';
      },
      failure: /^web-weighted, pool 2: worker 1 of weight 1 got \d+ of \d+ jobs, outside \d+–\d+/,
    },
    {
      what: 'a wrong answer goes undetected though the replicas disagreed',
      change: (master) => {
        const record = service(master, 'web-checked').find((each) => each.answer === null)!;
        record.answer = record.dispatches.find((sent) => sent.answer?.startsWith('forged'))!.answer;
      },
      failure: /^web-checked: request \d+ of client \d+: answered "forged page \d+", though its replicas said /,
    },
    {
      what: 'the master rejects an answer its replicas agreed on',
      change: (master) => {
        service(master, 'web-checked').find((each) => each.answer !== null && !each.answer.startsWith('forged'))!.answer = null;
      },
      failure: /^web-checked: request \d+ of client \d+: rejected, though all 2 replicas answered "page \d+"/,
    },
    {
      what: 'a worker that says it is honest answers wrongly',
      change: (master) => {
        const record = service(master, 'web-rr').find((each) => each.dispatches[0]!.worker === '4')!;
        record.dispatches[0]!.answer = record.answer = 'forged page 1';
      },
      failure: /^web-rr: request \d+ of client \d+: worker 4, honest by its own report, answered "forged page 1"/,
    },
    {
      what: 'least-connections is no faster than round-robin',
      change: (master) => {
        for (const record of service(master, 'web-lc')) record.answeredAt = record.arrivedAt + 5_000;
      },
      failure: /^latency: least-connections p99 5000 ms is not below round-robin's \d+ ms/,
    },
    {
      what: 'a request is never answered',
      change: (master) => {
        service(master, 'web-lc')[7]!.answeredAt = null;
      },
      failure: /^web-lc: request \d+ of client \d+ was never answered/,
    },
    {
      what: 'the crashed worker is still in the last pool',
      change: (master) => {
        master.pools.at(-1)!.workers.push({ node: '3', weight: 1 });
      },
      failure: /^worker 3 was removed by a fault, yet is still in the master's last pool/,
    },
    {
      what: 'no worker lies, so there is nothing to detect',
      change: (master) => {
        for (const record of master.requests) {
          for (const sent of record.dispatches) if (sent.answer !== null) sent.answer = `page ${record.query}`;
          if (record.answeredAt !== null) record.answer = `page ${record.query}`;
        }
      },
      failure: /^replication: no replicated request met a wrong answer, so detection went untested/,
    },
  ];

  for (const { what, change, failure } of cases) {
    it(`when ${what}`, async () => {
      const verdict = await tampered(change);
      expect(verdict.passed).toBe(false);
      expect(verdict.summary).toMatch(/^donated hosting failed/);
      expect(verdict.failures.some((line) => failure.test(line)), verdict.failures.join('\n')).toBe(true);
    });
  }
});
