import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { PeerlabError } from '../errors.js';
import type { PlacementInput } from '../sdk/placement.js';
import { displayName, parseValidatedYaml, type FieldPath } from '../util/validated-yaml.js';

const name = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _ . -');

/** Seconds, from any origin: policies only compare times with each other. */
const time = z.number().nonnegative();

const requestSample = z.object({ at: time, from: z.record(z.string(), z.number().nonnegative()) }).strict();

const utilitySample = z
  .object({
    at: time,
    components: z.record(z.string(), z.number()).refine((components) => Object.keys(components).length > 0, 'expected at least one component'),
  })
  .strict();

const inputSchema = z
  .object({
    hosts: z
      .array(
        z
          .object({
            name,
            capacity: z.number().positive(),
            priority: z.number().int().default(1),
            central: z.boolean().default(false),
            utility: z.array(utilitySample).optional(),
            latitude: z.number().min(-90).max(90).optional(),
            longitude: z.number().min(-180).max(180).optional(),
            maxNodes: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .min(1),
    // Absent from a file that gives only hosts (a live run's `--hosts FILE`, whose nodes are the run's).
    nodes: z
      .array(
        z.object({ name, host: name, load: z.number().nonnegative(), hold: z.boolean().default(false), requests: z.array(requestSample).optional() }).strict(),
      )
      .default([]),
    settings: z.record(z.string(), z.number()).default({}),
  })
  .strict();

const PLACED_HINT = 'latitude and longitude are degrees, both or neither, e.g. { name: oslo, capacity: 1, latitude: 59.91, longitude: 10.75 }';

/** A hint per field, the innermost named field of a problem choosing it. */
const HINTS: Record<string, string> = {
  hosts: 'each host is { name, capacity, priority, central, utility, latitude, longitude, maxNodes }: capacity in the unit node loads are measured in',
  maxNodes: 'maxNodes is how many nodes the host can hold at once, a whole number ≥ 1 (leave it out for no limit)',
  latitude: PLACED_HINT,
  longitude: PLACED_HINT,
  nodes: "each node is { name, host, load, hold, requests }: load measured on its current host, in the hosts' unit",
  settings: "the policy's numeric settings, e.g. { limit: 0.8 } for prio",
  requests:
    'requests is a list of { at, from }, oldest first: the requests of the interval ending at `at` (seconds), by the site (a host) they came from, e.g. { at: 180, from: { oslo: 12, gjovik: 30 } }',
  utility:
    "utility is a list of { at, components }, oldest first: each component's utility at `at` (seconds), higher is better, e.g. { at: 60, components: { cpu: 0.4, memory: 0.7 } }",
};
const TOP_LEVEL_FIELDS = ['hosts', 'nodes', 'settings'];

/**
 * Reads a placement input from YAML: hosts with capacity, priority and perhaps a utility series; nodes with load,
 * hold and perhaps a request series. Series are checked to be in time order, and every site to be a host.
 */
export async function loadPlacementInput(file: string, cwd = process.cwd()): Promise<PlacementInput> {
  const absolute = path.resolve(cwd, file);
  return parsePlacementInput(await readFile(absolute, 'utf8').catch((error: NodeJS.ErrnoException) => unreadable(file, error)), absolute, cwd);
}

/** The same, read at once: for a flag (`--hosts FILE`), which is parsed before anything runs. */
export function loadPlacementInputSync(file: string, cwd = process.cwd()): PlacementInput {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    return unreadable(file, error as NodeJS.ErrnoException);
  }
  return parsePlacementInput(text, absolute, cwd);
}

function unreadable(file: string, error: NodeJS.ErrnoException): never {
  throw new PeerlabError(`cannot read placement input ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
    hint: 'give a YAML file of hosts and nodes, e.g. experiments/zoe/table-6.2-migration-1.yaml',
  });
}

function parsePlacementInput(text: string, absolute: string, cwd: string): PlacementInput {
  const shown = displayName(absolute, cwd);
  const { data, error } = parseValidatedYaml(text, shown, inputSchema, {
    hintFor: (field) => HINTS[String([...field].reverse().find((segment) => Object.hasOwn(HINTS, segment)))] ?? 'see experiments/zoe/table-6.2-migration-1.yaml',
    fieldsAt: (field) => (field.length === 0 ? TOP_LEVEL_FIELDS : []),
    example: 'experiments/zoe/table-6.2-migration-1.yaml',
  });
  const hostNames = new Set<string>();
  const theHosts = () => `the hosts are ${[...hostNames].join(', ')}`;
  const inTimeOrder = (series: ReadonlyArray<{ at: number }>, field: FieldPath) => {
    for (const [index, sample] of series.entries()) {
      const before = series[index - 1];
      if (before !== undefined && sample.at <= before.at) {
        throw error([...field, index, 'at'], `at ${sample.at} is not after the sample before it (at ${before.at})`, 'list the samples oldest first, one per time');
      }
    }
  };
  for (const [index, host] of data.hosts.entries()) {
    if (hostNames.has(host.name)) throw error(['hosts', index, 'name'], `host "${host.name}" is listed twice`, 'give each host its own name');
    hostNames.add(host.name);
    inTimeOrder(host.utility ?? [], ['hosts', index, 'utility']);
    if ((host.latitude === undefined) !== (host.longitude === undefined)) {
      const [given, missing] = host.latitude === undefined ? ['longitude', 'latitude'] : ['latitude', 'longitude'];
      throw error(['hosts', index], `host "${host.name}" has a ${given} but no ${missing}`, PLACED_HINT);
    }
  }
  const placed = data.hosts.filter((host) => host.latitude !== undefined);
  if (placed.length > 0 && placed.length < data.hosts.length) {
    const unplaced = data.hosts.findIndex((host) => host.latitude === undefined);
    throw error(['hosts', unplaced], `host "${data.hosts[unplaced]!.name}" has no coordinates, and others have`, 'place every host (latitude and longitude) or none: the distance to an unplaced host is unknown');
  }
  if (data.hosts.filter((host) => host.central).length > 1) {
    throw error(['hosts'], 'more than one host is central', 'mark at most one host `central: true`: it takes what fits nowhere else');
  }
  const nodeNames = new Set<string>();
  for (const [index, node] of data.nodes.entries()) {
    if (nodeNames.has(node.name)) throw error(['nodes', index, 'name'], `node "${node.name}" is listed twice`, 'give each node its own name');
    nodeNames.add(node.name);
    if (!hostNames.has(node.host)) throw error(['nodes', index, 'host'], `no host "${node.host}"`, theHosts());
    const requests = node.requests ?? [];
    inTimeOrder(requests, ['nodes', index, 'requests']);
    for (const [sample, { from }] of requests.entries()) {
      // A node follows its users to their site, and it can only live on a host: each site must be one.
      const site = Object.keys(from).find((name) => !hostNames.has(name));
      if (site !== undefined) {
        throw error(['nodes', index, 'requests', sample, 'from', site], `site "${site}" is not a host`, `name each site by the host nearest its users: ${theHosts()}`);
      }
    }
  }
  return data;
}
