/**
 * The CLI's half of moving a node id to a new container (the node agent's half is src/node/migration.ts): one
 * primitive for both `migrate` (the new container restores the old one's snapshot) and `restart` (it starts
 * afresh). `peerlab migrate` calls it on a run that is up; the fault schedule calls it inside `peerlab run`.
 *
 *   1. checks: the run has started and not ended, the node and the host exist, no other move is under way;
 *   2. migrate: the node answers `prepare` (can a snapshot carry it now?);
 *   3. the new container starts, same id, and says where it listens;
 *   4. the commit: migrate writes `freeze` (the cut, the snapshot, the handoff run between the nodes); restart
 *      removes the old container, then writes `takeover`;
 *   5. the new node writes its record once it has resumed; the old container is removed.
 * Up to the commit, Ctrl-C or a failure removes the new container and the node stays where it was. From the
 * commit on the move completes (Ctrl-C waits for it): after `freeze` the node's neighbours already send to the
 * new container, so going back would lose what they sent.
 */
import type { Etcd3 } from 'etcd3';
import { runKeys, type RunKeys } from '../coordination/keys.js';
import type { MigrationControl, MigrationPrepared, MigrationRecord } from '../coordination/protocol.js';
import { PeerlabError } from '../errors.js';
import type { SuccessorNodes } from '../runtime/types.js';

export interface MoveRequest {
  readonly runId: string;
  readonly nodeId: string;
  readonly kind: 'migrate' | 'restart';
  /** Where the node goes; by default the least loaded other host (a restart: the host it is on). */
  readonly to?: string;
  /** Ctrl-C: honoured until the commit, see above. */
  readonly signal?: AbortSignal;
  /** Called just before the old container of a restart is removed (the run then expects its links to break). */
  readonly beforeRemovingOld?: () => void;
}

/** How long each step may take before the move is given up (before the commit) or reported stuck (after). */
const STEP_TIMEOUT_MS = { prepared: 10_000, listening: 60_000, done: 60_000 } as const;
const POLL_MS = 10;
/** The lock on one move at a time: its lease lapses if the CLI holding it dies. */
const LOCK_TTL_SECONDS = 30;

/** A move's record, as the new node wrote it, and the host it went to. */
export type MoveOutcome = MigrationRecord & { readonly host: string };

export async function moveNode(nodes: SuccessorNodes, etcd: Etcd3, request: MoveRequest): Promise<MoveOutcome> {
  const { runId, nodeId, kind } = request;
  const keys = runKeys(runId);
  if ((await etcd.get(keys.topology(nodeId)).string()) === null) {
    throw new PeerlabError(`run ${runId} has no node ${nodeId}`, { hint: 'see `peerlab status --nodes` for its nodes' });
  }
  const hosts = await nodes.hosts();
  if (request.to !== undefined && !hosts.includes(request.to)) {
    throw new PeerlabError(`--to ${request.to}: run ${runId} has no host ${request.to}`, { hint: `its hosts: ${hosts.join(', ')}` });
  }
  await checkRunning(etcd, keys, runId);
  // Asked only now: during bring-up the node may have no container yet.
  const from = await nodes.hostOf(nodeId);
  const to = request.to ?? (kind === 'restart' ? from : await nodes.leastLoadedHost(from));
  const migration = `${kind}-${nodeId}-${Date.now().toString(36)}`;
  const lease = etcd.lease(LOCK_TTL_SECONDS);
  try {
    const locked = await etcd.if(keys.migrating, 'Create', '==', 0).then(lease.put(keys.migrating).value(`${nodeId} ${migration}`)).commit();
    if (!locked.succeeded) {
      const holder = await etcd.get(keys.migrating).string();
      throw new PeerlabError(`run ${runId} is moving another node (${holder ?? 'just finished'}): one move at a time`, { hint: 'wait for it to finish, then try again' });
    }
    const control = (value: MigrationControl) => etcd.put(keys.migrationControl(nodeId)).value(JSON.stringify(value));
    const old = await nodes.currentContainer(nodeId);
    let successor: string | undefined;
    let alive: ReturnType<typeof watchAlive> | undefined;
    let committed = false;
    try {
      if (kind === 'migrate') {
        await control({ migration, phase: 'prepare' });
        const prepared = JSON.parse(await waitForKey(etcd, keys.migrationStep(nodeId, migration, 'prepared'), STEP_TIMEOUT_MS.prepared, request.signal, `node ${nodeId} to answer`)) as MigrationPrepared;
        if (prepared.refusal) throw new PeerlabError(`cannot migrate: ${prepared.refusal}`, { hint: 'see the SDK\'s snapshot and restore hooks (README, "Migration")' });
      }
      successor = await nodes.startSuccessor(nodeId, { PEERLAB_SUCCEEDS: migration, PEERLAB_SUCCESSION: kind }, to);
      alive = watchAlive(nodes, successor, `the new container of node ${nodeId}`);
      const target = JSON.parse(await alive.race(waitForKey(etcd, keys.migrationStep(nodeId, migration, 'listening'), STEP_TIMEOUT_MS.listening, request.signal, `the new container of node ${nodeId} to listen`))) as MigrationControl['target'] & object;
      if (request.signal?.aborted) throw cancelled(nodeId);
      committed = true;
      if (kind === 'migrate') {
        await control({ migration, phase: 'freeze', target });
      } else {
        request.beforeRemovingOld?.();
        await nodes.removeContainer(old);
        await control({ migration, phase: 'takeover', target, goneAt: Date.now() });
      }
      const record = JSON.parse(await alive.race(waitForKey(etcd, keys.migrationStep(nodeId, migration, 'done'), STEP_TIMEOUT_MS.done, undefined, `node ${nodeId} to resume in its new container`))) as MigrationRecord;
      if (kind === 'migrate') await nodes.removeContainer(old);
      return { ...record, host: to };
    } catch (error) {
      // Before the commit the old container still serves the node: only the new one goes.
      if (successor && !committed) await nodes.removeContainer(successor).catch(() => {});
      throw error;
    } finally {
      alive?.stop();
      await etcd.delete().key(keys.migrationControl(nodeId)).catch(() => {});
    }
  } finally {
    await lease.revoke().catch(() => {});
  }
}

/** Every move's record so far (what the new nodes wrote), in the order they resumed: migrations.ndjson. */
export async function readMoveRecords(etcd: Etcd3, runId: string): Promise<MigrationRecord[]> {
  const keys = runKeys(runId);
  const all = await etcd.getAll().prefix(keys.migrationsPrefix).strings();
  return Object.entries(all)
    .filter(([key]) => key.endsWith('/done'))
    .map(([, value]) => JSON.parse(value) as MigrationRecord)
    .sort((a, b) => a.resumedAt - b.resumedAt);
}

async function checkRunning(etcd: Etcd3, keys: RunKeys, runId: string): Promise<void> {
  if ((await etcd.get(keys.start).string()) === null) {
    throw new PeerlabError(`run ${runId} is still in bring-up: a node can move once its algorithm has started`, { hint: 'wait for the run to start (peerlab status), then try again' });
  }
  if ((await etcd.get(keys.stop).string()) !== null) throw new PeerlabError(`run ${runId} has ended: its nodes no longer move`, { hint: 'start a run with `peerlab up` or `peerlab run`' });
}

/** The value of `key` once it exists; a one-line error after `timeoutMs`, or once `signal` aborts. */
async function waitForKey(etcd: Etcd3, key: string, timeoutMs: number, signal: AbortSignal | undefined, what: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await etcd.get(key).string();
    if (value !== null) return value;
    if (signal?.aborted) throw cancelled(key.split('/').at(-3)!);
    if (Date.now() > deadline) throw new PeerlabError(`gave up waiting ${timeoutMs / 1000} s for ${what}`, { hint: 'see the node\'s log (peerlab logs)' });
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function cancelled(nodeId: string): PeerlabError {
  return new PeerlabError(`migration of node ${nodeId} cancelled: it stays in its container`, { exitCode: 130 });
}

/** Fails a wait once the container stops running: a new container that crashed is not waited for. */
function watchAlive(nodes: SuccessorNodes, container: string, what: string): { race<T>(work: Promise<T>): Promise<T>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      void nodes.isRunning(container).then((running) => {
        if (!running) reject(new PeerlabError(`${what} exited before it took over`, { hint: 'see its log: docker logs ' + container.slice(0, 12) }));
      });
    }, 250);
  });
  died.catch(() => {});
  return {
    race: (work) => Promise.race([work, died]),
    stop: () => clearInterval(timer),
  };
}
