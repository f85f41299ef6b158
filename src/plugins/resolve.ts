import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { packageRoot } from '../util/paths.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

/** Folders searched for an algorithm given by name: the user's ./algorithms first, then peerlab's own. */
export function algorithmFolders(cwd = process.cwd()): string[] {
  return [...new Set([path.resolve(cwd, 'algorithms'), path.join(packageRoot, 'algorithms')])];
}

/** Turns `flood` or `./my-algo.ts` into the file to bundle. */
export function resolveAlgorithm(nameOrPath: string, cwd = process.cwd()): string {
  if (EXTENSIONS.some((ext) => nameOrPath.endsWith(ext))) {
    const file = path.resolve(cwd, nameOrPath);
    if (!existsSync(file)) {
      throw new PeerlabError(`algorithm file ${nameOrPath} does not exist`, { hint: 'check the path, or give a name from `peerlab algorithms list`' });
    }
    return file;
  }
  for (const folder of algorithmFolders(cwd)) {
    for (const ext of EXTENSIONS) {
      const file = path.join(folder, nameOrPath + ext);
      if (existsSync(file)) return file;
    }
  }
  throw new PeerlabError(`unknown algorithm "${nameOrPath}"`, { hint: `use one of: ${listAlgorithmNames(cwd).join(', ')}, or a path to a .ts file` });
}

/** The algorithms in the folders, and in their subfolders as `<folder>/<name>` (`lib/` holds helpers, not algorithms). */
export function listAlgorithmNames(cwd = process.cwd()): string[] {
  const names = new Set<string>();
  const collect = (folder: string, prefix: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const ext = path.extname(entry.name);
      if (entry.isDirectory() && prefix === '' && entry.name !== 'lib') collect(path.join(folder, entry.name), `${entry.name}/`);
      else if (entry.isFile() && EXTENSIONS.includes(ext) && !entry.name.endsWith('.d.ts')) names.add(prefix + path.basename(entry.name, ext));
    }
  };
  for (const folder of algorithmFolders(cwd)) if (existsSync(folder)) collect(folder, '');
  return [...names].sort();
}
