import { networkInterfaces } from 'node:os';

/** What a node container is told through its environment; everything else it reads from etcd. */
export interface NodeIdentity {
  readonly runId: string;
  readonly nodeId: string;
  /** Its group's role: which of the run's groups (in the config) it belongs to. */
  readonly role: string;
  readonly etcdEndpoints: string[];
  /** The nodes' etcd login and shared token when the run has its own etcd (src/etcd/auth.ts); none for an external etcd. */
  readonly etcdLogin?: { readonly username: string; readonly password: string; readonly token?: string };
  readonly algorithmPath: string;
  readonly port: number;
  /** Where the node writes its message trace (a traced run only). */
  readonly traceDir?: string;
}

export const NODE_PORT = 7000;

export const ENV = {
  run: 'PEERLAB_RUN',
  node: 'PEERLAB_NODE',
  role: 'PEERLAB_ROLE',
  etcd: 'PEERLAB_ETCD',
  etcdUser: 'PEERLAB_ETCD_USER',
  etcdPassword: 'PEERLAB_ETCD_PASSWORD',
  etcdToken: 'PEERLAB_ETCD_TOKEN',
  algorithm: 'PEERLAB_ALGORITHM',
  port: 'PEERLAB_PORT',
  trace: 'PEERLAB_TRACE',
} as const;

export function identityEnv(identity: NodeIdentity): Record<string, string> {
  return {
    [ENV.run]: identity.runId,
    [ENV.node]: identity.nodeId,
    [ENV.role]: identity.role,
    [ENV.etcd]: identity.etcdEndpoints.join(','),
    ...(identity.etcdLogin ? { [ENV.etcdUser]: identity.etcdLogin.username, [ENV.etcdPassword]: identity.etcdLogin.password } : {}),
    ...(identity.etcdLogin?.token ? { [ENV.etcdToken]: identity.etcdLogin.token } : {}),
    [ENV.algorithm]: identity.algorithmPath,
    [ENV.port]: String(identity.port),
    ...(identity.traceDir ? { [ENV.trace]: identity.traceDir } : {}),
  };
}

export function readIdentity(env: NodeJS.ProcessEnv): NodeIdentity {
  const required = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`node agent: environment variable ${name} is not set`);
    return value;
  };
  return {
    runId: required(ENV.run),
    nodeId: required(ENV.node),
    role: required(ENV.role),
    etcdEndpoints: required(ENV.etcd).split(','),
    ...(env[ENV.etcdUser]
      ? { etcdLogin: { username: env[ENV.etcdUser]!, password: required(ENV.etcdPassword), ...(env[ENV.etcdToken] ? { token: env[ENV.etcdToken] } : {}) } }
      : {}),
    algorithmPath: required(ENV.algorithm),
    port: Number(env[ENV.port] ?? NODE_PORT),
    ...(env[ENV.trace] ? { traceDir: env[ENV.trace] } : {}),
  };
}

/** The container's address on the run network (its one non-loopback IPv4). */
export function ownAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  throw new Error('node agent: no non-loopback IPv4 address');
}
