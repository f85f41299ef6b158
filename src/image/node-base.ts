/**
 * `peerlab/node-base:<version>`: Node.js built FROM scratch out of the host's own runtime, for machines that
 * cannot pull node:20-bookworm-slim. It holds the node executable at /usr/local/bin/node, the shared libraries
 * it links, a minimal /etc with a `node` user (uid 1000), and /tmp.
 */
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { engineInfo } from '../docker/engine.js';
import { ensureScratchImage, hostMachineMatches, MINIMAL_ETC, TMP_DIRECTORY, type ScratchImage } from './scratch.js';

export const NODE_BASE_REPOSITORY = 'peerlab/node-base';

/** The tag of the base image made from a Node.js of that version, e.g. peerlab/node-base:20.20.2. */
export function nodeBaseTag(version: string = process.version): string {
  return `${NODE_BASE_REPOSITORY}:${version.replace(/^v/, '')}`;
}

/** The host Node.js runtime the base image is made of: the one running peerlab. */
export function hostNode(): { path: string; version: string } {
  return { path: process.execPath, version: process.version };
}

/** Builds (or finds) the node base image from the host's Node.js runtime. */
export async function ensureNodeBaseImage(
  docker: Docker,
  options: { rebuild?: boolean; /** default nodeBaseTag() */ tag?: string } = {},
): Promise<ScratchImage> {
  const node = hostNode();
  const { arch } = await engineInfo(docker);
  if (!hostMachineMatches(arch)) {
    throw new PeerlabError(`the host Node.js (${process.platform}/${process.arch}) cannot run in the engine's ${arch} Linux containers`, {
      hint: 'load a node:20 image into the engine (docker load -i node20.tar) and pass --base-image <it>',
    });
  }
  return ensureScratchImage(
    docker,
    {
      executables: [{ from: node.path, to: '/usr/local/bin/node' }],
      directories: [TMP_DIRECTORY, { path: '/home/node', mode: 0o755 }],
      files: MINIMAL_ETC,
      instructions: [`ENV NODE_VERSION=${node.version.replace(/^v/, '')}`, 'CMD ["node"]'],
    },
    { tag: options.tag ?? nodeBaseTag(node.version), kind: 'node-base', rebuild: options.rebuild },
  );
}
