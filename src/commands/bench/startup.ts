import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { benchFlags, nodeCounts, openBaselineGate, reportKeeper } from '../../cli/bench-flags.js';
import { stopRunsOnInterrupt } from '../../cli/interrupt.js';
import { benchReport, type BenchReport } from '../../bench/report.js';
import { benchStartup, startupBench, type StartupSample } from '../../bench/startup.js';
import { DEFAULT_START_CONCURRENCY } from '../../runtime/docker.js';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../../runtime/types.js';
import type { RunId } from '../../util/names.js';

export default class BenchStartup extends PeerlabCommand {
  static override description =
    'Measure node start-up: time until every node is registered and connected, per-node latency, host memory per node and teardown, against the plainest fast start of the same containers in the same invocation: parallel `docker run -d` on Docker, `docker service create` per engine on the local Swarm. With --baseline, exits 1 if the ratio or the memory per node regressed.';

  static override examples = [
    '<%= config.bin %> bench startup --nodes 25,50,100,200 --json',
    '<%= config.bin %> bench startup --nodes 25,50 --json --baseline bench/baseline.json --max-regression 20%',
    '<%= config.bin %> bench startup --runtime swarm --nodes 300 --repetitions 2 --json   # after peerlab cluster up --engines 3',
  ];

  static override flags = {
    ...benchFlags('25,50,100,200'),
    runtime: Flags.string({ default: 'docker', options: [...RUNTIME_CHOICES], description: 'where the nodes start, peerlab and the baseline alike: a container runtime' }),
    seed: Flags.integer({ default: 1 }),
    concurrency: Flags.integer({ default: DEFAULT_START_CONCURRENCY, min: 1, description: 'containers created and started at once, by peerlab and the baseline alike' }),
    repetitions: Flags.integer({ default: 1, min: 1, description: 'measurements per N, baseline and peerlab in turns (alternating which goes first); the median ratio is kept' }),
    'idle-window': Flags.integer({
      default: 20,
      min: 0,
      description: 'seconds to measure what the nodes cost once up and idle (CPU a second per node, its shim, etcd), and the baseline\'s containers alike; 0: not at all',
    }),
    'auth-cost': Flags.boolean({ default: false, description: "also bring the nodes up with the run's etcd open, next to each peerlab bring-up (which goes first alternates by repetition), and report what authentication adds (authCost)" }),
  };

  async run(): Promise<BenchReport<StartupSample>> {
    const { flags } = await this.parse(BenchStartup);
    const counts = nodeCounts(flags);
    const gate = await openBaselineGate(flags, startupBench);
    const keep = reportKeeper(flags);
    const began = new Date();
    // Ctrl-C stops the bench: the bring-up or baseline in progress removes what it started, then a sweep of every
    // run this bench began makes sure (an N = 1,000 bring-up is hundreds of containers).
    const started: RunId[] = [];
    const interrupt = stopRunsOnInterrupt({ announce: () => 'stopping the bench and removing what it started', leftRuns: () => started });
    const measure = async (): Promise<BenchReport<StartupSample>> => {
      const samples: StartupSample[] = [];
      for (const nodes of counts) {
        const sample = await benchStartup({
          runtime: flags.runtime as RuntimeChoice,
          nodes,
          model: (n) => `ba:n=${n},m=${flags.m}`,
          seed: flags.seed,
          concurrency: flags.concurrency,
          repetitions: flags.repetitions,
          authCost: flags['auth-cost'],
          idleWindowMs: flags['idle-window'] * 1000,
          onProgress: (line) => this.note(line),
          signal: interrupt.signal,
          onRunId: (runId) => {
            started.push(runId);
            this.note(`run ${runId}`);
          },
        });
        samples.push(sample);
        await keep(benchReport(startupBench, samples, began));
        this.logSample(sample);
      }
      const report = { ...benchReport(startupBench, samples, began), comparison: gate(samples) };
      await keep(report);
      return report;
    };
    return interrupt.during(measure());
  }

  private logSample(sample: StartupSample): void {
    const { nodes, authCost } = sample;
    if (authCost) {
      this.log(
        `N=${String(nodes).padStart(4)}  etcd authentication: ${(authCost.withAuthMs / 1000).toFixed(1)} s with, ${(authCost.withoutAuthMs / 1000).toFixed(1)} s without (${authCost.percent >= 0 ? '+' : ''}${authCost.percent.toFixed(1)} %)`,
      );
    }
    this.log(
      `N=${String(nodes).padStart(4)}  peerlab on ${sample.runtime} ${(sample.peerlab.allConnectedMs / 1000).toFixed(1)} s  ${sample.baseline.command} ${(sample.baseline.startedMs / 1000).toFixed(1)} s  ratio ${sample.ratio.toFixed(2)}  ` +
        `host ${(sample.memory.hostBytesPerNode / 2 ** 20).toFixed(1)} MiB/node  teardown ${(sample.peerlab.teardownMs / 1000).toFixed(1)} s`,
    );
    const { idle } = sample.peerlab;
    if (idle) {
      this.log(
        `N=${String(sample.nodes).padStart(4)}  idle: a node ${idle.nodeMsPerSecond.toFixed(3)} ms CPU/s (baseline ${sample.baseline.idle?.nodeMsPerSecond.toFixed(3) ?? '?'}), ` +
          `its shim ${idle.shimMsPerSecond.toFixed(3)} (baseline ${sample.baseline.idle?.shimMsPerSecond.toFixed(3) ?? '?'}), etcd ${idle.etcdMsPerSecond.toFixed(1)} ms/s`,
      );
    }
  }
}
