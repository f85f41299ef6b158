import { statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { PeerlabError } from '../errors.js';

/**
 * The results folder (`--results`), absolute: a folder, or a path where one will be made. Everything peerlab
 * writes or reads by id stays inside it.
 */
export function resultsRoot(text: string, where = '--results'): string {
  if (text.trim() === '' || text.includes('\0')) {
    throw new PeerlabError(`${where} ${JSON.stringify(text)} is not a folder path`, { hint: `give the folder for results, e.g. ${where} results` });
  }
  const absolute = path.resolve(text);
  const stat = statSync(absolute, { throwIfNoEntry: false });
  if (stat && !stat.isDirectory()) {
    throw new PeerlabError(`${where} ${text} is a file, not a folder`, { hint: `give a folder for results, e.g. ${where} results` });
  }
  return absolute;
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written result. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, file);
}

export const writeJson = (file: string, value: unknown): Promise<void> => writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);

export const writeCsv = (file: string, rows: ReadonlyArray<Record<string, unknown>>, columns: string[]): Promise<void> =>
  writeFileAtomic(file, stringify(rows as Array<Record<string, unknown>>, { header: true, columns }));
