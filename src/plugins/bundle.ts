import path from 'node:path';
import { build } from 'esbuild';
import { PeerlabError } from '../errors.js';
import type { Algorithm } from '../sdk/types.js';
import { packageRoot } from '../util/paths.js';
import { requireAlgorithm } from '../host/load.js';

export interface AlgorithmBundle {
  /** The bundled CommonJS file, self-contained, for the CLI and the simulator (containers get bundleForNodes'). */
  readonly file: string;
  readonly algorithm: Algorithm;
}

/** Bundles an algorithm file (with `peerlab` resolved to the SDK) into `outDir/<fileName>` and loads it. */
export async function bundleAlgorithm(source: string, outDir: string, fileName = 'algorithm.cjs'): Promise<AlgorithmBundle> {
  const file = path.join(outDir, fileName);
  await compile(source, file, {});
  return { file, algorithm: loadAlgorithmBundle(file, source) };
}

/**
 * Bundles an algorithm file for the node containers into `outDir/<fileName>`: the same code, but with `zod`
 * replaced by an inert stand-in. Parameter schemas run only in the CLI, which validates parameters and fills
 * in their defaults before any node starts, and the real zod would cost every node about 10 MiB.
 */
export async function bundleForNodes(source: string, outDir: string, fileName = 'node.cjs'): Promise<string> {
  const file = path.join(outDir, fileName);
  await compile(source, file, { zod: path.join(packageRoot, 'src', 'node', 'zod-stand-in.ts') });
  return file;
}

async function compile(source: string, outfile: string, alias: Record<string, string>): Promise<void> {
  try {
    await build({
      entryPoints: [source],
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

function loadAlgorithmBundle(file: string, source: string): Algorithm {
  try {
    return requireAlgorithm(file);
  } catch (error) {
    throw new PeerlabError(`${source} does not export an algorithm as its default export (${(error as Error).message})`, {
      hint: 'end the file with `export default defineAlgorithm({ ... })`',
    });
  }
}
