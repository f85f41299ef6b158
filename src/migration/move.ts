/**
 * The CLI's half of moving a node id to a new container (the node agent's half is src/node/migration.ts): one
 * primitive for both `migrate` (the new container restores the old one's snapshot) and `restart` (it starts
 * afresh). `peerlab migrate` calls it on a run that is up; the fault schedule calls it inside `peerlab run`.
 *
 *   1. checks: the run has started and not ended, the node and the host exist; then it waits its turn (one move
 *      at a time per run: a move under way, from a fault, a policy or another `peerlab migrate`, finishes first);
 *   2. migrate: the node answers `prepare` (can a snapshot carry it now?);
 *   3. the new container starts, same id, and says where it listens;
 *   4. migrate writes `freeze` (the cut, the snapshot, the handoff run between the nodes); restart removes the
 *      old container, then writes `takeover`;
 *   5. the new node writes its record once it has resumed; the old container, once it has ended its links, is removed.
 * Up to the freeze, Ctrl-C or a failure removes the new container and the node stays where it was. From the
 * freeze on the move is the nodes' (Ctrl-C waits for it): the new node commits once it has the snapshot, before it
 * handles anything. If the new container dies first, the CLI aborts the move instead (whichever comes first wins,
 * see MigrationDecision): the old node goes on, its neighbours send it again what they had sent the new one, and
 * the failed move is recorded. If it dies after its commit, the old one has handed over: the node is lost, and
 * the run fails naming it.
 */
import type { Etcd3, Lease } from 'etcd3';
import { nextChange, nextRevision, valueOnceSet } from '../coordination/etcd.js';
import { runKeys, type RunKeys } from '../coordination/keys.js';
import { MOVE_DONE_TIMEOUT_MS, type MigrationControl, type MigrationDecision, type MigrationPrepared, type MigrationRecord, type NodeFailure } from '../coordination/protocol.js';
import { PeerlabError } from '../errors.js';
import { ENV, testExitEnv } from '../node/identity.js';
import type { SuccessorNodes } from '../runtime/types.js';

export interface MoveRequest {
  readonly runId: string;
  readonly nodeId: string;
  readonly kind: 'migrate' | 'restart';
  /** Where the node goes; by default the least loaded other host (a restart: the host it is on). */
  readonly to?: string;
  /** Ctrl-C: honoured until the freeze, see above. */
  readonly signal?: AbortSignal;
  /** Told once, with the move under way, if this one has to wait for it. */
  readonly onWaiting?: (holder: string) => void;
  /** Called just before the old container of a restart is removed (the run then expects its links to break). */
  readonly beforeRemovingOld?: () => void;
}

/** How long each step may take before the move is given up (before the commit) or reported stuck (after). */
const STEP_TIMEOUT_MS = { prepared: 10_000, listening: 60_000, done: MOVE_DONE_TIMEOUT_MS, resumed: 60_000, left: 10_000 } as const;
/** The lock on one move at a time: its lease lapses if the CLI holding it dies. */
const LOCK_TTL_SECONDS = 30;

/** A move's record, as the new node wrote it, and the host it went to. */
export type MoveOutcome = MigrationRecord & { readonly host: string };

export async function moveNode(nodes: SuccessorNodes, etcd: Etcd3, request: MoveRequest): Promise<MoveOutcome> {
  const { runId, nodeId, kind } = request;
  const keys = runKeys(runId);
  if ((await etcd.get(keys.topology(nodeId)).string()) === null) {
    // In the first moments of a bring-up etcd is up but no topology is published yet: no node is known.
    if ((await etcd.getAll().prefix(keys.topology('')).count()) === 0) throw stillInBringUp(runId);
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
  // A restart takes its own place; a move needs a place on its target (maxNodes), which leastLoadedHost checked.
  const checkRoom = async (): Promise<void> => {
    const full = kind === 'migrate' && to !== from ? await nodes.whyNoRoom(to) : undefined;
    if (full) throw full;
  };
  if (request.to !== undefined) await checkRoom();
  const migration = `${kind}-${nodeId}-${Date.now().toString(36)}`;
  const lease = etcd.lease(LOCK_TTL_SECONDS);
  try {
    const waitedMs = await takeTurn(etcd, keys, lease, `node ${nodeId} (${migration})`, request);
    // The run may have ended, or the target filled up, while this move waited.
    if (waitedMs !== undefined) {
      await checkRunning(etcd, keys, runId);
      await checkRoom();
    }
    const control = (value: MigrationControl) => etcd.put(keys.migrationControl(nodeId)).value(JSON.stringify(value));
    const old = await nodes.currentContainer(nodeId);
    let successor: string | undefined;
    let alive: ReturnType<typeof watchAlive> | undefined;
    let oldAlive: ReturnType<typeof watchAlive> | undefined;
    let frozen = false;
    try {
      if (kind === 'migrate') {
        await control({ migration, phase: 'prepare' });
        const prepared = JSON.parse(await waitForKey(etcd, keys.migrationStep(nodeId, migration, 'prepared'), STEP_TIMEOUT_MS.prepared, request.signal, `node ${nodeId} to answer`)) as MigrationPrepared;
        if (prepared.refusal) throw new PeerlabError(`cannot migrate: ${prepared.refusal}`, { hint: 'see the SDK\'s snapshot and restore hooks (README, "Migration")' });
      }
      successor = await nodes.startSuccessor(nodeId, { [ENV.succeeds]: migration, [ENV.succession]: kind, ...testExitEnv() }, to, request.signal).catch((error: unknown) => {
        throw request.signal?.aborted ? cancelled(nodeId) : error;
      });
      const successorLog = 'see its log: docker logs ' + successor.slice(0, 12);
      alive = watchAlive(nodes, successor, (how) => new ContainerEnded(how, `the new container of node ${nodeId} ${how} before it took over`, successorLog));
      const target = JSON.parse(await alive.race(waitForKey(etcd, keys.migrationStep(nodeId, migration, 'listening'), STEP_TIMEOUT_MS.listening, request.signal, `the new container of node ${nodeId} to listen`))) as MigrationControl['target'] & object;
      if (request.signal?.aborted) throw cancelled(nodeId);
      frozen = true;
      if (kind === 'migrate') {
        // From the freeze the old container holds the only state of the node until it hands it over: its death is
        // watched too, or the move would wait STEP_TIMEOUT_MS.done for a snapshot that cannot come.
        oldAlive = watchAlive(nodes, old, (how) => new OldContainerEnded(how));
        await control({ migration, phase: 'freeze', target });
      } else {
        request.beforeRemovingOld?.();
        await nodes.removeContainer(old);
        await control({ migration, phase: 'takeover', target, goneAt: Date.now() });
      }
      const done = keys.migrationStep(nodeId, migration, 'done');
      const aborted = { nodeId, migration, successor, target: target.address, waitedMs };
      let record: MigrationRecord;
      // Set when the old container ended after the new one committed: the move completes without its goodbye.
      let oldEnded = false;
      try {
        // The old node calls the move off itself when it can no longer be snapshotted (see leave): it goes on.
        // (A wait for that which times out is no failure of its own: the wait for `done` says what is stuck.)
        // Its watch ends with the wait for `done`.
        const settled = new AbortController();
        const stayed = waitForKey(etcd, keys.migrationStep(nodeId, migration, 'resumed'), STEP_TIMEOUT_MS.done, settled.signal, 'the old node').then(
          (json) => Promise.reject(new OldNodeStayed((JSON.parse(json) as Resumed).refusal ?? 'it could not be snapshotted')),
          () => new Promise<never>(() => {}),
        );
        stayed.catch(() => {});
        const resumed = (): Promise<string> => alive!.race(Promise.race([waitForKey(etcd, done, STEP_TIMEOUT_MS.done, undefined, `node ${nodeId} to resume in its new container`), stayed]));
        try {
          record = JSON.parse(await (oldAlive?.race(resumed()) ?? resumed())) as MigrationRecord;
        } catch (error) {
          if (!(error instanceof OldContainerEnded)) throw error;
          await oldDied(nodes, etcd, { nodeId, migration, how: error.how });
          oldEnded = true;
          record = JSON.parse(await resumed()) as MigrationRecord;
        } finally {
          settled.abort();
        }
      } catch (error) {
        if (kind === 'migrate' && error instanceof ContainerEnded) return await targetDied(nodes, etcd, { ...aborted, how: error.how });
        if (error instanceof OldNodeStayed) return await abandoned(nodes, etcd, aborted, `at the freeze, ${error.message}`);
        throw error;
      }
      if (waitedMs !== undefined) await etcd.put(done).value(JSON.stringify({ ...record, waitedMs }));
      if (kind === 'migrate' && oldEnded) await nodes.removeContainer(old);
      else if (kind === 'migrate') {
        // Once it has ended its links to its neighbours: removed before, it could leave them waiting.
        try {
          await waitForKey(etcd, keys.migrationStep(nodeId, migration, 'left'), STEP_TIMEOUT_MS.left, undefined, `node ${nodeId}'s old container to end its links`);
        } finally {
          await nodes.removeContainer(old);
        }
      }
      return { ...record, ...(waitedMs !== undefined && { waitedMs }), host: to };
    } catch (error) {
      // Before the freeze the old container still serves the node: only the new one goes.
      if (successor && !frozen) await nodes.removeContainer(successor).catch(() => {});
      throw error;
    } finally {
      alive?.stop();
      oldAlive?.stop();
      await etcd.delete().key(keys.migrationControl(nodeId)).catch(() => {});
    }
  } finally {
    await lease.revoke().catch(() => {});
  }
}

/**
 * The new container of a move died after the freeze. If it had not committed, the move is aborted (see
 * MigrationDecision): it goes, the old node goes on, and the failed move is recorded
 * (always throws). If it had, the old node has handed over: the node is lost, and its error fails the run.
 */
async function targetDied(
  nodes: SuccessorNodes,
  etcd: Etcd3,
  move: { nodeId: string; migration: string; successor: string; target: string; waitedMs: number | undefined; how: string },
): Promise<never> {
  const { nodeId, migration } = move;
  if (!(await abortUnlessCommitted(etcd, nodes.runId, nodeId, migration))) {
    await nodes.removeContainer(move.successor);
    // The old container stays until the run's teardown: its death now would be taken for the cause.
    return declareLost(etcd, nodes.runId, nodeId, `its new container ${move.how} after it took over, and its old one had handed over`);
  }
  return abandoned(nodes, etcd, move, `its new container ${move.how} before it took over`);
}

/**
 * The old container of a move died after the freeze. If the new node had not committed, the move is aborted (see
 * MigrationDecision) and the node is lost: its state went with the old container; its error fails the run
 * (always throws). If it had, the old one had handed over, and its death costs nothing: the move goes on.
 */
async function oldDied(nodes: SuccessorNodes, etcd: Etcd3, move: { nodeId: string; migration: string; how: string }): Promise<void> {
  if (!(await abortUnlessCommitted(etcd, nodes.runId, move.nodeId, move.migration))) return;
  // The new container, which never got the state, stays until the run's teardown: removed now, its death would
  // be taken for the cause (no other container of the node runs).
  return declareLost(etcd, nodes.runId, move.nodeId, `its old container ${move.how} after the freeze, before it handed its state over`);
}

/** Decides the move `aborted` unless the new node committed first (see MigrationDecision); says whether it did. */
async function abortUnlessCommitted(etcd: Etcd3, runId: string, nodeId: string, migration: string): Promise<boolean> {
  const decided = runKeys(runId).migrationStep(nodeId, migration, 'decided');
  const aborted = await etcd.if(decided, 'Create', '==', 0).then(etcd.put(decided).value('aborted' satisfies MigrationDecision)).commit();
  return aborted.succeeded;
}

/** The node is gone with its move: its error fails the run, naming it (always throws). */
async function declareLost(etcd: Etcd3, runId: string, nodeId: string, how: string): Promise<never> {
  const lost = `lost in its move: ${how}`;
  await etcd.put(runKeys(runId).error(nodeId)).value(JSON.stringify({ message: lost, stack: undefined } satisfies NodeFailure));
  throw new PeerlabError(`node ${nodeId} was ${lost}`, { hint: 'the run fails naming the node' });
}

/** What the old node of an aborted move writes once it went on (`resumed`). */
interface Resumed {
  readonly frozenAt: number;
  readonly resumedAt: number;
  /** Set when it called the move off itself: why it could not be snapshotted. */
  readonly refusal?: string;
}

/** The old node stayed: the move was aborted by it (see leave in node/migration.ts). */
class OldNodeStayed extends Error {}

/** An aborted move: the new container goes, the old node went on; records the failed move and throws why. */
async function abandoned(nodes: SuccessorNodes, etcd: Etcd3, move: { nodeId: string; migration: string; successor: string; target: string; waitedMs: number | undefined }, why: string): Promise<never> {
  const { nodeId, migration } = move;
  const keys = runKeys(nodes.runId);
  await nodes.removeContainer(move.successor);
  const failed = `${why}: node ${nodeId} went on in its old container`;
  const { frozenAt, resumedAt } = JSON.parse(await waitForKey(etcd, keys.migrationStep(nodeId, migration, 'resumed'), STEP_TIMEOUT_MS.resumed, undefined, `node ${nodeId} to go on in its old container`)) as Resumed;
  const record: MigrationRecord = {
    node: nodeId,
    migration,
    kind: 'migrate',
    frozenAt,
    resumedAt,
    downtimeMs: resumedAt - frozenAt,
    snapshotBytes: 0,
    carried: 0,
    replayed: 0,
    to: move.target,
    failed,
    ...(move.waitedMs !== undefined && { waitedMs: move.waitedMs }),
  };
  await etcd.put(keys.migrationStep(nodeId, migration, 'done')).value(JSON.stringify(record));
  throw new PeerlabError(`migration of node ${nodeId} failed: ${failed}`, { hint: 'the failed move is recorded in the run\'s migrations.ndjson' });
}

/**
 * Takes the run's one move (a key under this CLI's lease, which lapses if the CLI dies), after the move under
 * way if there is one. Returns how long it waited, undefined if it did not.
 */
async function takeTurn(etcd: Etcd3, keys: RunKeys, lease: Lease, holder: string, request: MoveRequest): Promise<number | undefined> {
  const since = Date.now();
  let waiting: string | undefined;
  for (;;) {
    const locked = await etcd.if(keys.migrating, 'Create', '==', 0).then(lease.put(keys.migrating).value(holder)).commit();
    if (locked.succeeded) return waiting === undefined ? undefined : Date.now() - since;
    if (waiting === undefined) {
      waiting = (await etcd.get(keys.migrating).string()) ?? 'a move that just finished';
      request.onWaiting?.(waiting);
    }
    // The move under way ends by deleting the key, or its CLI dies and the key's lease lapses: either is a delete
    // after the revision this try saw.
    await nextChange(etcd, keys.migrating, nextRevision(locked.header.revision), 'delete', request.signal).catch((error: unknown) => {
      throw request.signal?.aborted ? cancelled(request.nodeId) : error;
    });
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
  if ((await etcd.get(keys.start).string()) === null) throw stillInBringUp(runId);
  if ((await etcd.get(keys.stop).string()) !== null) throw new PeerlabError(`run ${runId} has ended: its nodes no longer move`, { hint: 'start a run with `peerlab up` or `peerlab run`' });
}

/** The value of `key` once it exists; a one-line error after `timeoutMs`, or once `signal` aborts. */
async function waitForKey(etcd: Etcd3, key: string, timeoutMs: number, signal: AbortSignal | undefined, what: string): Promise<string> {
  const giveUp = new AbortController();
  const timer = setTimeout(() => giveUp.abort(new PeerlabError(`gave up waiting ${timeoutMs / 1000} s for ${what}`, { hint: 'see the node\'s log (peerlab logs)' })), timeoutMs);
  const cancel = () => giveUp.abort(cancelled(key.split('/').at(-3)!));
  if (signal?.aborted) cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    return await valueOnceSet(etcd, key, giveUp.signal);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', cancel);
  }
}

function cancelled(nodeId: string): PeerlabError {
  return new PeerlabError(`migration of node ${nodeId} cancelled: it stays in its container`, { exitCode: 130 });
}

/** A container a move waited on ended: `how` says how (see SuccessorNodes.howEnded). */
class ContainerEnded extends PeerlabError {
  constructor(
    readonly how: string,
    message: string,
    hint: string,
  ) {
    super(message, { hint });
  }
}

/** The old container of a move ended (`how`, see SuccessorNodes.howEnded) after the freeze. */
class OldContainerEnded extends Error {
  constructor(readonly how: string) {
    super(`the old container ${how}`);
  }
}

/** Fails a wait with `ended(how)` once the container stops running: a container that died is not waited for. */
function watchAlive(nodes: SuccessorNodes, container: string, ended: (how: string) => Error): { race<T>(work: Promise<T>): Promise<T>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const died = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      void nodes.howEnded(container).then((how) => {
        if (how !== undefined) reject(ended(how));
      });
    }, 250);
  });
  died.catch(() => {});
  return {
    race: (work) => Promise.race([work, died]),
    stop: () => clearInterval(timer),
  };
}

function stillInBringUp(runId: string): PeerlabError {
  return new PeerlabError(`run ${runId} is still in bring-up: a node can move once its algorithm has started`, { hint: 'wait for the run to start (peerlab status), then try again' });
}
