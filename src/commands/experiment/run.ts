import os from 'node:os';
import { Args, Flags } from '@oclif/core';
import { PeerlabCommand } from '../../cli/base-command.js';
import { stopRunsOnInterrupt } from '../../cli/interrupt.js';
import { estimateFor, dryRun, prepareExperiment, runExperiment, writeOutputs, type DryRun, type ExperimentResult } from '../../experiment/experiment.js';
import { formatDuration, formatMiB, formatTable } from '../../experiment/format.js';
import { ExperimentProgress } from '../../experiment/progress.js';
import { RUNTIMES, type RuntimeChoice } from '../../experiment/schema.js';
import type { ExperimentFolder } from '../../experiment/store.js';
import { runAlgorithm } from '../../run/run.js';
import { describeTally } from '../../experiment/summary.js';
import { OUTCOME_MARK } from '../../verify/index.js';
import type { RunId } from '../../util/names.js';

export default class ExperimentRun extends PeerlabCommand {
  static override description =
    'Run an experiment file: every cell of its sweep (the cross product of its lists) once per seed, each as its own run, then write results/<name>/<timestamp>/ with experiment.yaml, summary.csv, plots and report.html. Exits 0 only if every run passed.';

  static override examples = [
    '<%= config.bin %> experiment run experiments/quickstart.yaml',
    '<%= config.bin %> experiment run experiments/quickstart.yaml --dry-run',
    '<%= config.bin %> experiment run experiments/quickstart.yaml --resume',
  ];

  static override args = {
    file: Args.string({ required: true, description: 'the experiment file (experiments/*.yaml)' }),
  };

  static override flags = {
    'dry-run': Flags.boolean({ default: false, description: 'check the file, list the cells and estimate time and memory; start nothing' }),
    resume: Flags.boolean({ default: false, description: 'continue the newest folder of this experiment (or --into), skipping finished runs' }),
    into: Flags.string({ description: 'the experiment folder to write (with --resume: to continue)' }),
    results: Flags.string({ default: 'results', description: 'folder for results/<run-id>/ and results/<experiment>/<timestamp>/' }),
    runtime: Flags.string({ options: [...RUNTIMES], description: "where the runs go, instead of the file's runtime: (docker, swarm, sim or auto)" }),
    concurrency: Flags.integer({ description: 'containers created and started at once' }),
    'etcd-image': Flags.string({ description: 'etcd image to use' }),
    'base-image': Flags.string({ description: 'base image for the node image' }),
  };

  async run(): Promise<ExperimentResult | DryRun> {
    const { args, flags } = await this.parse(ExperimentRun);
    const prepared = await prepareExperiment(args.file, { runtime: flags.runtime as RuntimeChoice | undefined });
    if (flags['dry-run']) return this.dryRun(dryRun(prepared.plan, prepared.facts));

    const { plan, facts } = prepared;
    const estimates = new Map([...estimateFor(plan, facts)].map(([key, estimate]) => [key, estimate.seconds]));
    const progress = new ExperimentProgress({
      bar: !this.jsonEnabled() && process.stderr.isTTY === true,
      lines: !this.jsonEnabled(),
      runs: plan.runs,
      estimates,
      write: (line) => this.note(line),
    });

    const resumeCommand = `peerlab experiment run ${[...this.argv.filter((arg) => arg !== '--resume' && arg !== '--json'), '--resume'].join(' ')}`;
    // Ctrl-C: start no further run, let the one in progress end and tear itself down, sweep what it left, write
    // the report of the runs finished so far, and say how to resume.
    let folder: ExperimentFolder | undefined;
    let current: RunId | undefined;
    let lastStarted: RunId | undefined;
    const interrupt = stopRunsOnInterrupt({
      beforeWait: () => progress.stop(),
      announce: () => `removing ${current ?? 'the run in progress'}`,
      leftRuns: () => (lastStarted ? [lastStarted] : []),
      afterSweep: async () => {
        if (!folder) return;
        const stored = await folder.storedExperiment().catch(() => undefined);
        const createdAt = typeof stored?.createdAt === 'string' ? stored.createdAt : new Date().toISOString();
        await writeOutputs(folder, plan, folder.recorded(), { source: prepared.loaded.file, createdAt }).catch(() => {});
        process.stderr.write(`results so far in ${folder.dir}\ncontinue with: ${resumeCommand}\n`);
      },
    });

    const notices = new Set<string>();
    let result: ExperimentResult;
    try {
      result = await interrupt.during(runExperiment({
        prepared,
        resultsRoot: flags.results,
        resume: flags.resume,
        into: flags.into,
        runner: runAlgorithm,
        base: { concurrency: flags.concurrency, etcdImage: flags['etcd-image'], baseImage: flags['base-image'], signal: interrupt.signal },
        hooks: {
          ...progress.hooks,
          onRunId: (_run, id) => {
            current = id;
            lastStarted = id;
          },
          // Each distinct notice once (runtime auto would otherwise say the same before every run).
          onNotice: (_run, line) => {
            if (!notices.has(line)) process.stderr.write(`${line}\n`);
            notices.add(line);
          },
          onRunEnd: (run, outcome) => {
            current = undefined;
            progress.hooks.onRunEnd?.(run, outcome);
          },
        },
        onFolder: (opened) => {
          folder = opened;
          this.note(`experiment ${plan.name}: ${plan.runs.length} runs (${plan.cells.length} cells × ${plan.seeds.length} repetitions) → ${opened.dir}`);
        },
        note: (line) => process.stderr.write(`${line}\n`),
        shouldStop: () => interrupt.signal.aborted,
      }));
    } finally {
      progress.stop();
    }
    // After Ctrl-C the handler owns the exit (130), once it has swept and written the report.
    if (interrupt.signal.aborted) await new Promise(() => {});

    const ok = result.failed + result.errors === 0 && result.notRun === 0;
    const mark = !ok ? OUTCOME_MARK.fail : result.unchecked > 0 ? OUTCOME_MARK.unchecked : result.reproduced > 0 ? OUTCOME_MARK.reproduced : OUTCOME_MARK.pass;
    this.log(`${mark}  ${result.experiment}: ${describeTally(result, result.runs, ', ')}${result.skipped > 0 ? ` (${result.skipped} already done)` : ''}`);
    this.log(`  report ${result.files.report}\n  summary ${result.files.summary}`);
    if (result.errors > 0) this.log(`  rerun the runs that did not finish with: ${resumeCommand}`);
    if (!ok) process.exitCode = 1;
    return result;
  }

  private dryRun(plan: DryRun): DryRun {
    const rows = plan.cells.map((cell) => [
      cell.cell,
      cell.label,
      cell.topology,
      cell.nodes,
      cell.edges,
      cell.runs,
      formatDuration(cell.estimate.seconds),
      formatMiB(cell.estimate.memoryMiB),
    ]);
    this.log(formatTable(['cell', 'inputs', 'topology', 'nodes', 'edges', 'runs', 'time/run', 'memory'], rows));
    const { estimate } = plan;
    this.log(
      `\n${plan.runs} run${plan.runs === 1 ? '' : 's'} on ${plan.runtime} · about ${formatDuration(estimate.seconds)} ${worstCase(estimate.worstSeconds)}` +
        ` · peak memory about ${formatMiB(estimate.peakMemoryMiB)} (this machine has ${formatMiB(os.freemem() / 2 ** 20)} free)`,
    );
    for (const note of plan.notes) this.log(`note: ${note}`);
    return plan;
  }
}

/** What the dry run can promise at worst: a bound where every run's timeout is one of real time. */
function worstCase(worstSeconds: number | undefined): string {
  return worstSeconds === undefined
    ? '(no upper bound: a simulated run\'s timeout is virtual time)'
    : `(at most ${formatDuration(worstSeconds)} if every run hits its timeout)`;
}
