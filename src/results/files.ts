import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';

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
