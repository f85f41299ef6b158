import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { PeerlabError } from '../errors.js';
import type { PlacementInput } from '../sdk/placement.js';
import { displayName, parseValidatedYaml } from '../util/validated-yaml.js';

const name = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'expected a name of letters, digits, _ . -');

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
          })
          .strict(),
      )
      .min(1),
    nodes: z.array(z.object({ name, host: name, load: z.number().nonnegative(), hold: z.boolean().default(false) }).strict()),
    settings: z.record(z.string(), z.number()).default({}),
  })
  .strict();

const HINTS: Record<string, string> = {
  hosts: 'each host is { name, capacity, priority, central }: capacity in the unit node loads are measured in',
  nodes: 'each node is { name, host, load, hold }: load measured on its current host, in the hosts\' unit',
  settings: "the policy's numeric settings, e.g. { limit: 0.8 } for prio",
};

/** Reads a placement input (hosts with capacity and priority, nodes with load and hold) from YAML. */
export async function loadPlacementInput(file: string, cwd = process.cwd()): Promise<PlacementInput> {
  const absolute = path.resolve(cwd, file);
  const text = await readFile(absolute, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new PeerlabError(`cannot read placement input ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, {
      hint: 'give a YAML file of hosts and nodes, e.g. experiments/zoe/table-6.2-migration-1.yaml',
    });
  });
  const shown = displayName(absolute, cwd);
  const { data, error } = parseValidatedYaml(text, shown, inputSchema, {
    hintFor: (field) => HINTS[String(field[0] ?? '')] ?? 'see experiments/zoe/table-6.2-migration-1.yaml',
    fieldsAt: (field) => (field.length === 0 ? Object.keys(HINTS) : []),
    example: 'experiments/zoe/table-6.2-migration-1.yaml',
  });
  const hostNames = new Set<string>();
  for (const [index, host] of data.hosts.entries()) {
    if (hostNames.has(host.name)) throw error(['hosts', index, 'name'], `host "${host.name}" is listed twice`, 'give each host its own name');
    hostNames.add(host.name);
  }
  if (data.hosts.filter((host) => host.central).length > 1) {
    throw error(['hosts'], 'more than one host is central', 'mark at most one host `central: true`: it takes what fits nowhere else');
  }
  const nodeNames = new Set<string>();
  for (const [index, node] of data.nodes.entries()) {
    if (nodeNames.has(node.name)) throw error(['nodes', index, 'name'], `node "${node.name}" is listed twice`, 'give each node its own name');
    nodeNames.add(node.name);
    if (!hostNames.has(node.host)) {
      throw error(['nodes', index, 'host'], `no host "${node.host}"`, `the hosts are ${[...hostNames].join(', ')}`);
    }
  }
  return data;
}
