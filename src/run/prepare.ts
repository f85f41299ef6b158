import type { FaultEvent } from '../faults/events.js';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import type { Json, Algorithm, GraphDefaults } from '../sdk/types.js';
import type { LiveReports, RunConfig } from '../coordination/protocol.js';
import { PeerlabError } from '../errors.js';
import { bundleAlgorithm, bundleForNodes, type AlgorithmBundle } from '../plugins/bundle.js';
import { checkNodeParams, resolveParamsOnGraph } from '../plugins/params.js';
import { resolveAlgorithm } from '../plugins/resolve.js';
import { delayAsLinks } from '../runtime/sim/delay.js';
import { chooseLinksLayer, packetSupport, type LinksMode } from '../links/packet.js';
import { loadTopology, type LoadedTopology } from '../topology/index.js';
import { oracleFor, joinsUnjudged, type Oracle } from '../verify/index.js';
import { faultsSeenOf } from '../verify/faults.js';
import { ownCheckOracle } from './own-check.js';
import { assignRoles, idRange, type RoleRequest } from './roles.js';
import { runStateDir } from './state.js';
import type { RunId } from '../util/names.js';
import { newRunId } from './run-id.js';

export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

/** One role of a prepared run: the nodes that run one bundled algorithm with one set of parameters. */
export interface PreparedGroup {
  readonly role: string;
  /** The algorithm's source file. */
  readonly source: string;
  /** The algorithm bundled for the CLI (real zod), which the simulator's worker thread loads. */
  readonly bundleFile: string;
  /** The algorithm bundled for the node containers (see bundleForNodes), in `bundleDir`; roles with the same source share it. */
  readonly nodeBundleFile: string;
  readonly algorithm: Algorithm;
  readonly params: Json;
  /** The parameters the algorithm file's graphDefaults filled in, as `name=value` (the replay line prints them). */
  readonly derivedParams: readonly string[];
  readonly nodes: readonly string[];
}

/** What every runtime needs before the first node starts: the graph, the bundled algorithms, their parameters. */
export interface PreparedRun {
  readonly runId: RunId;
  /** What the run is called: its algorithm's name, or for a run with groups the name it was given. */
  readonly name: string;
  readonly topology: LoadedTopology;
  /** The `--links` spec the edges were shaped by (a `--delay` shorthand written out), if any. */
  readonly links: string | undefined;
  /** Where Docker applies the links: in the node agents (message) or in the nodes' namespaces (packet). */
  readonly linksLayer: 'message' | 'packet';
  /** One per role. A run of one algorithm has one group, named after the algorithm, with every node in it. */
  readonly groups: readonly PreparedGroup[];
  /** True when the run was asked for with groups (not one algorithm). */
  readonly hasGroups: boolean;
  /** The folder holding every bundle: mounted read-only into each node container. */
  readonly bundleDir: string;
  /**
   * What judges the run: the algorithm file's own `check` export, else peerlab's oracle of the algorithm's
   * name (src/verify); for a run with groups, the built-in check asked for. Undefined: the run is unchecked.
   * `joinsUnjudged`: why, with the given parameters, it does not say what the algorithm owes nodes that joined
   * mid-run, so that a run with joins is unchecked; undefined when it does (an algorithm file's own check judges
   * the grown graph it is given, as its author wrote it to).
   */
  readonly check: { readonly name: string; readonly oracle: Oracle; readonly joinsUnjudged: (params: Record<string, unknown>) => string | undefined } | undefined;
  readonly config: RunConfig;
}

export interface PrepareRequest {
  /** The algorithm every node runs, unless `groups` is given. */
  readonly algorithm: string;
  readonly params: readonly string[];
  /** Several roles, each with its own algorithm and parameters, instead of one algorithm for every node. */
  readonly groups?: readonly RoleRequest[];
  /** The name of a run with groups (its run id starts with it); default `groups`. */
  readonly name?: string;
  /** The oracle of a run with groups (see src/verify); none if left out. */
  readonly check?: string;
  readonly topology: string;
  readonly seed: number;
  readonly weights?: string;
  /** The `--links` spec (src/links/spec.ts). */
  readonly links?: string;
  /** message (default), packet or auto: see src/links/packet.ts. */
  readonly linksMode?: LinksMode;
  /** The simulator's old `--delay` flag: a shorthand for a `--links` spec (see delayAsLinks). */
  readonly delay?: string;
  readonly allowDisconnected: boolean;
  readonly maxPayloadBytes?: number;
  /** When the run ends: once every node has a result (default), or then also once no message is in flight. */
  readonly until?: RunUntil;
  /** The run's fault schedule: a run with one may end quiet (see RunController.collectResults), so nodes answer waves. */
  readonly faults?: readonly FaultEvent[];
  /** Have the nodes report traffic and metrics while the run goes (a dashboard watches): how often (ms), for a run of `nodes`. */
  readonly liveReports?: (nodes: number) => Promise<LiveReports>;
  /** Have the nodes report their load (a placement policy reads it): how often (ms). */
  readonly loadReportMs?: number;
  /** With hosts: what one CPU does in their unit, for node.demand in a container. */
  readonly capacityPerCpu?: number;
  readonly onRunId?: (runId: RunId) => void;
}

export type RunUntil = 'results' | 'quiescent';

export async function prepareRun(request: PrepareRequest): Promise<PreparedRun> {
  if (request.links !== undefined && request.delay !== undefined) {
    throw new PeerlabError('--delay and --links both shape the links', { hint: `--delay ${request.delay} is --links '${delayAsLinks(request.delay)}': give one of them` });
  }
  const links = request.links ?? (request.delay === undefined ? undefined : delayAsLinks(request.delay));
  const topology = await loadTopology(request.topology, {
    seed: request.seed,
    weights: request.weights,
    links,
    allowDisconnected: request.allowDisconnected,
  });
  const { layer: linksLayer, note: layerNote } =
    request.linksMode === undefined || request.linksMode === 'message'
      ? { layer: 'message' as const, note: undefined }
      : chooseLinksLayer(topology.graph, request.linksMode, await packetSupport(), request.faults);
  if (layerNote) topology.notes.push(layerNote);
  const roles = request.groups ?? [{ role: '', algorithm: request.algorithm, params: request.params }];
  const nodes = assignRoles(topology.graph.nodes(), roles);
  const sources = roles.map((role) => resolveAlgorithm(role.algorithm));
  const runId = newRunId(request.groups ? (request.name ?? 'groups') : path.basename(sources[0]!, path.extname(sources[0]!)));
  request.onRunId?.(runId);

  const bundleDir = path.join(runStateDir(runId), 'algorithm');
  // From here the run has a state folder: a refusal below (a parameter, a node it names) must not leave it behind.
  try {
    const bundles = await bundleOnce(sources, bundleDir);
    const removedAtStart = new Set(faultsSeenOf((request.faults ?? []).filter(({ atMs }) => atMs === 0)).removedNodes);
    const groups = roles.map((role, index): PreparedGroup => {
      const { algorithm, graphDefaults, bundleFile, nodeBundleFile } = bundles.get(sources[index]!)!;
      return {
        role: request.groups ? role.role : algorithm.name,
        source: sources[index]!,
        bundleFile,
        nodeBundleFile,
        algorithm,
        ...(request.groups
          ? inRole(role.role, () => resolveNodeParams(algorithm, graphDefaults, role.params, topology, removedAtStart))
          : resolveNodeParams(algorithm, graphDefaults, role.params, topology, removedAtStart)),
        nodes: nodes[index]!,
      };
    });
    const name = request.groups ? (request.name ?? 'groups') : groups[0]!.algorithm.name;
    const ownCheck = request.groups ? undefined : bundles.get(sources[0]!)!.check;
    const checkName = request.groups ? request.check : name;
    return {
      runId,
      name,
      topology,
      links,
      linksLayer,
      groups,
      hasGroups: request.groups !== undefined,
      bundleDir,
      check: ownCheck
        ? { name: `${path.basename(sources[0]!)}#check`, oracle: ownCheckOracle(ownCheck, sources[0]!), joinsUnjudged: () => undefined }
        : checkName !== undefined && oracleFor(checkName)
          ? { name: checkName, oracle: oracleFor(checkName)!, joinsUnjudged: (params) => joinsUnjudged(checkName, params) }
          : undefined,
      config: {
        runId,
        groups: groups.map(({ role, algorithm, params, nodes: ids }) => ({ role, algorithm: algorithm.name, params, nodes: idRange(ids) })),
        seed: request.seed,
        size: topology.graph.order,
        maxPayloadBytes: request.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
        ...((request.until === 'quiescent' || (request.faults?.length ?? 0) > 0) && { quiescence: true }),
        ...(request.liveReports ? { liveReports: await request.liveReports(topology.graph.order) } : {}),
        ...(request.loadReportMs ? { loadReportMs: request.loadReportMs } : {}),
        ...(request.capacityPerCpu ? { capacityPerCpu: request.capacityPerCpu } : {}),
      },
    };
  } catch (error) {
    await rm(runStateDir(runId), { recursive: true, force: true });
    throw error;
  }
}

/**
 * Bundles each distinct source once for the CLI and once for the nodes, as `<file name>.cjs` and
 * `<file name>.node.cjs` (numbered when two sources share a file name).
 */
async function bundleOnce(
  sources: readonly string[],
  dir: string,
): Promise<Map<string, Omit<AlgorithmBundle, 'file'> & { bundleFile: string; nodeBundleFile: string }>> {
  const bundles = new Map<string, Omit<AlgorithmBundle, 'file'> & { bundleFile: string; nodeBundleFile: string }>();
  const taken = new Set<string>();
  for (const source of sources) {
    if (bundles.has(source)) continue;
    const base = path.basename(source, path.extname(source));
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    const [{ file: bundleFile, ...loaded }, nodeBundleFile] = await Promise.all([
      bundleAlgorithm(source, dir, `${name}.cjs`),
      bundleForNodes(source, dir, `${name}.node.cjs`),
    ]);
    bundles.set(source, { ...loaded, bundleFile, nodeBundleFile });
  }
  return bundles;
}

/**
 * The parameters, validated, those the user left out filled from the graph where the algorithm file says how,
 * and those that name nodes checked against this run's topology.
 */
function resolveNodeParams(
  algorithm: Algorithm,
  graphDefaults: GraphDefaults | undefined,
  assignments: readonly string[],
  topology: LoadedTopology,
  removedAtStart: ReadonlySet<string>,
): { params: Json; derivedParams: string[] } {
  const { params, derived } = resolveParamsOnGraph(algorithm, graphDefaults, assignments, topology.graph, removedAtStart);
  checkNodeParams(algorithm, params, topology.graph.nodes());
  return { params, derivedParams: derived };
}

function inRole<T>(role: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    if (!(error instanceof PeerlabError)) throw error;
    throw new PeerlabError(`role ${role}: ${error.message}`, { hint: error.hint, cause: error });
  }
}
