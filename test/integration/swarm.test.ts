/**
 * The swarm runtime on a real local cluster (`peerlab cluster up --engines 3`: three dockerds in one Swarm, a real
 * VXLAN overlay): runs pass with their nodes on all three engines, `--placement partition` cuts fewer edges across
 * engines than spread, a node killed on its engine is blamed by name, nodes move between engines with their
 * state and without losing a message (by fault schedule and by hand), the packet layer shapes an edge across
 * engines (rate, loss), and neither a finished run nor Ctrl-C
 * during bring-up leaves a service, config, network or container on any engine; `peerlab up`, `status` and `down`
 * work there, and so does the start-up bench against plain `docker service create`. It also runs the container-runtime
 * scenarios of the Docker suite (scenarios/: algorithms, the end of a run, a fault schedule, churn) on the Swarm, with the
 * same assertions. Needs root.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterEngines } from '../../src/cluster/index.js';
import { NODE_LABEL, ROLE_LABEL, RUN_LABEL } from '../../src/docker/engine.js';
import { ETCD_CPU_SHARES } from '../../src/etcd/server.js';
import type { BenchReport } from '../../src/bench/report.js';
import type { StartupSample } from '../../src/bench/startup.js';
import { runAlgorithm, type RunRequest } from '../../src/run/run.js';
import { attachRunNodes } from '../../src/run/attach.js';
import { runStatus, type RunStatus } from '../../src/run/status.js';
import { placeNodes } from '../../src/run/swarm-placement.js';
import { lossShareBound } from '../../src/links/packet.js';
import { loadTopology } from '../../src/topology/index.js';
import type { Stage } from '../../src/run/docker-deployment.js';
import { packageRoot } from '../../src/util/paths.js';
import { bin, cliInBackground, migrateOnceStarted } from './cli-helpers.js';
import { expectExactlyOnceInOrder, migrationRecords, SEQ_STREAM, streamResults } from './seq-stream-oracle.js';
import { percentiles } from '../../src/bench/percentiles.js';
import type { PlacementRound } from '../../src/placement/simulate.js';
import { algorithmsPassTheirOracles, CASE_SEED, caseTopology, runCasePassingItsOracle } from './scenarios/algorithms.js';
import { churnFollowsItsEventLog } from './scenarios/churn.js';
import { faultsApplyAsScheduled } from './scenarios/faults.js';
import { runsEndWhenTheyShould } from './scenarios/run-end.js';

const exec = promisify(execFile);
/** The algorithm cases' graph size here: 15 nodes, 5 an engine, about 15 s of bring-up each instead of 30. */
const SWARM_CASE_NODES = 15;
let resultsRoot: string;
let engines: Docker[];

interface SwarmFacts {
  placement: string;
  crossEngineEdges: number;
  edges: number;
  engines: Array<{ engine: string; nodes: number }>;
  /** Every node's engine, those that joined included. */
  nodeEngine: Record<string, string>;
  overlaySubnet: string;
}

interface SwarmRecord {
  topology: { seed: number };
  runtimeFacts: { swarm: SwarmFacts };
}

async function peerlab(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * What the run left on every engine of the cluster, by kind and engine (services and configs on the manager,
 * networks and containers anywhere), e.g. "config on engine-1 ×1"; empty when nothing is left.
 */
async function leftOnCluster(runId: string): Promise<string[]> {
  const filters = { label: [`${RUN_LABEL}=${runId}`] };
  const manager = engines[0]!;
  const [containers, ...listings] = await Promise.all([
    containersByEngine(runId),
    manager.listServices({ filters }).then((list) => ['service on engine-1', list.length] as const),
    manager.listConfigs({ filters }).then((list) => ['config on engine-1', list.length] as const),
    ...engines.map((engine, index) => engine.listNetworks({ filters }).then((list) => [`network on engine-${index + 1}`, list.length] as const)),
  ]);
  const counts = [...containers.map((list, index) => [`container on engine-${index + 1}`, list.length] as const), ...listings];
  return counts.filter(([, count]) => count > 0).map(([kind, count]) => `${kind} ×${count}`);
}

/** Every container of the run on every engine, as `engine-2:<service>.<slot>[node 4]:running`. */
async function runContainers(runId: string): Promise<string[]> {
  return (await containersByEngine(runId)).flatMap((list, index) =>
    list.map((container) => `engine-${index + 1}:${container.Labels['com.docker.swarm.task.name']?.split('.').slice(0, 2).join('.') ?? container.Names[0]}${container.Labels[NODE_LABEL] === undefined ? '' : `[node ${container.Labels[NODE_LABEL]}]`}:${container.State}`),
  );
}

/** The run's containers, stopped ones too, on each engine in the cluster's order. */
function containersByEngine(runId: string): Promise<Docker.ContainerInfo[][]> {
  return Promise.all(engines.map((engine) => engine.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })));
}

async function runSwarm(...args: string[]): Promise<{ runId: string; record: SwarmRecord; stdout: string }> {
  const { code, stdout, stderr } = await peerlab('run', ...args, '--runtime', 'swarm', '--results', resultsRoot);
  expect(code, stderr).toBe(0);
  expect(stdout).toMatch(/PASS/);
  const runId = /^run (\S+)$/m.exec(stderr)![1]!;
  const record = JSON.parse(await readFile(path.join(resultsRoot, runId, 'run.json'), 'utf8')) as SwarmRecord;
  return { runId, record, stdout };
}

beforeAll(async () => {
  resultsRoot = await mkdtemp(path.join(os.tmpdir(), 'peerlab-swarm-results-'));
  const up = await clusterEngines().catch(() => undefined);
  if (!up) {
    const { code, stderr } = await peerlab('cluster', 'up', '--engines', '3');
    expect(code, stderr).toBe(0);
  }
  engines = (await clusterEngines()).map((engine) => new Docker({ socketPath: engine.socketPath }));
}, 180_000);

afterAll(async () => {
  await peerlab('cluster', 'down');
  await rm(resultsRoot, { recursive: true, force: true });
}, 180_000);

describe('a run on the swarm runtime', () => {
  it('ghs on Abilene (unique weights) passes, spread over all three engines on a /20 overlay, its MST checked by the oracle', async () => {
    const { runId, record } = await runSwarm('ghs', '--topology', path.join(packageRoot, 'topologies', 'zoo', 'Abilene.graphml'), '--weights', 'unique');
    const facts = record.runtimeFacts.swarm;
    expect(facts.placement).toBe('spread');
    expect(facts.engines.map((engine) => engine.nodes)).toEqual([4, 4, 3]);
    expect(Number(facts.overlaySubnet.split('/')[1])).toBeLessThanOrEqual(20);
    expect(facts.crossEngineEdges).toBeGreaterThan(0);
    expect(await leftOnCluster(runId)).toEqual([]);
  }, 240_000);

  it('--placement partition cuts fewer edges across engines than spread would on the same graph; ghs passes there', async () => {
    // The algorithm scenarios' ghs case, run here with partition (one Swarm run less in CI), with every assertion
    // the scenarios make of it.
    const { runId, runtimeFacts } = await runCasePassingItsOracle('ghs', 'swarm', resultsRoot, { nodes: SWARM_CASE_NODES, more: { placement: 'partition' } });
    const facts = (runtimeFacts as unknown as { swarm: SwarmFacts }).swarm;
    expect(facts.placement).toBe('partition');
    // Spread, the default, deals nodes out in turn; the runs above and below hold the Swarm to its placements.
    const { graph } = await loadTopology(caseTopology(SWARM_CASE_NODES), { seed: CASE_SEED });
    const spread = placeNodes(graph, 3, 'spread');
    expect(spread.crossEngineEdges).toBeGreaterThan(0);
    expect(facts.crossEngineEdges).toBeLessThan(spread.crossEngineEdges);
    expect(facts.engines.every((engine) => engine.nodes > 0)).toBe(true);
    expect(await leftOnCluster(runId)).toEqual([]);
  }, 240_000);
});

describe('a node killed on its engine', () => {
  it('is named with how it died, and the run leaves nothing', async () => {
    let runId = '';
    let acting: Promise<void> = Promise.resolve();
    let status: RunStatus | undefined;
    const request: RunRequest = {
      algorithm: path.join(packageRoot, 'test', 'fixtures', 'tick-forever.ts'),
      params: [],
      topology: 'ba:n=12,m=2',
      seed: 7,
      weights: 'unique',
      allowDisconnected: false,
      timeoutMs: 120_000,
      resultsRoot,
      runtime: 'swarm',
      onRunId: (id) => (runId = id),
      onStage: (stage: Stage) => {
        if (stage !== 'running') return;
        acting = new Promise((resolve) => setTimeout(resolve, 1_000)).then(async () => {
          // Node 5 is on engine 2 under spread placement (index 4 % 3 = 1): killed through that engine's socket.
          const [container] = await engines[1]!.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`, 'peerlab.role=node'] } });
          const services = await engines[0]!.listServices({ filters: { label: [`${RUN_LABEL}=${runId}`] } });
          expect(services.length).toBeGreaterThan(0);
          // `peerlab status` shows every node with its engine and its memory, read from that node's engine.
          status = await runStatus(engines[0]!, runId);
          await engines[1]!.getContainer(container!.Id).kill();
        });
      },
    };
    const error = await runAlgorithm(request).then(
      () => new Error('the run passed'),
      (failure: Error) => failure,
    );
    await acting;
    expect(status!.nodes).toHaveLength(12);
    expect(new Set(status!.nodes.map((node) => node.engine)).size).toBe(3);
    for (const node of status!.nodes) expect(node.memoryBytes, `node ${node.id}'s memory`).toBeGreaterThan(1024 * 1024);
    expect(error.message).toMatch(/^node \d+ was killed \(SIGKILL, exit code 137\) during the run/);
    const failure = JSON.parse(await readFile(path.join(resultsRoot, runId, 'error.json'), 'utf8')) as { node: string };
    // Engine 2 holds the nodes at spread indexes 1, 4, 7, 10: ids 1, 4, 7, 10 of ba:n=12 (ids are 0-based).
    expect(['1', '4', '7', '10']).toContain(failure.node);
    expect(await leftOnCluster(runId)).toEqual([]);
  }, 240_000);
});

describe('Ctrl-C during a swarm bring-up', () => {
  it('leaves no service, config, network or container on any engine', async () => {
    const child = spawn(process.execPath, [bin, 'run', 'flood', '--topology', 'ring:n=30', '--runtime', 'swarm', '--results', resultsRoot]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await expect.poll(() => /^run (\S+)$/m.exec(stderr)?.[1], { timeout: 60_000, interval: 200 }).toBeTruthy();
    const runId = /^run (\S+)$/m.exec(stderr)![1]!;
    await expect
      .poll(async () => (await engines[0]!.listServices({ filters: { label: [`${RUN_LABEL}=${runId}`, 'peerlab.role=node'] } })).length, { timeout: 120_000, interval: 250 })
      .toBeGreaterThan(0);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    await expect.poll(() => leftOnCluster(runId), { timeout: 60_000, interval: 500 }).toEqual([]);
  }, 240_000);
});

describe('peerlab up --runtime swarm', () => {
  it('keeps the nodes standing on all three engines; status shows each node with its engine; down leaves nothing', async () => {
    const up = await peerlab('up', '--topology', 'ring:n=6', '--runtime', 'swarm', '--json');
    expect(up.code, up.stderr).toBe(0);
    const { runId, nodes } = JSON.parse(up.stdout) as { runId: string; nodes: number };
    expect(nodes).toBe(6);
    try {
      const status = await peerlab('status', runId, '--json');
      expect(status.code, status.stderr).toBe(0);
      const [shown] = (JSON.parse(status.stdout) as { runs: RunStatus[] }).runs;
      expect(shown!.nodes.map((node) => node.state)).toEqual(Array(6).fill('running'));
      expect(shown!.nodes.map((node) => node.engine)).toEqual(['engine-1', 'engine-2', 'engine-3', 'engine-1', 'engine-2', 'engine-3']);
      expect(shown!.etcd.ready).toBe(6);
      const listed = await peerlab('status', runId, '--nodes');
      expect(listed.stdout).toContain(`${runId}  age `);
      expect(listed.stdout).toContain('nodes: 6 running (engine-1 2, engine-2 2, engine-3 2)');
      expect(listed.stdout).toMatch(/^ {2}node {4}4 {2}running +10\.\d+\.\d+\.\d+ +engine-2 {2}\d+\.\d MiB$/m);
      // etcd outweighs the nodes for the CPU, as on Docker: a service spec cannot say so, its container is updated.
      const [etcdTask] = await engines[0]!.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`, `${ROLE_LABEL}=etcd`] } });
      expect((await engines[0]!.getContainer(etcdTask!.Id).inspect()).HostConfig.CpuShares).toBe(ETCD_CPU_SHARES);
    } finally {
      const down = await peerlab('down', runId);
      expect(down.code, down.stderr).toBe(0);
      // Its etcd and node services, their tasks, and the overlay.
      expect(down.stdout).toMatch(/removed [1-9]\d* service\(s\), [1-9]\d* container\(s\) and 1 network\(s\) of /);
    }
    expect(await leftOnCluster(runId)).toEqual([]);
  }, 240_000);
});

describe('a Swarm run seen from outside while it comes up', () => {
  it('is a Swarm run from its first service on: its hosts are the engines and it has no node yet, not a run of this engine with one host', async () => {
    const runId = `attach-${Date.now().toString(36)}`;
    const manager = engines[0]!;
    const [image] = (await manager.listImages({ filters: { reference: ['peerlab/node'] } })).flatMap((listed) => listed.RepoTags ?? []);
    // What a run's bring-up has made before its node services: a service of its own (its etcd; this one runs no task).
    const name = `peerlab-${runId}-etcd`;
    await manager.createService({
      Name: name,
      Labels: { [RUN_LABEL]: runId, [ROLE_LABEL]: 'etcd' },
      TaskTemplate: { ContainerSpec: { Image: image! } },
      Mode: { Replicated: { Replicas: 0 } },
    });
    try {
      const nodes = await attachRunNodes(manager, runId);
      expect(await nodes.hosts()).toEqual(['engine-1', 'engine-2', 'engine-3']);
      expect(await nodes.listNodes()).toEqual([]);
    } finally {
      await manager.getService(name).remove();
    }
    expect(await leftOnCluster(runId)).toEqual([]);
  });
});

describe('moves between engines', () => {
  it('by schedule and by hand, while every edge streams at 50 messages/s: 0 lost, duplicated or reordered; a new container that dies before its commit leaves the node on its engine; Ctrl-C in a move leaves it in one container', async () => {
    const topology = 'ba:n=9,m=2';
    // Spread places node k on engine k mod 3 + 1: 0 on engine-1, 4 on engine-2, 8 on engine-3.
    const scheduled = ['0', '8'];
    const faults = scheduled.flatMap((id, i) => ['--fault', `at=${2 + i}s migrate ids:${id}`]);
    // The stream must outlast the moves, one at a time, and the status asked after the fourth. On a quiet host four
    // were done 16 s after the start (each new task starts in about 5 s). Once in CI, beside the unit tests, status
    // listed no node 4, as it does when asked after a 15 s stream (the run's teardown had begun): 90 s, not 40, also
    // for a fifth move cut by Ctrl-C.
    const run = cliInBackground(['run', SEQ_STREAM, '--topology', topology, '--seed', '5', '--param', 'rate=50', '--param', 'durationMs=90000', ...faults, '--runtime', 'swarm', '--results', resultsRoot]);
    try {
      const runId = await run.runId();
      // By hand, beside the schedule (one move at a time: each waits its turn). The first one's new container exits
      // once the snapshot arrived (a fixed point, PEERLAB_TEST_EXIT), on another engine than the node's.
      const failed = await migrateOnceStarted(runId, ['4', '--to', 'engine-3'], { PEERLAB_TEST_EXIT: 'handoff' });
      expect(failed.code, failed.stderr).not.toBe(0);
      expect(failed.stderr.trim().split('\n').filter((line) => !line.startsWith('waiting: '))).toHaveLength(1);
      expect(failed.stderr).toMatch(/migration of node 4 failed: its new container exited with code 70 before it took over: node 4 went on in its old container/);
      const moved = await peerlab('migrate', runId, '4', '--to', 'engine-3');
      expect(moved.code, moved.stderr).toBe(0);
      expect(moved.stdout).toMatch(/^✔ node 4 moved to engine-3 \(\S+ → \S+\) with \d+ ms of downtime/);
      const status = JSON.parse((await peerlab('status', runId, '--json')).stdout) as { runs: RunStatus[] };
      // Its message says what status saw, what every engine holds and whether the run had already ended.
      expect(
        status.runs[0]!.nodes.filter((node) => node.id === '4').map((node) => [node.state, node.engine]),
        `status listed ${status.runs[0]!.nodes.map((node) => `${node.id}:${node.state}@${node.engine ?? '?'}`).join(' ')}; the engines hold ${(await runContainers(runId)).join(' ')}; the run printed: ${run.output.stdout || '(nothing yet)'}`,
      ).toEqual([['running', 'engine-3']]);
      const unknown = await peerlab('migrate', runId, '4', '--to', 'engine-9');
      expect(unknown.stderr.trim()).toMatch(/^error: --to engine-9: run \S+ has no host engine-9 — its hosts: engine-1, engine-2, engine-3$/);

      // Ctrl-C once the next move has created its new container (node 8's second): before the freeze the move is
      // cancelled (130), and its service and that container go; after it, the move completes first (0). Either way
      // node 8 is left in one container.
      const containersOf8 = async () => (await runContainers(runId)).filter((container) => container.includes('[node 8]'));
      const to = status.runs[0]!.nodes.find((node) => node.id === '8')!.engine === 'engine-1' ? 'engine-2' : 'engine-1';
      const cut = cliInBackground(['migrate', runId, '8', '--to', to]);
      for (let waited = 0; (await containersOf8()).length < 2; waited += 100) {
        expect(waited, cut.output.stderr).toBeLessThan(60_000);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await cut.stop();
      const cutCode = await cut.ended;
      expect([0, 130], cut.output.stderr).toContain(cutCode);
      const left8 = await containersOf8();
      expect(left8, `node 8 runs in exactly one container, not ${left8.join(' ')} (migrate exited ${cutCode}: ${cut.output.stderr.trim()})`).toEqual([expect.stringMatching(/:running$/)]);

      expect(await run.ended, run.output.stderr + run.output.stdout).toBe(0);
      const resultsDir = path.join(resultsRoot, runId);
      const { graph, results } = await streamResults(resultsDir, topology);
      expectExactlyOnceInOrder(graph, results);
      const records = await migrationRecords(resultsDir);
      expect(records.map((record) => `${record.node}${record.failed === undefined ? '' : ' failed'}`).sort()).toEqual(['0', '4', '4 failed', '8', ...(cutCode === 0 ? ['8'] : [])]);
      const { nodeEngine } = (JSON.parse(await readFile(path.join(resultsDir, 'run.json'), 'utf8')) as SwarmRecord).runtimeFacts.swarm;
      const startedOn = placeNodes(graph, 3, 'spread').engineOf;
      for (const id of scheduled) expect(nodeEngine[id], `node ${id}'s engine`).not.toBe(`engine-${startedOn.get(id)! + 1}`);
      expect(nodeEngine['4']).toBe('engine-3');
      const downtime = percentiles(records.filter((record) => record.failed === undefined).map((record) => record.downtimeMs));
      console.log(`swarm moves across engines: downtime p50 ${downtime.p50} ms, p95 ${downtime.p95} ms; replayed ${records.map((entry) => entry.carried + entry.replayed).join(',')}`);
      expect(await leftOnCluster(runId)).toEqual([]);
    } finally {
      await run.stop();
    }
  }, 300_000);
});

describe('a placement policy on the swarm', () => {
  it("moves nodes between engines, its hosts, by the CPU each measured, while the run goes", async () => {
    // Every node starts on engine-1 and wants demands[i] of a CPU (node.demand: without --hosts its unit is one CPU,
    // an engine's capacity its CPUs). Equal balance spreads them over the engines, each move a Swarm move.
    const demands = [0.1, 0.075, 0.05, 0.025];
    const { code, stderr } = await peerlab(
      'run', 'test/fixtures/dummy-load.ts', '--topology', 'complete:n=4', '--placement', 'first',
      '--policy', 'equal', '--policy-every', '5', '--param', `demands=${JSON.stringify(demands)}`, '--param', 'durationMs=25000',
      '--runtime', 'swarm', '--results', resultsRoot,
    );
    expect(code, stderr).toBe(0);
    const runId = /^run (\S+)$/m.exec(stderr)![1]!;
    const resultsDir = path.join(resultsRoot, runId);
    const rounds = (await readFile(path.join(resultsDir, 'placements.ndjson'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as PlacementRound);
    expect(rounds.length).toBeGreaterThanOrEqual(2);
    const [first, next] = rounds as [PlacementRound, PlacementRound];
    expect(first.input.hosts.map((host) => [host.name, host.capacity])).toEqual(engines.map((_engine, index) => [`engine-${index + 1}`, first.input.hosts[0]!.capacity]));
    expect(first.input.nodes.map((node) => node.host)).toEqual(['engine-1', 'engine-1', 'engine-1', 'engine-1']);
    // The loads it saw are the work each node's demand did (src/node/cpu-demand.ts), in the order of the demands
    // (1.33× apart or more), and never more than a demand. Not each within a band below it: this test runs beside
    // CI's unit tests on two cores, three engines' worth of processes and no CPU weight of their own (unlike
    // --hosts), and a node gets less than it wants. With demands twice these, node 0 measured 0.13 and node 1 0.13
    // there (0.2 and 0.15 wanted).
    const loads = first.input.nodes.map((node) => node.load);
    for (const [index, load] of loads.entries()) {
      expect(load, JSON.stringify(loads)).toBeLessThanOrEqual(demands[index]! * 1.06);
      if (index > 0) expect(loads[index - 1], JSON.stringify(loads)).toBeGreaterThan(load * 0.9);
    }
    expect(loads[0]).toBeGreaterThan(0.06);
    expect(first.moves.length, JSON.stringify(first.moves)).toBeGreaterThanOrEqual(2);
    expect(first.moves.every((move) => move.moved && move.to !== 'engine-1'), JSON.stringify(first.moves)).toBe(true);
    // The next round found every node where the first put it: the moves took, and nothing else moved them.
    for (const node of next.input.nodes) expect(node.host, `node ${node.name}`).toBe(first.placement[node.name]);
    const moved = (await migrationRecords(resultsDir)).map((record) => record.node);
    expect(moved).toEqual(expect.arrayContaining(first.moves.map((move) => move.node)));
    const { nodeEngine } = (JSON.parse(await readFile(path.join(resultsDir, 'run.json'), 'utf8')) as SwarmRecord).runtimeFacts.swarm;
    // run.json names the engine each node ended on: where the moves that were made took it.
    const ended = Object.fromEntries(first.input.nodes.map((node) => [node.name, node.host]));
    for (const move of rounds.flatMap((round) => round.moves)) if (move.moved) ended[move.node] = move.to;
    expect(nodeEngine).toEqual(ended);
    expect(await leftOnCluster(runId)).toEqual([]);
  }, 300_000);
});

describe('links at the packet layer on the swarm', () => {
  // Each task's namespace is reached through its pid on this host, whichever engine runs it; the edge crosses engines.
  interface PacketRecord extends SwarmRecord {
    topology: SwarmRecord['topology'] & { linksLayer: string };
    runtimeFacts: SwarmRecord['runtimeFacts'] & { lossCounters?: Record<string, { packets: number; dropped: number }> };
  }
  const bulk = async (links: string, megabytes: number) => {
    const { runId, stdout } = await runSwarm('bulk', '--topology', 'line:n=2', '--links', links, '--links-mode', 'packet', '--param', `megabytes=${megabytes}`);
    const record = JSON.parse(await readFile(path.join(resultsRoot, runId, 'run.json'), 'utf8')) as PacketRecord;
    expect(record.topology.linksLayer).toBe('packet');
    expect(record.runtimeFacts.swarm.crossEngineEdges).toBe(1);
    return { stdout, record };
  };

  it('a rate holds within ±10 % by bulk\'s oracle, and a loss drops its share by the rule\'s own counters', async () => {
    const rate = await bulk('rate=10mbit', 2.5);
    expect(rate.stdout).toMatch(/1 edge\(s\) within ±10 % of their rate/);
    const { record } = await bulk('loss=5%', 16);
    const counter = record.runtimeFacts.lossCounters?.['0->1'];
    expect(counter?.packets).toBeGreaterThan(300);
    expect(Math.abs(counter!.dropped / counter!.packets - 0.05)).toBeLessThanOrEqual(lossShareBound(5, counter!.packets));
  }, 180_000);
});

describe('bench startup --runtime swarm', () => {
  it('brings the nodes up over the three engines next to plain docker service create of the same services, and leaves nothing', async () => {
    // --idle-window 0: the idle cost is bench.test.ts's to check; measured here it kept each side's services up 20 s.
    const { code, stdout, stderr } = await peerlab('bench', 'startup', '--runtime', 'swarm', '--nodes', '9', '--repetitions', '1', '--idle-window', '0', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport<StartupSample>;
    const [sample] = report.samples;
    expect(sample).toMatchObject({ runtime: 'swarm', topology: 'ba:n=9,m=2', nodes: 9 });
    const { ratio, peerlab: up, baseline } = sample!.repetitions[0]!;
    expect(ratio).toBeCloseTo(up.allConnectedMs / baseline.startedMs, 10);
    expect(baseline.command).toBe('3 × docker service create, scaled up 3 task(s) at a time each (Engine API), 9 replicas spread over 3 engines');
    expect(baseline.networkMs).toBeLessThan(baseline.startedMs);
    expect(baseline.perContainerMs.p50).toBeGreaterThan(0);
    // The per-node split comes from Swarm's own task records: service asked for, task made, task running.
    expect(up.perNode.createMs.max).toBeGreaterThanOrEqual(0);
    expect(up.perNode.startMs.p50).toBeGreaterThan(0);
    expect(up.phases.containersMs).toBeGreaterThan(0);
    expect((up.facts as { swarm: SwarmFacts }).swarm.engines.map((engine) => engine.nodes)).toEqual([3, 3, 3]);
    // The memory of the nodes on every engine is counted, not only the manager's.
    expect(sample!.memory.cgroupBytesPerNode).toBeGreaterThan(5 * 2 ** 20);
    if (up.cpuMs && baseline.cpuMs) expect(up.cpuMs.nodesMs).toBeGreaterThan(baseline.cpuMs.nodesMs);
    expect(await leftOnCluster(up.runId)).toEqual([]);
    expect(await leftOnCluster(baseline.runId)).toEqual([]);
  }, 300_000);
});

algorithmsPassTheirOracles('swarm', { nodes: SWARM_CASE_NODES, runElsewhere: ['ghs'] });
runsEndWhenTheyShould('swarm');
faultsApplyAsScheduled('swarm', { docker: async () => engines[0]!, leftBehind: leftOnCluster });
describe('churn on the swarm runtime', () => {
  // Smaller than the Docker suite's (60 nodes, 40 s), in CI time; its plan (seed 1) still has joins, leaves and two crashes.
  churnFollowsItsEventLog('swarm', { nodes: 12, churnSeconds: 18 }, leftOnCluster, (summary, joins) => {
    // Placed by the run's policy (spread: the engine with fewest live nodes), not all on the manager as before.
    const { nodeEngine } = (summary.runtimeFacts as unknown as { swarm: SwarmFacts }).swarm;
    const joinedOn = joins.map((join) => nodeEngine[join.nodes[0]!]);
    expect(joinedOn.filter((engine) => engine === undefined)).toEqual([]);
    expect(new Set(joinedOn)).toEqual(new Set(['engine-1', 'engine-2', 'engine-3']));
  });
});
