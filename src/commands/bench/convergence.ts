import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { benchFlags, nodeCounts, openBaselineGate, reportKeeper } from '../../cli/bench-flags.js';
import { algorithmRunFlags, runOptionFlags } from '../../cli/run-flags.js';
import { runRequestFrom, timeoutMsFrom } from '../../cli/run-request.js';
import { benchConvergence, convergenceBench, type ConvergenceSample } from '../../bench/convergence.js';
import { benchReport, type BenchReport } from '../../bench/report.js';
import { PeerlabError } from '../../errors.js';
import type { RunUntil } from '../../run/run.js';
import { OUTCOME_MARK } from '../../verify/index.js';

export default class BenchConvergence extends PeerlabCommand {
  static override description =
    "Measure an algorithm to convergence on ba:n=N,m=M for each N, through the same pipeline as `peerlab run`: time and messages until every node has its result, and the oracle's verdict. Exits 1 if a verdict failed, or, with --baseline, if algorithm time, virtual time or messages regressed.";

  static override examples = [
    '<%= config.bin %> bench convergence --algorithm push-sum --nodes 25,50,100 --runtime sim --json',
    '<%= config.bin %> bench convergence --algorithm flood --nodes 10 --json --baseline bench/flood.json --max-regression 20%',
  ];

  static override flags = {
    algorithm: Flags.string({ char: 'a', required: true, description: 'an algorithm name (see `peerlab algorithms list`) or a .ts file' }),
    ...benchFlags('25,50,100'),
    repetitions: Flags.integer({ default: 1, description: 'runs per N, with the same seed; a sample reports their medians' }),
    ...runOptionFlags,
    ...algorithmRunFlags,
  };

  async run(): Promise<BenchReport<ConvergenceSample>> {
    const { flags } = await this.parse(BenchConvergence);
    const counts = nodeCounts(flags);
    if (flags.repetitions < 1) throw new PeerlabError(`--repetitions ${flags.repetitions} must be at least 1`, { hint: 'e.g. --repetitions 3' });
    const gate = await openBaselineGate(flags, convergenceBench);
    const keep = reportKeeper(flags);
    const began = new Date();
    const samples: ConvergenceSample[] = [];
    for (const nodes of counts) {
      const { request, during } = runRequestFrom(
        { ...flags, topology: `ba:n=${nodes},m=${flags.m}` },
        { algorithm: flags.algorithm, timeoutMs: timeoutMsFrom(flags.timeout), resultsRoot: flags.results, json: this.jsonEnabled(), note: (line) => this.note(line) },
      );
      const sample = await during(
        benchConvergence({
          request: { ...request, requireCheck: flags['require-check'], until: flags.until as RunUntil, maxEvents: flags['max-events'], command: ['bench', 'convergence', ...this.argv] },
          repetitions: flags.repetitions,
        }),
      );
      samples.push(sample);
      await keep(benchReport(convergenceBench, samples, began));
      const virtual = sample.virtualTimeMs === undefined ? '' : ` (${sample.virtualTimeMs.toFixed(1)} ms virtual)`;
      const bringUp = sample.allConnectedMs === undefined ? '' : ` · all connected after ${(sample.allConnectedMs / 1000).toFixed(1)} s`;
      this.log(
        `N=${String(nodes).padStart(4)}  ${OUTCOME_MARK[sample.verdict.outcome].split(' ')[0]} algorithm ${(sample.algorithmMs / 1000).toFixed(2)} s${virtual} · ` +
          `${sample.messages} messages (${sample.messagesPerNode.toFixed(1)}/node)${bringUp} · on ${sample.runtime}`,
      );
      this.log(`        ${sample.verdict.summary}`);
    }
    const failed = samples.filter((sample) => sample.verdict.failed);
    if (failed.length > 0) {
      // On stderr even under --json, so that a CI log says why the step failed.
      process.stderr.write(`✖ FAIL  ${flags.algorithm}: the verdict failed for ${failed.map((sample) => `N=${sample.nodes}`).join(', ')}\n`);
      process.exitCode = 1;
    }
    const report = { ...benchReport(convergenceBench, samples, began), comparison: gate(samples) };
    await keep(report);
    return report;
  }
}
