import { createHash } from 'node:crypto';
import type { RoleRequest } from '../run/roles.js';
import type { LivePlacementRequest } from '../placement/live.js';
import { isPluginFile } from '../plugins/resolve.js';
import type { PlacementPolicy } from '../run/swarm-placement.js';
import type { HostsRequest } from '../runtime/emulated-hosts.js';
import type { Json } from '../sdk/types.js';
import type { FieldPath, LoadedExperiment } from './load.js';
import { DEFAULT_TIMEOUT_S, FAULT_VARIABLE, type ExperimentFile, type FaultsField, type GroupField, type PlotField, type RuntimeChoice } from './schema.js';
import { parseExperimentName, type ExperimentName } from '../util/names.js';

/** A value a cell has for one input: what goes in a summary.csv column. */
export type Scalar = string | number | boolean;

/** One swept or fixed input: its summary column, its values, and where it is in the file. */
export interface Axis {
  readonly column: string;
  readonly values: readonly Json[];
  readonly field: FieldPath;
  /** The file gives a list of values (even of one), so a cell's field is its element, e.g. `topology.n[1]`. */
  readonly listed: boolean;
  /** A sweep needs two values or more. */
  readonly swept: boolean;
}

/** One point of the sweep. */
export interface Cell {
  readonly id: string;
  readonly index: number;
  /** Column → value: `topology`, `topology.n`, `weights`, `algorithm`, `param.root`, … */
  readonly inputs: Readonly<Record<string, Scalar>>;
  /** The swept inputs only, e.g. `n=20 · root=0` (the topology when nothing is swept). */
  readonly label: string;
  /** What runAlgorithm gets: a generator spec or a file path. */
  readonly topology: string;
  readonly weights: string | undefined;
  /** The `--delay` shorthand, when the file gives one. */
  readonly delay: string | undefined;
  /** The `--links` spec, when the file gives one. */
  readonly links: string | undefined;
  /** What runAlgorithm gets: a name, or the path of an algorithm file. */
  readonly algorithm: string;
  readonly params: Readonly<Record<string, Json>>;
  /** The fault specs of this cell's runs (`--fault` syntax), placeholders filled in; empty without faults. */
  readonly faults: readonly string[];
  /** The placement policy of this cell's runs, as `--policy` with its flags gives it, when the file has `policy:`. */
  readonly livePlacement?: LivePlacementRequest;
  /** Where each input came from, for error messages about this cell. */
  readonly fields: Readonly<Record<string, FieldPath>>;
}

export interface PlannedRun {
  /** Stable within a plan: `c<cell>-r<repetition>`. */
  readonly key: string;
  readonly index: number;
  readonly cell: Cell;
  readonly repetition: number;
  readonly seed: number;
}

export interface Plan {
  readonly name: ExperimentName;
  readonly description: string | undefined;
  readonly runtime: RuntimeChoice;
  readonly timeoutS: number;
  readonly allowDisconnected: boolean;
  readonly nodeMemoryMiB: number | undefined;
  readonly seeds: readonly number[];
  readonly axes: readonly Axis[];
  readonly cells: readonly Cell[];
  /** Repetition-major: every cell once, then every cell again, so partial results cover all cells early. */
  readonly runs: readonly PlannedRun[];
  readonly groups: readonly GroupField[] | undefined;
  /** The groups as each run asks for them: algorithm files found, services looked up in algorithms/services/. */
  readonly roles: readonly RoleRequest[] | undefined;
  /** The oracle of a run with groups. */
  readonly check: string | undefined;
  /** An unchecked run fails (the file's `requireCheck: true`). */
  readonly requireCheck: boolean;
  /** The experiment file, when known: a run with groups is rerun through it. */
  readonly source: string | undefined;
  /** The file's `faults:` as written; each cell has its own specs (Cell.faults). */
  readonly faults: FaultsField | undefined;
  /** The file's `hosts:` with `hostCpus:`, as `--hosts` with `--host-cpus` give them to every run. */
  readonly hosts: HostsRequest | undefined;
  /** The file's `placement:`, as `--placement` gives it to every run. */
  readonly placement: PlacementPolicy | undefined;
  readonly plots: readonly PlotField[] | undefined;
  /** Hash of everything that decides what the runs are (not the plots): resume refuses a changed file. */
  readonly fingerprint: string;
}

export interface ExpandOptions {
  /** Turns a topology or algorithm file named in the experiment into the path to load (default: unchanged). */
  readonly resolveFile?: (file: string) => string;
  /** The experiment file, as the user named it. */
  readonly source?: string;
}

const LINK_PARTS = ['source', 'delay', 'jitter', 'loss', 'rate', 'queue'] as const;

/**
 * Lists become cells (their cross product, first list outermost), and every cell runs once per seed. The hosts,
 * read when the file was parsed, are the same in every run; each cell takes the policy request of its `policy:`
 * value (also read then), holding the nodes of its `hold:` value.
 */
export function expandExperiment({ experiment, placement }: Pick<LoadedExperiment, 'experiment' | 'placement'>, options: ExpandOptions = {}): Plan {
  const resolveFile = options.resolveFile ?? ((file: string) => file);
  const topology = experiment.topology;
  const algorithm = typeof experiment.algorithm === 'string' ? { name: experiment.algorithm, params: undefined } : experiment.algorithm;
  const algorithmName = algorithm?.name ?? 'groups';
  // An algorithm given as a file is found like a topology file; a name is looked up by runAlgorithm.
  const findAlgorithm = (name: string) => (isPluginFile(name) ? resolveFile(name) : name);
  const algorithmSource = findAlgorithm(algorithmName);

  const axes: Axis[] = [];
  const axis = (column: string, value: unknown, field: FieldPath, listed = Array.isArray(value)) => {
    const values = listed ? (value as Json[]) : [value as Json];
    axes.push({ column, values, field, listed, swept: values.length > 1 });
  };

  let model: string | undefined;
  const modelParams: string[] = [];
  if (topology.model !== undefined) {
    model = topology.model.toLowerCase();
    for (const [key, value] of Object.entries(topology)) {
      if (key === 'model' || value === undefined) continue;
      modelParams.push(key);
      axis(`topology.${key}`, value, ['topology', key]);
    }
  } else if (topology.file !== undefined) {
    axis('topology', topology.file, ['topology', 'file']);
  } else {
    axis('topology', topology.spec, ['topology', 'spec']);
  }
  if (experiment.weights !== undefined) axis('weights', experiment.weights, ['weights']);
  if (experiment.delay !== undefined) axis('delay', experiment.delay, ['delay']);
  // links: a spec (or a list of them), or a mapping of its parts, each its own axis.
  const linkMapping = typeof experiment.links === 'object' && !Array.isArray(experiment.links) ? (experiment.links as Record<string, unknown>) : undefined;
  const linkParts = linkMapping && LINK_PARTS.filter((part) => linkMapping[part] !== undefined);
  if (linkMapping === undefined) {
    if (experiment.links !== undefined) axis('links', experiment.links, ['links']);
  } else {
    for (const part of linkParts!) axis(`links.${part}`, linkMapping[part], ['links', part]);
  }
  const paramNames = Object.keys(algorithm?.params ?? {});
  for (const name of paramNames) axis(`param.${name}`, algorithm!.params![name], ['algorithm', 'params', name]);
  const faultMapping = experiment.faults !== undefined && !Array.isArray(experiment.faults) ? experiment.faults : undefined;
  const faultSchedule = experiment.faults === undefined ? [] : Array.isArray(experiment.faults) ? experiment.faults : experiment.faults.schedule;
  const faultVariables = Object.keys(faultMapping ?? {}).filter((key) => key !== 'schedule');
  for (const name of faultVariables) axis(`faults.${name}`, faultMapping![name], ['faults', name]);
  if (experiment.policy !== undefined) axis('policy', experiment.policy, ['policy']);
  // One hold is itself a list of ids: only a list of such lists is a list of values.
  if (experiment.hold !== undefined) axis('hold', experiment.hold, ['hold'], experiment.hold.some((held) => Array.isArray(held)));

  const combinations = cartesian(axes.map((a) => a.values.map((value, index) => ({ value, index }))));
  const swept = axes.filter((a) => a.swept);
  const cells = combinations.map((choice, index): Cell => {
    const value = (column: string) => choice[axes.findIndex((a) => a.column === column)]!;
    const fields: Record<string, FieldPath> = {};
    for (const [i, a] of axes.entries()) fields[a.column] = a.listed ? [...a.field, choice[i]!.index] : a.field;

    let spec: string;
    const inputs: Record<string, Scalar> = {};
    if (model !== undefined) {
      spec = `${model}:${modelParams.map((key) => `${key}=${String(value(`topology.${key}`).value)}`).join(',')}`;
      inputs.topology = spec;
      for (const key of modelParams) inputs[`topology.${key}`] = value(`topology.${key}`).value as number;
    } else {
      const given = String(value('topology').value);
      spec = topology.file !== undefined ? resolveFile(given) : given;
      inputs.topology = given;
    }
    fields.topology ??= ['topology'];
    const weights = experiment.weights === undefined ? undefined : String(value('weights').value);
    inputs.weights = weights ?? 'default';
    const delay = experiment.delay === undefined ? undefined : String(value('delay').value);
    if (delay !== undefined) inputs.delay = delay;
    let links: string | undefined;
    if (linkParts === undefined) {
      if (experiment.links !== undefined) links = String(value('links').value);
    } else {
      // A source stands alone; every other part is a setting, e.g. geo,delay=20ms,loss=1%.
      links = linkParts.map((part) => (part === 'source' ? String(value('links.source').value) : `${part}=${String(value(`links.${part}`).value)}`)).join(',');
      for (const part of linkParts) inputs[`links.${part}`] = value(`links.${part}`).value as Scalar;
    }
    if (links !== undefined) inputs.links = links;
    inputs.algorithm = algorithmName;
    const params: Record<string, Json> = {};
    for (const name of paramNames) {
      params[name] = value(`param.${name}`).value;
      inputs[`param.${name}`] = toScalar(params[name]);
    }
    fields.algorithm = ['algorithm'];
    const faults = faultSchedule.map((spec) => spec.replace(FAULT_VARIABLE, (_match, name: string) => String(value(`faults.${name}`).value)));
    for (const name of faultVariables) inputs[`faults.${name}`] = value(`faults.${name}`).value as Scalar;
    if (faults.length > 0) inputs.faults = faults.join('; ');
    let livePlacement: LivePlacementRequest | undefined;
    if (placement.policies !== undefined) {
      const hold = experiment.hold === undefined ? [] : (value('hold').value as Array<string | number>).map(String);
      livePlacement = { ...placement.policies[value('policy').index]!, hold };
      inputs.policy = value('policy').value as string;
      inputs.hold = hold.length === 0 ? 'none' : hold.join(',');
    }
    const label = swept.length === 0 ? String(inputs.topology) : swept.map((a) => `${shortColumn(a.column)}=${String(inputs[a.column])}`).join(' · ');
    return { id: `c${index + 1}`, index, inputs, label, topology: spec, weights, delay, links, algorithm: algorithmSource, params, faults, ...(livePlacement && { livePlacement }), fields };
  });

  const seeds = seedList(experiment);
  const runs: PlannedRun[] = [];
  for (const [repetition, seed] of seeds.entries()) {
    for (const cell of cells) runs.push({ key: `${cell.id}-r${repetition + 1}`, index: runs.length, cell, repetition: repetition + 1, seed });
  }

  const plan: Omit<Plan, 'fingerprint'> = {
    name: parseExperimentName(experiment.name, `${options.source ?? 'the experiment'}: name`),
    description: experiment.description,
    runtime: experiment.runtime ?? 'docker',
    timeoutS: experiment.timeout ?? DEFAULT_TIMEOUT_S,
    allowDisconnected: experiment.allowDisconnected ?? false,
    nodeMemoryMiB: experiment.nodeMemory,
    seeds,
    axes,
    cells,
    runs,
    groups: experiment.groups,
    roles: experiment.groups?.map(
      (group): RoleRequest => ({
        role: group.role,
        count: group.count,
        algorithm: group.service !== undefined ? `services/${group.service}` : findAlgorithm(group.algorithm!),
        params: paramAssignments(group.params ?? {}),
      }),
    ),
    check: experiment.check,
    requireCheck: experiment.requireCheck ?? false,
    source: options.source,
    faults: experiment.faults,
    hosts: placement.hosts,
    placement: experiment.placement,
    plots: experiment.plots,
  };
  return { ...plan, fingerprint: fingerprintOf(plan) };
}

/** `topology.n` → `n`, `param.root` → `root`: the names people write in plots. */
export function shortColumn(column: string): string {
  return column.replace(/^(topology|param|metric|timing|faults)\./, '');
}

/** The parameters as `name=value` assignments, the form RunRequest takes (strings as they are, the rest as JSON). */
export function paramAssignments(params: Readonly<Record<string, Json>>): string[] {
  return Object.entries(params).map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

export function toScalar(value: Json): Scalar {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? value : JSON.stringify(value);
}

function seedList(experiment: ExperimentFile): number[] {
  const { seeds, repetitions } = experiment;
  if (Array.isArray(seeds)) return seeds;
  const from = seeds?.from ?? 1;
  const count = seeds?.count ?? repetitions ?? 1;
  return Array.from({ length: count }, (_, i) => from + i);
}

function cartesian<T>(lists: readonly T[][]): T[][] {
  return lists.reduce<T[][]>((products, list) => products.flatMap((product) => list.map((item) => [...product, item])), [[]]);
}

function fingerprintOf(plan: Omit<Plan, 'fingerprint'>): string {
  const essence = {
    runtime: plan.runtime,
    timeoutS: plan.timeoutS,
    allowDisconnected: plan.allowDisconnected,
    nodeMemoryMiB: plan.nodeMemoryMiB ?? null,
    seeds: plan.seeds,
    cells: plan.cells.map((cell) => ({ id: cell.id, inputs: inputsBesidePolicy(cell.inputs), params: cell.params })),
    groups: plan.groups ?? null,
    faults: plan.faults ?? null,
    // Only when given, so the fingerprints of experiments without one stay as they were.
    ...(plan.check === undefined ? {} : { check: plan.check }),
    ...(plan.requireCheck ? { requireCheck: true } : {}),
    ...(plan.hosts === undefined ? {} : { hosts: plan.hosts.list }),
    ...(plan.placement === undefined ? {} : { placement: plan.placement }),
    ...policyEssence(plan.cells),
  };
  return createHash('sha256').update(canonicalJson(essence)).digest('hex').slice(0, 16);
}

/** A cell's inputs but its `policy` and `hold`, which its policy request records (policyEssence). */
function inputsBesidePolicy({ policy: _policy, hold: _hold, ...inputs }: Cell['inputs']): Cell['inputs'] {
  return inputs;
}

/**
 * The runs' policy as the fingerprint records it: one request when every cell has the same, as it was before
 * policies could be swept (so those results folders still resume), or else each cell's.
 */
function policyEssence(cells: readonly Cell[]): { policy?: unknown } {
  const requests = cells.flatMap((cell) => (cell.livePlacement ? [policyAsGiven(cell.livePlacement)] : []));
  if (requests.length === 0) return {};
  return { policy: new Set(requests.map(canonicalJson)).size === 1 ? requests[0] : requests };
}

/** The policy as the file gives it, without the file it was found in on this machine. */
function policyAsGiven({ policySource: _found, ...given }: LivePlacementRequest): Omit<LivePlacementRequest, 'policySource'> {
  return given;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** The resolved experiment, as written to experiment.yaml: every list expanded into cells, every seed listed. */
export function resolvedExperiment(
  plan: Plan,
  extra: Record<string, unknown> = {},
  sizes: ReadonlyMap<string, { nodes: number; edges: number }> = new Map(),
): Record<string, unknown> {
  const drop = <T extends object>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  return drop({
    name: plan.name,
    description: plan.description,
    ...extra,
    fingerprint: plan.fingerprint,
    runtime: plan.runtime,
    timeout: plan.timeoutS,
    allowDisconnected: plan.allowDisconnected,
    nodeMemory: plan.nodeMemoryMiB,
    repetitions: plan.seeds.length,
    seeds: plan.seeds,
    swept: plan.axes.filter((a) => a.swept).map((a) => a.column),
    cells: plan.cells.map((cell) => ({
      id: cell.id,
      label: cell.label,
      topology: cell.topology,
      weights: cell.weights,
      delay: cell.delay,
      links: cell.links,
      algorithm: cell.algorithm,
      params: cell.params,
      faults: cell.faults.length > 0 ? cell.faults : undefined,
      policy: cell.livePlacement && policyAsGiven(cell.livePlacement),
      nodes: sizes.get(cell.id)?.nodes,
      edges: sizes.get(cell.id)?.edges,
      inputs: cell.inputs,
    })),
    runs: plan.runs.length,
    groups: plan.groups,
    check: plan.check,
    requireCheck: plan.requireCheck || undefined,
    faults: plan.faults,
    hosts: plan.hosts?.list,
    placement: plan.placement,
    plots: plan.plots,
  });
}
