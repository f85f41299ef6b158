import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { livePlacementRequest, type LivePlacementRequest } from '../placement/live.js';
import { isPluginFile } from '../plugins/resolve.js';
import { hostsFlag, isHostsFile, readHosts, type GivenHosts, type HostsRequest } from '../runtime/emulated-hosts.js';
import { displayName, formatField, parseValidatedYaml, type FieldPath } from '../util/validated-yaml.js';
import { experimentSchema, fieldsAt, FIELD_HINTS, type ExperimentFile } from './schema.js';

export type { FieldPath };
export { formatField };

/** What the runs of an experiment are given as `--hosts` (with `--host-cpus`) and `--policy` (with its flags). */
export interface ExperimentPlacement {
  /** The same in every run. */
  readonly hosts?: HostsRequest;
  /**
   * The request of each policy `policy:` lists (one when it names one), in its order, holding no node: each cell
   * takes the one of its policy with the nodes of its own `hold:` value.
   */
  readonly policies?: readonly LivePlacementRequest[];
}

/** A validated experiment file that can still point at its own lines. */
export interface LoadedExperiment {
  /** The file as the user named it (for messages). */
  readonly file: string;
  /** The absolute path. */
  readonly path: string;
  readonly text: string;
  readonly experiment: ExperimentFile;
  /** Its hosts and live policies, read and checked once. */
  readonly placement: ExperimentPlacement;
  /** The 1-based line of a field (or of its nearest parent that is in the file). */
  lineOf(field: FieldPath): number;
  /** A one-line error about a field: `<file> line <n>: <field>: <message> — <hint>`. */
  error(field: FieldPath, message: string, hint?: string): PeerlabError;
}

export async function loadExperiment(file: string, cwd = process.cwd()): Promise<LoadedExperiment> {
  const absolute = path.resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PeerlabError(`cannot read experiment file ${file}${code === 'ENOENT' ? ': no such file' : `: ${(error as Error).message}`}`, {
      hint: 'give the path of an experiments/*.yaml file, e.g. experiments/quickstart.yaml',
    });
  }
  return parseExperiment(text, displayName(absolute, cwd), absolute);
}

/** Parses and validates the text of an experiment file; every error names the file, the line and the field. */
export function parseExperiment(text: string, file: string, absolute = path.resolve(file)): LoadedExperiment {
  const { data, lineOf, error } = parseValidatedYaml(text, file, experimentSchema, {
    hintFor: (field) => FIELD_HINTS[String(field[0] ?? '')] ?? 'see experiments/quickstart.yaml for an example',
    fieldsAt,
    example: 'experiments/quickstart.yaml',
  });
  const placement = placementOf(data, experimentFileResolver(absolute), error);
  return { file, path: absolute, text, experiment: data, placement, lineOf, error };
}

/**
 * A file named in an experiment (a topology, an algorithm, hosts, a policy): relative to the experiment file's
 * folder, or failing that to the current folder (so both `../topologies/x.graphml` and `topologies/x.graphml` work
 * from the repository root).
 */
export function experimentFileResolver(experimentFile: string, cwd = process.cwd()): (file: string) => string {
  return (file) => {
    if (path.isAbsolute(file)) return file;
    const besideFile = path.resolve(path.dirname(experimentFile), file);
    if (existsSync(besideFile)) return besideFile;
    const fromCwd = path.resolve(cwd, file);
    return existsSync(fromCwd) ? fromCwd : besideFile;
  };
}

/**
 * `hosts:` and `policy:` with their companions, read by the functions that read `--hosts` and `--policy`, so the
 * two cannot drift; a refusal points at the field. A file is found as the experiment's other files are, and
 * handed to the runs (and their replay line) as the current folder sees it.
 */
function placementOf(experiment: ExperimentFile, resolveFile: (file: string) => string, error: LoadedExperiment['error']): ExperimentPlacement {
  const here = (file: string) => displayName(resolveFile(file), process.cwd());
  const { hosts: given, policy } = experiment;
  let hosts: GivenHosts | undefined;
  if (given !== undefined) {
    const asRead = isHostsFile(given) ? here(given) : given;
    try {
      hosts = readHosts(asRead, experiment.hostCpus);
    } catch (refusal) {
      if (!(refusal instanceof PeerlabError)) throw refusal;
      // A fault of the hosts themselves reads as the field's, with the field's hint (the flag's speaks of
      // --host-cpus); a file that cannot be read or parsed says so in its own words.
      const flag = `${hostsFlag(asRead)}: `;
      throw refusal.message.startsWith(flag) ? error(['hosts'], refusal.message.slice(flag.length)) : error(['hosts'], refusal.message, refusal.hint);
    }
  }
  if (policy === undefined) return hosts ? { hosts: hosts.request } : {};
  const listed = Array.isArray(policy);
  const policies = (listed ? policy : [policy]).map((one, index) => {
    try {
      return livePlacementRequest({ policy: isPluginFile(one) ? here(one) : one, everySeconds: experiment.policyEvery, settings: experiment.policySettings }, hosts);
    } catch (refusal) {
      throw refusal instanceof PeerlabError ? error(listed ? ['policy', index] : ['policy'], refusal.message, refusal.hint) : refusal;
    }
  });
  return { ...(hosts && { hosts: hosts.request }), policies };
}
