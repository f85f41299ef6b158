/**
 * The node image: the agent bundle on a Node.js 20 base, built from the package's Dockerfile. Its tag is a
 * hash of everything that goes into it, so a changed agent gets a new image and an unchanged one is reused.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { buildImageFromContext, connectDocker, localImage, tryPullImage } from '../docker/engine.js';
import { packageRoot } from '../util/paths.js';
import { folderEntries, tarContext, type ContextEntry } from './context.js';
import { ensureNodeBaseImage, hostNode, nodeBaseTag } from './node-base.js';

export const DEFAULT_NODE_BASE = 'node:20-bookworm-slim';
export const NODE_IMAGE_REPOSITORY = 'peerlab/node';
/** Where the agent's entry point is inside the agent folder (the Dockerfile's ENTRYPOINT runs it). */
export const AGENT_ENTRY = 'bin/agent.cjs';

export interface NodeImageOptions {
  /** The agent bundle folder (buildAgentBundle()): copied as is to /peerlab in the image. */
  readonly agentDir: string;
  /** Base image; default node:20-bookworm-slim when local or pullable, else one built from the host Node.js. */
  readonly base?: string;
  /** Build even when an image of the same inputs exists (and rebuild a host-made base too). */
  readonly rebuild?: boolean;
  readonly onLog?: (line: string) => void;
  /** An engine client; connects when absent. */
  readonly docker?: Docker;
  /** The Dockerfile; default the package's own. */
  readonly dockerfile?: string;
}

export interface NodeImage {
  /** peerlab/node:<12 hex of the inputs' hash>. */
  readonly tag: string;
  readonly id: string;
  /** False when an image of the same inputs was already there. */
  readonly built: boolean;
  /** The base image it was built on. */
  readonly base: string;
}

export async function ensureNodeImage(options: NodeImageOptions): Promise<NodeImage> {
  const docker = options.docker ?? (await connectDocker());
  const onLog = options.onLog ?? (() => {});
  const dockerfilePath = options.dockerfile ?? path.join(packageRoot, 'Dockerfile');
  const dockerfile = await readFile(dockerfilePath).catch((error: unknown) => {
    throw new PeerlabError(`cannot read the node image's Dockerfile at ${dockerfilePath}`, { hint: 'reinstall peerlab: the Dockerfile ships with the package', cause: error });
  });
  const agentFiles = await agentEntries(options.agentDir);
  const base = await chooseBase(docker, options, onLog);

  const tag = `${NODE_IMAGE_REPOSITORY}:${await inputsHash(dockerfile, agentFiles, base)}`;
  if (!options.rebuild) {
    const existing = await localImage(docker, tag);
    if (existing) return { tag, id: existing.Id, built: false, base: base.reference };
  }
  onLog(`building ${tag} on ${base.reference}`);
  const context = tarContext([{ kind: 'data', name: 'Dockerfile', mode: 0o644, data: dockerfile }, ...agentFiles]);
  // FROM the base's id, not its name: the image is built on exactly the base its tag was hashed with.
  const { id } = await buildImageFromContext(docker, context, {
    tag,
    buildArgs: { BASE: base.id },
    labels: { 'peerlab.base': base.reference },
    noCache: options.rebuild,
  });
  return { tag, id, built: true, base: base.reference };
}

async function agentEntries(agentDir: string): Promise<ContextEntry[]> {
  const entry = path.join(agentDir, AGENT_ENTRY);
  const info = await stat(entry).catch(() => undefined);
  if (!info?.isFile()) {
    throw new PeerlabError(`the agent folder ${agentDir} has no ${AGENT_ENTRY}`, { hint: 'build the agent bundle first (buildAgentBundle), or pass its output folder' });
  }
  return folderEntries(agentDir, 'agent');
}

interface Base {
  readonly reference: string;
  readonly id: string;
}

/**
 * The base image: the one asked for (local or pulled); else node:20-bookworm-slim when local; else a base
 * already made from the host's Node.js; else node:20-bookworm-slim pulled; else one made from the host's
 * Node.js now. A registry is tried at most once per call, and gives up fast.
 */
async function chooseBase(docker: Docker, options: NodeImageOptions, onLog: (line: string) => void): Promise<Base> {
  if (options.base) {
    const image = (await localImage(docker, options.base)) ?? (await pulled(docker, options.base, onLog));
    if (image) return { reference: options.base, id: image.Id };
    throw new PeerlabError(`base image ${options.base} is not available locally and cannot be pulled`, {
      hint: 'load it into the engine (docker load -i <file>), or leave out the base image to build one from the host Node.js',
    });
  }
  const local = await localImage(docker, DEFAULT_NODE_BASE);
  if (local) return { reference: DEFAULT_NODE_BASE, id: local.Id };

  const hostTag = nodeBaseTag();
  const madeBefore = options.rebuild ? undefined : await localImage(docker, hostTag);
  if (madeBefore) return { reference: hostTag, id: madeBefore.Id };

  const fetched = await pulled(docker, DEFAULT_NODE_BASE, onLog);
  if (fetched) return { reference: DEFAULT_NODE_BASE, id: fetched.Id };

  const node = hostNode();
  onLog(`no registry reachable: building the node base image from the host Node.js runtime (${node.path} ${node.version})`);
  const made = await ensureNodeBaseImage(docker, { rebuild: options.rebuild });
  return { reference: made.tag, id: made.id };
}

async function pulled(docker: Docker, reference: string, onLog: (line: string) => void): Promise<Docker.ImageInspectInfo | undefined> {
  const result = await tryPullImage(docker, reference, { onLog });
  if (!result.pulled) {
    onLog(`cannot pull ${reference}: ${result.reason ?? 'unknown reason'}`);
    return undefined;
  }
  return localImage(docker, reference);
}

/** 12 hex digits of sha256 over the Dockerfile, every agent file (path, mode, bytes) and the base. */
async function inputsHash(dockerfile: Buffer, agentFiles: readonly ContextEntry[], base: Base): Promise<string> {
  const hash = createHash('sha256');
  const field = (value: string | Buffer) => {
    hash.update(`${Buffer.byteLength(value)}:`);
    hash.update(value);
  };
  field('peerlab node image 1');
  field(dockerfile);
  for (const entry of agentFiles) {
    field(`${entry.kind} ${entry.name} ${entry.mode.toString(8)}`);
    if (entry.kind === 'host-file') field(await readFile(entry.source));
  }
  field(base.reference);
  field(base.id);
  return hash.digest('hex').slice(0, 12);
}
