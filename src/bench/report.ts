/**
 * The JSON document every `peerlab bench` prints (schema, peerlab version, host, samples), and reading one back
 * as the baseline of a later run.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PeerlabError } from '../errors.js';
import { formatFieldPath } from '../util/field-path.js';
import { hostFacts, type HostFacts } from '../util/host.js';
import { peerlabVersion } from '../util/version.js';
import { compareSamples, type Comparison, type GatedMetric, type GateSample } from './regression.js';

/** What a bench declares so that its output can be read back as a baseline and gated. */
export interface BenchKind {
  /** `peerlab.bench.<name>/<version>`: a baseline must have the same. */
  readonly schema: string;
  /** The command that writes it, for hints. */
  readonly command: string;
  /** Reads the gated fields of one sample, of this run or of a baseline file, and rejects a sample without them. */
  readonly gateSample: z.ZodType<GateSample>;
  readonly metrics: readonly GatedMetric[];
}

export interface BenchReport<Sample> {
  readonly schema: string;
  readonly peerlab: typeof peerlabVersion;
  readonly host: HostFacts;
  readonly createdAt: string;
  readonly samples: Sample[];
  /** Present with --baseline. */
  readonly comparison?: Comparison & { readonly baseline: { readonly file: string; readonly peerlab: unknown } };
}

export interface Baseline {
  readonly file: string;
  readonly peerlab: unknown;
  readonly samples: GateSample[];
}

export function benchReport<Sample>(kind: BenchKind, samples: Sample[], createdAt: Date): BenchReport<Sample> {
  return { schema: kind.schema, peerlab: peerlabVersion, host: hostFacts(), createdAt: createdAt.toISOString(), samples };
}

/** Reads a previous output of the same bench; anything else is a one-line error naming the file. */
export async function readBaseline(file: string, kind: BenchKind): Promise<Baseline> {
  const hint = `pass what \`${kind.command} --json\` printed, e.g. ${kind.command} --json > ${file}`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : String(error);
    throw new PeerlabError(`cannot read the baseline ${file}: ${why}`, { hint });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PeerlabError(`the baseline ${file} is not JSON: ${(error as Error).message}`, { hint });
  }
  const schema = z.object({ schema: z.string() }).safeParse(document);
  if (!schema.success) throw new PeerlabError(`the baseline ${file} has no "schema" field, so it is not the output of a peerlab bench`, { hint });
  if (schema.data.schema !== kind.schema) {
    throw new PeerlabError(`the baseline ${file} has schema "${schema.data.schema}", not "${kind.schema}"`, { hint });
  }
  const parsed = z.object({ peerlab: z.unknown(), samples: z.array(kind.gateSample) }).safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PeerlabError(`the baseline ${file}: field ${formatFieldPath(issue.path)}: ${issue.message}`, { hint });
  }
  return { file, peerlab: parsed.data.peerlab, samples: parsed.data.samples };
}

export function compareToBaseline<Sample>(
  kind: BenchKind,
  samples: readonly Sample[],
  baseline: Baseline,
  maxRegressionPercent: number,
): NonNullable<BenchReport<Sample>['comparison']> {
  const comparison = compareSamples({
    current: samples.map((sample) => kind.gateSample.parse(sample)),
    baseline: baseline.samples,
    metrics: kind.metrics,
    maxRegressionPercent,
  });
  return { baseline: { file: baseline.file, peerlab: baseline.peerlab }, ...comparison };
}
