import path from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { PeerlabError } from '../errors.js';

/**
 * A YAML file validated against a zod schema, whose every error names the file, the line and the field, with a
 * hint in the file's own terms: experiment files and placement inputs both read this way.
 */
export type FieldPath = ReadonlyArray<string | number>;

export interface YamlFileTerms {
  /** The hint for a problem at this field (e.g. by its top-level name). */
  hintFor(field: FieldPath): string;
  /** The fields allowed at this path, for "unknown field" errors. */
  fieldsAt(field: FieldPath): string[];
  /** What to show when the file is empty. */
  readonly example: string;
}

export interface ValidatedYaml<T> {
  readonly data: T;
  /** The 1-based line of a field (or of its nearest parent that is in the file). */
  lineOf(field: FieldPath): number;
  /** A one-line error about a field: `<file> line <n>: <field>: <message> — <hint>`. */
  error(field: FieldPath, message: string, hint?: string): PeerlabError;
}

/** Parses and validates YAML text; every error names the file, the line and the field. */
export function parseValidatedYaml<Schema extends z.ZodType>(text: string, file: string, schema: Schema, terms: YamlFileTerms): ValidatedYaml<z.output<Schema>> {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const lineAt = (offset: number): number => lineCounter.linePos(offset).line;

  const syntax = document.errors[0];
  if (syntax) {
    const line = syntax.linePos?.[0]?.line ?? lineAt(syntax.pos[0]);
    const message = syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new PeerlabError(`${file} line ${line}: YAML syntax error: ${message}`, { hint: 'fix the YAML (indentation, colons, quotes) at that line' });
  }
  if (document.contents === null) {
    throw new PeerlabError(`${file} line 1: the file is empty`, { hint: `see ${terms.example} for an example` });
  }

  const lineOf = (field: FieldPath): number => lineAt(locate(document, field, false)?.[0] ?? 0);
  const error = (field: FieldPath, message: string, hint?: string): PeerlabError => {
    const where = field.length === 0 ? '' : `${formatField(field)}: `;
    return new PeerlabError(`${file} line ${lineOf(field)}: ${where}${message}`, { hint: hint ?? terms.hintFor(field) });
  };

  const parsed = schema.safeParse(document.toJS({ maxAliasCount: 1000 }));
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) => resolveIssue(issue, []));
    // The first problem in reading order; the count of the others goes in the message.
    const located = issues.map((issue) => ({ issue, offset: issueRange(document, issue)?.[0] ?? 0 }));
    located.sort((a, b) => a.offset - b.offset);
    const { issue, offset } = located[0]!;
    const more = located.length > 1 ? ` (and ${located.length - 1} more problem${located.length > 2 ? 's' : ''})` : '';
    const field = issue.path;
    const { message, hint } = describeIssue(issue, document, terms);
    const where = field.length === 0 ? '' : `${formatField(field)}${message === 'is missing' ? ' ' : ': '}`;
    throw new PeerlabError(`${file} line ${lineAt(offset)}: ${where}${message}${more}`, { hint: hint ?? terms.hintFor(field) });
  }
  return { data: parsed.data, lineOf, error };
}

/** `topology.n`, `groups[1].count`, `plots[0].reference[2].y`. */
export function formatField(field: FieldPath): string {
  return field.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${segment}` : segment), '');
}

/** The file as the user should see it: relative to `cwd` when it is inside it. */
export function displayName(absolute: string, cwd: string): string {
  const relative = path.relative(cwd, absolute);
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
}

interface FlatIssue {
  readonly code: string;
  readonly path: Array<string | number>;
  readonly message: string;
  readonly raw: z.core.$ZodIssue;
}

/** Replaces a union failure by the issues of the branch that got furthest, unless every branch failed at its root. */
function resolveIssue(issue: z.core.$ZodIssue, prefix: Array<string | number>): FlatIssue[] {
  const path = [...prefix, ...(issue.path as Array<string | number>)];
  if (issue.code === 'invalid_union' && 'errors' in issue && issue.errors.length > 0) {
    const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((inner) => inner.path.length));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0]!;
    if (depth(best) > 0) return best.flatMap((inner) => resolveIssue(inner, path));
  }
  return [{ code: issue.code, path, message: issue.message, raw: issue }];
}

function issueRange(document: Document, issue: FlatIssue): [number, number] | undefined {
  if (issue.code === 'unrecognized_keys' && 'keys' in issue.raw) {
    const key = (issue.raw.keys as string[])[0];
    if (key !== undefined) return locate(document, [...issue.path, key], true) ?? locate(document, issue.path, false);
  }
  return locate(document, issue.path, false);
}

/** The source range of the node at `field` (or of its key), falling back to the nearest ancestor in the file. */
function locate(document: Document, field: FieldPath, wantKey: boolean): [number, number] | undefined {
  let node: unknown = document.contents;
  let range = rangeOf(node);
  for (const [index, segment] of field.entries()) {
    const last = index === field.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((item) => isPair(item) && String(isScalar(item.key) ? item.key.value : item.key) === String(segment));
      if (!pair) return range;
      const key = pair.key as YamlNode | null;
      const value = pair.value as YamlNode | null;
      // A block mapping or list starts on the line after its key: the key's line is the one to name.
      const block = (isMap(value) || isSeq(value)) && !value.flow;
      if (last && (wantKey || !value?.range || block)) return rangeOf(key) ?? range;
      node = value;
      range = rangeOf(value) ?? rangeOf(key) ?? range;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment] as YamlNode | undefined;
      if (!item) return range;
      node = item;
      range = rangeOf(item) ?? range;
    } else {
      return range;
    }
  }
  return range;
}

function rangeOf(node: unknown): [number, number] | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? [range[0], range[1]] : undefined;
}

function describeValue(document: Document, field: FieldPath): string {
  const node = document.getIn(field, true) as unknown;
  if (node === undefined) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const value = node.value;
    if (value === null) return 'nothing (null)';
    const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
    return text.length > 40 ? `${text.slice(0, 39)}…` : text;
  }
  return 'something else';
}

const WORDS: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

function describeIssue(issue: FlatIssue, document: Document, terms: YamlFileTerms): { message: string; hint?: string } {
  const raw = issue.raw as z.core.$ZodIssue & Record<string, unknown>;
  const custom = !/^(Invalid input|Invalid option|Too small|Too big|Unrecognized key|Invalid string|Invalid number)/.test(issue.message);
  const got = describeValue(document, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const keys = raw.keys as string[];
      const known = terms.fieldsAt(issue.path.filter((segment) => typeof segment === 'string' || typeof segment === 'number'));
      const name = keys.length === 1 ? `unknown field "${keys[0]}"` : `unknown fields ${keys.map((key) => `"${key}"`).join(', ')}`;
      return { message: name, hint: known.length > 0 ? `the fields here are ${known.join(', ')}` : undefined };
    }
    case 'invalid_type': {
      if (got === 'nothing') return { message: 'is missing' };
      const expected = custom ? issue.message.replace(/^expected /, '') : (WORDS[String(raw.expected)] ?? String(raw.expected));
      return { message: `expected ${expected}, got ${got}` };
    }
    case 'invalid_value': {
      if (custom) return { message: `${issue.message}, got ${got}` };
      const values = (raw.values as unknown[]).map((value) => String(value));
      return { message: `expected one of ${values.join(', ')}, got ${got}` };
    }
    case 'invalid_union':
      return { message: `${custom ? issue.message : 'unexpected value'}, got ${got}` };
    case 'too_small':
    case 'too_big': {
      if (custom) return { message: issue.message.startsWith('expected') ? `${issue.message}, got ${got}` : issue.message };
      const bound = issue.code === 'too_small' ? raw.minimum : raw.maximum;
      const op = issue.code === 'too_small' ? (raw.inclusive === false ? '>' : '≥') : raw.inclusive === false ? '<' : '≤';
      if (raw.origin === 'array') return { message: `expected a list of ${op} ${String(bound)} element(s)` };
      if (raw.origin === 'string') return { message: `expected a string of ${op} ${String(bound)} character(s), got ${got}` };
      return { message: `expected a number ${op} ${String(bound)}, got ${got}` };
    }
    case 'invalid_format':
      return { message: custom ? `${issue.message}, got ${got}` : `badly formed value ${got}` };
    default:
      return { message: custom ? issue.message : `${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}` };
  }
}
