import type { z } from 'zod';
import { PeerlabError } from '../errors.js';
import type { Algorithm, Json } from '../sdk/types.js';

/**
 * Turns `--param key=value` flags into the algorithm's validated parameters (defaults filled in). A value is
 * read as JSON when it parses and the schema accepts it that way, else as a string, so `root=5` fits both a
 * string and a number parameter.
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
  const typed = Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, asJsonIfAccepted(schema, key, value as string)]));
  const parsed = schema.safeParse(typed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PeerlabError(`--param ${issue.path.join('.') || '(all)'} of ${algorithm.name}: ${issue.message}`, {
      hint: `see \`peerlab algorithms list\` for the parameters of ${algorithm.name}`,
    });
  }
  return parsed.data as Json;
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
