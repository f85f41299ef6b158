import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { PeerlabError } from '../errors.js';
import { bundleAlgorithm } from './bundle.js';
import { listAlgorithmNames, resolveAlgorithm } from './resolve.js';
import { paramInfo, type ParamInfo } from './params.js';
import { oracleFor } from '../verify/index.js';

export interface AlgorithmEntry {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  /** Parameter name → { type, default, description }, from the algorithm's zod schema. */
  readonly params: Record<string, ParamInfo>;
  readonly oracle: boolean;
  /** Set when the file does not compile or load: the one line a run of it would fail with; the rest is empty. */
  readonly error?: string;
}

/**
 * Every algorithm a run can name, compiled to read its description and parameters. A file that does not compile
 * or load is listed with its error rather than hiding the others (one student's broken draft in algorithms/
 * must not take the whole list down).
 */
export async function listAlgorithms(cwd = process.cwd()): Promise<AlgorithmEntry[]> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'peerlab-catalog-'));
  try {
    const entries: AlgorithmEntry[] = [];
    for (const name of listAlgorithmNames(cwd)) {
      const file = resolveAlgorithm(name, cwd);
      let algorithm;
      let check;
      try {
        ({ algorithm, check } = await bundleAlgorithm(file, path.join(scratch, name)));
      } catch (error) {
        if (!(error instanceof PeerlabError)) throw error;
        entries.push({ name, file: path.relative(cwd, file) || file, description: '', params: {}, oracle: false, error: error.message });
        continue;
      }
      entries.push({
        name: algorithm.name,
        file: path.relative(cwd, file) || file,
        description: algorithm.description ?? '',
        params: paramInfo(algorithm.params),
        oracle: check !== undefined || oracleFor(algorithm.name) !== undefined,
      });
    }
    return entries;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
