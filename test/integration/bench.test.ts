/**
 * The benches through the built CLI. `peerlab bench startup`: peerlab and its parallel `docker run -d` baseline
 * in turns on real Docker, with the per-phase split, and a baseline container that is peerlab's own. `peerlab
 * bench convergence`: a small flood on real Docker and etcd, and the regression gate (in the simulator, where
 * messages are fixed by the seed) passing, failing and refusing bad baselines.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvergenceSample } from '../../src/bench/convergence.js';
import type { LinksAccuracy, LinksBringUpSample } from '../../src/bench/links.js';
import { dockerRunArgs } from '../../src/runtime/docker-run-args.js';
import type { BenchReport } from '../../src/bench/report.js';
import type { SimBenchSample } from '../../src/bench/sim.js';
import type { StartupSample } from '../../src/bench/startup.js';
import { connectDocker } from '../../src/docker/engine.js';
import { ensureNodeImage } from '../../src/image/node.js';
import { buildAgentBundle } from '../../src/node/bundle.js';
import { DockerRuntime, networkName, nodeContainerSpec, removeRunObjects } from '../../src/runtime/docker.js';
import { startEtcdContainer } from '../../src/etcd/server.js';
import { ensureEtcdImage } from '../../src/image/etcd.js';
import { Etcd3 } from 'etcd3';
import { bin, interruptPast, leftBehind, leftovers, peerlabIn } from './cli-helpers.js';

const exec = promisify(execFile);

let workDir: string;
const peerlab = (...args: string[]) => peerlabIn(workDir, ...args);

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-bench-'));
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('bench startup', () => {
  it('measures peerlab and parallel docker run in turns, splits bring-up by phase, step and CPU, and leaves nothing', async () => {
    const { code, stdout, stderr } = await peerlab('bench', 'startup', '--nodes', '10', '--repetitions', '1', '--concurrency', '4', '--auth-cost', '--idle-window', '8', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport<StartupSample>;
    expect(report.schema).toBe('peerlab.bench.startup/3');
    const [sample] = report.samples;
    expect(sample).toMatchObject({ runtime: 'docker', topology: 'ba:n=10,m=2', nodes: 10, edges: 16, concurrency: 4 });
    const { repetitions } = sample!;
    // One repetition, which CI can spare: the alternation of later ones is inTurns' (test/unit/bench-turns.test.ts).
    expect(repetitions.map((repetition) => repetition.first)).toEqual(['baseline']);
    for (const { ratio, peerlab: up, baseline } of repetitions) {
      expect(ratio).toBeCloseTo(up.allConnectedMs / baseline.startedMs, 10);
      const { prepareMs, imagesMs, networkAndEtcdMs, containersMs, tailMs } = up.phases;
      expect(prepareMs + imagesMs + networkAndEtcdMs + containersMs + tailMs).toBe(up.allConnectedMs);
      for (const phase of [prepareMs, imagesMs, networkAndEtcdMs, containersMs, tailMs]) expect(phase).toBeGreaterThanOrEqual(0);
      expect(up.perNode.createMs.p50).toBeGreaterThan(0);
      expect(up.perNode.startMs.p50).toBeGreaterThan(0);
      // Every node loads Node.js and the agent before anything else, and spends CPU on each later step.
      expect(up.perNode.steps.loaded.cpuMs.p50).toBeGreaterThan(10);
      expect(up.perNode.steps.connected.cpuMs.max).toBeGreaterThan(0);
      expect(up.connectedMs.max).toBeGreaterThanOrEqual(up.registeredMs.max);
      expect(baseline.command).toBe('10 × docker run -d, 4 at a time');
      expect(baseline.perContainerMs.p50).toBeGreaterThan(0);
      expect(baseline.networkMs).toBeLessThan(baseline.startedMs);
      if (up.cpuMs && baseline.cpuMs) {
        expect(up.cpuMs.nodesMs).toBeGreaterThan(0);
        expect(up.cpuMs.etcdMs).toBeGreaterThan(0);
        expect(baseline.cpuMs.etcdMs).toBe(0);
        // The baseline's containers idle: the agents do more than start Node.js.
        expect(up.cpuMs.nodesMs).toBeGreaterThan(baseline.cpuMs.nodesMs);
        // --idle-window 8: once up, a waiting agent leaves its lease renewals to the CLI (run/lease-keeper.ts), so it
        // sleeps nearly as the baseline's process does: 0.05–0.06 ms of CPU a second at N = 30 on a busy host, where
        // renewing its own lease every 6.7 s cost it 0.39–0.45. etcd still renews the leases for the CLI.
        expect(up.idle!.windowMs).toBe(8000);
        expect(up.idle!.nodeMsPerSecond).toBeGreaterThanOrEqual(0);
        expect(up.idle!.nodeMsPerSecond).toBeLessThan(0.3);
        expect(up.idle!.etcdMsPerSecond).toBeGreaterThan(0);
        expect(baseline.idle!.etcdMsPerSecond).toBe(0);
        expect(baseline.idle!.shimMsPerSecond).toBeGreaterThanOrEqual(0);
      }
      expect(await leftovers(up.runId)).toEqual({ containers: 0, networks: 0 });
      expect(await leftovers(baseline.runId)).toEqual({ containers: 0, networks: 0 });
    }
    // --auth-cost: each repetition's bring-up again with etcd open, next to the one with authentication; which
    // goes first alternates, the authenticated one in the first repetition.
    for (const [index, { peerlab: up, authCost }] of repetitions.entries()) {
      expect(authCost!.first).toBe(index % 2 === 0 ? 'authenticated' : 'open');
      expect(authCost!.withAuthMs).toBe(up.allConnectedMs);
      expect(authCost!.withoutAuthMs).toBe(authCost!.withoutAuth.allConnectedMs);
      expect(authCost!.percent).toBeCloseTo((100 * (authCost!.withAuthMs - authCost!.withoutAuthMs)) / authCost!.withoutAuthMs, 10);
      expect(authCost!.withoutAuth.runId).not.toBe(up.runId);
      expect(authCost!.withoutAuth.idle).toBeUndefined();
      expect(await leftovers(authCost!.withoutAuth.runId)).toEqual({ containers: 0, networks: 0 });
    }
    expect(sample!.authCost).toEqual(repetitions.map((repetition) => repetition.authCost!).sort((a, b) => a.percent - b.percent)[0]);
    expect(sample!.ratio).toBe(Math.min(...repetitions.map((repetition) => repetition.ratio)));
    expect(sample!.peerlab).toEqual(repetitions.find((repetition) => repetition.ratio === sample!.ratio)!.peerlab);
  });

  it('stops on Ctrl-C while it starts containers, removes every run it began, and exits 130', async () => {
    // The baseline goes first: interrupted once more than 5 of its containers exist, with the rest being started.
    const { code, stderr } = await interruptPast(workDir, ['bench', 'startup', '--nodes', '30'], 5, 180_000);
    expect(code, stderr).toBe(130);
    expect(stderr).toContain('interrupted: stopping the bench and removing what it started');
    expect(await leftBehind(stderr)).toBe(0);
  }, 240_000);

  it('refuses the simulator in one line, before anything starts, and so does peerlab up: neither has containers to start', async () => {
    // One line and nothing else: no run id was announced, so nothing was created.
    const bench = await peerlab('bench', 'startup', '--runtime', 'sim', '--nodes', '5');
    expect(bench.code).not.toBe(0);
    expect(bench.stderr.trim().split('\n')).toEqual(['error: bench startup measures container start-up, and --runtime sim starts no containers — take --runtime docker or swarm']);
    const up = await peerlab('up', '--runtime', 'sim', '--topology', 'ring:n=4');
    expect(up.code).not.toBe(0);
    expect(up.stderr.trim().split('\n')).toEqual([
      'error: --runtime sim keeps no nodes standing: they live only while a run goes on — take --runtime docker or swarm; peerlab run takes any runtime',
    ]);
  });

  it("starts the baseline's containers with every setting of peerlab's own", async () => {
    const docker = await connectDocker();
    const image = (await ensureNodeImage({ agentDir: await buildAgentBundle(), docker })).tag;
    const runIds = [`test-${randomBytes(4).toString('hex')}`, `test-${randomBytes(4).toString('hex')}`];
    try {
      const options = (runId: string) => ({ runId, image, memoryLimit: 48 * 2 ** 20, mounts: { [workDir]: '/algorithm' }, concurrency: 1 });
      const idle = { Entrypoint: ['node'], Cmd: ['-e', 'setInterval(() => {}, 1 << 30)'] };
      const byPeerlab = await DockerRuntime.create(docker, options(runIds[0]!));
      const created = await docker.createContainer({ ...nodeContainerSpec(options(runIds[0]!), { id: '1', env: { A: 'b' } }), ...idle });
      await created.start();
      await DockerRuntime.create(docker, options(runIds[1]!));
      const { stdout } = await exec('docker', dockerRunArgs({ ...nodeContainerSpec(options(runIds[1]!), { id: '1', env: { A: 'b' } }), ...idle }));
      const [ours, theirs] = await Promise.all([created.inspect(), docker.getContainer(stdout.trim()).inspect()]);
      const settings = (info: typeof ours) => {
        const { Memory, MemorySwap, CpuShares, PidsLimit, CapDrop, SecurityOpt, ReadonlyRootfs, Tmpfs, Binds, LogConfig } = info.HostConfig as Record<string, unknown>;
        return {
          host: { Memory, MemorySwap, CpuShares, PidsLimit, CapDrop, SecurityOpt, ReadonlyRootfs, Tmpfs, Binds, LogConfig },
          image: info.Config.Image,
          entrypoint: info.Config.Entrypoint,
          cmd: info.Config.Cmd,
          env: info.Config.Env.filter((variable) => variable === 'A=b'),
          networks: Object.keys(info.NetworkSettings.Networks).map((name) => name.replace(/test-[0-9a-f]+/, 'RUN')),
          labels: Object.keys(info.Config.Labels).sort(),
          state: info.State.Status,
        };
      };
      expect(settings(theirs)).toEqual(settings(ours));
      expect(settings(ours).host).toMatchObject({ Memory: 48 * 2 ** 20, ReadonlyRootfs: true, CapDrop: ['ALL'], PidsLimit: 64 });
      expect(settings(ours).state).toBe('running');
      expect(byPeerlab.network).toBe(`peerlab-${runIds[0]}`);
    } finally {
      for (const runId of runIds) await removeRunObjects(docker, runId);
    }
    for (const runId of runIds) expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
  });
});

it("opens the run's etcd only for --auth-cost's side: a write without credentials fails on the usual one and succeeds there", async () => {
  const docker = await connectDocker();
  const image = (await ensureEtcdImage({ docker })).tag;
  const runIds = [`test-${randomBytes(4).toString('hex')}`, `test-${randomBytes(4).toString('hex')}`];
  try {
    const writeWithoutCredentials = async (auth: boolean, runId: string) => {
      await DockerRuntime.create(docker, { runId, image, memoryLimit: 48 * 2 ** 20, mounts: {}, concurrency: 1 });
      const etcd = await startEtcdContainer(docker, { runId, network: networkName(runId), image, hostPort: 0, auth });
      const client = new Etcd3({ hosts: etcd.host });
      try {
        await client.put(`/peerlab/${runId}/control/stop`).value('x');
        return 'written';
      } catch (error) {
        return String(error);
      } finally {
        client.close();
      }
    };
    expect(await writeWithoutCredentials(true, runIds[0]!)).toMatch(/user name is empty|permission denied/i);
    expect(await writeWithoutCredentials(false, runIds[1]!)).toBe('written');
  } finally {
    for (const runId of runIds) await removeRunObjects(docker, runId);
  }
  for (const runId of runIds) expect(await leftovers(runId)).toEqual({ containers: 0, networks: 0 });
});

describe('bench links', () => {
  it('measures bring-up unshaped and shaped in turns, rtt against the links, rate at both layers and loss by its counters, and leaves nothing', async () => {
    const { code, stdout, stderr } = await peerlab('bench', 'links', '--nodes', '5', '--rates', '10mbit', '--param', 'pings=5', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { schema: string; samples: LinksBringUpSample[]; accuracy: LinksAccuracy };
    expect(report.schema).toBe('peerlab.bench.links/1');
    const [sample] = report.samples;
    expect(sample).toMatchObject({ runtime: 'docker', topology: 'ba:n=5,m=2', nodes: 5, links: 'delay=uniform:5..50ms', layer: 'message' });
    const [turn] = sample!.repetitions;
    expect(turn!.first).toBe('without');
    expect(turn!.without.layer).toBe('message');
    expect(sample!.bringUpGrowthPercent).toBeCloseTo((sample!.shaped.bringUpMs! / sample!.unshaped.bringUpMs! - 1) * 100, 10);
    expect(sample!.withinTarget).toBe(sample!.bringUpGrowthPercent! <= 10);
    // Every shaped edge has at least 5 ms each way: the shaping shows in the round trips, whatever the CPU adds.
    expect(sample!.shaped.medianRttMs).toBeGreaterThan(sample!.unshaped.medianRttMs + 10);
    expect(Number.isFinite(sample!.shaped.baselineMs) && Number.isFinite(sample!.shaped.worstErrorMs)).toBe(true);
    // Rate within ±10 % at both layers, each judged by bulk's oracle (this host's kernel has htb and u32).
    const { rates, loss } = report.accuracy;
    expect(rates.map(({ mode, layer }) => [mode, layer])).toEqual([
      ['message', 'message'],
      ['packet', 'packet'],
    ]);
    for (const rate of rates) {
      expect(rate.outcome, rate.verdict).toBe('pass');
      expect(Math.abs(rate.errorPercent!)).toBeLessThan(10);
    }
    // Loss by the rule's own counters, within four standard deviations of a binomial share.
    expect(loss).toMatchObject({ lossPercent: 5, layer: 'packet', withinBound: true });
    expect(loss.packets).toBeGreaterThan(300);
    expect(Math.abs(loss.droppedPercent! - 5)).toBeLessThanOrEqual(loss.boundPercent!);
    expect(await leftBehind(stderr)).toBe(0);
  });

  it('refuses a rate it cannot read in one line naming the flag, before anything starts', async () => {
    const { code, stdout, stderr } = await peerlab('bench', 'links', '--nodes', '5', '--rates', '10mbit,10mbps');
    expect(code).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: --rates "10mbps": "mbps" is ambiguous .* — e\.g\. --rates 10mbit,100mbit$/)]);
    expect(stdout).toBe('');
  });
});

describe('bench convergence', () => {
  it('measures flood on 10 containers with a passing verdict, and leaves nothing', async () => {
    const { code, stdout, stderr } = await peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10', '--runtime', 'docker', '--json');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
    expect(report.schema).toBe('peerlab.bench.convergence/1');
    expect(report.peerlab.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(report.host.cpus).toBeGreaterThan(0);
    expect(report.comparison).toBeUndefined();
    expect(report.samples).toHaveLength(1);
    const [sample] = report.samples;
    expect(sample).toMatchObject({ algorithm: 'flood', runtime: 'docker', topology: 'ba:n=10,m=2', nodes: 10, edges: 16 });
    expect(sample!.verdict.passed).toBe(true);
    // Flood sends over every edge once in each direction but the one its token came by: 2E − (N − 1).
    expect(sample!.messages).toBe(2 * 16 - 9);
    expect(sample!.algorithmMs).toBeGreaterThan(0);
    expect(sample!.allConnectedMs).toBeGreaterThan(0);
    expect(sample!.virtualTimeMs).toBeUndefined();
    expect(await leftBehind(stderr)).toBe(0);
  });

  describe('against a baseline', () => {
    const bench = (...extra: string[]) => peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10,20', '--runtime', 'sim', '--json', ...extra);
    let baseline: BenchReport<ConvergenceSample>;

    beforeAll(async () => {
      const { code, stdout } = await bench();
      expect(code).toBe(0);
      baseline = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
      await writeFile(path.join(workDir, 'baseline.json'), stdout);
    });

    it('passes when nothing regressed, with the comparison in the JSON', async () => {
      const { code, stdout, stderr } = await bench('--baseline', 'baseline.json', '--max-regression', '20%');
      expect(code, stderr).toBe(0);
      const report = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
      expect(report.comparison).toMatchObject({ passed: true, maxRegressionPercent: 20, regressions: [], missing: [], baseline: { file: 'baseline.json' } });
      expect(report.comparison!.checks.filter((check) => check.metric === 'messages').map((check) => check.status)).toEqual(['within', 'within']);
      expect(stderr).toContain('✔ no gated metric regressed by more than 20% against baseline.json');
    });

    it('exits 1 with one line per regressed metric, after printing the JSON', async () => {
      const fewer = { ...baseline, samples: baseline.samples.map((sample) => (sample.nodes === 20 ? { ...sample, messages: sample.messages / 2 } : sample)) };
      await writeFile(path.join(workDir, 'fewer.json'), JSON.stringify(fewer));
      const { code, stdout, stderr } = await bench('--baseline', 'fewer.json');
      expect(code).toBe(1);
      const report = JSON.parse(stdout) as BenchReport<ConvergenceSample>;
      expect(report.comparison?.passed).toBe(false);
      const messages = report.samples[1]!.messages;
      expect(stderr.split('\n').filter((line) => line.startsWith('regression: '))).toEqual([
        `regression: flood N=20 messages ${Math.round(messages / 2)} → ${messages} (+100% > 20%)`,
      ]);
    });

    it('with --out, a bench killed during its second N keeps the first in the file', async () => {
      const kept = path.join(workDir, 'kept.json');
      // The second N (a million nodes) takes minutes: the bench is killed while it runs.
      const child = spawn(process.execPath, [bin, 'bench', 'convergence', '--algorithm', 'flood', '--nodes', '10,1000000', '--runtime', 'sim', '--out', kept, '--json'], { cwd: workDir, stdio: 'ignore' });
      const readKept = async () => JSON.parse(await readFile(kept, 'utf8').catch(() => 'null')) as BenchReport<ConvergenceSample> | null;
      try {
        const deadline = Date.now() + 60_000;
        while ((await readKept()) === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
      } finally {
        child.kill('SIGKILL');
      }
      const report = await readKept();
      expect(report?.schema).toBe('peerlab.bench.convergence/1');
      expect(report!.samples.map((sample) => [sample.nodes, sample.verdict.outcome])).toEqual([[10, 'pass']]);
      expect(report!.samples[0]!.messages).toBe(baseline.samples[0]!.messages);
    });

    it('refuses an --out in a folder that does not exist, in one line before anything starts', async () => {
      const { code, stdout, stderr } = await peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10', '--out', 'missing/bench.json');
      expect(code).not.toBe(0);
      expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^error: --out missing\/bench\.json: the folder .*missing does not exist — /)]);
      expect(stdout).toBe('');
    });

    const badBaselines: Array<{ name: string; content: string | undefined; message: RegExp }> = [
      { name: 'a missing file', content: undefined, message: /cannot read the baseline bad\.json: no such file/ },
      { name: 'a file that is not JSON', content: 'N=10 1.2 s', message: /the baseline bad\.json is not JSON/ },
      { name: 'the output of another bench', content: '{"schema":"peerlab.bench.startup/2","samples":[]}', message: /has schema "peerlab.bench.startup\/2", not "peerlab.bench.convergence\/1"/ },
    ];
    for (const { name, content, message } of badBaselines) {
      it(`rejects ${name} in one line before anything starts`, async () => {
        const file = path.join(workDir, 'bad.json');
        await rm(file, { force: true });
        if (content !== undefined) await writeFile(file, content);
        // Docker: a run would start containers, so "before anything starts" is checked where it matters.
        const { code, stdout, stderr } = await peerlab('bench', 'convergence', '--algorithm', 'flood', '--nodes', '10', '--baseline', 'bad.json');
        expect(code).not.toBe(0);
        const lines = stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^error: /);
        expect(lines[0]).toMatch(message);
        expect(lines[0]).toContain(' — ');
        expect(stdout).toBe('');
      });
    }
  });
});

describe('bench sim through the CLI', () => {
  const walk = path.join(path.dirname(bin), '..', 'test', 'fixtures', 'token-walk.ts');
  const bench = (...extra: string[]) => peerlab('bench', 'sim', '--algorithm', walk, '--nodes', '30', '--param', 'hops=50', '--json', ...extra);
  const sampleOf = (stdout: string) => (JSON.parse(stdout) as BenchReport<SimBenchSample>).samples[0]!;

  it('ends each run as --until says, and reports an algorithm nothing checks as unchecked, not failed', async () => {
    const quiescent = await bench('--until', 'quiescent');
    expect(quiescent.code, quiescent.stderr).toBe(0);
    const walked = sampleOf(quiescent.stdout);
    // Every step of the walk: the run waited until the token stopped.
    expect(walked.messages).toBe(50);
    expect(walked.replay).toContain('--until quiescent');
    expect(walked.verdict).toMatchObject({ outcome: 'unchecked', passed: false, failed: false });
    // Every node reports in init, so a run that ends at its results ends with the first step in flight.
    const atResults = await bench();
    expect(atResults.code, atResults.stderr).toBe(0);
    expect(sampleOf(atResults.stdout).messages).toBe(1);
  });

  it('fails the unchecked run with --require-check, and says so on stderr', async () => {
    const { code, stdout, stderr } = await bench('--require-check');
    expect(code).toBe(1);
    expect(sampleOf(stdout).verdict).toMatchObject({ outcome: 'unchecked', failed: true });
    expect(stderr).toContain(`✖ FAIL  ${walk}: the verdict failed for N=30`);
  });
});
