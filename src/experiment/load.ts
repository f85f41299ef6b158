import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PeerlabError } from '../errors.js';
import { displayName, formatField, parseValidatedYaml, type FieldPath } from '../util/validated-yaml.js';
import { experimentSchema, fieldsAt, FIELD_HINTS, type ExperimentFile } from './schema.js';

export type { FieldPath };
export { formatField };

/** A validated experiment file that can still point at its own lines. */
export interface LoadedExperiment {
  /** The file as the user named it (for messages). */
  readonly file: string;
  /** The absolute path. */
  readonly path: string;
  readonly text: string;
  readonly experiment: ExperimentFile;
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
  return { file, path: absolute, text, experiment: data, lineOf, error };
}
