/**
 * The host-side primitives of a local cluster: network namespaces, veths and addresses (iproute2), the
 * processes and mounts an engine leaves, and what the host's network already uses. Each removal tolerates an
 * object that is already gone, so `cluster down` can run after any partial `up`.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { PeerlabError } from '../errors.js';

const exec = promisify(execFile);
const NETNS_DIR = '/run/netns';

/** Runs a host tool; a failure is a one-line PeerlabError with the tool's own message. */
export async function tool(command: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await exec(command, [...args], { encoding: 'utf8', timeout: 60_000 });
    return stdout;
  } catch (error) {
    const failed = error as { code?: string; stderr?: string; message: string };
    if (failed.code === 'ENOENT') throw new PeerlabError(`${command} is not installed`, { hint: 'install iproute2 and util-linux (apt-get install iproute2 util-linux)', cause: error });
    const reason = failed.stderr?.trim().split('\n').pop() ?? failed.message;
    throw new PeerlabError(`${command} ${args.join(' ')} failed: ${reason}`, { hint: 'a local cluster needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); run as root', cause: error });
  }
}

export async function netnsNames(): Promise<string[]> {
  return readdir(NETNS_DIR).catch(() => []);
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export async function addNetns(name: string): Promise<void> {
  await tool('ip', ['netns', 'add', name]);
  await tool('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export async function deleteNetns(name: string): Promise<boolean> {
  if (!(await netnsNames()).includes(name)) return false;
  await tool('ip', ['netns', 'delete', name]);
  return true;
}

/** Interface names in a namespace (the host's when netns is undefined). */
export async function linkNames(netns?: string): Promise<string[]> {
  const args = netns ? ['-n', netns, '-j', 'link', 'show'] : ['-j', 'link', 'show'];
  const links = JSON.parse((await tool('ip', args)) || '[]') as Array<{ ifname: string }>;
  return links.map((link) => link.ifname);
}

export async function deleteLink(name: string, netns?: string): Promise<boolean> {
  if (!(await linkNames(netns)).includes(name)) return false;
  try {
    await tool('ip', [...(netns ? ['-n', netns] : []), 'link', 'delete', name]);
    return true;
  } catch (error) {
    // A veth leg goes away on its own, a moment after the namespace that held its peer is deleted: gone is done.
    if (!(await linkNames(netns)).includes(name)) return false;
    throw error;
  }
}

/** Every IPv4 network the host routes or has an address in: what a new subnet must not overlap. */
export async function hostNetworks(): Promise<string[]> {
  const routes = JSON.parse((await tool('ip', ['-4', '-j', 'route', 'show', 'table', 'all'])) || '[]') as Array<{ dst: string }>;
  const addresses = JSON.parse((await tool('ip', ['-4', '-j', 'addr', 'show'])) || '[]') as Array<{ addr_info?: Array<{ local: string; prefixlen: number }> }>;
  const networks = routes.map((route) => route.dst).filter((dst) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(dst) && dst !== '0.0.0.0/0');
  for (const link of addresses) for (const info of link.addr_info ?? []) networks.push(`${info.local}/${info.prefixlen}`);
  return networks;
}

/** Whether a local UDP socket holds the port (/proc/net/udp lists the kernel's VXLAN sockets too). */
export async function udpPortInUse(port: number): Promise<boolean> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(file, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) if (line.trim().split(/\s+/)[1]?.endsWith(hex)) return true;
  }
  return false;
}

/**
 * Listening sockets on these ports, as "2377/tcp" strings, in this process's network namespace or in that of
 * process `pid` (/proc/<pid>/net shows that process's namespace).
 */
export async function listeningPorts(ports: ReadonlyArray<{ port: number; protocol: 'tcp' | 'udp' }>, pid?: number): Promise<string[]> {
  const listening: string[] = [];
  for (const { port, protocol } of ports) {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const file of [`/proc/${pid ?? 'self'}/net/${protocol}`, `/proc/${pid ?? 'self'}/net/${protocol}6`]) {
      const text = await readFile(file, 'utf8').catch(() => '');
      // tcp state 0A is LISTEN; a bound udp socket has state 07.
      const found = text.split('\n').slice(1).some((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[1]?.endsWith(hex) && fields[3] === (protocol === 'tcp' ? '0A' : '07');
      });
      if (found) {
        listening.push(`${port}/${protocol}`);
        break;
      }
    }
  }
  return listening;
}

/** Mount points at or under a directory, deepest first (the order to unmount them in). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined && (point === dir || point.startsWith(`${dir}/`)))
    // mountinfo escapes blanks as \040; our paths have none, so the raw field is the path.
    .sort((a, b) => b.length - a.length);
  return [...new Set(points)];
}

export async function unmountLazily(point: string): Promise<void> {
  await tool('umount', ['-l', point]).catch(() => undefined);
}

/** The programs an engine runs: dockerd, its containerd, the shims (comm is cut to 15 characters) and proxies. */
const ENGINE_PROGRAMS = new Set(['dockerd', 'containerd', 'containerd-shim', 'docker-proxy', 'runc']);

/**
 * An engine's own processes: engine programs whose command line names a path under the engine's folder (its
 * dockerd, its containerd and their shims all do). A shell or a `docker -H unix://…/docker.sock` that merely
 * mentions the folder is not one of them.
 */
export async function processesUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const comm = (await readFile(`/proc/${entry}/comm`, 'utf8').catch(() => '')).trim();
    if (!ENGINE_PROGRAMS.has(comm)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg.includes(`${dir}/`))) pids.push(Number(entry));
  }
  return pids;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Swarm names the VXLAN device of an overlay network `vx-<VNI, 6 hex>-<network id>`. One left in the host's
 * namespace by an earlier Swarm (a crashed engine, a forced leave) makes the next overlay with that VNI fail
 * with "error creating vxlan interface: file exists". Called only while the host's engine is in no Swarm, when
 * any such device is stale by definition.
 */
export async function removeStaleVxlans(): Promise<string[]> {
  const stale = (await linkNames()).filter((link) => /^vx-[0-9a-f]{6}-/.test(link));
  for (const link of stale) await deleteLink(link);
  return stale;
}
