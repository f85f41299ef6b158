import { createRequire } from 'node:module';
import path from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { PeerlabError } from '../errors.js';
import type { Algorithm, Check } from '../sdk/types.js';
import { packageRoot } from '../util/paths.js';
import { requireAlgorithm } from '../host/load.js';

export interface AlgorithmBundle {
  /** The bundled CommonJS file, self-contained, for the CLI and the simulator (containers get bundleForNodes'). */
  readonly file: string;
  readonly algorithm: Algorithm;
  /** The file's own oracle, its `check` export, if it has one (see Check in the SDK). */
  readonly check: Check | undefined;
}

/** Bundles an algorithm file (with `peerlab` resolved to the SDK) into `outDir/<fileName>` and loads it. */
export async function bundleAlgorithm(source: string, outDir: string, fileName = 'algorithm.cjs'): Promise<AlgorithmBundle> {
  const file = path.join(outDir, fileName);
  await compile(source, file, {}, { entryPoints: [source] });
  return { file, ...loadAlgorithmBundle(file, source) };
}

/**
 * Bundles an algorithm file for the node containers into `outDir/<fileName>`: the same code, but with `zod`
 * replaced by an inert stand-in. Parameter schemas run only in the CLI, which validates parameters and fills
 * in their defaults before any node starts, and the real zod would cost every node about 10 MiB.
 *
 * The bundle's entry re-exports only the default export, the algorithm: the file's `check` (and whatever only
 * it uses) is left out by tree shaking, because a check runs in the CLI and never in a node.
 */
export async function bundleForNodes(source: string, outDir: string, fileName = 'node.cjs'): Promise<string> {
  const file = path.join(outDir, fileName);
  const algorithmOnly = { contents: `export { default } from ${JSON.stringify(source)};`, resolveDir: path.dirname(source), sourcefile: `${source} (default export)` };
  await compile(source, file, { zod: path.join(packageRoot, 'src', 'node', 'zod-stand-in.ts') }, { stdin: algorithmOnly });
  return file;
}

async function compile(source: string, outfile: string, alias: Record<string, string>, entry: Pick<BuildOptions, 'entryPoints' | 'stdin'>): Promise<void> {
  try {
    await build({
      ...entry,
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      alias: { peerlab: path.join(packageRoot, 'src', 'sdk', 'index.ts'), ...alias },
      logLevel: 'silent',
    });
  } catch (error) {
    const first = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } }> }).errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}` : source;
    throw new PeerlabError(`cannot compile algorithm ${where}: ${first?.text ?? String(error)}`, {
      hint: 'fix the error in the algorithm file',
    });
  }
}

function loadAlgorithmBundle(file: string, source: string): { algorithm: Algorithm; check: Check | undefined } {
  let algorithm: Algorithm;
  try {
    algorithm = requireAlgorithm(file);
  } catch (error) {
    throw new PeerlabError(`${source} does not export an algorithm as its default export (${(error as Error).message})`, {
      hint: 'end the file with `export default defineAlgorithm({ ... })`',
    });
  }
  // The module requireAlgorithm has just loaded (and cached): its other exports.
  const { check } = createRequire(file)(file) as { check?: unknown };
  if (check !== undefined && typeof check !== 'function') {
    throw new PeerlabError(`${source} exports "check", but it is a ${check === null ? 'null' : typeof check}, not a function`, {
      hint: 'export the check as `export const check: Check<Params> = ({ graph, params, results }) => ({ passed, summary })`, or rename the export',
    });
  }
  return { algorithm, check: check as Check | undefined };
}
