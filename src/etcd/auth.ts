/**
 * etcd authentication for a run's own etcd container. Without it, any local user could write the run's keys
 * through the published port, and any node's algorithm could stop the run or rewrite the topology. So each run
 * gets two users with random passwords: `root`, which only the CLI holds (the password is in the run's state
 * folder, mode 0600), and `peerlab-node`, whose role reads the whole run but writes only the keys nodes report
 * into (see `writableByNodes` in coordination/keys.ts). An external etcd (`--etcd-endpoints`) belongs to its
 * owner: peerlab neither turns its authentication on nor logs in to it.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Range, type Etcd3 } from 'etcd3';
import { runKeys } from '../coordination/keys.js';
import { runStateDir } from '../run/state.js';
import type { RunId } from '../util/names.js';

export interface EtcdCredentials {
  readonly username: string;
  readonly password: string;
}

export interface RunCredentials {
  /** The CLI's: everything. */
  readonly root: EtcdCredentials;
  /**
   * Every node's: read the run, write only what nodes report. With a token already issued: etcd 3.4 makes each
   * login a bcrypt check and a raft write, so a thousand nodes share one token (etcd keeps a simple token alive
   * while it is used) and log in with the password only once it has expired.
   */
  readonly node: EtcdCredentials & { readonly token: string };
}

export const NODE_USER = 'peerlab-node';
const ROOT_PASSWORD_FILE = 'etcd-root-password';

/**
 * Creates the run's users and role on an etcd that has no authentication yet, then turns it on. From here on
 * every client needs credentials: reconnect with `credentials.root`.
 */
export async function enableRunAuth(etcd: Etcd3, runId: string): Promise<RunCredentials> {
  const rootPassword = randomPassword();
  const nodePassword = randomPassword();
  const keys = runKeys(runId);
  const role = etcd.role(NODE_USER);
  await role.create();
  await role.grant([
    { permission: 'Read', range: Range.prefix(keys.prefix) },
    ...keys.writableByNodes.map((prefix) => ({ permission: 'Readwrite' as const, range: Range.prefix(prefix) })),
  ]);
  await etcd.user(NODE_USER).create(nodePassword);
  await etcd.user(NODE_USER).addRole(NODE_USER);
  await etcd.user('root').create(rootPassword);
  await etcd.user('root').addRole('root');
  await etcd.auth.authEnable();
  const { token } = await etcd.auth.authenticate({ name: NODE_USER, password: nodePassword });
  return { root: { username: 'root', password: rootPassword }, node: { username: NODE_USER, password: nodePassword, token } };
}

/**
 * 192 random bits: no dictionary reaches them, which is also why etcd may hash them with bcrypt's lowest cost
 * (`--bcrypt-cost 4`, see server.ts) and a thousand nodes can log in without keeping etcd busy for a minute.
 */
function randomPassword(): string {
  return randomBytes(24).toString('base64url');
}

/** Keeps the root password beside the run's other local state, readable by its owner only. */
export async function saveRootPassword(runId: RunId, password: string): Promise<void> {
  const dir = runStateDir(runId);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(dir, ROOT_PASSWORD_FILE), password, { mode: 0o600 });
}

/** The root login of a run that is up, or undefined when this machine has no state for it (or it uses an external etcd). */
export async function savedRootCredentials(runId: RunId): Promise<EtcdCredentials | undefined> {
  const password = await readFile(path.join(runStateDir(runId), ROOT_PASSWORD_FILE), 'utf8').catch(() => undefined);
  return password === undefined ? undefined : { username: 'root', password };
}
