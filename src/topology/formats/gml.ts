import { malformed, type RawGraph } from '../raw-graph.js';
import { decodeHTMLStrict } from 'entities';

/**
 * GML is a tree of `key value` pairs; a value is a number, a "string" or a `[ … ]` list of pairs. Read by hand:
 * npm has no maintained GML parser (the format is small; strings' entities are decoded by `entities`).
 */
type GmlValue = number | string | GmlPair[];

interface GmlPair {
  key: string;
  value: GmlValue;
  line: number;
}

interface Token {
  kind: 'key' | 'number' | 'string' | 'open' | 'close';
  text: string;
  line: number;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The nodes and edges of the file's `graph [ … ]`; only scalar attributes are kept (not `graphics [ … ]`). */
export function parseGml(text: string, file: string): RawGraph {
  const tokens = tokenize(text, file);
  let next = 0;

  const parsePairs = (closing: Token | undefined): GmlPair[] => {
    const pairs: GmlPair[] = [];
    for (;;) {
      const keyToken = tokens[next++];
      if (!keyToken) {
        if (closing) throw malformed(file, 'the list opened here is never closed with "]"', { line: closing.line });
        return pairs;
      }
      if (keyToken.kind === 'close') {
        if (!closing) throw malformed(file, 'unexpected "]" with no list open', { line: keyToken.line });
        return pairs;
      }
      if (keyToken.kind !== 'key') {
        throw malformed(file, `expected a key, found ${describe(keyToken)}`, {
          line: keyToken.line,
          hint: 'GML is made of `key value` pairs, e.g. node [ id 0 label "a" ]',
        });
      }
      const valueToken = tokens[next++];
      if (!valueToken || valueToken.kind === 'close' || valueToken.kind === 'key') {
        throw malformed(file, `key "${keyToken.text}" has no value`, { line: keyToken.line });
      }
      const value =
        valueToken.kind === 'open' ? parsePairs(valueToken) : valueToken.kind === 'number' ? Number(valueToken.text) : valueToken.text;
      pairs.push({ key: keyToken.text, value, line: keyToken.line });
    }
  };

  const graph = parsePairs(undefined).find((pair) => pair.key === 'graph');
  if (!graph || !Array.isArray(graph.value)) {
    throw malformed(file, 'has no `graph [ … ]` block', {
      hint: 'a GML topology looks like graph [ node [ id 0 ] node [ id 1 ] edge [ source 0 target 1 ] ]',
    });
  }
  const body = graph.value;

  /** The scalar attributes besides the structural ones (id, source, target). */
  const scalars = (pairs: GmlPair[], structural: string[]): Record<string, unknown> => {
    const attributes: Record<string, unknown> = {};
    // The first of repeated keys wins, as it would for a reader scanning top-down.
    for (const { key, value } of pairs) {
      if (!Array.isArray(value) && !(key in attributes) && !structural.includes(key)) attributes[key] = value;
    }
    return attributes;
  };
  const idField = (pair: GmlPair, key: string): string => {
    const field = (pair.value as GmlPair[]).find((entry) => entry.key === key);
    if (!field || Array.isArray(field.value)) throw malformed(file, `${pair.key} has no ${key}`, { line: pair.line });
    return String(field.value);
  };
  const blocks = (key: string): GmlPair[] => body.filter((pair) => pair.key === key && Array.isArray(pair.value));

  return {
    directed: body.some((pair) => pair.key === 'directed' && pair.value === 1),
    nodes: blocks('node').map((pair) => ({
      id: idField(pair, 'id'),
      attributes: scalars(pair.value as GmlPair[], ['id']),
      line: pair.line,
    })),
    edges: blocks('edge').map((pair) => ({
      source: idField(pair, 'source'),
      target: idField(pair, 'target'),
      attributes: scalars(pair.value as GmlPair[], ['source', 'target']),
      line: pair.line,
    })),
  };
}

function tokenize(text: string, file: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '\n') {
      line++;
      i++;
    } else if (/\s/.test(char)) i++;
    else if (char === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (char === '[' || char === ']') {
      tokens.push({ kind: char === '[' ? 'open' : 'close', text: char, line });
      i++;
    } else if (char === '"') {
      // GML strings have no backslash escapes (a quote inside is written &quot;) and may span lines.
      const end = text.indexOf('"', i + 1);
      if (end === -1) throw malformed(file, 'unterminated string', { line });
      const raw = text.slice(i + 1, end);
      // GML writes non-ASCII characters as HTML entities (&auml;, &#246;); an & that starts none stays as it is.
      tokens.push({ kind: 'string', text: decodeHTMLStrict(raw), line });
      line += raw.split('\n').length - 1;
      i = end + 1;
    } else {
      let end = i;
      while (end < text.length && !/[\s[\]"#]/.test(text[end]!)) end++;
      const word = text.slice(i, end);
      const kind = NUMBER.test(word) ? 'number' : KEY.test(word) ? 'key' : undefined;
      if (!kind) {
        throw malformed(file, `unexpected "${word}"`, {
          line,
          hint: 'GML values are numbers or "quoted strings"; keys are letters, digits and _',
        });
      }
      tokens.push({ kind, text: word, line });
      i = end;
    }
  }
  return tokens;
}

function describe(token: Token): string {
  return token.kind === 'open' ? '"["' : token.kind === 'string' ? `the string "${token.text}"` : `"${token.text}"`;
}
