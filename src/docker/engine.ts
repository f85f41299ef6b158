/**
 * The one place that talks to the Docker engine (through dockerode, never the docker CLI): connecting with
 * errors a user can act on, engine facts, and the image primitives the image builders share.
 */
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { PeerlabError } from '../errors.js';

/** Every container and network of a run carries `peerlab.run=<run id>`. */
export const RUN_LABEL = 'peerlab.run';
/** A node container's overlay node id. */
export const NODE_LABEL = 'peerlab.node';
/** The emulated host a node's container lives on (`--hosts`); on the run network, every host as JSON. */
export const HOST_LABEL = 'peerlab.host';
/** What a run's container is: 'node' or 'etcd'. */
export const ROLE_LABEL = 'peerlab.role';
/** A Swarm config of a run holds an algorithm bundle: its file name, since the config's own name has no room for it. */
export const BUNDLE_LABEL = 'peerlab.bundle';
/** Images outlive runs, so they carry `peerlab.image=<kind>` ('node', 'node-base', 'etcd') instead. */
export const IMAGE_LABEL = 'peerlab.image';

export type ContainerRole = 'node' | 'etcd';
export type ImageKind = 'node' | 'node-base' | 'etcd';

const PING_TIMEOUT_MS = 10_000;
const START_HINT = 'start it (sudo systemctl start docker, or dockerd &) or set DOCKER_HOST';

/**
 * A Docker client for the engine that DOCKER_HOST names (dockerode's defaults: else the local socket),
 * checked with a ping. Every way of not reaching the engine becomes a PeerlabError with a fix.
 */
export async function connectDocker(): Promise<Docker> {
  let docker: Docker;
  try {
    docker = new Docker();
  } catch (error) {
    throw new PeerlabError(`DOCKER_HOST is not usable (${process.env.DOCKER_HOST ?? ''}): ${errorText(error)}`, {
      hint: 'set DOCKER_HOST to unix:///var/run/docker.sock or tcp://HOST:PORT, or unset it',
      cause: error,
    });
  }
  const endpoint = await dockerEndpoint(docker);
  try {
    await (docker.ping as (options: { abortSignal: AbortSignal }) => Promise<unknown>)({ abortSignal: AbortSignal.timeout(PING_TIMEOUT_MS) });
  } catch (error) {
    throw connectionError(error, endpoint);
  }
  return docker;
}

/** Where a client talks to its engine, for messages: the socket path, or DOCKER_HOST's URL. */
export async function dockerEndpoint(docker: Docker): Promise<string> {
  const modem = docker.modem as unknown as { getSocketPath?: () => Promise<string | undefined>; host?: string; port?: string | number };
  let socketPath: string | undefined;
  try {
    socketPath = await modem.getSocketPath?.(); // undefined (not a promise) when the engine is reached over TCP
  } catch {
    socketPath = undefined;
  }
  if (socketPath) return socketPath;
  if (modem.host) return `${modem.host}${modem.port ? `:${modem.port}` : ''}`;
  return process.env.DOCKER_HOST ?? '/var/run/docker.sock';
}

/** Maps a failed connection or ping to what the user should do about it. Exported for tests. */
export function connectionError(error: unknown, endpoint: string): PeerlabError {
  const code = (error as { code?: string }).code;
  const name = (error as { name?: string }).name;
  if (code === 'EACCES' || code === 'EPERM') {
    return new PeerlabError(`permission denied on ${endpoint}`, {
      hint: 'add yourself to the docker group (sudo usermod -aG docker $USER) or run as root',
      cause: error,
    });
  }
  if (name === 'TimeoutError' || name === 'AbortError' || code === 'ETIMEDOUT' || code === 'ABORT_ERR') {
    return new PeerlabError(`Docker engine at ${endpoint} did not answer within ${PING_TIMEOUT_MS / 1000} s`, {
      hint: `check that dockerd is healthy (sudo systemctl status docker), or ${START_HINT}`,
      cause: error,
    });
  }
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ENOTSOCK') {
    return new PeerlabError(`Docker engine is not reachable at ${endpoint}`, { hint: START_HINT, cause: error });
  }
  return new PeerlabError(`Docker engine at ${endpoint} did not answer: ${errorText(error)}`, { hint: START_HINT, cause: error });
}

/**
 * A running container's memory as `docker stats` shows it: its cgroup's usage less the inactive page cache,
 * which the kernel reclaims first. Undefined when the engine reports none (the container stopped meanwhile).
 */
export async function containerMemoryBytes(docker: Docker, containerId: string): Promise<number | undefined> {
  const stats = (await docker.getContainer(containerId).stats({ stream: false })) as {
    memory_stats?: { usage?: number; stats?: { inactive_file?: number } };
  };
  const usage = stats.memory_stats?.usage;
  return usage === undefined ? undefined : usage - (stats.memory_stats?.stats?.inactive_file ?? 0);
}

export interface EngineInfo {
  /** Engine version, e.g. "20.10.24+dfsg1". */
  readonly version: string;
  /** Highest API version it speaks, e.g. "1.41". */
  readonly apiVersion: string;
  readonly os: string;
  readonly arch: string;
  readonly kernelVersion: string;
  readonly storageDriver: string | undefined;
  readonly cgroupVersion: string | undefined;
  readonly cpus: number | undefined;
  readonly memoryBytes: number | undefined;
  readonly containers: number | undefined;
  readonly images: number | undefined;
}

export async function engineInfo(docker: Docker): Promise<EngineInfo> {
  const [version, info] = await Promise.all([
    docker.version() as Promise<{ Version: string; ApiVersion: string; Os: string; Arch: string; KernelVersion: string }>,
    docker.info() as Promise<{ Driver?: string; CgroupVersion?: string; NCPU?: number; MemTotal?: number; Containers?: number; Images?: number }>,
  ]);
  return {
    version: version.Version,
    apiVersion: version.ApiVersion,
    os: version.Os,
    arch: version.Arch,
    kernelVersion: version.KernelVersion,
    storageDriver: info.Driver,
    cgroupVersion: info.CgroupVersion,
    cpus: info.NCPU,
    memoryBytes: info.MemTotal,
    containers: info.Containers,
    images: info.Images,
  };
}

/** The local image of that name or id, or undefined when the engine has none. */
export async function localImage(docker: Docker, reference: string): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await docker.getImage(reference).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/**
 * Tries once to pull an image. Fails fast: gives up when the registry is unreachable, and when the pull shows
 * no progress for `idleTimeoutMs` (a blackholed network), while a slow but moving download may take its time.
 * Returns whether the image is now local; never throws for registry trouble.
 */
export async function tryPullImage(
  docker: Docker,
  reference: string,
  options: { idleTimeoutMs?: number; onLog?: (line: string) => void } = {},
): Promise<{ pulled: boolean; reason: string | undefined }> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 15_000;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), idleTimeoutMs);
  };
  arm();
  try {
    const stream = (await docker.pull(reference, { abortSignal: abort.signal })) as NodeJS.ReadableStream;
    let lastStatus = '';
    await new Promise<void>((resolve, reject) => {
      abort.signal.addEventListener('abort', () => reject(new Error(`no progress for ${idleTimeoutMs / 1000} s`)), { once: true });
      docker.modem.followProgress(
        stream,
        (error) => (error ? reject(error) : resolve()),
        (event: { status?: string; error?: string }) => {
          arm();
          if (event.error) reject(new Error(event.error));
          if (event.status && event.status !== lastStatus && !/^(Downloading|Extracting|Waiting)/.test(event.status)) {
            lastStatus = event.status;
            options.onLog?.(`pull ${reference}: ${event.status}`);
          }
        },
      );
    });
    return { pulled: (await localImage(docker, reference)) !== undefined, reason: undefined };
  } catch (error) {
    const reason = abort.signal.aborted ? `no progress for ${idleTimeoutMs / 1000} s` : dockerMessage(error);
    return { pulled: false, reason };
  } finally {
    clearTimeout(timer);
    if (!abort.signal.aborted) abort.abort();
  }
}

export interface BuildImageOptions {
  /** The image's name:tag. */
  readonly tag: string;
  readonly buildArgs?: Readonly<Record<string, string>>;
  /** Extra labels on top of the Dockerfile's own. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Ignore the build cache. */
  readonly noCache?: boolean;
  /** Each line the build prints. */
  readonly onLog?: (line: string) => void;
}

const FAILURE_LINES = 12;

/**
 * Builds an image from a tar build context (a Dockerfile at its root), with the engine's classic builder and
 * no pulls: every base image must be local. Streams the build's lines to onLog; a failed build is a
 * PeerlabError carrying the build's last lines. Returns the new image's id.
 */
export async function buildImageFromContext(docker: Docker, context: Readable, options: BuildImageOptions): Promise<{ id: string }> {
  const tail: string[] = [];
  const remember = (line: string) => {
    tail.push(line);
    if (tail.length > FAILURE_LINES) tail.shift();
    options.onLog?.(line);
  };
  const fail = (reason: string, cause?: unknown) =>
    new PeerlabError(`building image ${options.tag} failed: ${reason}${tail.length > 0 ? `\n  ${tail.join('\n  ')}` : ''}`, {
      hint: 'fix the cause shown by the build output above, then rerun `peerlab image build --rebuild`',
      cause,
    });

  let auxId: string | undefined;
  let buildError: string | undefined;
  try {
    const stream = (await docker.buildImage(context as unknown as NodeJS.ReadableStream, {
      t: options.tag,
      buildargs: options.buildArgs ? { ...options.buildArgs } : undefined,
      labels: options.labels ? { ...options.labels } : undefined,
      nocache: options.noCache ?? false,
      pull: false,
      rm: true,
      forcerm: true,
    } as Docker.ImageBuildOptions)) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error) => (error ? reject(error) : resolve()),
        (event: { stream?: string; error?: string; errorDetail?: { message?: string }; aux?: { ID?: string } }) => {
          if (event.stream) for (const line of event.stream.split('\n')) if (line.trim()) remember(line.trimEnd());
          if (event.aux?.ID) auxId = event.aux.ID;
          if (event.error) buildError ??= event.errorDetail?.message ?? event.error;
        },
      );
    });
  } catch (error) {
    throw fail(dockerMessage(error), error);
  } finally {
    context.destroy();
  }
  if (buildError) throw fail(buildError);
  if (auxId) return { id: auxId };
  const image = await localImage(docker, options.tag);
  if (!image) throw fail('the engine reported success but has no such image');
  return { id: image.Id };
}

/** The engine's own message of a failed API call (dockerode puts it in `json.message`), else the error text. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } | string | null }).json;
  if (json && typeof json === 'object' && json.message) return json.message;
  if (typeof json === 'string' && json.trim()) return json.trim();
  return errorText(error);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
