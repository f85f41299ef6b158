import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { benchOutFlag, nodeCounts, reportKeeper } from '../../cli/bench-flags.js';
import { algorithmRunFlags, runOptionFlags } from '../../cli/run-flags.js';
import { runRequestFrom, timeoutMsFrom } from '../../cli/run-request.js';
import {
  benchLinksAccuracy,
  benchLinksBringUp,
  DEFAULT_BENCH_LINKS,
  LINKS_BRING_UP_TARGET_PERCENT,
  type LinksAccuracy,
  type LinksBringUpSample,
} from '../../bench/links.js';
import { PeerlabError } from '../../errors.js';
import { flagQuantity } from '../../links/spec.js';
import { delayAsLinks } from '../../runtime/sim/delay.js';
import { hostFacts } from '../../util/host.js';
import { peerlabVersion } from '../../util/version.js';
import { OUTCOME_MARK } from '../../verify/index.js';

interface LinksBenchReport {
  schema: string;
  peerlab: typeof peerlabVersion;
  host: ReturnType<typeof hostFacts>;
  createdAt: string;
  samples: LinksBringUpSample[];
  accuracy?: LinksAccuracy;
}

export default class BenchLinks extends PeerlabCommand {
  static override description = `Measure what link shaping costs and how exactly it holds. For each N, the built-in rtt on ba:n=N,m=M unshaped and with --links (default '${DEFAULT_BENCH_LINKS}'), in turns: bring-up of each side and its growth (the goal is under ${LINKS_BRING_UP_TARGET_PERCENT} % at N = 200), and rtt's oracle on the shaped run (median round trips against the configured delays, the baseline, the worst edge). Then the built-in bulk on one edge: each --rates value at the message and the packet layer (throughput within ±10 %), and --loss at the packet layer (the share its rule dropped, by its own counters, within a binomial bound).`;

  static override examples = [
    '<%= config.bin %> bench links --nodes 100,200 --out bench-links.json',
    "<%= config.bin %> bench links --nodes 100 --links 'rate=100mbit,loss=0.1%' --links-mode packet",
  ];

  static override flags = {
    nodes: Flags.string({ default: '100,200', description: 'comma-separated node counts' }),
    m: Flags.integer({ default: 2, description: 'Barabási–Albert attachment: topology ba:n=N,m=M' }),
    ...benchOutFlag,
    repetitions: Flags.integer({ default: 1, description: 'runs per side and N, in turns (alternating which side goes first); medians are reported' }),
    rates: Flags.string({ default: '10mbit,100mbit', description: 'comma-separated rates whose accuracy is measured on one edge, at each layer' }),
    loss: Flags.string({ default: '5%', description: 'the loss whose accuracy is measured at the packet layer' }),
    accuracy: Flags.boolean({ default: true, allowNo: true, description: 'measure rate and loss accuracy after the bring-up samples (--no-accuracy skips it)' }),
    ...runOptionFlags,
    ...algorithmRunFlags,
  };

  async run(): Promise<LinksBenchReport> {
    const { flags } = await this.parse(BenchLinks);
    const counts = nodeCounts(flags);
    if (flags.repetitions < 1) throw new PeerlabError(`--repetitions ${flags.repetitions} must be at least 1`, { hint: 'e.g. --repetitions 3' });
    if (flags.links !== undefined && flags.delay !== undefined) {
      throw new PeerlabError('--delay and --links both shape the links', { hint: `--delay ${flags.delay} is --links '${delayAsLinks(flags.delay)}': give one of them` });
    }
    const links = flags.links ?? (flags.delay === undefined ? DEFAULT_BENCH_LINKS : delayAsLinks(flags.delay));
    const ratesBps = flags.rates.split(',').map((rate) => flagQuantity(`--rates "${rate}"`, 'rate', rate.trim(), 'e.g. --rates 10mbit,100mbit'));
    const lossPercent = flagQuantity(`--loss "${flags.loss}"`, 'loss', flags.loss.trim(), 'e.g. --loss 5%');
    if (lossPercent === 0) throw new PeerlabError(`--loss ${flags.loss} drops nothing, so there is nothing to count`, { hint: 'e.g. --loss 5%' });
    const keep = reportKeeper(flags);
    const report: LinksBenchReport = { schema: 'peerlab.bench.links/1', peerlab: peerlabVersion, host: hostFacts(), createdAt: new Date().toISOString(), samples: [] };
    const requestFor = (topology: string) =>
      runRequestFrom(
        { ...flags, topology },
        { algorithm: 'rtt', timeoutMs: timeoutMsFrom(flags.timeout), resultsRoot: flags.results, json: this.jsonEnabled(), note: (line) => this.note(line) },
      );
    const command = ['bench', 'links', ...this.argv];
    for (const nodes of counts) {
      const { request, during } = requestFor(`ba:n=${nodes},m=${flags.m}`);
      const sample = await during(benchLinksBringUp({ request: { ...request, command }, links, repetitions: flags.repetitions, onProgress: (line) => this.note(line) }));
      report.samples.push(sample);
      await keep(report);
      this.logBringUp(sample);
    }
    if (flags.accuracy) {
      const { request, during } = requestFor('line:n=2');
      report.accuracy = await during(benchLinksAccuracy({ request: { ...request, command }, ratesBps, lossPercent, onProgress: (line) => this.note(line) }));
      await keep(report);
      this.logAccuracy(report.accuracy);
    }
    return report;
  }

  private logBringUp(sample: LinksBringUpSample): void {
    const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`);
    const growth =
      sample.bringUpGrowthPercent === undefined
        ? ''
        : ` (${sample.bringUpGrowthPercent >= 0 ? '+' : ''}${sample.bringUpGrowthPercent.toFixed(1)} %, ${sample.withinTarget ? '✔ within' : '✖ over'} ${LINKS_BRING_UP_TARGET_PERCENT} %)`;
    this.log(`N=${String(sample.nodes).padStart(4)}  bring-up ${seconds(sample.unshaped.bringUpMs)} unshaped → ${seconds(sample.shaped.bringUpMs)} at the ${sample.layer} layer${growth} · on ${sample.runtime}`);
    this.log(
      `        rtt ${OUTCOME_MARK[sample.shaped.outcome].split(' ')[0]} unshaped median ${sample.unshaped.medianRttMs.toFixed(2)} ms · shaped: baseline ${sample.shaped.baselineMs.toFixed(2)} ms, worst edge off by ${sample.shaped.worstErrorMs.toFixed(2)} ms`,
    );
    this.log(`        ${sample.shaped.verdict}`);
  }

  private logAccuracy(accuracy: LinksAccuracy): void {
    for (const rate of accuracy.rates) {
      const what = `rate=${rate.rate} at the ${rate.layer ?? rate.mode} layer${rate.layer !== undefined && rate.layer !== rate.mode ? ` (asked: ${rate.mode})` : ''}`;
      if (rate.refused !== undefined) this.log(`  ${what}: not measured: ${rate.refused}`);
      else {
        const measured = rate.throughputBps === undefined ? 'no throughput' : `${(rate.throughputBps / 1e6).toFixed(2)} Mbit/s (${rate.errorPercent! >= 0 ? '+' : ''}${rate.errorPercent!.toFixed(1)} %)`;
        this.log(`  ${what}: ${OUTCOME_MARK[rate.outcome!].split(' ')[0]} ${measured} · ${rate.verdict}`);
      }
    }
    const { loss } = accuracy;
    if (loss.refused !== undefined) this.log(`  loss=${loss.lossPercent}% at the packet layer: not measured: ${loss.refused}`);
    else {
      this.log(
        `  loss=${loss.lossPercent}% at the packet layer: ${loss.withinBound ? '✔' : '✖'} ${loss.dropped} of ${loss.packets} packets dropped (${loss.droppedPercent!.toFixed(2)} %, bound ±${loss.boundPercent!.toFixed(2)} points)`,
      );
    }
  }
}
