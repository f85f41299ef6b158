import type Docker from 'dockerode';

/**
 * The `docker run -d` arguments that create and start the container an Engine API create spec describes, so the
 * start-up bench's baseline starts exactly the containers peerlab starts, the way a user would by hand. Hand-
 * written because no library maps API fields to CLI flags (the CLI does it the other way round, in Go). A field
 * it does not know is an error, not dropped: a new setting in nodeContainerSpec must not make the baseline's
 * containers lighter than peerlab's unnoticed.
 */
export function dockerRunArgs(spec: Docker.ContainerCreateOptions): string[] {
  const args = ['run', '-d'];
  const { Image, Entrypoint, Cmd, HostConfig, ...top } = spec;
  for (const [field, value] of Object.entries(top)) {
    if (value === undefined) continue;
    switch (field) {
      case 'name':
        args.push('--name', String(value));
        break;
      case 'Hostname':
        args.push('--hostname', String(value));
        break;
      case 'Env':
        for (const variable of value as string[]) args.push('--env', variable);
        break;
      case 'Labels':
        for (const [key, label] of Object.entries(value as Record<string, string>)) args.push('--label', `${key}=${label}`);
        break;
      default:
        throw new Error(`dockerRunArgs: no docker run flag for container field ${field}`);
    }
  }
  for (const [field, value] of Object.entries(HostConfig ?? {})) {
    if (value === undefined) continue;
    args.push(...hostConfigFlags(field, value));
  }
  const entrypoint = typeof Entrypoint === 'string' ? [Entrypoint] : (Entrypoint ?? []);
  if (entrypoint.length > 0) args.push('--entrypoint', entrypoint[0]!);
  if (!Image) throw new Error('dockerRunArgs: the spec names no image');
  const cmd = typeof Cmd === 'string' ? [Cmd] : (Cmd ?? []);
  return [...args, Image, ...entrypoint.slice(1), ...cmd];
}

function hostConfigFlags(field: string, value: unknown): string[] {
  const each = (flag: string, values: unknown) => (values as string[]).flatMap((item) => [flag, item]);
  switch (field) {
    case 'NetworkMode':
      return ['--network', String(value)];
    case 'CapDrop':
      return each('--cap-drop', value);
    case 'CapAdd':
      return each('--cap-add', value);
    case 'SecurityOpt':
      return each('--security-opt', value);
    case 'ReadonlyRootfs':
      return value ? ['--read-only'] : [];
    case 'Tmpfs':
      return Object.entries(value as Record<string, string>).flatMap(([target, options]) => ['--tmpfs', options ? `${target}:${options}` : target]);
    case 'Memory':
      return ['--memory', `${String(value)}b`];
    case 'MemorySwap':
      return ['--memory-swap', `${String(value)}b`];
    case 'CpuShares':
      return ['--cpu-shares', String(value)];
    case 'PidsLimit':
      return ['--pids-limit', String(value)];
    case 'Binds':
      return each('--volume', value);
    case 'LogConfig': {
      const { Type, Config } = value as { Type: string; Config?: Record<string, string> };
      return ['--log-driver', Type, ...Object.entries(Config ?? {}).flatMap(([key, option]) => ['--log-opt', `${key}=${option}`])];
    }
    default:
      throw new Error(`dockerRunArgs: no docker run flag for HostConfig.${field}`);
  }
}
