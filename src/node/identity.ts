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
  /**
   * Set when this container succeeds a node that already ran (src/migration): `migrate` restores it from the old
   * container's snapshot, `restart` starts it afresh; either way it takes over the node's id in the registry.
   */
  readonly succession?: { readonly migration: string; readonly kind: 'migrate' | 'restart' };
  /**
   * Tests only: a migration's new container exits once the snapshot arrived (`handoff`, before it commits) or once
   * it resumed (`resumed`, after), as a target that crashes there would; a moving node's old container exits on
   * its freeze, before it hands anything over (`frozen`). The CLI passes its own value on to every node it starts
   * (testExitEnv), so a test sets it once and the nodes that come to that point exit there.
   */
  readonly testExit?: TestExit;
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
  /** A successor container (migration, restart): the migration's id, and which of the two it is. */
  succeeds: 'PEERLAB_SUCCEEDS',
  succession: 'PEERLAB_SUCCESSION',
  testExit: 'PEERLAB_TEST_EXIT',
  /** Swarm: the run's overlay subnet, so a node takes its address there and not on another network it is attached to. */
  subnet: 'PEERLAB_SUBNET',
  /** Swarm: a service's node ids in slot order, and the task's slot (1-based); together they name the node. */
  nodeIds: 'PEERLAB_NODE_IDS',
  slot: 'PEERLAB_SLOT',
} as const;

/**
 * What the CLI that starts a container sets for that container alone: a successor (src/migration) gets its own
 * from the CLI that moves the node, or none, never those of the container it succeeds.
 */
export const PER_CONTAINER_ENV: ReadonlySet<string> = new Set([ENV.succeeds, ENV.succession, ENV.testExit]);

/** A container's environment lines (`KEY=value`) for its successor: without PER_CONTAINER_ENV, `added` appended. */
export function successorEnvLines(inherited: readonly string[], added: Readonly<Record<string, string>>): string[] {
  const replaced = (line: string): boolean => {
    const key = line.split('=')[0]!;
    return PER_CONTAINER_ENV.has(key) || key in added;
  };
  return [...inherited.filter((line) => !replaced(line)), ...Object.entries(added).map(([key, value]) => `${key}=${value}`)];
}

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
    ...(identity.succession ? { [ENV.succeeds]: identity.succession.migration, [ENV.succession]: identity.succession.kind } : {}),
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
    nodeId: env[ENV.node] ?? nodeOfSlot(required(ENV.nodeIds), required(ENV.slot)),
    role: required(ENV.role),
    etcdEndpoints: required(ENV.etcd).split(','),
    ...(env[ENV.etcdUser]
      ? { etcdLogin: { username: env[ENV.etcdUser]!, password: required(ENV.etcdPassword), ...(env[ENV.etcdToken] ? { token: env[ENV.etcdToken] } : {}) } }
      : {}),
    algorithmPath: required(ENV.algorithm),
    port: Number(env[ENV.port] ?? NODE_PORT),
    ...(env[ENV.trace] ? { traceDir: env[ENV.trace] } : {}),
    ...(env[ENV.succeeds] ? { succession: { migration: env[ENV.succeeds]!, kind: env[ENV.succession] === 'restart' ? ('restart' as const) : ('migrate' as const) } } : {}),
    ...testExitOf(env),
  };
}

const TEST_EXITS = ['handoff', 'resumed', 'frozen'] as const;
export type TestExit = (typeof TEST_EXITS)[number];

function isTestExit(value: string | undefined): value is TestExit {
  return (TEST_EXITS as readonly (string | undefined)[]).includes(value);
}

function testExitOf(env: NodeJS.ProcessEnv): { testExit?: TestExit } {
  const value = env[ENV.testExit];
  return isTestExit(value) ? { testExit: value } : {};
}

/** The CLI's own PEERLAB_TEST_EXIT, for the environment of a node it starts (see NodeIdentity.testExit). */
export function testExitEnv(): Record<string, string> {
  const { testExit } = testExitOf(process.env);
  return testExit ? { [ENV.testExit]: testExit } : {};
}

/** A Swarm task's node: the service lists its nodes' ids, and Swarm gives each task its slot ({{.Task.Slot}}). */
function nodeOfSlot(ids: string, slot: string): string {
  const id = ids.split(',')[Number(slot) - 1];
  if (id === undefined) throw new Error(`node agent: slot ${slot} is not among the ${ids.split(',').length} node ids of its service`);
  return id;
}

/**
 * The container's address on the run network: its one non-loopback IPv4 on a bridge; on Swarm, where a task
 * also sits on docker_gwbridge, the one inside the run's overlay subnet (`subnet`, a.b.c.d/len).
 */
export function ownAddress(subnet?: string): string {
  const candidates = Object.values(networkInterfaces())
    .flatMap((addresses) => addresses ?? [])
    .filter((address) => address.family === 'IPv4' && !address.internal)
    .map((address) => address.address);
  const chosen = subnet === undefined ? candidates[0] : candidates.find((address) => inSubnet(address, subnet));
  if (chosen === undefined) throw new Error(`node agent: no IPv4 address${subnet ? ` in ${subnet}` : ''} (have ${candidates.join(', ') || 'none'})`);
  return chosen;
}

export function inSubnet(address: string, subnet: string): boolean {
  const [base, length] = subnet.split('/');
  const toNumber = (dotted: string): number => dotted.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(length));
  return Math.floor(toNumber(address) / size) === Math.floor(toNumber(base!) / size);
}
