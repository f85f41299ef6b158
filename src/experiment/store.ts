import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { PeerlabError } from '../errors.js';
import { writeFileAtomic } from '../util/files.js';
import { parseRunId, type ExperimentName, type RunId } from '../util/names.js';
import type { NodeMetricAggregates } from '../run/node-metrics.js';
import type { Outcome } from '../verify/index.js';

/** The outcome of one run of an experiment: one line of runs.ndjson and one row of summary.csv. */
export interface RunOutcome {
  readonly key: string;
  readonly cell: string;
  readonly repetition: number;
  readonly seed: number;
  /**
   * passed / failed: the run finished and its check judged it; unchecked: it finished and nothing checked it;
   * reproduced: it reproduced an inexact method, as checked; error: it did not finish (a resume runs it again).
   */
  readonly status: 'passed' | 'failed' | 'unchecked' | 'reproduced' | 'error';
  readonly verdict: string;
  readonly runId?: string;
  readonly resultsDir?: string;
  /** The runtime the run actually used (docker or sim), else the one asked for. */
  readonly runtime?: string;
  /** The `peerlab run` command that repeats this run on its own. */
  readonly replay?: string;
  readonly nodes?: number;
  readonly edges?: number;
  readonly metrics: Record<string, number>;
  /** The algorithm's per-node metrics aggregated over the nodes (absent in runs recorded before they were kept). */
  readonly nodeMetrics?: NodeMetricAggregates;
  readonly timings: Record<string, number>;
  readonly startedAt: string;
  readonly durationMs: number;
}

export const EXPERIMENT_FILE = 'experiment.yaml';
export const PROGRESS_LOG = 'runs.ndjson';
export const SUMMARY_FILE = 'summary.csv';
export const REPORT_FILE = 'report.html';
export const PLOTS_DIR = 'plots';
export const IN_FLIGHT_FILE = 'in-flight.json';

/** The run in progress: after a crash, a resume removes what it left standing. */
export interface InFlightRun {
  readonly key: string;
  readonly runId: RunId;
}

export const isFinished = (outcome: RunOutcome): boolean => outcome.status !== 'error';

/** The verdict behind each status of a finished run. */
export const STATUS_OUTCOME: Readonly<Record<Exclude<RunOutcome['status'], 'error'>, Outcome>> = {
  passed: 'pass',
  failed: 'fail',
  unchecked: 'unchecked',
  reproduced: 'reproduced',
};

/** `<yyyymmdd-hhmmss>` in UTC, like run ids: sortable. */
export function folderStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/**
 * One experiment's folder, results/<name>/<timestamp>/. Every file in it is written atomically; the progress
 * log is rewritten whole (through a rename) after each run, so a crash loses at most the run in progress.
 */
export class ExperimentFolder {
  private outcomes: RunOutcome[] = [];

  private constructor(readonly dir: string) {}

  /** A new folder under <root>/<name>/ named by the time (with -2, -3, … if that second is taken). */
  static async create(root: string, name: ExperimentName, now = new Date()): Promise<ExperimentFolder> {
    const base = path.resolve(root, name, folderStamp(now));
    let dir = base;
    for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
    await mkdir(dir, { recursive: true });
    return new ExperimentFolder(dir);
  }

  /** A folder given with --into: new or empty (to start), or an experiment folder (to resume). */
  static async at(dir: string): Promise<ExperimentFolder> {
    const folder = new ExperimentFolder(path.resolve(dir));
    await mkdir(folder.dir, { recursive: true });
    folder.outcomes = await readOutcomes(folder.dir);
    return folder;
  }

  /** The newest folder of an experiment, to resume it. */
  static async newest(root: string, name: ExperimentName): Promise<ExperimentFolder | undefined> {
    const parent = path.resolve(root, name);
    const entries = await readdir(parent, { withFileTypes: true }).catch(() => []);
    const stamps = entries
      .filter((entry) => entry.isDirectory() && existsSync(path.join(parent, entry.name, EXPERIMENT_FILE)))
      .map((entry) => entry.name)
      .sort(compareStamps);
    const last = stamps.at(-1);
    return last === undefined ? undefined : ExperimentFolder.at(path.join(parent, last));
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  hasExperiment(): boolean {
    return existsSync(this.file(EXPERIMENT_FILE));
  }

  /** The fingerprint stored in experiment.yaml (undefined for a new folder). */
  async storedExperiment(): Promise<Record<string, unknown> | undefined> {
    if (!this.hasExperiment()) return undefined;
    try {
      return parseYaml(await readFile(this.file(EXPERIMENT_FILE), 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new PeerlabError(`cannot read ${this.file(EXPERIMENT_FILE)}: ${(error as Error).message}`, {
        hint: 'resume into another folder with --into, or start afresh without --resume',
      });
    }
  }

  async writeExperiment(resolved: Record<string, unknown>, header: string): Promise<void> {
    await writeFileAtomic(this.file(EXPERIMENT_FILE), `${header}${stringifyYaml(resolved, { lineWidth: 0 })}`);
  }

  /** The latest outcome of every run recorded so far. */
  recorded(): Map<string, RunOutcome> {
    return new Map(this.outcomes.map((outcome) => [outcome.key, outcome]));
  }

  async markInFlight(run: InFlightRun): Promise<void> {
    await writeFileAtomic(this.file(IN_FLIGHT_FILE), JSON.stringify(run));
  }

  async clearInFlight(): Promise<void> {
    await rm(this.file(IN_FLIGHT_FILE), { force: true });
  }

  /**
   * The run that was in progress when the experiment stopped without finishing it, if any. A resume removes
   * what that run left, so a file that does not hold `{ key, runId }` with a real run id is refused: the id
   * names the folder and the Docker objects to remove, and nothing else may be.
   */
  async inFlight(): Promise<InFlightRun | undefined> {
    const file = this.file(IN_FLIGHT_FILE);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const hint = `remove that run yourself if it is still up (\`peerlab status\`), then delete ${file} and resume`;
    let stored: Partial<Record<keyof InFlightRun, unknown>>;
    try {
      stored = JSON.parse(text) as Partial<Record<keyof InFlightRun, unknown>>;
    } catch {
      throw new PeerlabError(`${file} is not JSON: it should hold { key, runId } of the run cut short`, { hint });
    }
    if (typeof stored?.key !== 'string') throw new PeerlabError(`${file}: key is missing: it should hold { key, runId } of the run cut short`, { hint });
    return { key: stored.key, runId: parseRunId(stored.runId, `${file}: runId`, hint) };
  }

  async record(outcome: RunOutcome): Promise<void> {
    this.outcomes.push(outcome);
    await writeFileAtomic(this.file(PROGRESS_LOG), this.outcomes.map((line) => `${JSON.stringify(line)}\n`).join(''));
  }
}

/** Reads runs.ndjson; a line that does not parse (a file cut short by hand or by a full disk) is skipped. */
export async function readOutcomes(dir: string): Promise<RunOutcome[]> {
  const text = await readFile(path.join(dir, PROGRESS_LOG), 'utf8').catch(() => '');
  const outcomes: RunOutcome[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const outcome = JSON.parse(line) as RunOutcome;
      if (typeof outcome.key === 'string' && typeof outcome.status === 'string') outcomes.push(outcome);
    } catch {
      // skipped
    }
  }
  return outcomes;
}

/** The latest outcome per run key. */
export function latestOutcomes(outcomes: readonly RunOutcome[]): Map<string, RunOutcome> {
  return new Map(outcomes.map((outcome) => [outcome.key, outcome]));
}

function compareStamps(a: string, b: string): number {
  const split = (stamp: string): [string, number] => {
    const match = /^(\d{8}-\d{6})(?:-(\d+))?$/.exec(stamp);
    return match ? [match[1]!, Number(match[2] ?? 1)] : [stamp, 1];
  };
  const [sa, na] = split(a);
  const [sb, nb] = split(b);
  return sa < sb ? -1 : sa > sb ? 1 : na - nb;
}
