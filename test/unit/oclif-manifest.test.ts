/**
 * oclif reads the list of commands from oclif.manifest.json, which `npm run build` writes (src/cli/write-manifest.ts):
 * a command added to src/commands after the last build would be missing from `peerlab` until the next one.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

function commandIds(dir: string, prefix: string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? commandIds(path.join(dir, entry.name), [...prefix, entry.name]) : entry.name.endsWith('.ts') ? [[...prefix, entry.name.slice(0, -3)].join(':')] : [],
  );
}

describe('the oclif manifest', () => {
  it('lists every command in src/commands, each loaded from its built file (run `npm run build` if not)', () => {
    const file = path.join(root, 'oclif.manifest.json');
    expect(existsSync(file), 'oclif.manifest.json is missing: `npm run build` writes it').toBe(true);
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { version: string; commands: Record<string, { relativePath: string[] }> };
    expect(Object.keys(manifest.commands).sort()).toEqual(commandIds(path.join(root, 'src/commands')).sort());
    for (const [id, command] of Object.entries(manifest.commands)) expect(existsSync(path.join(root, ...command.relativePath)), id).toBe(true);
    expect(manifest.version).toBe((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version);
  });
});
