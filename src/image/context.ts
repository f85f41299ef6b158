/**
 * Docker build contexts as tar streams made in memory (tar-stream): no temporary folders. Host files are
 * streamed into the archive one after another, so a 100 MB binary never sits in memory whole.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';

export type ContextEntry =
  | { readonly kind: 'directory'; readonly name: string; readonly mode: number }
  | { readonly kind: 'data'; readonly name: string; readonly mode: number; readonly data: Buffer }
  | { readonly kind: 'host-file'; readonly name: string; readonly mode: number; readonly source: string; readonly size: number };

/** A fixed time for every entry, so the same inputs make the same archive. */
const EPOCH = new Date('2000-01-01T00:00:00Z');

/**
 * A tar stream of the entries in order, owned by root. The parent folders of every entry are added first
 * (mode 0755) unless the list has them with a mode of its own.
 */
export function tarContext(entries: readonly ContextEntry[]): Readable {
  const pack = tar.pack();
  const ordered = withParentDirectories(entries);
  void (async () => {
    for (const entry of ordered) {
      const header = { name: entry.name, mode: entry.mode, mtime: EPOCH, uid: 0, gid: 0, uname: 'root', gname: 'root' };
      if (entry.kind === 'directory') {
        await add((done) => pack.entry({ ...header, type: 'directory' }, done));
      } else if (entry.kind === 'data') {
        await add((done) => pack.entry({ ...header, size: entry.data.length }, entry.data, done));
      } else {
        await add((done) => {
          const sink = pack.entry({ ...header, size: entry.size }, done);
          createReadStream(entry.source)
            .on('error', done)
            .pipe(sink);
        });
      }
    }
    pack.finalize();
  })().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))));
  // tar-stream's pack is a streamx Readable: it pipes into Node streams, which is all the engine client does.
  return pack as unknown as Readable;
}

function add(write: (done: (error?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => write((error) => (error ? reject(error) : resolve())));
}

function withParentDirectories(entries: readonly ContextEntry[]): ContextEntry[] {
  const explicit = new Map(entries.filter((e) => e.kind === 'directory').map((e) => [trimSlash(e.name), e]));
  const directories = new Map<string, ContextEntry>();
  const files = new Map<string, ContextEntry>();
  for (const entry of entries) {
    const name = trimSlash(entry.name);
    for (let dir = path.posix.dirname(name); dir !== '.' && dir !== '/'; dir = path.posix.dirname(dir)) {
      if (!directories.has(dir)) directories.set(dir, explicit.get(dir) ?? { kind: 'directory', name: dir, mode: 0o755 });
    }
    if (entry.kind === 'directory') directories.set(name, { ...entry, name });
    else files.set(name, { ...entry, name });
  }
  const sortedDirectories = [...directories.values()].sort((a, b) => a.name.localeCompare(b.name));
  const sortedFiles = [...files.values()].sort((a, b) => a.name.localeCompare(b.name));
  return [...sortedDirectories.map((d) => ({ ...d, name: `${d.name}/` })), ...sortedFiles];
}

function trimSlash(name: string): string {
  return name.replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * Every regular file under a folder (symbolic links followed), as context entries under `prefix`, in a stable
 * order. Files keep whether they are executable; everything becomes owned by root and read-only to others.
 */
export async function folderEntries(root: string, prefix: string): Promise<ContextEntry[]> {
  const entries: ContextEntry[] = [];
  async function walk(relative: string): Promise<void> {
    const names = (await readdir(path.join(root, relative))).sort();
    for (const name of names) {
      const rel = relative ? `${relative}/${name}` : name;
      const info = await stat(path.join(root, rel));
      if (info.isDirectory()) {
        entries.push({ kind: 'directory', name: `${prefix}/${rel}`, mode: 0o755 });
        await walk(rel);
      } else if (info.isFile()) {
        entries.push({ kind: 'host-file', name: `${prefix}/${rel}`, mode: info.mode & 0o111 ? 0o755 : 0o644, source: path.join(root, rel), size: info.size });
      }
    }
  }
  await walk('');
  return entries;
}
