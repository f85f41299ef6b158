import { z } from 'zod';
import { PeerlabError } from '../errors.js';
import type { Algorithm, GraphDefaults, Json } from '../sdk/types.js';
import type { Topology } from '../topology/types.js';
import { NODE_ID_META } from '../sdk/index.js';
import { nearMiss } from '../util/did-you-mean.js';

/** One parameter as its schema declares it: what `algorithms list` shows and what the run checks. */
export interface ParamInfo {
  readonly type: string;
  readonly default?: unknown;
  readonly description?: string;
  /** The value names a node (or, for an array, nodes) of the topology: see `nodeId()` in the SDK. */
  readonly nodeId?: true;
}

interface JsonSchemaProperty {
  type?: string;
  enum?: unknown[];
  default?: unknown;
  description?: string;
  peerlab?: string;
  items?: JsonSchemaProperty;
}

/** Parameter name → what its schema says, read through zod's JSON Schema export (works on any copy of zod). */
export function paramInfo(schema: z.ZodType | undefined): Record<string, ParamInfo> {
  if (!schema) return {};
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchemaProperty> };
  return Object.fromEntries(
    Object.entries(json.properties ?? {}).map(([key, property]): [string, ParamInfo] => {
      const nodeId = property.peerlab === NODE_ID_META || property.items?.peerlab === NODE_ID_META;
      const type = property.enum ? property.enum.map(String).join('|') : (property.type ?? 'any');
      return [
        key,
        {
          type: nodeId ? (property.type === 'array' ? 'node id[]' : 'node id') : type,
          ...(property.default === undefined ? {} : { default: property.default }),
          ...(property.description ? { description: property.description } : {}),
          ...(nodeId ? { nodeId: true as const } : {}),
        },
      ];
    }),
  );
}

/**
 * Turns `--param key=value` flags into the algorithm's validated parameters (defaults filled in). A value is
 * read as JSON when it parses and the schema accepts it that way, else as a string, so `root=5` fits both a
 * string and a number parameter. A name the schema does not know is refused (a misspelt parameter would
 * otherwise be dropped silently and the run would use the default).
 */
export function resolveParams(algorithm: Algorithm, assignments: readonly string[]): Json {
  const raw: Record<string, unknown> = {};
  for (const assignment of assignments) {
    const split = assignment.indexOf('=');
    if (split <= 0) {
      throw new PeerlabError(`--param "${assignment}" is not key=value`, { hint: 'write it as --param name=value' });
    }
    raw[assignment.slice(0, split)] = assignment.slice(split + 1);
  }
  const schema = algorithm.params;
  if (!schema) {
    if (assignments.length > 0) throw new PeerlabError(`algorithm ${algorithm.name} takes no parameters`, { hint: 'drop the --param flags' });
    return {};
  }
  const known = Object.keys(paramInfo(schema));
  const typed = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, asJsonIfAccepted(schema, key, value as string)]));
  const parsed = schema.safeParse(typed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PeerlabError(`--param ${issue.path.join('.') || '(all)'} of ${algorithm.name}: ${issue.message}`, {
      hint: `see \`peerlab algorithms list\` for the parameters of ${algorithm.name}`,
    });
  }
  // A key the schema accepted but dropped (zod objects strip unknown keys) is one it does not know.
  const kept = parsed.data !== null && typeof parsed.data === 'object' ? (parsed.data as Record<string, unknown>) : {};
  const unknown = Object.keys(raw).find((key) => !known.includes(key) && !(key in kept));
  if (unknown !== undefined) throw unknownParam(algorithm.name, unknown, known);
  return parsed.data as Json;
}

/**
 * resolveParams, then the algorithm file's `graphDefaults` (see GraphDefaults in the SDK) fills the parameters
 * the user did not set. `derived` holds those as `name=value` assignments, as `--param` takes them: the replay
 * line prints them, so a replay does not depend on the algorithm file deriving the same values again. They are
 * validated like the user's (a wrong derived value is the algorithm file's error, and says so).
 */
export function resolveParamsOnGraph(
  algorithm: Algorithm,
  graphDefaults: GraphDefaults | undefined,
  assignments: readonly string[],
  graph: Topology,
  removedAtStart: ReadonlySet<string> = new Set(),
): { params: Json; derived: string[] } {
  const given = resolveParams(algorithm, assignments);
  if (!graphDefaults) return { params: given, derived: [] };
  const named = new Set(assignments.map((assignment) => assignment.slice(0, assignment.indexOf('='))));
  const derived = Object.entries(graphDefaults({ graph, params: given as Record<string, unknown>, removedAtStart }))
    .filter(([name, value]) => !named.has(name) && value !== undefined)
    .map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  try {
    // The user's assignments come last: of two for one name, the last wins.
    return { params: resolveParams(algorithm, [...derived, ...assignments]), derived };
  } catch (error) {
    if (!(error instanceof PeerlabError)) throw error;
    throw new PeerlabError(`graphDefaults of ${algorithm.name} gave ${error.message.replace(/^--param /, '')}`, {
      hint: `fix the graphDefaults export of ${algorithm.name}, or set the parameter with --param`,
    });
  }
}

function unknownParam(algorithm: string, name: string, known: readonly string[]): PeerlabError {
  if (known.length === 0) return new PeerlabError(`--param ${name}: algorithm ${algorithm} takes no parameters`, { hint: 'drop the --param flags' });
  const nearest = nearMiss(name, known);
  const suggestion = nearest ? `did you mean ${nearest}? ` : '';
  return new PeerlabError(`--param ${name} is not a parameter of ${algorithm}`, { hint: `${suggestion}its parameters are ${known.join(', ')}` });
}

/**
 * Parameters that name nodes (declared with the SDK's `nodeId()`) must name nodes of the topology; otherwise
 * the run would wait out its timeout for a node that never exists.
 */
export function checkNodeParams(algorithm: Algorithm, params: Json, nodeIds: readonly string[]): void {
  const ids = new Set(nodeIds);
  const values = params !== null && typeof params === 'object' && !Array.isArray(params) ? params : {};
  for (const [name, info] of Object.entries(paramInfo(algorithm.params))) {
    if (!info.nodeId) continue;
    const value = values[name];
    const named = value === undefined || value === null ? [] : Array.isArray(value) ? value : [value];
    const missing = named.find((id) => typeof id !== 'string' || !ids.has(id));
    if (missing !== undefined) {
      const examples = nodeIds.length > 6 ? `${nodeIds.slice(0, 3).join(', ')}, …, ${nodeIds.at(-1)}` : nodeIds.join(', ');
      throw new PeerlabError(`--param ${name}=${String(missing)} of ${algorithm.name}: the topology has no node ${JSON.stringify(missing)}`, {
        hint: `name one of its ${nodeIds.length} nodes (${examples})`,
      });
    }
  }
}

function asJsonIfAccepted(schema: z.ZodType, key: string, value: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return value;
  }
  const keyFails = (candidate: unknown) =>
    schema.safeParse({ [key]: candidate }).error?.issues.some((issue) => issue.path[0] === key) ?? false;
  return keyFails(json) && !keyFails(value) ? value : json;
}
