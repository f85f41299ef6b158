import sax from 'sax';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its descendants'), entities decoded; whitespace between elements left out. */
  text: string;
  /** The line its start tag begins on. */
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

/**
 * The XML of a GraphML file as a tree, read by sax in strict mode: a maintained parser that rejects what is
 * not well-formed (mismatched or unclosed tags, a bare "&", unknown entities, text outside the root) where
 * lenient DOM parsers quietly return part of a broken file, and that tracks lines. (saxes, stricter still,
 * reports a bare "&" at the end of the file instead of on its line.) Any error throws XmlSyntaxError with
 * the line it is on. Namespaces are not resolved: names lose their prefix (`<y:ShapeNode>` is `ShapeNode`).
 */
export function parseXml(source: string): XmlElement {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const parser = sax.parser(true, { position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  // Lines of positions that only move forward, counted as they go.
  let line = 1;
  let counted = 0;
  const lineAt = (index: number): number => {
    for (; counted < index; counted++) if (text.charCodeAt(counted) === 10) line++;
    return line;
  };
  const fail = (message: string, at = parser.line + 1): never => {
    throw new XmlSyntaxError(message, at);
  };

  parser.onerror = (error) => {
    const open = stack.at(-1);
    // sax says "Unclosed root tag" at the end of the file: name the element, and where it opened.
    if (error.message.startsWith('Unclosed root tag') && open) fail(`<${open.name}> from line ${open.line} is never closed`);
    fail(error.message.split('\n')[0]!.replace(/\.$/, ''));
  };
  parser.onopentag = (tag) => {
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(tag.attributes)) attributes[localName(name)] = typeof value === 'string' ? value : value.value;
    // startTagPosition is just past the "<" of this tag.
    const element: XmlElement = { name: localName(tag.name), attributes, children: [], text: '', line: lineAt(parser.startTagPosition - 1) };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root) fail(`second root element <${element.name}>`, element.line); // sax leaves this check to its user
    else root = element;
    stack.push(element);
  };
  parser.onclosetag = () => {
    stack.pop();
  };
  const addText = (content: string): void => {
    const parent = stack.at(-1);
    if (parent && content.trim() !== '') parent.text += content;
  };
  parser.ontext = addText;
  parser.oncdata = addText;

  parser.write(text).close();
  if (!root) fail('no XML element found', 1);
  return root!;
}

function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}
