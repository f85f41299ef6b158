/**
 * The etcd key layout of a run. Documented in the README so `etcdctl get --prefix /peerlab/` reads naturally;
 * change both together.
 */
export const KEY_ROOT = '/peerlab';

/**
 * The lease-held queues of locks and elections (host/contention.ts) are named `locks/<name>` and
 * `elections/<name>`; the names are also key path segments under the run's prefix (see `queuePrefix`).
 */
const LOCKS = 'locks';
const ELECTIONS = 'elections';
export const lockQueue = (name: string): string => `${LOCKS}/${name}`;
export const electionQueue = (name: string): string => `${ELECTIONS}/${name}`;
/** The kinds of control key under a node's `nodeControlPrefix`: `<kind>/<other node>`. */
export const NODE_CONTROL = { linkDown: 'links-down', messageDrop: 'message-drops', linkChange: 'link-changes', clockSkew: 'clock-skew', neighbourJoin: 'neighbour-joins' } as const;

export function runKeys(runId: string) {
  const base = `${KEY_ROOT}/${runId}`;
  return {
    prefix: `${base}/`,
    /** RunConfig as JSON, written once by the controller before any node starts. */
    config: `${base}/config`,
    /** A node's neighbour list (ids and weights) as JSON. */
    topology: (id: string) => `${base}/topology/${id}`,
    /** The registry: a node's address, held by a lease, so a dead node disappears. */
    nodesPrefix: `${base}/nodes/`,
    node: (id: string) => `${base}/nodes/${id}`,
    /** Written by a node once its neighbour channels are connected. */
    readyPrefix: `${base}/ready/`,
    ready: (id: string) => `${base}/ready/${id}`,
    /** Run control: the controller writes `start` when all nodes are ready and `stop` when all have results. */
    start: `${base}/control/start`,
    stop: `${base}/control/stop`,
    /**
     * Held by the CLI under a short lease while it renews the ready nodes' registration leases for them, until
     * the start (run/lease-keeper.ts); a node renews its own again once the key is gone or the run started.
     */
    leaseKeeper: `${base}/control/lease-keeper`,
    /**
     * Quiescence waves (--until quiescent): the controller writes wave k; every node answers under counts/k/
     * with how many messages it has sent and received so far.
     */
    countWave: (wave: number) => `${base}/control/count/${wave}`,
    /**
     * Every control key aimed at one node lives under `nodeControlPrefix(id)`, so the node follows them all with
     * one watch (one etcd connection and one range per node, at any number of fault kinds):
     * - `linkDown(to, from)` (link-down): while it exists, node `to` drops what arrives from `from`, as the
     *   simulator drops a message on a cut edge, in flight or sent later;
     * - `messageDrop(to, from)` (drop-messages): while it holds a share in percent, node `to` drops that share of
     *   what arrives from `from` (AlgorithmHost.setDropShare);
     * - `linkChange(from, to)` (degrade, `peerlab link set`): while it holds a LinkChange as JSON, node `from`
     *   sends to `to` under the changed link model, and deleting it restores the run's own. The sender applies
     *   it, since the sender's outbox holds each message for its delay;
     * - `clockSkew(id)` (skew): while it holds a SkewInForce as JSON, node `id`'s clock runs off as it says
     *   (AlgorithmHost.setClockSkew); deleting it sets the clock right. Its other node is the node itself;
     * - `neighbourJoin(to, joined)` (churn's join=): node `joined` joined the run attached to node `to`, and the key
     *   holds `to`'s NeighbourEntry for it (its topology key has it too, for a container of `to` that starts later).
     * The key under the prefix is `<kind>/<other node>`, with the kinds of NODE_CONTROL. A container of the node
     * reads the keys there when it starts, then follows them: a restarted or moved node keeps its id's faults.
     */
    nodeControlPrefix: (id: string) => `${base}/control/node/${id}/`,
    linkDown: (to: string, from: string) => `${base}/control/node/${to}/${NODE_CONTROL.linkDown}/${from}`,
    messageDrop: (to: string, from: string) => `${base}/control/node/${to}/${NODE_CONTROL.messageDrop}/${from}`,
    linkChange: (from: string, to: string) => `${base}/control/node/${from}/${NODE_CONTROL.linkChange}/${to}`,
    clockSkew: (id: string) => `${base}/control/node/${id}/${NODE_CONTROL.clockSkew}/${id}`,
    neighbourJoin: (to: string, joined: string) => `${base}/control/node/${to}/${NODE_CONTROL.neighbourJoin}/${joined}`,
    /**
     * What `peerlab link set` changed while the run was up, one AppliedFault array (JSON) per call, so the run's
     * own CLI puts it in faults.ndjson and the report beside the scheduled faults.
     */
    linkSetsPrefix: `${base}/control/link-sets/`,
    linkSet: (id: string) => `${base}/control/link-sets/${id}`,
    /**
     * A node migration or restart (src/migration, node/migration.ts): the CLI writes a MigrationControl for node
     * `id`; the node itself and its neighbours act on it. `migrating` is held by the one migration under way.
     */
    migrationsControlPrefix: `${base}/control/migrations/`,
    migrationControl: (id: string) => `${base}/control/migrations/${id}`,
    migrating: `${base}/control/migrating`,
    /**
     * What the nodes of a migration tell the CLI: the old node's answer, the new one's address, the record; its
     * MigrationDecision (`decided`, which every node follows); the old node's `left` once it has ended its links
     * after a commit, or `resumed`, its times once it went on after an abort.
     */
    migrationsPrefix: `${base}/migrations/`,
    migrationStep: (id: string, migration: string, step: 'prepared' | 'listening' | 'decided' | 'left' | 'resumed' | 'done') => `${base}/migrations/${id}/${migration}/${step}`,
    countsPrefix: (wave: number) => `${base}/counts/${wave}/`,
    count: (wave: number, id: string) => `${base}/counts/${wave}/${id}`,
    /** A node's output: its result as soon as it reports; then, after stop, its final metrics and traffic. */
    resultsPrefix: `${base}/results/`,
    result: (id: string) => `${base}/results/${id}`,
    /** A node's LiveReport, rewritten every few seconds while a dashboard watches and the nodes report through etcd (RunConfig.liveReports). */
    live: (id: string) => `${base}/live/${id}`,
    /** A node's NodeLoad, rewritten under its lease while a placement policy runs (RunConfig.loadReportMs). */
    loadPrefix: `${base}/load/`,
    load: (id: string) => `${base}/load/${id}`,
    reportsPrefix: `${base}/reports/`,
    report: (id: string) => `${base}/reports/${id}`,
    /** A failure inside a node (an exception in a handler, a bad payload), with its stack. */
    errorsPrefix: `${base}/errors/`,
    error: (id: string) => `${base}/errors/${id}`,
    /** Barrier arrivals, and the key the controller writes when everyone has arrived. */
    barrierArrivalsPrefix: `${base}/barriers/arrived/`,
    barrierArrival: (name: string, id: string) => `${base}/barriers/arrived/${name}/${id}`,
    barrierOpen: (name: string) => `${base}/barriers/open/${name}`,
    /** The algorithms' shared store. */
    store: (key: string) => `${base}/store/${key}`,
    /** The service registry: one key per instance of a service, held by the lease of the node that offers it. */
    servicesPrefix: `${base}/services/`,
    servicePrefix: (service: string) => `${base}/services/${service}/`,
    service: (service: string, id: string) => `${base}/services/${service}/${id}`,
    /**
     * A lock's or an election's queue (`locks/<name>`, `elections/<name>`, see host/contention.ts): one
     * key per node, held by its lease, ordered by create revision as in etcd's concurrency recipes.
     */
    queuePrefix: (queue: string) => `${base}/${queue}/`,
    queueEntry: (queue: string, id: string) => `${base}/${queue}/${id}`,
    /**
     * What the nodes' etcd role may write (src/etcd/auth.ts): everything a node reports or shares. The rest of the
     * run (config, topology, control, open barriers) is the controller's, and nodes may only read it.
     */
    writableByNodes: [
      `${base}/nodes/`,
      `${base}/ready/`,
      `${base}/results/`,
      `${base}/reports/`,
      `${base}/errors/`,
      `${base}/barriers/arrived/`,
      `${base}/store/`,
      `${base}/services/`,
      `${base}/${LOCKS}/`,
      `${base}/${ELECTIONS}/`,
      `${base}/counts/`,
      `${base}/live/`,
      `${base}/load/`,
      `${base}/migrations/`,
    ],
  };
}

export type RunKeys = ReturnType<typeof runKeys>;
