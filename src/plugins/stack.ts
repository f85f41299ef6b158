import { findSourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../util/paths.js';

const FRAME = /^\s*at (?:.*? \()?((?:file:\/\/)?\/[^()]+?):(\d+):(\d+)\)?$/;
/** peerlab's own code, as sources (tests, the SDK inside a bundle) or compiled: never the user's. */
const PEERLAB_CODE = [path.join(packageRoot, 'src') + path.sep, path.join(packageRoot, 'dist') + path.sep];

/**
 * Where in the user's code a stack trace points: the first frame in a source file of an algorithm (the bundles'
 * source maps turn bundle positions into `.ts` lines), skipping peerlab's own code and dependencies. The path
 * is relative to `cwd` when it lies below it, e.g. `algorithms/my-algo.ts:12:5`.
 */
export function userFrame(stack: string, cwd = process.cwd()): string | undefined {
  for (const line of stack.split('\n')) {
    const match = FRAME.exec(line);
    if (!match) continue;
    const { file, line: row, column } = original(asPath(match[1]!), Number(match[2]), Number(match[3]));
    // Bundles (.cjs) are what the source maps translate away from; a frame still in one is peerlab's agent.
    if (!/\.m?[jt]sx?$/.test(file) || PEERLAB_CODE.some((root) => file.startsWith(root)) || file.includes(`${path.sep}node_modules${path.sep}`)) continue;
    const relative = path.relative(cwd, file);
    const shown = relative.startsWith('..') ? file : relative;
    return `${shown}:${row}:${column}`;
  }
  return undefined;
}

/**
 * A frame still in a bundle loaded in this process (when something else formats stack traces, such as a test
 * runner, Node's own mapping is bypassed) is mapped here through the bundle's source map.
 */
function original(file: string, line: number, column: number): { file: string; line: number; column: number } {
  if (!file.endsWith('.cjs')) return { file, line, column };
  const entry = findSourceMap(file)?.findEntry(line - 1, column - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
  if (entry?.originalSource === undefined) return { file, line, column };
  return { file: asPath(entry.originalSource), line: entry.originalLine! + 1, column: entry.originalColumn! + 1 };
}

function asPath(location: string): string {
  return location.startsWith('file://') ? fileURLToPath(location) : location;
}
