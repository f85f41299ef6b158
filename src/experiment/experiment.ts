import { readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { removeInterruptedRun } from '../run/down.js';
import { resultsRoot, writeCsvRows, writeFileAtomic } from '../util/files.js';
import { hostFacts } from '../util/host.js';
import { peerlabVersion } from '../util/version.js';
import { estimatePlan, estimateRun, type PlanEstimate, type RunEstimate } from './estimate.js';
import { executePlan, type BaseRequest, type ExecuteHooks, type Runner } from './execute.js';
import { expandExperiment, resolvedExperiment, type Plan } from './expand.js';
import { experimentFileResolver, loadExperiment, type LoadedExperiment } from './load.js';
import type { RuntimeChoice } from './schema.js';
import { experimentPlots, renderPlots } from './plots.js';
import { preflight, type CellFacts } from './preflight.js';
import { renderReport } from './report.js';
import {
  EXPERIMENT_FILE,
  ExperimentFolder,
  PLOTS_DIR,
  REPORT_FILE,
  SUMMARY_FILE,
  type RunOutcome,
} from './store.js';
import { counts, summaryTable } from './summary.js';

/** Loads, expands and checks an experiment file: everything short of starting a run. */
export async function prepareExperiment(
  file: string,
  overrides: { runtime?: RuntimeChoice } = {},
): Promise<{ loaded: LoadedExperiment; plan: Plan; facts: Map<string, CellFacts> }> {
  const loaded = await loadExperiment(file);
  const experiment = { ...loaded.experiment, ...(overrides.runtime ? { runtime: overrides.runtime } : {}) };
  const plan = expandExperiment({ ...loaded, experiment }, { resolveFile: experimentFileResolver(loaded.path), source: loaded.file });
  const facts = await preflight(loaded, plan);
  return { loaded, plan, facts };
}

export interface DryRunCell {
  readonly cell: string;
  readonly label: string;
  readonly topology: string;
  readonly nodes: number;
  readonly edges: number;
  readonly runs: number;
  readonly estimate: RunEstimate;
}

export interface DryRun {
  readonly experiment: string;
  readonly runtime: string;
  readonly cells: DryRunCell[];
  readonly runs: number;
  readonly estimate: PlanEstimate;
  readonly notes: string[];
}

export function estimateFor(plan: Plan, facts: ReadonlyMap<string, CellFacts>): Map<string, RunEstimate> {
  return new Map(plan.runs.map((run) => [run.key, estimateRun(plan.runtime, facts.get(run.cell.id)?.nodes ?? 0, plan.timeoutS)]));
}

/** `--dry-run`: the cells, and the time and memory they would take. */
export function dryRun(plan: Plan, facts: ReadonlyMap<string, CellFacts>): DryRun {
  const estimates = estimateFor(plan, facts);
  const cells = plan.cells.map((cell): DryRunCell => {
    const nodes = facts.get(cell.id)?.nodes ?? 0;
    return {
      cell: cell.id,
      label: cell.label,
      topology: cell.topology,
      nodes,
      edges: facts.get(cell.id)?.edges ?? 0,
      runs: plan.seeds.length,
      estimate: estimateRun(plan.runtime, nodes, plan.timeoutS),
    };
  });
  return {
    experiment: plan.name,
    runtime: plan.runtime,
    cells,
    runs: plan.runs.length,
    estimate: estimatePlan([...estimates.values()]),
    notes: planNotes(plan),
  };
}

/** What the experiment file asks for that the runs will not do (yet). */
export function planNotes(plan: Plan): string[] {
  const notes: string[] = [];
  if (plan.runtime === 'auto') notes.push('runtime auto: estimated as Docker (each run takes Docker when its engine answers, else the simulator)');
  return notes;
}

export interface ExperimentRunOptions {
  readonly prepared: { loaded: LoadedExperiment; plan: Plan; facts: Map<string, CellFacts> };
  readonly resultsRoot: string;
  readonly resume: boolean;
  readonly into?: string;
  readonly runner: Runner;
  readonly base?: Omit<BaseRequest, 'resultsRoot'>;
  readonly hooks?: ExecuteHooks;
  readonly shouldStop?: () => boolean;
  /** Called with the folder as soon as it exists (so an interrupt can still write the report). */
  readonly onFolder?: (folder: ExperimentFolder) => void;
  readonly note?: (line: string) => void;
  /** Removes what a run cut short left standing (default: its Docker objects); returns the containers removed. */
  readonly removeRun?: (runId: string) => Promise<number>;
  /** Draws the plots (tests that do not look at them pass a stub: rendering is the slow part). */
  readonly render?: typeof renderPlots;
}

export interface ExperimentResult {
  readonly experiment: string;
  readonly folder: string;
  readonly runtime: string;
  readonly cells: number;
  readonly runs: number;
  readonly executed: number;
  readonly skipped: number;
  readonly passed: number;
  readonly failed: number;
  /** Runs nothing checked (they fail, and count as failed, when the experiment has requireCheck). */
  readonly unchecked: number;
  readonly reproduced: number;
  readonly errors: number;
  readonly notRun: number;
  readonly stopped: boolean;
  readonly files: { experiment: string; summary: string; report: string; plots: string[] };
}

/** `peerlab experiment run`: the folder, the runs not yet finished, and summary.csv, the plots and report.html. */
export async function runExperiment(options: ExperimentRunOptions): Promise<ExperimentResult> {
  const { loaded, plan, facts } = options.prepared;
  for (const note of planNotes(plan)) options.note?.(`note: ${note}`);

  const folder = await openFolder(plan, options);
  options.onFolder?.(folder);
  const interrupted = await folder.inFlight();
  if (interrupted) {
    // A killed experiment could not tear its last run down; a resume does, before it starts anything.
    const removed = await (options.removeRun ?? removeInterruptedRun)(interrupted.runId);
    options.note?.(`note: run ${interrupted.key} (${interrupted.runId}) was cut short; removed the ${removed} container(s) it left`);
    await folder.clearInFlight();
  }
  const stored = await folder.storedExperiment();
  const createdAt = typeof stored?.createdAt === 'string' ? stored.createdAt : new Date().toISOString();
  const resumedAt = [...(Array.isArray(stored?.resumedAt) ? (stored.resumedAt as string[]) : []), ...(stored ? [new Date().toISOString()] : [])];
  await folder.writeExperiment(
    resolvedExperiment(plan, {
      source: loaded.path,
      createdAt,
      ...(resumedAt.length > 0 ? { resumedAt } : {}),
      peerlab: peerlabVersion,
      host: hostFacts(),
    }, facts),
    `# peerlab experiment ${plan.name}, resolved from ${loaded.file}: every list expanded into cells, every seed listed.\n`,
  );

  const result = await executePlan({
    plan,
    folder,
    runner: options.runner,
    base: { ...options.base, resultsRoot: resultsRoot(options.resultsRoot) },
    hooks: options.hooks,
    shouldStop: options.shouldStop,
    afterEach: (outcomes) => writeSummary(folder, plan, outcomes),
  });
  if (plan.runtime !== 'auto') {
    const other = [...result.outcomes.values()].find((outcome) => outcome.runtime !== undefined && outcome.runtime !== plan.runtime);
    if (other) options.note?.(`note: the experiment asks for runtime ${plan.runtime}, but run ${other.key} ran on ${other.runtime ?? '?'}`);
  }
  const files = await writeOutputs(folder, plan, result.outcomes, { source: loaded.file, createdAt }, options.render);
  const tally = counts(result.outcomes.values());
  return {
    experiment: plan.name,
    folder: folder.dir,
    runtime: plan.runtime,
    cells: plan.cells.length,
    runs: plan.runs.length,
    executed: result.executed,
    skipped: result.skipped,
    ...tally,
    notRun: plan.runs.length - result.outcomes.size,
    stopped: result.stopped,
    files,
  };
}

async function openFolder(plan: Plan, options: ExperimentRunOptions): Promise<ExperimentFolder> {
  const root = resultsRoot(options.resultsRoot);
  if (!options.resume) {
    if (!options.into) return ExperimentFolder.create(root, plan.name);
    const folder = await ExperimentFolder.at(options.into);
    const entries = await readdir(folder.dir);
    if (entries.length > 0) {
      throw new PeerlabError(`--into ${options.into} is not empty`, {
        hint: folder.hasExperiment() ? 'add --resume to continue that experiment' : 'give a new or empty folder',
      });
    }
    return folder;
  }
  const folder = options.into ? await ExperimentFolder.at(options.into) : await ExperimentFolder.newest(root, plan.name);
  if (!folder || !folder.hasExperiment()) {
    throw new PeerlabError(
      options.into ? `--into ${options.into} holds no ${EXPERIMENT_FILE} to resume` : `no earlier run of experiment ${plan.name} under ${path.join(root, plan.name)} to resume`,
      { hint: 'drop --resume to start the experiment afresh' },
    );
  }
  const stored = await folder.storedExperiment();
  if (stored?.name !== plan.name || stored?.fingerprint !== plan.fingerprint) {
    throw new PeerlabError(`${folder.dir} was started from a different experiment file (its runs, seeds or settings changed)`, {
      hint: 'resume with the file as it was, or drop --resume to start a new folder',
    });
  }
  return folder;
}

async function writeSummary(folder: ExperimentFolder, plan: Plan, outcomes: ReadonlyMap<string, RunOutcome>): Promise<void> {
  const table = summaryTable(plan.cells, outcomes);
  await writeCsvRows(folder.file(SUMMARY_FILE), table.rows, table.columns);
}

/** summary.csv, plots/*.svg and report.html from the outcomes so far (also after an interrupt). */
export async function writeOutputs(
  folder: ExperimentFolder,
  plan: Plan,
  outcomes: ReadonlyMap<string, RunOutcome>,
  meta: { source?: string; createdAt: string },
  render = renderPlots,
): Promise<ExperimentResult['files']> {
  const table = summaryTable(plan.cells, outcomes);
  await writeCsvRows(folder.file(SUMMARY_FILE), table.rows, table.columns);
  const swept = plan.axes.filter((axis) => axis.swept).map((axis) => axis.column);
  const plots = await render(experimentPlots(table, swept, plan.plots));
  await rm(folder.file(PLOTS_DIR), { recursive: true, force: true });
  const plotFiles: string[] = [];
  for (const plot of plots) {
    if (!plot.svg) continue;
    const file = path.join(folder.file(PLOTS_DIR), `${plot.id}.svg`);
    await writeFileAtomic(file, plot.svg);
    plotFiles.push(file);
  }
  const html = renderReport({
    name: plan.name,
    description: plan.description,
    folder: folder.dir,
    source: meta.source,
    createdAt: meta.createdAt,
    generatedAt: new Date().toISOString(),
    runtime: plan.runtime,
    plannedRuns: plan.runs.length,
    repetitions: plan.seeds.length,
    cells: plan.cells,
    table,
    plots,
    host: { ...hostFacts(), docker: await dockerVersionOf(outcomes) },
    peerlab: peerlabVersion,
    notes: planNotes(plan),
    resolvedYaml: await readFile(folder.file(EXPERIMENT_FILE), 'utf8').catch(() => undefined),
  });
  await writeFileAtomic(folder.file(REPORT_FILE), html);
  return { experiment: folder.file(EXPERIMENT_FILE), summary: folder.file(SUMMARY_FILE), report: folder.file(REPORT_FILE), plots: plotFiles };
}

/** The Docker version a run recorded in its run.json, if any. */
async function dockerVersionOf(outcomes: ReadonlyMap<string, RunOutcome>): Promise<string | undefined> {
  for (const outcome of outcomes.values()) {
    if (!outcome.resultsDir) continue;
    try {
      const record = JSON.parse(await readFile(path.join(outcome.resultsDir, 'run.json'), 'utf8')) as { host?: { docker?: string } };
      if (record.host?.docker) return record.host.docker;
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}
