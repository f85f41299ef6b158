import { z } from 'zod';
import { NODE_AGGREGATIONS } from '../run/node-metrics.js';
import { POLICY_SETTING_NAME } from '../placement/live.js';
import { PLACEMENTS } from '../run/swarm-placement.js';
import { RUNTIME_CHOICES, type RuntimeChoice } from '../runtime/types.js';
import { GENERATOR_MODELS } from '../topology/generators.js';
import { EXPERIMENT_NAME, SERVICE_NAME } from '../util/names.js';

/**
 * The experiment file format (`experiments/*.yaml`). A list anywhere a value may be swept means "one cell per
 * element"; the cross product of all the lists makes the cells, and every cell runs once per seed.
 */

export const RUNTIMES = RUNTIME_CHOICES;
export type { RuntimeChoice };
export const DEFAULT_TIMEOUT_S = 300;

const ROLE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
const HOSTS_EXPECTED = 'expected hosts as NAME=CAPACITY,… (two or more), or a placement input .yaml file';

const integer = (what = 'an integer') => z.number({ error: `expected ${what}` }).int({ error: `expected ${what}` });
const sweep = <T extends z.ZodType>(item: T, one: string, many: string) =>
  z.union([item, z.array(item).min(1, { error: 'a list must have at least one element' })], { error: `expected ${one} or a list of ${many}` });

const numberOrList = sweep(z.number(), 'a number', 'numbers');
const stringOrList = sweep(z.string().min(1), 'a string', 'strings');
const valueOrList = sweep(z.union([z.string().min(1), z.number()]), 'a value (40ms, 1%, 10mbit)', 'values');
const heldNodes = z.array(z.union([z.string().min(1), integer()], { error: 'expected a node id' }), { error: 'expected a list of node ids, e.g. [1, 2]' });

/**
 * Link shaping (src/links/spec.ts): a `--links` spec or a list of them, or a mapping of its parts, each swept
 * when a list: `links: { source: geo, delay: [0ms, 20ms, 80ms], loss: [0%, 1%] }`. A bare number is ms, % or bit/s.
 */
const links = z.union(
  [
    stringOrList,
    z.strictObject(
      {
        source: stringOrList.optional(),
        delay: valueOrList.optional(),
        jitter: valueOrList.optional(),
        loss: valueOrList.optional(),
        rate: valueOrList.optional(),
        queue: valueOrList.optional(),
      },
      { error: 'expected links: "SPEC", or a mapping of source, delay, jitter, loss, rate, queue' },
    ),
  ],
  { error: 'expected links: "SPEC" (e.g. geo or delay=20ms), a list of specs, or a mapping { source, delay, jitter, loss, rate, queue }' },
);

const jsonRecord = z.record(z.string(), z.json(), { error: 'expected a mapping of name: value' });

const topology = z
  .object(
    {
      model: z.string({ error: `expected a generator model: one of ${GENERATOR_MODELS.join(', ')}` }).optional(),
      file: stringOrList.optional(),
      spec: stringOrList.optional(),
    },
    { error: 'expected a mapping: { model: ba, n: [20, 40], m: 2 } or { file: path } or { spec: "ba:n=20,m=2" }' },
  )
  // Model parameters (n, m, p, k, rows, …) are numbers, swept when given as a list.
  .catchall(numberOrList)
  .superRefine((value, ctx) => {
    const forms = (['model', 'file', 'spec'] as const).filter((key) => value[key] !== undefined);
    if (forms.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: forms.length === 0 ? [] : [forms[1]!],
        message: forms.length === 0 ? 'needs one of model:, file: or spec:' : `give only one of ${forms.join(', ')}`,
      });
      return;
    }
    if (value.model !== undefined) {
      if (!GENERATOR_MODELS.includes(value.model.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: ['model'], message: `unknown model "${value.model}": use one of ${GENERATOR_MODELS.join(', ')}` });
      }
      return;
    }
    for (const key of Object.keys(value)) {
      if (key !== forms[0]) ctx.addIssue({ code: 'custom', path: [key], message: `unknown field "${key}": parameters go with model:, not with ${forms[0]}:` });
    }
  });

const algorithm = z.union(
  [
    z.string().min(1),
    z.strictObject(
      {
        name: z.string({ error: 'expected an algorithm name (see `peerlab algorithms list`) or a .ts file' }).min(1),
        params: jsonRecord.optional(),
      },
      { error: 'expected { name, params }' },
    ),
  ],
  { error: 'expected an algorithm name, or { name, params: { <param>: value or list } }' },
);

const seeds = z.union(
  [
    z.array(integer('an integer seed')).min(1, { error: 'a list must have at least one element' }),
    z.strictObject({
      from: integer('an integer seed'),
      count: integer('a whole number of seeds').min(1, { error: 'expected at least 1' }).optional(),
    }),
  ],
  { error: 'expected a list of seeds, or { from, count }' },
);

/**
 * A role of a run with groups. Its nodes run `algorithm:` (a name or a file), or `service:` (a name in
 * algorithms/services/), with `params:`. Nothing in a group is swept: a list in its params is the value.
 */
const group = z
  .strictObject(
    {
      role: z.string({ error: 'expected a role name' }).regex(ROLE, { error: 'expected a role name: letters, digits, - and _' }),
      // Left out for at most one role: that role takes the nodes the others leave.
      count: integer('a whole number of nodes').min(1, { error: 'expected at least 1 node' }).optional(),
      algorithm: z.string().min(1).optional(),
      service: z.string().regex(SERVICE_NAME.pattern, { error: `expected a service name in algorithms/services/: ${SERVICE_NAME.rule}` }).optional(),
      params: jsonRecord.optional(),
    },
    { error: 'expected { role, count, algorithm or service, params }' },
  )
  .superRefine((value, ctx) => {
    if ((value.algorithm === undefined) === (value.service === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of algorithm: or service:' });
    }
  });

/** `{name}` in a fault spec: a value the mapping form sweeps, e.g. `top-degree:{k}` with `k: [0, 1, 5]`. */
export const FAULT_VARIABLE = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

const faultList = z
  .array(z.string({ error: 'expected a fault spec, e.g. "at=2s kill top-degree:5"' }).min(1), { error: 'expected a list of fault specs' })
  .min(1, { error: 'a list must have at least one element' });

/**
 * Faults (src/faults/spec.ts, the `--fault` syntax): a list of specs, the same in every run, or a mapping of a
 * `schedule:` and the values its `{name}` placeholders take, each swept when a list:
 * `faults: { schedule: ["at=1s kill top-degree:{k}"], k: [0, 1, 2, 5, 10] }`. The specs are checked against
 * each cell's graph before the first run (preflight).
 */
const faults = z
  .union(
    [
      faultList,
      z
        .object({ schedule: faultList }, { error: 'expected { schedule: [specs], <name>: value or list }' })
        .catchall(sweep(z.union([z.number(), z.string().min(1)]), 'a value', 'values')),
    ],
    { error: 'expected faults: a list of specs ["at=2s kill top-degree:5"], or { schedule: ["at=1s kill top-degree:{k}"], k: [0, 1, 5] }' },
  )
  .superRefine((value, ctx) => {
    const schedule = Array.isArray(value) ? value : value.schedule;
    const variables = Array.isArray(value) ? new Set<string>() : new Set(Object.keys(value).filter((key) => key !== 'schedule'));
    const used = new Set<string>();
    schedule.forEach((spec, index) => {
      for (const [, name] of spec.matchAll(FAULT_VARIABLE)) {
        used.add(name!);
        if (!variables.has(name!)) {
          ctx.addIssue({
            code: 'custom',
            path: Array.isArray(value) ? [index] : ['schedule', index],
            message: `{${name}} has no values: give them beside the schedule, e.g. faults: { schedule: [...], ${name}: [0, 1, 5] }`,
          });
        }
      }
    });
    for (const name of variables) if (!used.has(name)) ctx.addIssue({ code: 'custom', path: [name], message: `${name} is not used: no spec of the schedule says {${name}}` });
  });

const reference = z.strictObject(
  {
    x: z.union([z.number(), z.string()], { error: 'expected a number (or a category)' }),
    y: z.number({ error: 'expected a number' }),
    label: z.string().optional(),
  },
  { error: 'expected { x, y, label }' },
);

const plot = z.strictObject(
  {
    x: z.string({ error: 'expected a column name (nodes, n, seed, a parameter, a metric, …)' }).min(1),
    y: z.string({ error: 'expected a column name (messages, algorithmMs, duration_s, a metric, …)' }).min(1),
    // y is the algorithm's own per-node metric (node.metric), made one number per run this way.
    aggregate: z.enum(NODE_AGGREGATIONS, { error: `expected how to aggregate the per-node metric y over the nodes: ${NODE_AGGREGATIONS.join(', ')}` }).optional(),
    title: z.string().optional(),
    // A column to draw one line per value of (default: the other swept inputs; `none`: average over them).
    series: z.string().min(1).optional(),
    log: z.enum(['x', 'y', 'xy'], { error: 'expected x, y or xy' }).optional(),
    reference: z.array(reference).optional(),
  },
  { error: 'expected { x, y, aggregate, title, series, log, reference }' },
);

export const experimentSchema = z
  .strictObject(
    {
      name: z
        .string({ error: 'expected the experiment name' })
        .regex(EXPERIMENT_NAME.pattern, { error: `expected a name made of ${EXPERIMENT_NAME.rule} (it names the results folder)` }),
      description: z.string().optional(),
      runtime: z.enum(RUNTIMES, { error: `expected one of ${RUNTIMES.join(', ')}` }).optional(),
      topology,
      weights: stringOrList.optional(),
      /** The `--delay` shorthand of links (e.g. exp:1), swept when a list. */
      delay: stringOrList.optional(),
      links: links.optional(),
      algorithm: algorithm.optional(),
      repetitions: integer('a whole number of repetitions').min(1, { error: 'expected at least 1' }).optional(),
      seeds: seeds.optional(),
      timeout: z.number({ error: 'expected seconds per run' }).positive({ error: 'expected seconds > 0' }).optional(),
      allowDisconnected: z.boolean().optional(),
      nodeMemory: integer('MiB per node').min(16, { error: 'expected at least 16 MiB' }).optional(),
      /**
       * Docker: hosts of their own CPU quota on the one engine, as `--hosts` takes them (src/runtime/emulated-hosts.ts):
       * a spec, or a placement input file (relative to the experiment file). Read and checked once the file is parsed.
       */
      hosts: z.string({ error: HOSTS_EXPECTED }).min(1, { error: HOSTS_EXPECTED }).optional(),
      /** With hosts: the CPUs of the largest host, as `--host-cpus` (default 1; the others get their share). */
      hostCpus: z.number({ error: 'expected a number of CPUs' }).positive({ error: 'expected CPUs > 0' }).optional(),
      /** Which host (or Swarm engine) each node starts on, as `--placement`. */
      placement: z.enum(PLACEMENTS, { error: `expected one of ${PLACEMENTS.join(', ')}` }).optional(),
      /**
       * A placement policy applied while each run goes, as `--policy` (src/placement/live.ts): a name, or a file
       * relative to the experiment file, swept when a list (`policy: [equal, prio]`).
       */
      policy: sweep(z.string().min(1), 'a policy name (equal, prio, …) or a .ts file', 'them, one cell each').optional(),
      /** Seconds between its rounds, as `--policy-every`: the same in every run. */
      policyEvery: z.number({ error: 'expected seconds between rounds' }).positive({ error: 'expected seconds > 0' }).optional(),
      /**
       * Node ids held where they are, as `--hold`: a list of ids is one value (`hold: [1, 2]`), a list of such lists
       * a sweep (`hold: [[], [1, 2]]`, seed 000's Free and Hold).
       */
      hold: sweep(heldNodes, 'a list of node ids, e.g. [1, 2],', 'such lists, e.g. [[], [1, 2]]').optional(),
      /** The policy's settings, as `--policy-setting`: over those of a hosts file; the same in every run. */
      policySettings: z.record(z.string().regex(POLICY_SETTING_NAME, { error: 'expected a setting name: a letter or _, then letters, digits, _ and -' }), z.number({ error: 'expected a number' }), { error: 'expected a mapping of name: number, e.g. { limit: 0.8 }' }).optional(),
      groups: z.array(group).min(1, { error: 'a list must have at least one element' }).optional(),
      /** The oracle that judges a run with groups (src/verify); without it, such a run is recorded, not checked. */
      check: z.string().min(1).optional(),
      /** A run that nothing checked (no oracle, no `check` export) counts as failed instead of unchecked. */
      requireCheck: z.boolean({ error: 'expected true or false' }).optional(),
      faults: faults.optional(),
      plots: z.array(plot).optional(),
    },
    { error: 'expected a mapping of fields (name, topology, algorithm, …)' },
  )
  .superRefine((value, ctx) => {
    if (value.algorithm === undefined && value.groups === undefined) {
      ctx.addIssue({ code: 'custom', path: [], message: 'algorithm is missing (every run needs an algorithm, or groups of roles)' });
    }
    const roles = new Set<string>();
    let rest: string | undefined;
    for (const [index, role] of (value.groups ?? []).entries()) {
      if (roles.has(role.role)) ctx.addIssue({ code: 'custom', path: ['groups', index, 'role'], message: `role "${role.role}" is given twice` });
      roles.add(role.role);
      if (role.count === undefined) {
        if (rest !== undefined) {
          ctx.addIssue({ code: 'custom', path: ['groups', index], message: `count is missing: only one role (here ${rest}) may take the remaining nodes` });
        }
        rest = role.role;
      }
    }
    if (value.hostCpus !== undefined && value.hosts === undefined) {
      ctx.addIssue({ code: 'custom', path: ['hostCpus'], message: 'needs hosts: it sets the CPUs of the largest host' });
    }
    if (value.policy === undefined) {
      for (const field of ['policyEvery', 'hold', 'policySettings'] as const) {
        if (value[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'needs policy: it goes with the placement policy of the runs' });
      }
    }
    const { repetitions, seeds } = value;
    if (repetitions !== undefined && seeds !== undefined) {
      const count = Array.isArray(seeds) ? seeds.length : seeds.count;
      if (count !== undefined && count !== repetitions) {
        ctx.addIssue({
          code: 'custom',
          path: ['seeds'],
          message: `${count} seed(s) for ${repetitions} repetition(s): give one seed per repetition, or drop one of the two`,
        });
      }
    }
    if (Array.isArray(seeds) && new Set(seeds).size !== seeds.length) {
      ctx.addIssue({ code: 'custom', path: ['seeds'], message: 'a seed is listed twice: every repetition needs its own seed' });
    }
  });

export type ExperimentFile = z.infer<typeof experimentSchema>;
export type TopologyField = ExperimentFile['topology'];
export type GroupField = NonNullable<ExperimentFile['groups']>[number];
export type FaultsField = NonNullable<ExperimentFile['faults']>;
export type PlotField = NonNullable<ExperimentFile['plots']>[number];

/** Where to look in the docs for each top-level field: the hint of an error about it. */
export const FIELD_HINTS: Record<string, string> = {
  name: 'e.g. name: flood-ba',
  runtime: 'runtime: docker, swarm, sim or auto',
  topology: 'e.g. topology: { model: ba, n: [20, 40], m: 2 } or topology: { file: topologies/x.graphml }',
  weights: 'e.g. weights: unique, uniform:1..10, geo or attr:NAME (or a list of them)',
  delay: 'e.g. delay: exp:1 (a shorthand for links; or a list of models)',
  links: 'e.g. links: geo, links: "delay=uniform:5..80ms,loss=1%", or links: { source: geo, delay: [0ms, 20ms, 80ms] }',
  algorithm: 'e.g. algorithm: { name: flood, params: { root: "0" } }',
  repetitions: 'e.g. repetitions: 3',
  seeds: 'e.g. seeds: [1, 2, 3] or seeds: { from: 1, count: 3 }',
  timeout: 'e.g. timeout: 120 (seconds per run)',
  groups: 'e.g. groups: [{ role: weather, count: 2, service: weather }, { role: client, algorithm: services/client }]',
  check: 'e.g. check: service-discovery (the oracle that judges a run with groups)',
  requireCheck: 'e.g. requireCheck: true (a run that nothing checked fails)',
  hosts: 'e.g. hosts: "central=5217.93,outpost_pi=132.29", or hosts: zoe/table-6.2-migration-1.yaml (Docker only; README, "Hosts of different capacity, on one engine")',
  hostCpus: 'e.g. hostCpus: 0.5, with hosts: (the CPUs of the largest host; raise it for a host below 0.01 CPU)',
  placement: 'e.g. placement: first (with hosts:, or on the Swarm: spread, partition or first)',
  policy: 'e.g. policy: equal, or policy: [equal, prio] (one cell each), with hosts: (README, "Placement policies on a running run")',
  policyEvery: 'e.g. policyEvery: 10 (seconds between the rounds of policy:)',
  hold: 'e.g. hold: [1, 2] (node ids policy: leaves where they are), or hold: [[], [1, 2]] (one cell each)',
  policySettings: 'e.g. policySettings: { limit: 0.8 } (numbers; they override a hosts file\'s settings)',
  faults: 'e.g. faults: ["at=5s kill top-degree:3"], or faults: { schedule: ["at=1s kill top-degree:{k}"], k: [0, 1, 5] }',
  plots: 'e.g. plots: [{ x: nodes, y: messages, title: Messages, reference: [{ x: 20, y: 38, label: thesis }] }], or a per-node metric: { x: nodes, y: traffic, aggregate: mean }',
};

/** The field names an object at `path` accepts, for the hint of an "unknown field" error. */
export function fieldsAt(path: readonly PropertyKey[]): string[] {
  const candidates = schemasAt(experimentSchema, path);
  return [...new Set(candidates.flatMap((schema) => objectKeys(schema)))];
}

type AnySchema = z.ZodType;

function unwrap(schema: AnySchema): AnySchema[] {
  const def = (schema as unknown as { def: { type: string; innerType?: AnySchema; in?: AnySchema; options?: AnySchema[] } }).def;
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
    case 'readonly':
      return unwrap(def.innerType!);
    case 'pipe':
      return unwrap(def.in!);
    case 'union':
      return def.options!.flatMap(unwrap);
    default:
      return [schema];
  }
}

function objectKeys(schema: AnySchema): string[] {
  return unwrap(schema).flatMap((inner) => (inner instanceof z.ZodObject ? Object.keys(inner.shape) : []));
}

function schemasAt(schema: AnySchema, path: readonly PropertyKey[]): AnySchema[] {
  let current = unwrap(schema);
  for (const segment of path) {
    current = current.flatMap((inner): AnySchema[] => {
      if (inner instanceof z.ZodObject) {
        const child = (inner.shape as Record<string, AnySchema>)[String(segment)];
        return child ? unwrap(child) : [];
      }
      if (inner instanceof z.ZodArray && typeof segment === 'number') return unwrap(inner.element as AnySchema);
      return [];
    });
  }
  return current;
}
