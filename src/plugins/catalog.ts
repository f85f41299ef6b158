import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { z } from 'zod';
import { bundleAlgorithm } from './bundle.js';
import { listAlgorithmNames, resolveAlgorithm } from './resolve.js';
import { oracleFor } from '../verify/index.js';

export interface AlgorithmEntry {
  readonly name: string;
  readonly file: string;
  readonly description: string;
  /** Parameter name → { type, default, description }, from the algorithm's zod schema. */
  readonly params: Record<string, { type: string; default?: unknown; description?: string }>;
  readonly oracle: boolean;
}

/** Every algorithm a run can name, compiled to read its description and parameters. */
export async function listAlgorithms(cwd = process.cwd()): Promise<AlgorithmEntry[]> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'peerlab-catalog-'));
  try {
    const entries: AlgorithmEntry[] = [];
    for (const name of listAlgorithmNames(cwd)) {
      const file = resolveAlgorithm(name, cwd);
      const { algorithm, check } = await bundleAlgorithm(file, path.join(scratch, name));
      entries.push({
        name: algorithm.name,
        file: path.relative(cwd, file) || file,
        description: algorithm.description ?? '',
        params: describeParams(algorithm.params),
        oracle: check !== undefined || oracleFor(algorithm.name) !== undefined,
      });
    }
    return entries;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function describeParams(schema: z.ZodType | undefined): AlgorithmEntry['params'] {
  if (!schema) return {};
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string; enum?: unknown[]; default?: unknown; description?: string }>;
  };
  return Object.fromEntries(
    Object.entries(json.properties ?? {}).map(([key, property]) => [
      key,
      {
        type: property.enum ? property.enum.map(String).join('|') : (property.type ?? 'any'),
        ...(property.default === undefined ? {} : { default: property.default }),
        ...(property.description ? { description: property.description } : {}),
      },
    ]),
  );
}
