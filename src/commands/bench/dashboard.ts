import { Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { benchOutFlag, nodeCounts, reportKeeper } from '../../cli/bench-flags.js';
import { algorithmRunFlags, runOptionFlags } from '../../cli/run-flags.js';
import { runRequestFrom, timeoutMsFrom } from '../../cli/run-request.js';
import { benchDashboardOverhead, DASHBOARD_OVERHEAD_TARGET_PERCENT, DASHBOARD_PARTS, describeSide, type DashboardOverheadSample, type DashboardPart } from '../../bench/dashboard.js';
import { PeerlabError } from '../../errors.js';
import { hostFacts } from '../../util/host.js';
import { peerlabVersion } from '../../util/version.js';

export default class BenchDashboard extends PeerlabCommand {
  static override description = `Measure what the live dashboard costs a run: for each N, the algorithm on ba:n=N,m=M without the dashboard and with it (\`--ui\` with the page open in headless Chromium), in turns, in the same invocation; reports bring-up (all nodes connected) and algorithm time of each side and their growth. The issue's budget is ${DASHBOARD_OVERHEAD_TARGET_PERCENT} %.`;

  static override examples = ['<%= config.bin %> bench dashboard --algorithm ghs --nodes 500 --json'];

  static override flags = {
    algorithm: Flags.string({ char: 'a', required: true, description: 'an algorithm name (see `peerlab algorithms list`) or a .ts file' }),
    nodes: Flags.string({ default: '500', description: 'comma-separated node counts' }),
    m: Flags.integer({ default: 2, description: 'Barabási–Albert attachment: topology ba:n=N,m=M' }),
    ...benchOutFlag,
    repetitions: Flags.integer({ default: 1, description: 'runs per side and N, in turns (alternating which side goes first); medians are reported' }),
    'leave-out': Flags.string({
      options: [...DASHBOARD_PARTS],
      description: 'to split the cost, the with side leaves out a part of the dashboard: page (no browser opens it; the server and the nodes’ live reports stay) or live-reports (the nodes write none; the page stays)',
    }),
    ...runOptionFlags,
    ...algorithmRunFlags,
  };

  async run(): Promise<{ schema: string; peerlab: typeof peerlabVersion; host: ReturnType<typeof hostFacts>; createdAt: string; samples: DashboardOverheadSample[] }> {
    const { flags } = await this.parse(BenchDashboard);
    const counts = nodeCounts(flags);
    if (flags.repetitions < 1) throw new PeerlabError(`--repetitions ${flags.repetitions} must be at least 1`, { hint: 'e.g. --repetitions 3' });
    const keep = reportKeeper(flags);
    const createdAt = new Date().toISOString();
    const samples: DashboardOverheadSample[] = [];
    const report = () => ({ schema: 'peerlab.bench.dashboard/1', peerlab: peerlabVersion, host: hostFacts(), createdAt, samples });
    for (const nodes of counts) {
      const { request, during } = runRequestFrom(
        { ...flags, topology: `ba:n=${nodes},m=${flags.m}` },
        { algorithm: flags.algorithm, timeoutMs: timeoutMsFrom(flags.timeout), resultsRoot: flags.results, json: this.jsonEnabled(), note: (line) => this.note(line) },
      );
      const sample = await during(
        benchDashboardOverhead({
          request: { ...request, command: ['bench', 'dashboard', ...this.argv] },
          repetitions: flags.repetitions,
          leaveOut: flags['leave-out'] as DashboardPart | undefined,
          onProgress: (line) => this.note(line),
        }),
      );
      samples.push(sample);
      await keep(report());
      const seconds = (ms: number | undefined) => (ms === undefined ? '–' : `${(ms / 1000).toFixed(2)} s`);
      const percent = (value: number | undefined) => (value === undefined ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(1)} %`);
      this.log(
        `N=${String(nodes).padStart(4)}  bring-up ${seconds(sample.without.allConnectedMs)} → ${seconds(sample.with.allConnectedMs)} (${percent(sample.growthPercent.allConnected)}) · ` +
          `algorithm ${seconds(sample.without.algorithmMs)} → ${seconds(sample.with.algorithmMs)} (${percent(sample.growthPercent.algorithm)}) · ` +
          `${sample.withinTarget ? '✔ within' : '✖ over'} ${DASHBOARD_OVERHEAD_TARGET_PERCENT} % · on ${sample.runtime}`,
      );
      for (const [index, repetition] of sample.repetitions.entries()) {
        this.log(`  repetition ${index + 1} without: ${describeSide(repetition.without)}`);
        this.log(`  repetition ${index + 1} with:    ${describeSide(repetition.with)}`);
      }
      const unfollowed = sample.repetitions.filter((repetition) => repetition.with.page !== undefined && repetition.with.page.nodesDone < sample.nodes);
      if (unfollowed.length > 0) this.note(`warning: in ${unfollowed.length} run(s) the page did not show every node done: it did not follow the run`);
    }
    return report();
  }
}
