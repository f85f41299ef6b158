/**
 * The etcd image of a run: the one named (or quay.io/coreos/etcd) when the engine has it or can pull it, else
 * `peerlab/etcd:<version>` built FROM scratch out of the host's etcd-server binary. Like the official image,
 * it has etcd at /usr/local/bin/etcd (and etcdctl when the host has it); the run starts it as nobody (server.ts).
 */
import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import { PeerlabError } from '../errors.js';
import { connectDocker, engineInfo, localImage, tryPullImage } from '../docker/engine.js';
import { ensureScratchImage, hostMachineMatches, MINIMAL_ETC, TMP_DIRECTORY } from './scratch.js';

const run = promisify(execFile);

export const DEFAULT_ETCD_IMAGE = 'quay.io/coreos/etcd:v3.5.17';
export const ETCD_REPOSITORY = 'peerlab/etcd';
/** Where Debian's etcd-server (and etcd-client) put the binaries. */
export const HOST_ETCD = '/usr/bin/etcd';
export const HOST_ETCDCTL = '/usr/bin/etcdctl';

export interface EtcdImageOptions {
  /** The image to use; default quay.io/coreos/etcd:v3.5.17. */
  readonly image?: string;
  /** Rebuild the host-made image even if it exists. */
  readonly rebuild?: boolean;
  readonly onLog?: (line: string) => void;
  readonly docker?: Docker;
  /** The host etcd binary to fall back to; default /usr/bin/etcd. */
  readonly hostEtcd?: string;
}

export interface EtcdImage {
  readonly tag: string;
  /** True when peerlab built it just now. */
  readonly built: boolean;
  /** Where it came from: already local, pulled now, or made from the host's etcd. */
  readonly source: 'local' | 'pulled' | 'host';
}

export async function ensureEtcdImage(options: EtcdImageOptions = {}): Promise<EtcdImage> {
  const docker = options.docker ?? (await connectDocker());
  const onLog = options.onLog ?? (() => {});
  const name = options.image ?? DEFAULT_ETCD_IMAGE;
  const hostBinary = options.hostEtcd ?? HOST_ETCD;

  if (await localImage(docker, name)) return { tag: name, built: false, source: 'local' };

  // Without a named image, an image made from the host's etcd earlier is as good and needs no registry.
  const version = await hostEtcdVersion(hostBinary);
  const hostTag = version ? etcdTag(version) : undefined;
  if (!options.image && hostTag && !options.rebuild && (await localImage(docker, hostTag))) {
    return { tag: hostTag, built: false, source: 'local' };
  }

  const pull = await tryPullImage(docker, name, { onLog });
  if (pull.pulled) return { tag: name, built: false, source: 'pulled' };

  if (!version || !hostTag) {
    throw new PeerlabError(`no etcd image: ${name} cannot be pulled and etcd-server is not installed`, {
      hint: 'apt-get install etcd-server, or pass --etcd-image <local image>',
    });
  }
  const { arch } = await engineInfo(docker);
  if (!hostMachineMatches(arch)) {
    throw new PeerlabError(`no etcd image: ${name} cannot be pulled and the host's etcd (${process.arch}) cannot run in ${arch} containers`, {
      hint: 'pass --etcd-image <a local etcd image>',
    });
  }
  onLog(`cannot pull ${name} (${pull.reason ?? 'unknown reason'}): building ${hostTag} from the host's ${hostBinary} (etcd ${version})`);
  const executables = [{ from: hostBinary, to: '/usr/local/bin/etcd' }];
  if (await executable(HOST_ETCDCTL)) executables.push({ from: HOST_ETCDCTL, to: '/usr/local/bin/etcdctl' });
  const image = await ensureScratchImage(
    docker,
    {
      executables,
      directories: [TMP_DIRECTORY, { path: '/var/lib/etcd', mode: 0o700 }, { path: '/var/etcd', mode: 0o700 }],
      files: MINIMAL_ETC,
      instructions: [`LABEL peerlab.etcd.version=${version}`, 'EXPOSE 2379 2380', 'CMD ["/usr/local/bin/etcd"]'],
    },
    { tag: hostTag, kind: 'etcd', rebuild: options.rebuild },
  );
  return { tag: image.tag, built: image.built, source: 'host' };
}

/** peerlab/etcd:<version>, e.g. peerlab/etcd:3.4.23. */
export function etcdTag(version: string): string {
  return `${ETCD_REPOSITORY}:${version.replace(/^v/, '')}`;
}

/** The version of a host etcd binary ("3.4.23"), or undefined when there is none that runs. */
export async function hostEtcdVersion(binary: string = HOST_ETCD): Promise<string | undefined> {
  if (!(await executable(binary))) return undefined;
  try {
    const { stdout } = await run(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    return /etcd Version:\s*v?(\S+)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

async function executable(file: string): Promise<boolean> {
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}
