import { rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../util/paths.js';

/**
 * Bundles the node agent into one CommonJS file for the node image: `bin/agent.cjs`.
 * The output is deterministic, so an unchanged agent hashes to the same image tag and is not rebuilt.
 */
export async function buildAgentBundle(outDir = path.join(packageRoot, 'dist', 'agent')): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(packageRoot, 'src', 'node', 'agent.ts')],
    outfile: path.join(outDir, 'bin', 'agent.cjs'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
  });
  return outDir;
}
