import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RUNTIME_KINDS } from '../../src/runtime/types.js';
import { RUNTIMES } from '../../src/run/runtimes.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The layers that must reach every runtime through src/run/deployment.ts, never by name. */
const LAYERS = ['src/run', 'src/experiment', 'src/bench'];

/** A comparison with, or a switch case on, a runtime's name: `=== 'sim'`, `'docker' !==`, `case 'swarm':`. */
function runtimeBranches(source: string): string[] {
  const name = `'(?:${[...RUNTIME_KINDS, 'swarm'].join('|')})'`;
  const branch = new RegExp(`(?:[!=]==?\\s*${name})|(?:${name}\\s*[!=]==?)|(?:case\\s+${name})`);
  return source.split('\n').flatMap((line, index) => (branch.test(line) ? [`${index + 1}: ${line.trim()}`] : []));
}

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile() && entry.name.endsWith('.ts')).map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)));
}

describe('the runtime seam', () => {
  it('run, experiment and bench code never branches on a runtime name', async () => {
    const found: string[] = [];
    for (const layer of LAYERS) {
      for (const file of await sources(layer)) {
        for (const hit of runtimeBranches(await readFile(path.join(root, file), 'utf8'))) found.push(`${file}:${hit}`);
      }
    }
    expect(found).toEqual([]);
  });

  it('the scan catches each form of branch it looks for', () => {
    expect(runtimeBranches("if (runtime === 'sim') x();")).toHaveLength(1);
    expect(runtimeBranches("const docker = 'docker' !== kind;")).toHaveLength(1);
    expect(runtimeBranches("  case 'swarm':")).toHaveLength(1);
    expect(runtimeBranches("runtime: 'sim', kind === other")).toEqual([]);
  });

  it('every runtime kind has its entry in the one table, under its own name', () => {
    for (const kind of RUNTIME_KINDS) expect(RUNTIMES[kind].kind).toBe(kind);
  });
});
