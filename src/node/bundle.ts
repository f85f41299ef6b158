import { rm } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../util/paths.js';
import { rareSubchannelCheck } from './bundle-patches.js';

/**
 * Bundles the node agent into one CommonJS file for the node image, `bin/agent.cjs`, and its entry point,
 * `bin/start.cjs`, which runs it from a V8 code cache (see start.ts).
 * The output is deterministic, so an unchanged agent hashes to the same image tag and is not rebuilt. One line of
 * grpc-js is changed on the way (bundle-patches.ts).
 */
export async function buildAgentBundle(outDir = path.join(packageRoot, 'dist', 'agent')): Promise<string> {
  await rm(outDir, { recursive: true, force: true });
  await build({
    entryPoints: { agent: path.join(packageRoot, 'src', 'node', 'agent.ts'), start: path.join(packageRoot, 'src', 'node', 'start.ts') },
    outdir: path.join(outDir, 'bin'),
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    plugins: [rareSubchannelCheck()],
  });
  return outDir;
}
