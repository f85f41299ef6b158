/**
 * Images FROM scratch made of host executables: each executable plus the shared libraries `ldd` lists for it
 * (symbolic links resolved, kept at the paths the loader looks for), a minimal /etc, and nothing else. This is
 * how peerlab gets a node and an etcd image on a machine that cannot reach any registry.
 */
import { execFile } from 'node:child_process';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { buildImageFromContext, IMAGE_LABEL, localImage, type ImageKind } from '../docker/engine.js';
import { tarContext, type ContextEntry } from './context.js';

const run = promisify(execFile);

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ScratchImageSpec {
  /** Host executables and where they go in the image; their shared libraries come along. */
  readonly executables: ReadonlyArray<{ readonly from: string; readonly to: string }>;
  /** Folders to create, e.g. /tmp with mode 0o1777. */
  readonly directories?: ReadonlyArray<{ readonly path: string; readonly mode: number }>;
  /** Small files written from memory, e.g. /etc/passwd. */
  readonly files?: ReadonlyArray<{ readonly path: string; readonly mode: number; readonly content: string }>;
  /** Dockerfile instructions after `FROM scratch`, the copy of the file tree, PATH and the labels. */
  readonly instructions: readonly string[];
}

export interface ScratchImage {
  readonly tag: string;
  readonly id: string;
  readonly built: boolean;
}

/**
 * The image `tag` of that kind: the local one unless `rebuild`, else built FROM scratch out of the spec.
 * Everything that can fail on the host (a missing binary or library) fails before the engine is asked.
 */
export async function ensureScratchImage(
  docker: Docker,
  spec: ScratchImageSpec,
  options: { tag: string; kind: ImageKind; rebuild?: boolean },
): Promise<ScratchImage> {
  if (!options.rebuild) {
    const existing = await localImage(docker, options.tag);
    if (existing) return { tag: options.tag, id: existing.Id, built: false };
  }
  const entries = await scratchEntries(spec, options.kind);
  const { id } = await buildImageFromContext(docker, tarContext(entries), {
    tag: options.tag,
    noCache: options.rebuild,
  });
  return { tag: options.tag, id, built: true };
}

/** The build context of a scratch image: a Dockerfile and the image's file tree under rootfs/. */
export async function scratchEntries(spec: ScratchImageSpec, kind: ImageKind): Promise<ContextEntry[]> {
  const files = new Map<string, ContextEntry>();
  const libraryDirectories = new Set<string>();
  for (const executable of spec.executables) {
    const source = await realpath(executable.from).catch((error: unknown) => {
      throw new PeerlabError(`cannot read ${executable.from}: ${(error as Error).message}`, { hint: 'install it, or use an image from a registry', cause: error });
    });
    files.set(executable.to, await hostFile(source, executable.to, 0o755));
    for (const library of await sharedLibraries(executable.from)) {
      files.set(library, await hostFile(await realpath(library), library, 0o755));
      libraryDirectories.add(path.posix.dirname(library));
    }
  }
  for (const file of spec.files ?? []) {
    files.set(file.path, { kind: 'data', name: `rootfs${file.path}`, mode: file.mode, data: Buffer.from(file.content) });
  }
  const directories: ContextEntry[] = (spec.directories ?? []).map((d) => ({ kind: 'directory', name: `rootfs${d.path}`, mode: d.mode }));
  const extraLibraryPath = [...libraryDirectories].filter((dir) => !isDefaultLibraryDirectory(dir)).sort();
  const dockerfile = [
    'FROM scratch',
    'COPY rootfs/ /',
    `ENV PATH=${DEFAULT_PATH}`,
    ...(extraLibraryPath.length > 0 ? [`ENV LD_LIBRARY_PATH=${extraLibraryPath.join(':')}`] : []),
    kindLabel(kind, { 'peerlab.source': spec.executables.map((e) => e.from).join(' ') }),
    ...spec.instructions,
  ].join('\n');
  return [{ kind: 'data', name: 'Dockerfile', mode: 0o644, data: Buffer.from(`${dockerfile}\n`) }, ...directories, ...files.values()];
}

/** The LABEL instruction of a peerlab image: `peerlab.image=<kind>` and any extra labels. */
export function kindLabel(kind: ImageKind, extra: Readonly<Record<string, string>> = {}): string {
  const labels = { [IMAGE_LABEL]: kind, ...extra };
  return `LABEL ${Object.entries(labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(' ')}`;
}

async function hostFile(source: string, target: string, mode: number): Promise<ContextEntry> {
  const info = await stat(source);
  return { kind: 'host-file', name: `rootfs${target}`, mode, source, size: info.size };
}

/** Folders the dynamic loader searches without an ld.so.cache (glibc's trusted folders, multiarch included). */
function isDefaultLibraryDirectory(dir: string): boolean {
  return /^(\/usr)?\/lib(64|32)?(\/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?$/.test(dir);
}

/**
 * The shared libraries an executable loads, as `ldd` resolves them (already the transitive closure), the
 * dynamic loader included. A statically linked executable has none.
 */
export async function sharedLibraries(executable: string): Promise<string[]> {
  let output: string;
  try {
    const result = await run('ldd', [executable], { encoding: 'utf8' });
    output = result.stdout;
  } catch (error) {
    const failure = error as { code?: string | number; stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new PeerlabError('ldd is not installed, so the libraries of host executables cannot be found', {
        hint: 'install it (apt-get install libc-bin), or use images from a registry',
        cause: error,
      });
    }
    const text = `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
    if (/not a dynamic executable|statically linked/.test(text)) return [];
    throw new PeerlabError(`ldd ${executable} failed: ${text.trim() || String(error)}`, { hint: 'check that the file is an executable for this machine', cause: error });
  }
  return parseLdd(output, executable);
}

/** Parses `ldd` output; exported for tests. */
export function parseLdd(output: string, executable = 'the executable'): string[] {
  const libraries: string[] = [];
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    if (!line || /statically linked/.test(line)) continue;
    const missing = /^(\S+) => not found/.exec(line);
    if (missing) {
      throw new PeerlabError(`${executable} needs ${missing[1]}, which is not installed`, { hint: `install the package that provides ${missing[1]}` });
    }
    const arrow = /=> (\/\S+)/.exec(line);
    const bare = /^(\/\S+)/.exec(line);
    const found = arrow?.[1] ?? bare?.[1];
    if (found && !libraries.includes(found)) libraries.push(found);
  }
  return libraries;
}

/** What any process needs in /etc: a root, a `node` user (uid 1000) and nobody, and local-file name lookups. */
export const MINIMAL_ETC: ReadonlyArray<{ path: string; mode: number; content: string }> = [
  {
    path: '/etc/passwd',
    mode: 0o644,
    content: 'root:x:0:0:root:/root:/sbin/nologin\nnode:x:1000:1000:node:/home/node:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n',
  },
  { path: '/etc/group', mode: 0o644, content: 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' },
  // glibc ≥ 2.34 has files and dns built in: with only these sources no NSS module has to be loaded.
  { path: '/etc/nsswitch.conf', mode: 0o644, content: 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' },
];

/** /tmp as every program expects it: world-writable with the sticky bit. */
export const TMP_DIRECTORY = { path: '/tmp', mode: 0o1777 } as const;

/** Whether binaries of a host (Node.js platform and arch names) run in an engine's containers (Go arch names). */
export function sameMachine(hostPlatform: string, hostArch: string, engineArch: string): boolean {
  const normal: Record<string, string> = { x64: 'x86_64', amd64: 'x86_64', x86_64: 'x86_64', arm64: 'aarch64', aarch64: 'aarch64' };
  return hostPlatform === 'linux' && (normal[hostArch] ?? hostArch) === (normal[engineArch] ?? engineArch);
}

/** Whether this host's binaries run in the engine's containers, to refuse copying foreign binaries. */
export function hostMachineMatches(engineArch: string): boolean {
  return sameMachine(process.platform, process.arch, engineArch);
}
