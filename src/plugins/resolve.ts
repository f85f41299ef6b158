import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { packageRoot } from '../util/paths.js';

const EXTENSIONS = ['.ts', '.mts', '.js', '.mjs'];

/** A plugin (algorithm or policy) given as a file rather than by name. */
export function isPluginFile(nameOrPath: string): boolean {
  return EXTENSIONS.some((ext) => nameOrPath.endsWith(ext));
}

/** Folders searched for an algorithm given by name: the user's ./algorithms first, then peerlab's own. */
export function algorithmFolders(cwd = process.cwd()): string[] {
  return pluginFolders('algorithms', cwd);
}

/** Turns `flood` or `./my-algo.ts` into the file to bundle. */
export function resolveAlgorithm(nameOrPath: string, cwd = process.cwd()): string {
  return resolvePlugin('algorithm', nameOrPath, algorithmFolders(cwd), () => listAlgorithmNames(cwd), cwd);
}

/** Turns `equal` or `./my-policy.ts` into the placement policy file to bundle: ./policies first, then peerlab's. */
export function resolvePolicy(nameOrPath: string, cwd = process.cwd()): string {
  const folders = pluginFolders('policies', cwd);
  const names = () => [...new Set(folders.filter((folder) => existsSync(folder)).flatMap((folder) => readdirSync(folder)))]
    .filter((file) => EXTENSIONS.includes(path.extname(file)) && !file.endsWith('.d.ts'))
    .map((file) => path.basename(file, path.extname(file)))
    .sort();
  return resolvePlugin('policy', nameOrPath, folders, names, cwd);
}

function pluginFolders(folder: string, cwd: string): string[] {
  return [...new Set([path.resolve(cwd, folder), path.join(packageRoot, folder)])];
}

function resolvePlugin(kind: string, nameOrPath: string, folders: readonly string[], names: () => string[], cwd: string): string {
  if (isPluginFile(nameOrPath)) {
    const file = path.resolve(cwd, nameOrPath);
    if (!existsSync(file)) {
      throw new PeerlabError(`${kind} file ${nameOrPath} does not exist`, { hint: `check the path, or give a ${kind} by name (${names().join(', ')})` });
    }
    return file;
  }
  for (const folder of folders) {
    for (const ext of EXTENSIONS) {
      const file = path.join(folder, nameOrPath + ext);
      if (existsSync(file)) return file;
    }
  }
  throw new PeerlabError(`unknown ${kind} "${nameOrPath}"`, { hint: `use one of: ${names().join(', ')}, or a path to a .ts file` });
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
