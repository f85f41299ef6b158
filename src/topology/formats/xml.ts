import { decodeEntities } from './entities.js';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its descendants'), entities decoded. */
  text: string;
  line: number;
}

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const NAME = /[A-Za-z_:][\w.:-]*/y;
const SPACE = /\s*/y;

/**
 * A strict reader for the XML that GraphML uses: elements, attributes, text, entities, CDATA;
 * comments, processing instructions and DOCTYPE are skipped. Namespaces are not resolved: names
 * lose their prefix. Any well-formedness error throws XmlSyntaxError with the line it is on,
 * where lenient DOM parsers would quietly return part of the file.
 */
export function parseXml(source: string): XmlElement {
  let position = source.startsWith('\uFEFF') ? 1 : 0;
  let line = 1;
  let counted = 0;
  // Positions only move forward, so lines are counted incrementally.
  const lineAt = (index: number): number => {
    for (; counted < index; counted++) if (source.charCodeAt(counted) === 10) line++;
    return line;
  };
  const fail = (message: string, at = position): never => {
    throw new XmlSyntaxError(message, lineAt(at));
  };
  const rejectEntity = (match: string): never => fail(`"${match}" is not an entity (write a literal & as &amp;)`);
  const skipPast = (terminator: string, what: string): void => {
    const end = source.indexOf(terminator, position);
    if (end === -1) fail(`unterminated ${what}`);
    position = end + terminator.length;
  };
  const readName = (what: string): string => {
    NAME.lastIndex = position;
    const match = NAME.exec(source);
    if (!match) return fail(`expected ${what} name`);
    position = NAME.lastIndex;
    return match[0];
  };
  const skipSpace = (): void => {
    SPACE.lastIndex = position;
    SPACE.exec(source);
    position = SPACE.lastIndex;
  };

  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  while (position < source.length) {
    const open = source.indexOf('<', position);
    const text = source.slice(position, open === -1 ? source.length : open);
    if (text.trim() !== '') {
      const parent = stack.at(-1);
      if (!parent) fail('text outside the root element');
      parent!.text += decodeEntities(text, rejectEntity);
    }
    position = open === -1 ? source.length : open;
    if (open === -1) break;

    if (source.startsWith('<!--', position)) skipPast('-->', 'comment');
    else if (source.startsWith('<?', position)) skipPast('?>', 'processing instruction');
    else if (source.startsWith('<![CDATA[', position)) {
      const start = position + '<![CDATA['.length;
      skipPast(']]>', 'CDATA section');
      const parent = stack.at(-1);
      if (!parent) fail('CDATA outside the root element', start);
      parent!.text += source.slice(start, position - 3);
    } else if (source.startsWith('<!', position)) skipDeclaration();
    else if (source.startsWith('</', position)) {
      const at = position;
      position += 2;
      const name = localName(readName('closing tag'));
      skipSpace();
      if (source[position] !== '>') fail(`expected ">" to end </${name}`);
      position++;
      const element = stack.pop();
      if (!element) fail(`closing tag </${name}> without an opening tag`, at);
      if (element!.name !== name) fail(`closing tag </${name}> does not match <${element!.name}> from line ${element!.line}`, at);
    } else {
      const at = position;
      position++;
      const element: XmlElement = { name: localName(readName('element')), attributes: {}, children: [], text: '', line: lineAt(at) };
      const selfClosing = readAttributes(element);
      const parent = stack.at(-1);
      if (parent) parent.children.push(element);
      else if (root) fail(`second root element <${element.name}>`, at);
      else root = element;
      if (!selfClosing) stack.push(element);
    }
  }
  if (stack.length > 0) fail(`<${stack.at(-1)!.name}> from line ${stack.at(-1)!.line} is never closed`);
  if (!root) fail('no XML element found');
  return root!;

  /** Reads `name="value"` pairs up to `>` or `/>`; returns whether the element closed itself. */
  function readAttributes(element: XmlElement): boolean {
    for (;;) {
      skipSpace();
      if (source.startsWith('/>', position)) {
        position += 2;
        return true;
      }
      if (source[position] === '>') {
        position++;
        return false;
      }
      if (position >= source.length) fail(`<${element.name}> is cut off`);
      const name = localName(readName('attribute'));
      skipSpace();
      if (source[position] !== '=') fail(`attribute ${name} of <${element.name}> has no value`);
      position++;
      skipSpace();
      const quote = source[position];
      if (quote !== '"' && quote !== "'") fail(`attribute ${name} of <${element.name}> needs a quoted value`);
      const end = source.indexOf(quote!, position + 1);
      if (end === -1) fail(`attribute ${name} of <${element.name}> has an unterminated value`);
      const value = source.slice(position + 1, end);
      if (value.includes('<')) fail(`attribute ${name} of <${element.name}> contains "<"`);
      if (name in element.attributes) fail(`attribute ${name} is repeated on <${element.name}>`);
      element.attributes[name] = decodeEntities(value, rejectEntity);
      position = end + 1;
    }
  }

  /** `<!DOCTYPE …>` may hold an internal subset in brackets, itself containing `>`. */
  function skipDeclaration(): void {
    let depth = 0;
    for (let i = position + 2; i < source.length; i++) {
      const char = source[i];
      if (char === '[') depth++;
      else if (char === ']') depth--;
      else if (char === '>' && depth === 0) {
        position = i + 1;
        return;
      }
    }
    fail('unterminated <! declaration');
  }
}

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}
