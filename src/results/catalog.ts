import { existsSync, realpathSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PeerlabError } from '../errors.js';
import type { Scalar } from '../experiment/expand.js';
import { EXPERIMENT_FILE, latestOutcomes, readOutcomes, REPORT_FILE, type RunOutcome } from '../experiment/store.js';
import { counts, describeTally, summaryTable, type SummaryCell, type SummaryTable } from '../experiment/summary.js';
import { hasShape, RESULT_ID } from '../util/names.js';
import { readJsonFile, resultsRoot } from '../util/files.js';
import type { RunRecord } from '../run/results-folder.js';
import { outcomeOfFile, type Outcome } from '../verify/index.js';

/** One run folder, results/<run-id>/. */
export interface RunEntry {
  readonly kind: 'run';
  readonly id: string;
  readonly dir: string;
  readonly algorithm: string;
  readonly topology: string;
  readonly seed: number | undefined;
  readonly nodes: number | undefined;
  readonly edges: number | undefined;
  readonly runtime: string | undefined;
  /** undefined when verify.json is missing (a run cut short). */
  readonly outcome: Outcome | undefined;
  readonly verdict: string;
  readonly startedAt: string | undefined;
  readonly totalMs: number | undefined;
}

/** One experiment folder, results/<name>/<timestamp>/. */
export interface ExperimentEntry {
  readonly kind: 'experiment';
  /** `<name>/<timestamp>` */
  readonly id: string;
  readonly name: string;
  readonly dir: string;
  readonly algorithm: string;
  /** The node counts of its cells: `20`, or `20–120`. */
  readonly nodes: string;
  readonly runtime: string | undefined;
  readonly cells: number;
  readonly planned: number;
  readonly recorded: number;
  readonly passed: number;
  readonly failed: number;
  readonly unchecked: number;
  readonly reproduced: number;
  readonly errors: number;
  readonly verdict: string;
  readonly startedAt: string | undefined;
  /** Sum of the recorded runs' durations. */
  readonly totalMs: number;
}

export type ResultEntry = RunEntry | ExperimentEntry;

interface VerifyFile {
  outcome?: Outcome;
  passed?: boolean;
  summary?: string;
  metrics?: Record<string, number>;
  failures?: string[];
}

/** Every run and experiment under the results folder, newest first. */
export async function listResults(root: string): Promise<ResultEntry[]> {
  const base = resultsRoot(root);
  const entries = await readdir(base, { withFileTypes: true }).catch(() => []);
  const found: ResultEntry[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(base, entry.name);
    if (existsSync(path.join(dir, 'run.json'))) {
      const run = await readRunEntry(dir).catch(() => undefined);
      if (run) found.push(run);
      continue;
    }
    for (const inner of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const folder = path.join(dir, inner.name);
      if (inner.isDirectory() && existsSync(path.join(folder, EXPERIMENT_FILE))) {
        const experiment = await readExperimentEntry(folder).catch(() => undefined);
        if (experiment) found.push(experiment);
      }
    }
  }
  return found.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? '') || a.id.localeCompare(b.id));
}

/**
 * A run or experiment by id: a run id, `<experiment>/<timestamp>`, an experiment name (its newest folder),
 * a unique prefix of any of those, or the path of its folder inside the results folder. Anything else (a path
 * out of the results folder, "..") is refused: an id never reaches outside it.
 */
export async function findResult(root: string, id: string): Promise<ResultEntry> {
  const base = resultsRoot(root);
  const folder = folderInside(base, id);
  if (folder && existsSync(path.join(folder, 'run.json'))) return readRunEntry(folder);
  if (folder && existsSync(path.join(folder, EXPERIMENT_FILE))) return readExperimentEntry(folder);
  if (!hasShape(RESULT_ID, id)) {
    throw new PeerlabError(`${JSON.stringify(id)} is neither a ${RESULT_ID.what} (${RESULT_ID.rule}) nor a run or experiment folder inside ${base}`, {
      hint: 'see `peerlab results list` for the ids, or point --results at the folder that holds it',
    });
  }

  const all = await listResults(base);
  const wanted = id.replace(/\/+$/, '');
  const exact = all.find((entry) => entry.id === wanted);
  if (exact) return exact;
  const byName = all.filter((entry): entry is ExperimentEntry => entry.kind === 'experiment' && entry.name === wanted);
  if (byName.length > 0) return byName[0]!; // newest first
  const prefixed = all.filter((entry) => entry.id.startsWith(wanted));
  if (prefixed.length === 1) return prefixed[0]!;
  if (prefixed.length > 1) {
    throw new PeerlabError(`"${id}" matches ${prefixed.length} results: ${prefixed.slice(0, 5).map((entry) => entry.id).join(', ')}${prefixed.length > 5 ? ', …' : ''}`, {
      hint: 'give more of the id',
    });
  }
  throw new PeerlabError(`no run or experiment "${id}" under ${base}`, {
    hint: all.length > 0 ? 'see `peerlab results list` for the ids' : 'run something first, or point --results at the folder',
  });
}

/** `candidate` as a path, when it leads to an existing folder strictly inside `base` (symbolic links followed). */
function folderInside(base: string, candidate: string): string | undefined {
  try {
    const folder = realpathSync(path.resolve(candidate));
    const relative = path.relative(realpathSync(base), folder);
    return relative !== '' && relative.split(path.sep)[0] !== '..' && !path.isAbsolute(relative) ? folder : undefined;
  } catch {
    return undefined; // does not exist
  }
}

export async function readRunEntry(dir: string): Promise<RunEntry> {
  const record = readJson<Partial<RunRecord>>(path.join(dir, 'run.json'));
  if (!record) throw new PeerlabError(`${dir} has no readable run.json`, { hint: 'is it a run folder?' });
  // Folders written before run.json had the verdict in brief have it in verify.json only.
  const verify = record.verdict ?? readJson<VerifyFile>(path.join(dir, 'verify.json'));
  return {
    kind: 'run',
    id: record.runId ?? path.basename(dir),
    dir,
    algorithm: record.algorithm?.name ?? record.groups?.map((group) => group.role).join('+') ?? '?',
    topology: record.topology?.spec ?? '?',
    seed: record.topology?.seed,
    nodes: record.topology?.nodes,
    edges: record.topology?.edges,
    runtime: record.runtime,
    outcome: outcomeOfFile(verify),
    verdict: verify?.summary ?? 'no verify.json',
    startedAt: record.startedAt,
    totalMs: record.timings?.totalMs,
  };
}

/** What a run folder holds, for `results show` and `compare`. */
export async function readRunDetails(entry: RunEntry): Promise<{ record: Partial<RunRecord>; verify: VerifyFile | undefined }> {
  const record = readJson<Partial<RunRecord>>(path.join(entry.dir, 'run.json')) ?? {};
  return { record, verify: readJson<VerifyFile>(path.join(entry.dir, 'verify.json')) };
}

export interface ExperimentDetails {
  readonly resolved: Record<string, unknown>;
  readonly cells: SummaryCell[];
  readonly outcomes: Map<string, RunOutcome>;
  readonly table: SummaryTable;
  readonly report: string | undefined;
}

export async function readExperimentDetails(dir: string): Promise<ExperimentDetails> {
  let resolved: Record<string, unknown>;
  try {
    resolved = (parseYaml(await readFile(path.join(dir, EXPERIMENT_FILE), 'utf8')) as Record<string, unknown>) ?? {};
  } catch (error) {
    throw new PeerlabError(`cannot read ${path.join(dir, EXPERIMENT_FILE)}: ${(error as Error).message}`, { hint: 'is it an experiment folder?' });
  }
  const cells = (Array.isArray(resolved.cells) ? (resolved.cells as Array<Record<string, unknown>>) : []).map(
    (cell): SummaryCell => ({
      id: String(cell.id),
      label: String(cell.label ?? cell.id),
      inputs: (cell.inputs as Record<string, Scalar> | undefined) ?? {},
    }),
  );
  const outcomes = latestOutcomes(await readOutcomes(dir));
  const report = existsSync(path.join(dir, REPORT_FILE)) ? path.join(dir, REPORT_FILE) : undefined;
  return { resolved, cells, outcomes, table: summaryTable(cells, outcomes), report };
}

export async function readExperimentEntry(dir: string): Promise<ExperimentEntry> {
  const { resolved, cells, outcomes } = await readExperimentDetails(dir);
  const name = typeof resolved.name === 'string' ? resolved.name : path.basename(path.dirname(dir));
  const planned = typeof resolved.runs === 'number' ? resolved.runs : cells.length * (Array.isArray(resolved.seeds) ? resolved.seeds.length : 1);
  const tally = counts(outcomes.values());
  const nodeCounts = (Array.isArray(resolved.cells) ? (resolved.cells as Array<{ nodes?: unknown }>) : [])
    .map((cell) => cell.nodes)
    .filter((n): n is number => typeof n === 'number');
  const low = Math.min(...nodeCounts);
  const high = Math.max(...nodeCounts);
  const algorithms = [...new Set(cells.map((cell) => String(cell.inputs.algorithm ?? '?')))];
  return {
    kind: 'experiment',
    id: `${name}/${path.basename(dir)}`,
    name,
    dir,
    algorithm: algorithms.join(', '),
    nodes: nodeCounts.length === 0 ? '?' : low === high ? String(low) : `${low}–${high}`,
    runtime: typeof resolved.runtime === 'string' ? resolved.runtime : undefined,
    cells: cells.length,
    planned,
    recorded: outcomes.size,
    ...tally,
    verdict: describeTally(tally, planned, ', '),
    startedAt: typeof resolved.createdAt === 'string' ? resolved.createdAt : undefined,
    totalMs: [...outcomes.values()].reduce((total, outcome) => total + outcome.durationMs, 0),
  };
}

/** `<file>` or, written compressed, `<file>.gz` (see writeJsonFile); undefined when neither is there or readable. */
function readJson<T>(file: string): T | undefined {
  try {
    return readJsonFile(file) as T | undefined;
  } catch {
    return undefined;
  }
}
