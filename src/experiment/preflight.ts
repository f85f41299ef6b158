import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { bundleAlgorithm } from '../plugins/bundle.js';
import { checkNodeParams, resolveParams } from '../plugins/params.js';
import { resolveAlgorithm } from '../plugins/resolve.js';
import type { Algorithm } from '../sdk/types.js';
import type { FaultEvent } from '../faults/events.js';
import { resolveFaults } from '../faults/schedule.js';
import { otherPlacements } from '../run/swarm-placement.js';
import { overfilledAtStart } from '../run/host-placement.js';
import { assignRoles } from '../run/roles.js';
import { RUNTIMES } from '../run/runtimes.js';
import { FIELD_TERMS, refusal } from '../run/runtime-can.js';
import { loadTopology, type Topology } from '../topology/index.js';
import { oracleFor, oracleNames } from '../verify/index.js';
import { paramAssignments, shortColumn, type Cell, type Plan } from './expand.js';
import { resolveColumn } from './summary.js';
import type { FieldPath, LoadedExperiment } from './load.js';

/** What the checks learnt about a cell: its size, for the estimate and the tables. */
export interface CellFacts {
  readonly nodes: number;
  readonly edges: number;
}

/**
 * `hosts:` on a runtime that cannot give them, and a `placement:` with nowhere to place, are refused as the flags
 * are (src/run/runtime-can.ts), here with the file's line. Under `auto` the runtime is chosen per run, which refuses then.
 */
function checkRuntimeCan(loaded: LoadedExperiment, plan: Plan): void {
  if (plan.runtime === 'auto') return;
  const policy = plan.cells.find((cell) => cell.livePlacement)?.livePlacement?.policy;
  const refused = refusal(RUNTIMES[plan.runtime], { hosts: plan.hosts, policy, placement: plan.placement }, FIELD_TERMS);
  if (refused) throw loaded.error([refused.field], refused.message, refused.hint);
}

/** Each cell's first placement fits the hosts' maxNodes, as a run's must (run.ts), refused before the first run. */
function checkStartRoom(loaded: LoadedExperiment, plan: Plan, graphs: ReadonlyMap<string, Topology>): void {
  if (!plan.hosts) return;
  const placement = plan.placement ?? 'spread';
  for (const cell of plan.cells) {
    const overfilled = overfilledAtStart(graphs.get(cell.id)!, plan.hosts.list, placement);
    if (overfilled === undefined) continue;
    const { name, nodes, maxNodes } = overfilled;
    const where = plan.cells.length > 1 ? ` in cell ${cell.label}` : '';
    throw loaded.error(
      [plan.placement === undefined ? 'hosts' : 'placement'],
      `placement ${placement} would start host ${name} with ${nodes} nodes${where}, over its maxNodes of ${maxNodes}`,
      `raise ${name}'s maxNodes in the hosts file, place the nodes otherwise (${otherPlacements(placement).map((other) => `placement: ${other}`).join(' or ')}), or run fewer nodes`,
    );
  }
}

/** Each cell's `hold:` names nodes of its topology, as `--hold` must name nodes of the run's. */
function checkHeld(loaded: LoadedExperiment, plan: Plan, nodeIds: ReadonlyMap<string, readonly string[]>): void {
  for (const cell of plan.cells) {
    const ids = new Set(nodeIds.get(cell.id));
    const hold = cell.livePlacement?.hold ?? [];
    const index = hold.findIndex((id) => !ids.has(id));
    if (index < 0) continue;
    const where = plan.cells.length > 1 ? ` in cell ${cell.label}` : '';
    throw loaded.error([...cell.fields.hold!, index], `the topology${where} has no node ${hold[index]}`, 'hold node ids of the topology (peerlab topology show lists them)');
  }
}

/**
 * Everything that can be checked before the first run starts: each cell's topology builds (with the first seed),
 * the algorithm resolves and compiles, and its parameters are accepted. Errors point at the field in the file.
 */
export async function preflight(loaded: LoadedExperiment, plan: Plan): Promise<Map<string, CellFacts>> {
  const facts = new Map<string, CellFacts>();
  const nodeIds = new Map<string, readonly string[]>();
  const topologies = new Map<string, { facts: CellFacts; ids: readonly string[]; graph: Topology }>();
  const graphs = new Map<string, Topology>();
  for (const cell of plan.cells) {
    const key = `${cell.topology}\u0000${cell.weights ?? ''}`;
    let known = topologies.get(key);
    if (!known) {
      try {
        const { graph } = await loadTopology(cell.topology, { seed: plan.seeds[0]!, weights: cell.weights, allowDisconnected: plan.allowDisconnected });
        known = { facts: { nodes: graph.order, edges: graph.size }, ids: graph.nodes(), graph };
      } catch (error) {
        throw rethrow(loaded, error, fieldFor(cell, error));
      }
      topologies.set(key, known);
    }
    facts.set(cell.id, known.facts);
    nodeIds.set(cell.id, known.ids);
    graphs.set(cell.id, known.graph);
  }
  checkRuntimeCan(loaded, plan);
  checkHeld(loaded, plan, nodeIds);
  checkStartRoom(loaded, plan, graphs);
  checkGroups(loaded, plan, facts);
  checkFaults(loaded, plan, graphs);
  checkCheck(loaded, plan);
  checkPlotColumns(loaded, plan);
  await checkAlgorithms(loaded, plan, nodeIds);
  return facts;
}

/** Columns of summary.csv that every run has, whatever its algorithm: what a plot's x or series can name beside the swept inputs. */
const RUN_COLUMNS = ['repetition', 'seed', 'runtime', 'nodes', 'edges', 'duration_s', 'status', 'passed'];
const RESULT_PREFIXES = ['metric.', 'timing.', 'node.'];

/**
 * A plot's x and series must name a column known before any run: a swept input or a column every run has
 * (a metric or timing only as metric.NAME or timing.NAME, whose existence the runs decide). y is usually a metric,
 * which only the runs name (the oracle's, the algorithm's own): it is resolved when the report is drawn.
 */
function checkPlotColumns(loaded: LoadedExperiment, plan: Plan): void {
  const known = [...new Set([...plan.cells.flatMap((cell) => Object.keys(cell.inputs)), ...RUN_COLUMNS])];
  const names = known.map((column) => shortColumn(column));
  (plan.plots ?? []).forEach((plot, index) => {
    const axes: Array<['x' | 'series', string]> = [['x', plot.x]];
    if (plot.series !== undefined && plot.series !== 'none') axes.push(['series', plot.series]);
    for (const [field, name] of axes) {
      if (resolveColumn(known, name) || RESULT_PREFIXES.some((prefix) => name.startsWith(prefix) && name.length > prefix.length)) continue;
      throw loaded.error(['plots', index, field], `no column "${name}" to plot against: this experiment's columns are ${[...new Set(names)].join(', ')}`, 'name a swept input (n, a parameter, …) or nodes, seed, duration_s; a metric as metric.NAME');
    }
  });
}

/** `check:` names an oracle, and only for groups: a run of one algorithm is judged by that algorithm's own. */
function checkCheck(loaded: LoadedExperiment, plan: Plan): void {
  if (plan.groups && loaded.experiment.algorithm !== undefined) {
    throw loaded.error(['algorithm'], 'give algorithm: or groups:, not both', 'with groups:, each role names its own algorithm (or service)');
  }
  if (plan.check === undefined) return;
  if (!plan.groups) {
    throw loaded.error(['check'], "check: names the oracle of a run with groups; a run of one algorithm is checked by its algorithm's own", 'remove check:');
  }
  if (!oracleFor(plan.check)) throw loaded.error(['check'], `unknown check "${plan.check}"`, `use one of ${oracleNames().join(', ')}`);
}

/** The roles cover every node of every cell. */
function checkGroups(loaded: LoadedExperiment, plan: Plan, facts: ReadonlyMap<string, CellFacts>): void {
  const sizes = new Set(plan.cells.map((cell) => facts.get(cell.id)!.nodes));
  if (plan.groups) {
    const total = plan.groups.reduce((sum, group) => sum + (group.count ?? 0), 0);
    const rest = plan.groups.find((group) => group.count === undefined);
    const other = [...sizes].find((nodes) => (rest ? nodes <= total : nodes !== total));
    if (other !== undefined) {
      throw loaded.error(
        ['groups'],
        rest
          ? `the counted roles take ${total} node(s), leaving none for ${rest.role} in a topology of ${other}`
          : `the roles add up to ${total} node(s), but a topology of the experiment has ${other}`,
        rest ? 'lower the counts, or use larger topologies' : 'make the counts add up to the number of nodes, or leave out the count of one role (it takes the rest)',
      );
    }
  }
}

/**
 * Every cell's faults resolve on its graph (with the first seed, and the roles of the groups): selectors that
 * exist and fit the graph, times before the timeout. The error names the cell and points at the spec.
 */
function checkFaults(loaded: LoadedExperiment, plan: Plan, graphs: ReadonlyMap<string, Topology>): void {
  const field = (index: number): FieldPath => (Array.isArray(plan.faults) ? ['faults', index - 1] : ['faults', 'schedule', index - 1]);
  for (const cell of plan.cells) {
    if (cell.faults.length === 0) continue;
    const graph = graphs.get(cell.id)!;
    const roles = plan.roles ? new Map(assignRoles(graph.nodes(), plan.roles).map((nodes, i) => [plan.roles![i]!.role, nodes])) : undefined;
    let events: FaultEvent[];
    try {
      events = resolveFaults(cell.faults, { graph, seed: plan.seeds[0]!, timeoutMs: plan.timeoutS * 1000, roles }, (index) => `fault ${index}`);
    } catch (error) {
      if (!(error instanceof PeerlabError)) throw error;
      const index = Number(/^fault (\d+) /.exec(error.message)?.[1] ?? 1);
      // The fault's own hint speaks of the command line; here the timeout is the file's.
      throw loaded.error(field(index), plan.cells.length > 1 ? `in cell ${cell.label}: ${error.message}` : error.message, error.hint?.replace('--timeout', 'timeout:'));
    }
  }
}

/**
 * Every algorithm the runs need resolves and compiles, and accepts its parameters: the algorithm of each cell,
 * or the algorithm of each role of the groups. A parameter that names a node must name one of every topology
 * it runs on.
 */
async function checkAlgorithms(loaded: LoadedExperiment, plan: Plan, nodeIds: ReadonlyMap<string, readonly string[]>): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'peerlab-experiment-check-'));
  const compiled = new Map<string, Algorithm>();
  const compile = async (name: string, field: FieldPath): Promise<Algorithm> => {
    try {
      const source = resolveAlgorithm(name);
      if (!compiled.has(source)) compiled.set(source, (await bundleAlgorithm(source, dir, `${compiled.size}.cjs`)).algorithm);
      return compiled.get(source)!;
    } catch (error) {
      throw rethrow(loaded, error, field);
    }
  };
  /** The parameters, as each run will resolve them; an error points at the parameter it is about. */
  const accept = (
    algorithm: Algorithm,
    params: readonly string[],
    cells: readonly Cell[],
    fieldOf: (param: string) => FieldPath | undefined,
    otherwise: FieldPath,
  ): void => {
    try {
      const resolved = resolveParams(algorithm, params);
      for (const cell of cells) checkNodeParams(algorithm, resolved, nodeIds.get(cell.id) ?? []);
    } catch (error) {
      const param = /^--param ([^\s=]+)/.exec((error as Error).message)?.[1];
      throw rethrow(loaded, error, (param && fieldOf(param)) || otherwise, (message) => message.replace(/^--param /, 'parameter '));
    }
  };
  try {
    for (const [index, role] of (plan.roles ?? []).entries()) {
      const given = plan.groups![index]!;
      const field = ['groups', index, given.service !== undefined ? 'service' : 'algorithm'];
      const params = ['groups', index, 'params'];
      const algorithm = await compile(role.algorithm, field);
      accept(algorithm, role.params, plan.cells, (param) => (given.params?.[param] === undefined ? undefined : [...params, param]), given.params ? params : field);
    }
    if (plan.roles) return;
    const nameField = typeof loaded.experiment.algorithm === 'string' ? ['algorithm'] : ['algorithm', 'name'];
    for (const cell of plan.cells) {
      const algorithm = await compile(cell.algorithm, nameField);
      accept(algorithm, paramAssignments(cell.params), [cell], (param) => cell.fields[`param.${param}`], Object.keys(cell.params).length > 0 ? ['algorithm', 'params'] : cell.fields.algorithm!);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function fieldFor(cell: Cell, error: unknown): readonly (string | number)[] {
  // A model parameter named in the message points at its own line.
  const message = ((error as Error).message ?? '').replace(/\(?(in )?topology "[^"]*"\)?/g, '');
  for (const [column, field] of Object.entries(cell.fields)) {
    const name = column.replace(/^topology\./, '');
    if (column.startsWith('topology.') && new RegExp(`\\b${name}\\b`).test(message)) return field;
  }
  return cell.fields.topology ?? ['topology'];
}

function rethrow(
  loaded: LoadedExperiment,
  error: unknown,
  field: readonly (string | number)[],
  rewrite: (message: string) => string = (message) => message,
): Error {
  if (!(error instanceof PeerlabError)) return error as Error;
  return loaded.error(field, rewrite(error.message), error.hint);
}
