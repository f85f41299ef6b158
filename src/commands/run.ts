import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../cli/base-command.js';
import { algorithmRunFlags, deploymentFlags, faultFlags, placementPolicyFlags } from '../cli/run-flags.js';
import { resolveRunFaults } from '../faults/index.js';
import { runRequestFrom, timeoutMsFrom } from '../cli/run-request.js';
import { runAlgorithm, type RunSummary, type RunUntil } from '../run/run.js';
import { OUTCOME_MARK } from '../verify/index.js';
import { dashboardObserver } from '../dashboard/observe.js';
import { serveUntilInterrupted } from '../dashboard/serve.js';

export default class Run extends PeerlabCommand {
  static override description =
    'Bring up a topology of node containers, run an algorithm on it, check the result against ground truth, write results/<run-id>/ and remove everything. The verdict is PASS or FAIL when a check judged the run (a built-in oracle, or the algorithm file\'s own `check` export), UNCHECKED when nothing did, REPRODUCED for a variant that reproduces an inexact method. Exits 1 on FAIL, and on UNCHECKED with --require-check; else 0.';

  static override examples = [
    '<%= config.bin %> run flood --topology ba:n=100,m=2 --seed 7',
    '<%= config.bin %> run flood --topology topologies/zoo/GtsCe.graphml',
    '<%= config.bin %> run test/fixtures/dummy-load.ts --topology complete:n=4 --hosts big=2,small=1 --placement first --policy equal',
  ];

  static override args = {
    algorithm: Args.string({ required: true, description: 'an algorithm name (see `peerlab algorithms list`) or a .ts file' }),
  };

  static override flags = {
    ...deploymentFlags,
    ...algorithmRunFlags,
    ...faultFlags,
    ...placementPolicyFlags,
    ui: Flags.boolean({ default: false, description: 'serve a live dashboard on 127.0.0.1 (its URL, with an access token, is printed); a simulator run is replayed there' }),
    'ui-port': Flags.integer({ default: 0, description: 'port of the dashboard (0: any free port)' }),
    trace: Flags.boolean({ default: false, description: 'write every send and delivery, with Lamport and vector clocks, to results/<run-id>/events.ndjson and draw them in report.html' }),
  };

  async run(): Promise<RunSummary> {
    const { args, flags } = await this.parse(Run);
    const timeoutMs = timeoutMsFrom(flags.timeout);
    // Resolved before anything is created: a bad spec is one line and leaves nothing behind.
    const faults = await resolveRunFaults({
      faults: flags.fault,
      churn: flags.churn,
      topology: flags.topology,
      seed: flags.seed,
      weights: flags.weights,
      allowDisconnected: flags['allow-disconnected'],
      timeoutMs,
    });
    const { request, during } = runRequestFrom(flags, {
      algorithm: args.algorithm,
      timeoutMs,
      resultsRoot: flags.results,
      json: this.jsonEnabled(),
      note: (line) => this.note(line),
    });
    const observer = flags.ui ? dashboardObserver({ port: flags['ui-port'], onOpen: (url) => this.note(`dashboard: ${url}`) }) : undefined;
    const summary = await during(
      runAlgorithm({
        ...request,
        requireCheck: flags['require-check'],
        until: flags.until as RunUntil,
        maxEvents: flags['max-events'],
        trace: flags.trace,
        observer,
        command: ['run', ...this.argv],
        faults,
      }),
    );
    const required = summary.outcome === 'unchecked' && flags['require-check'] ? ' (--require-check: an unchecked run fails)' : '';
    this.log(`${OUTCOME_MARK[summary.outcome]}  ${summary.algorithm} on ${summary.nodes} nodes, ${summary.edges} edges: ${summary.verdict}${required}`);
    const startup = summary.timings.allReadyMs === undefined ? '' : ` · all nodes connected after ${(summary.timings.allReadyMs / 1000).toFixed(1)} s`;
    const virtual = summary.timings.virtualTimeMs === undefined ? '' : ` (${summary.timings.virtualTimeMs.toFixed(1)} ms virtual)`;
    const inFlight = summary.inFlight > 0 ? ` (${summary.inFlight} still in flight at the end)` : '';
    this.log(`  ${summary.metrics.messages ?? 0} messages${inFlight}${startup} · algorithm ${((summary.timings.algorithmMs ?? 0) / 1000).toFixed(2)} s${virtual} · on ${summary.runtime}`);
    this.log(`  results in ${summary.resultsDir}`);
    this.log(`  replay: ${summary.replay}`);
    if (summary.failed) process.exitCode = 1;
    if (observer) await serveUntilInterrupted(await observer.dashboard, (line) => this.note(line));
    return summary;
  }
}
