import type Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import { ROLE_LABEL, RUN_LABEL } from '../docker/engine.js';
import { savedRootCredentials } from '../etcd/auth.js';
import { ETCD_CLIENT_PORT } from '../etcd/server.js';
import { hasShape, parseRunId, RUN_ID } from '../util/names.js';

/** Where a run's own etcd container listens on this host, and its state; undefined if the run has none. */
export async function runEtcdContainer(docker: Docker, runId: string): Promise<{ state: string; endpoint: string | undefined } | undefined> {
  const [container] = await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`, `${ROLE_LABEL}=etcd`] } });
  if (!container) return undefined;
  const port = container.Ports.find((p) => p.PrivatePort === ETCD_CLIENT_PORT && p.PublicPort)?.PublicPort;
  return { state: container.State, endpoint: port ? `http://127.0.0.1:${port}` : undefined };
}

/**
 * A client of a run that is up, logged in as its root, or undefined when the run has no running etcd of its own
 * or was started by another user (the run's etcd lets in only its root, whose password is in the state folder of
 * the user who started it).
 */
export async function connectRunEtcd(docker: Docker, runId: string): Promise<Etcd3 | undefined> {
  const etcd = await runEtcdContainer(docker, runId);
  const auth = hasShape(RUN_ID, runId) ? await savedRootCredentials(parseRunId(runId, 'run')) : undefined;
  if (!etcd?.endpoint || etcd.state !== 'running' || !auth) return undefined;
  return new Etcd3({ hosts: etcd.endpoint, dialTimeout: 2000, auth });
}
