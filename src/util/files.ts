import { createWriteStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { PeerlabError } from '../errors.js';
import { csvHeader, csvJoin, csvLine } from './csv.js';

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

/**
 * A file the user names for peerlab to write (`--html`, `--out`), absolute; refused at once, before any work,
 * when it is a folder or its folder does not exist, so that a long command never fails at its last step.
 */
export function outputFile(flag: string, file: string, example: string): string {
  const absolute = path.resolve(file);
  if (statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) {
    throw new PeerlabError(`${flag} ${file} is a folder`, { hint: `give a file name, e.g. ${flag} ${example}` });
  }
  if (!statSync(path.dirname(absolute), { throwIfNoEntry: false })?.isDirectory()) {
    throw new PeerlabError(`${flag} ${file}: the folder ${path.dirname(absolute)} does not exist`, { hint: `create it first, or give a file in an existing folder, e.g. ${flag} ${example}` });
  }
  return absolute;
}

/** Writes through a temporary file and a rename, so a crash never leaves a half-written result. */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const temporary = await temporaryBeside(file);
  await writeFile(temporary, content);
  await rename(temporary, file);
}

async function temporaryBeside(file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  return `${file}.${process.pid}.tmp`;
}

export const writeJson = (file: string, value: unknown): Promise<void> => writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
/** One JSON value per line (NDJSON), the format of a run's event records (faults, migrations, registry). */
export const writeNdjson = (file: string, values: readonly unknown[]): Promise<void> => writeFileAtomic(file, values.map((value) => `${JSON.stringify(value)}\n`).join(''));

/**
 * A run's per-node and per-edge files (its CSVs, topology.json, verify.json) past this size are written
 * gzip-compressed as `<name>.gz` (pandas' read_csv, R's read.csv and zcat read them as they are). 1 MiB is a run
 * of roughly 15,000 nodes or 20,000 edges: the simulator's scale, never a container run's (1,000 nodes write
 * about 70 kB of CSV). Measured on a ba:n=100000,m=2 flood: nodes.csv 7.0 MB → 1.1 MB, edges.csv 5.4 MB → 1.8 MB.
 */
export const GZIP_ABOVE_BYTES = 1024 * 1024;

/**
 * Characters per text writeCsvRows hands on (a row's line more at most). Each row becomes its line as it is made,
 * and the lines are joined once they pass this: a row, its cells and its line die young, in V8's young generation,
 * where a batch of 50,000 row objects (a few MB of them, the size before 7 Dec 2026) outlived two scavenges, was
 * copied twice and promoted, and the text of each batch was a fresh large object. A text of 64 KiB of one-byte
 * characters stays under V8's size for a regular object (128 KiB, half a heap page).
 */
const CSV_BATCH_CHARS = 64 * 1024;

/**
 * Writes rows made one at a time as CSV, atomically, a batch of rows at a time: for more rows than fit in the
 * heap as objects, or in one string (V8's limit is 2²⁹ characters); a 10⁶-node GHS run's timeseries.csv has
 * about 1.2·10⁷ rows, its nodes.csv ~260 MB of text. The text is what one csv-stringify of all the rows would make.
 * With `gzipAbove`, a text larger than that many bytes goes to `<file>.gz` instead: the batches are held only
 * until they pass it, then streamed through gzip with the rest. Either way the other form is removed, so a
 * folder never holds both. Returns the file written; when the rows throw, nothing is written or removed.
 */
export async function writeCsvRows(
  file: string,
  rows: Iterable<Record<string, unknown>>,
  columns: string[],
  options: { gzipAbove?: number } = {},
): Promise<string> {
  const texts = csvBatches(rows, columns);
  // The batches read ahead to decide gzip: at most the threshold and one batch more.
  const ahead: string[] = [];
  let bytes = 0;
  while (options.gzipAbove !== undefined && bytes <= options.gzipAbove) {
    const next = texts.next();
    if (next.done) break;
    ahead.push(next.value);
    bytes += Buffer.byteLength(next.value);
  }
  const compress = options.gzipAbove !== undefined && bytes > options.gzipAbove;
  return writeEitherForm(file, compress, function* () {
    // Shifted, not iterated, so that each batch read ahead can be collected once written.
    while (ahead.length > 0) yield ahead.shift()!;
    yield* texts;
  });
}

/**
 * Writes the texts to `<file>`, or through gzip to `<file>.gz`, atomically, and removes the other form, so a
 * folder never holds both. Returns the file written; when the texts throw, nothing is written or removed.
 */
async function writeEitherForm(file: string, compress: boolean, texts: () => Iterable<string>, level = constants.Z_DEFAULT_COMPRESSION): Promise<string> {
  const [written, other] = compress ? [`${file}.gz`, file] : [file, `${file}.gz`];
  const temporary = await temporaryBeside(written);
  try {
    // One text in hand at a time: a readable from an iterable otherwise reads up to 16 ahead (~200 MB of nodes.csv).
    const source = Readable.from(texts(), { highWaterMark: 1 });
    const sink = createWriteStream(temporary);
    await (compress ? pipeline(source, createGzip({ level }), sink) : pipeline(source, sink));
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await rename(temporary, written);
  await rm(other, { force: true });
  return written;
}

/**
 * Writes a run's JSON file (topology.json, verify.json): indented for reading, or, past `gzipAbove` characters
 * as compact JSON, compact and gzip-compressed as `<file>.gz` (`zcat verify.json.gz | jq` reads it), the other
 * form removed; readJsonFile reads either. A ba:n=10⁶,m=2 flood's topology.json was 378 MB and its verify.json
 * 121 MB, indented (217 MB and 87 MB compact); indented, a graph a few times that size passes V8's limit for one
 * string.
 */
export async function writeJsonFile(file: string, value: unknown, options: { gzipAbove: number }): Promise<string> {
  const compact = JSON.stringify(value);
  const compress = compact.length > options.gzipAbove;
  // The fastest level: the one text is compressed while the run waits (a CSV's batches are compressed while the
  // next are made). A 10⁶-node topology.json, 217 MB compact: 1.4 s and 37 MB, where the default took 4.4 s for 32 MB.
  return writeEitherForm(file, compress, () => [compress ? compact : `${JSON.stringify(value, null, 2)}\n`], constants.Z_BEST_SPEED);
}

/** The value of a JSON file writeJsonFile wrote, as `<file>` or `<file>.gz`; undefined when neither is there. */
export function readJsonFile(file: string): unknown {
  const bytes = readEitherForm(file);
  return bytes === undefined ? undefined : JSON.parse(bytes.toString('utf8'));
}

/** The CSV text of the rows, the header first, a text each time the lines pass CSV_BATCH_CHARS (the header alone for none). */
function* csvBatches(rows: Iterable<Record<string, unknown>>, columns: string[]): Generator<string, void, undefined> {
  let lines = [csvHeader(columns)];
  let chars = lines[0]!.length;
  for (const row of rows) {
    const line = csvLine(row, columns);
    lines.push(line);
    chars += line.length + 1;
    if (chars < CSV_BATCH_CHARS) continue;
    yield csvJoin(lines);
    lines = [];
    chars = 0;
  }
  if (lines.length > 0) yield csvJoin(lines);
}

/** Where a file that may have been written compressed is: `<file>` or `<file>.gz`; undefined when neither is there. */
export function writtenAs(file: string): string | undefined {
  return [file, `${file}.gz`].find((candidate) => existsSync(candidate));
}

/** The rows of a CSV that writeCsvRows wrote, as `<file>` or `<file>.gz`; undefined when neither is there. */
export function readCsv(file: string): Array<Record<string, string>> | undefined {
  const bytes = readEitherForm(file);
  return bytes === undefined ? undefined : (parse(bytes, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>);
}

/** What writeEitherForm wrote, from `<file>` or `<file>.gz` (uncompressed); undefined when neither is there. */
function readEitherForm(file: string): Buffer | undefined {
  const found = writtenAs(file);
  if (!found) return undefined;
  const bytes = readFileSync(found);
  return found.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}
