import { PeerlabError } from '../errors.js';

/**
 * The names peerlab turns into paths (and Docker names and etcd keys): run ids, experiment names and service
 * names. Each is exactly one path segment of a fixed shape, so it can never be "..", hold a slash or name
 * anything outside the folder it is joined to. A name is checked once, where it comes in (an argument, a flag,
 * a file, a Docker label), and carried as its own type after that: the functions that build paths from names
 * (`runStateDir`, `ExperimentFolder`, the results catalog) take only the checked types, so the compiler finds
 * any path that would be built from an unchecked string.
 *
 * No zod here: the node bundle (which checks service names in src/host) replaces zod with a stand-in.
 */

declare const checked: unique symbol;
/** `<algorithm>-<yyyymmdd-hhmmss>-<4 hex>` as `newRunId` makes it, or any id of the same alphabet. */
export type RunId = string & { readonly [checked]: 'run id' };
/** The `name:` of an experiment file: results/<name>/<timestamp>/. */
export type ExperimentName = string & { readonly [checked]: 'experiment name' };
/** A service of the SDK's registry, and of an experiment's `service:` (algorithms/services/<name>.ts). */
export type ServiceName = string & { readonly [checked]: 'service name' };

interface Shape {
  /** What the user calls it, in errors. */
  readonly what: string;
  readonly pattern: RegExp;
  /** The rule in words, for errors. */
  readonly rule: string;
  readonly example: string;
}

export const RUN_ID: Shape = {
  what: 'run id',
  pattern: /^[a-z0-9][a-z0-9-]{0,127}$/,
  rule: 'lowercase letters, digits and "-", starting with a letter or digit',
  example: 'flood-20250101-120000-ab12',
};

export const EXPERIMENT_NAME: Shape = {
  what: 'experiment name',
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
  rule: 'letters, digits, ".", "-" and "_", starting with a letter or digit, at most 64',
  example: 'flood-ba',
};

export const SERVICE_NAME: Shape = {
  what: 'service name',
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  rule: 'letters, digits, ".", "_" and "-", starting with a letter or digit',
  example: 'weather',
};

/** True when `text` has the shape: for filters (a Docker label that is not a run id is not one of ours). */
export function hasShape(shape: Shape, text: unknown): text is string {
  return typeof text === 'string' && shape.pattern.test(text);
}

/**
 * `text` as a checked name, or a PeerlabError naming where it came from (`where`: the argument, flag or file
 * and field) and the shape it must have. `hint` replaces the default "how to fix".
 */
function checkedName<T extends string>(shape: Shape, text: unknown, where: string, hint?: string): T {
  if (hasShape(shape, text)) return text as T;
  throw new PeerlabError(`${where}: ${JSON.stringify(text)} is not a ${shape.what} (${shape.rule}, e.g. ${shape.example})`, {
    hint: hint ?? `give a ${shape.what} of that shape`,
  });
}

export const parseRunId = (text: unknown, where: string, hint?: string): RunId => checkedName<RunId>(RUN_ID, text, where, hint);

export const parseExperimentName = (text: unknown, where: string, hint?: string): ExperimentName =>
  checkedName<ExperimentName>(EXPERIMENT_NAME, text, where, hint);

export const parseServiceName = (text: unknown, where: string, hint?: string): ServiceName =>
  checkedName<ServiceName>(SERVICE_NAME, text, where, hint);

/** What `results show` and `compare` take besides a folder: a run id, an experiment name, or `<name>/<timestamp>`, or a prefix. */
export const RESULT_ID: Shape = {
  what: 'result id',
  pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)?\/?$/,
  rule: 'a run id, an experiment name or <name>/<timestamp>, or the start of one',
  example: 'flood-20250101-120000-ab12',
};
