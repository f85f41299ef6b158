import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { build, type BuildOptions } from 'esbuild';
import { PeerlabError } from '../errors.js';
import type { Algorithm, Check, GraphDefaults } from '../sdk/types.js';
import type { PlacementPolicy } from '../sdk/placement.js';
import { packageRoot } from '../util/paths.js';
import { NotAnAlgorithm, requireAlgorithm, requirePolicy } from '../host/load.js';
import { userFrame } from './stack.js';

export interface AlgorithmBundle {
  /** The bundled CommonJS file, self-contained, for the CLI and the simulator (containers get bundleForNodes'). */
  readonly file: string;
  readonly algorithm: Algorithm;
  /** The file's own oracle, its `check` export, if it has one (see Check in the SDK). */
  readonly check: Check | undefined;
  /** The file's parameter defaults drawn from the graph, its `graphDefaults` export, if it has one (see GraphDefaults in the SDK). */
  readonly graphDefaults: GraphDefaults | undefined;
}

/**
 * Bundles an algorithm file (with `peerlab` resolved to the SDK) into `outDir/<fileName>` and loads it. In this
 * bundle `console` is peerlab's (see console-shim.ts): in the simulator, what an algorithm prints goes to its
 * node's log, never to the CLI's stdout.
 */
export async function bundleAlgorithm(source: string, outDir: string, fileName = 'algorithm.cjs'): Promise<AlgorithmBundle> {
  const file = path.join(outDir, fileName);
  await compile(source, file, {}, { entryPoints: [source], inject: [path.join(packageRoot, 'src', 'host', 'console-shim.ts')] });
  return { file, ...loadAlgorithmBundle(file, source) };
}

/**
 * Bundles an algorithm file for the node containers into `outDir/<fileName>`: the same code, but with `zod`
 * replaced by an inert stand-in. Parameter schemas run only in the CLI, which validates parameters and fills
 * in their defaults before any node starts, and the real zod would cost every node about 10 MiB.
 *
 * The bundle's entry re-exports only the default export, the algorithm: the file's `check` and `graphDefaults`
 * (and whatever only they use) are left out by tree shaking, because they run in the CLI and never in a node.
 */
export async function bundleForNodes(source: string, outDir: string, fileName = 'node.cjs'): Promise<string> {
  const file = path.join(outDir, fileName);
  const algorithmOnly = { contents: `export { default } from ${JSON.stringify(source)};`, resolveDir: path.dirname(source), sourcefile: `${source} (default export)` };
  await compile(source, file, { zod: path.join(packageRoot, 'src', 'node', 'zod-stand-in.ts') }, { stdin: algorithmOnly });
  return file;
}

/** A placement policy bundled, and loaded: the file goes to where the policy runs (the simulation thread). */
export interface PolicyBundle {
  readonly file: string;
  readonly policy: PlacementPolicy;
}

/**
 * Bundles a placement policy file (see PlacementPolicy in the SDK) and loads it. A policy runs in the CLI (or the
 * simulation thread), never in a node: it is a pure function from measured loads to a placement.
 */
export async function bundlePolicy(source: string, outDir: string): Promise<PolicyBundle> {
  const file = path.join(outDir, 'policy.cjs');
  await compile(source, file, {}, { entryPoints: [source] });
  return { file, policy: requirePolicy(file, path.relative(process.cwd(), source) || source) };
}

/**
 * Compiles to one CommonJS file with an inline source map whose sources are absolute paths on this host, so a
 * stack trace names the user's `.ts` file and line wherever the bundle is loaded from (a node mounts it at
 * /algorithm/). The map carries no source text: a stack trace needs only the positions.
 */
async function compile(
  source: string,
  outfile: string,
  alias: Record<string, string>,
  entry: Pick<BuildOptions, 'entryPoints' | 'stdin' | 'inject'>,
): Promise<void> {
  let output;
  try {
    output = await build({
      ...entry,
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      alias: { peerlab: path.join(packageRoot, 'src', 'sdk', 'index.ts'), ...alias },
      sourcemap: 'external',
      sourcesContent: false,
      write: false,
      logLevel: 'silent',
    });
  } catch (error) {
    const first = (error as { errors?: Array<{ text: string; location?: { file: string; line: number } }> }).errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}` : source;
    throw new PeerlabError(`cannot compile algorithm ${where}: ${first?.text ?? String(error)}`, {
      hint: 'fix the error in the algorithm file',
    });
  }
  const code = output.outputFiles.find((file) => file.path.endsWith('.cjs'))!.text;
  const map = JSON.parse(output.outputFiles.find((file) => file.path.endsWith('.map'))!.text) as { sources: string[] };
  map.sources = map.sources.map((relative) => path.resolve(path.dirname(outfile), relative));
  const inline = Buffer.from(JSON.stringify(map)).toString('base64');
  // esbuild ends the code with a comment naming the external map; the inline one replaces it.
  const body = code.replace(/\/\/# sourceMappingURL=\S+\s*$/, '');
  await mkdir(path.dirname(outfile), { recursive: true });
  await writeFile(outfile, `${body}//# sourceMappingURL=data:application/json;base64,${inline}\n`);
}

function loadAlgorithmBundle(file: string, source: string): Omit<AlgorithmBundle, 'file'> {
  const shown = path.relative(process.cwd(), source) || source;
  let algorithm: Algorithm;
  try {
    algorithm = requireAlgorithm(file, { sourceMaps: true });
  } catch (error) {
    if (error instanceof NotAnAlgorithm) {
      throw new PeerlabError(`${shown} does not export an algorithm: ${error.message}`, {
        hint: 'end the file with `export default defineAlgorithm({ name, onMessage(node, message) { … } })`',
      });
    }
    const failure = error instanceof Error ? error : new Error(String(error));
    const where = userFrame(failure.stack ?? '');
    throw new PeerlabError(`${shown} failed to load${where ? ` at ${where}` : ''}: ${failure.message}`, {
      hint: 'fix the algorithm file: this error is raised while its module is evaluated',
    });
  }
  // The module requireAlgorithm has just loaded (and cached): its other exports.
  const exports = createRequire(file)(file) as Record<string, unknown>;
  const optionalFunction = (name: string, example: string): unknown => {
    const value = exports[name];
    if (value !== undefined && typeof value !== 'function') {
      throw new PeerlabError(`${shown} exports "${name}", but it is a ${value === null ? 'null' : typeof value}, not a function`, {
        hint: `export it as \`${example}\`, or rename the export`,
      });
    }
    return value;
  };
  return {
    algorithm,
    check: optionalFunction('check', 'export const check: Check<Params> = ({ graph, params, results }) => ({ passed, summary })') as Check | undefined,
    graphDefaults: optionalFunction('graphDefaults', 'export const graphDefaults: GraphDefaults<Params> = ({ graph, params }) => ({ … })') as GraphDefaults | undefined,
  };
}
