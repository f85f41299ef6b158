import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { benchFlags, nodeCounts, openBaselineGate, reportKeeper } from '../../cli/bench-flags.js';
import { algorithmRunFlags, runOptionFlags, unshapedSimulatorFlags } from '../../cli/run-flags.js';
import { runRequestFrom } from '../../cli/run-request.js';
import { benchReport, type BenchReport } from '../../bench/report.js';
import { benchSim, probeEach, simBench, type SimBenchSample } from '../../bench/sim.js';
import { probeEventLoop, type ProbeResult } from '../../bench/sim-probe.js';
import { PeerlabError } from '../../errors.js';
import { OUTCOME_MARK } from '../../verify/index.js';
import type { RunUntil } from '../../run/run.js';
import { formatRate } from '../../util/rates.js';

const { seed, weights, param, delay } = runOptionFlags;

export default class BenchSim extends PeerlabCommand {
  static override description =
    "Measure the simulator at scale: for each N, a bare event loop (the probe) and then the algorithm on ba:n=N,m=M through `peerlab run`'s pipeline, in the same invocation; reports wall and algorithm time, events, messages, messages/s, the probe's events/s, their ratio, the event loop's CPU time and peak memory. Exits 1 if a verdict failed, or, with --baseline, if the ratio, peak memory, messages or events regressed.";

  static override examples = [
    '<%= config.bin %> bench sim --algorithm ghs --nodes 10000,100000,1000000 --json',
    '<%= config.bin %> bench sim --probe --nodes 100000,1000000',
    '<%= config.bin %> bench sim --algorithm flood --nodes 100000 --json --baseline bench/sim-flood.json --max-regression 20%',
  ];

  static override flags = {
    algorithm: Flags.string({ char: 'a', description: 'an algorithm name (see `peerlab algorithms list`) or a .ts file' }),
    probe: Flags.boolean({ description: 'measure only the bare event loop, at each N', exclusive: ['algorithm'] }),
    ...benchFlags('10000,100000'),
    seed,
    weights,
    param,
    delay,
    ...algorithmRunFlags,
  };

  async run(): Promise<BenchReport<SimBenchSample> | { schema: string; samples: ProbeResult[] }> {
    const { flags } = await this.parse(BenchSim);
    const counts = nodeCounts(flags);
    const keep = reportKeeper(flags);
    if (!flags.probe && flags.algorithm === undefined) {
      throw new PeerlabError('bench sim needs --algorithm, or --probe for the bare event loop alone', { hint: 'e.g. --algorithm ghs' });
    }
    if (flags.probe) {
      if (flags.baseline !== undefined) throw new PeerlabError('--baseline gates an algorithm, not the probe alone', { hint: 'add --algorithm, or drop --baseline' });
      const samples: ProbeResult[] = [];
      for (const nodes of counts) {
        const probe = await probeEventLoop(nodes);
        samples.push(probe);
        await keep({ schema: 'peerlab.bench.sim-probe/1', samples });
        this.log(`N=${nodes}  probe ${formatRate(probe.eventsPerSecond)} events/s (${formatRate(probe.syncEventsPerSecond)} without settling)`);
      }
      return { schema: 'peerlab.bench.sim-probe/1', samples };
    }
    const gate = await openBaselineGate(flags, simBench);
    const began = new Date();
    const samples: SimBenchSample[] = [];
    const probes = await probeEach(counts);
    for (const nodes of counts) {
      const { request, during } = runRequestFrom(
        { ...flags, ...unshapedSimulatorFlags, runtime: 'sim', topology: `ba:n=${nodes},m=${flags.m}`, 'allow-disconnected': false },
        { algorithm: flags.algorithm!, timeoutMs: flags.timeout * 1000, resultsRoot: flags.results, json: this.jsonEnabled(), note: (line) => this.note(line) },
      );
      const sample = await during(
        benchSim(
          { ...request, requireCheck: flags['require-check'], until: flags.until as RunUntil, maxEvents: flags['max-events'], command: ['bench', 'sim', ...this.argv] },
          probes.get(nodes)!,
        ),
      );
      samples.push(sample);
      await keep(benchReport(simBench, samples, began));
      this.log(
        `N=${nodes}  ${OUTCOME_MARK[sample.verdict.outcome].split(' ')[0]} ${sample.messages} messages, ${sample.events} events · algorithm ${(sample.algorithmMs / 1000).toFixed(2)} s, ` +
          `wall ${(sample.wallMs / 1000).toFixed(1)} s · ${formatRate(sample.messagesPerSecond)} messages/s against the probe's ${formatRate(sample.probe.eventsPerSecond)} events/s ` +
          `(the faster of ${sample.probe.eachEventsPerSecond.map(formatRate).join(' and ')}): ` +
          `ratio ${sample.ratio.toFixed(3)} · CPU ${(sample.algorithmCpuMs / 1000).toFixed(2)} s · peak ${(sample.peakRssBytes / 2 ** 30).toFixed(2)} GiB`,
      );
      this.log(`        ${sample.verdict.summary}`);
    }
    const failed = samples.filter((sample) => sample.verdict.failed);
    if (failed.length > 0) {
      process.stderr.write(`✖ FAIL  ${flags.algorithm}: the verdict failed for ${failed.map((sample) => `N=${sample.nodes}`).join(', ')}\n`);
      process.exitCode = 1;
    }
    const report = { ...benchReport(simBench, samples, began), comparison: gate(samples) };
    await keep(report);
    return report;
  }
}
