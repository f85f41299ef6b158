import { malformed, type RawGraph } from '../raw-graph.js';
import { parseXml, XmlSyntaxError, type XmlElement } from './xml.js';

interface KeyDeclaration {
  name: string;
  type: string;
  domain: string;
}

const NUMERIC_TYPES = new Set(['int', 'long', 'float', 'double']);

/**
 * GraphML's nodes and edges of the (first) graph, with `<data>` values named and typed by their
 * `<key>` declarations. Ports, hyperedges and nested graphs have no place in a peerlab topology
 * and are ignored.
 */
export function parseGraphml(text: string, file: string): RawGraph {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw malformed(file, `not well-formed XML: ${error.message}`, { line: error.line });
    throw error;
  }
  if (root.name !== 'graphml') throw malformed(file, `expected a <graphml> document, found <${root.name}>`);
  const graph = root.children.find((child) => child.name === 'graph');
  if (!graph) throw malformed(file, 'has no <graph> element', { line: root.line });

  const keys = new Map<string, KeyDeclaration>();
  const defaults = { node: {} as Record<string, unknown>, edge: {} as Record<string, unknown> };
  for (const element of root.children.filter((child) => child.name === 'key')) {
    const id = requireAttribute(element, 'id', file);
    const key = {
      name: element.attributes['attr.name'] ?? id,
      type: element.attributes['attr.type'] ?? 'string',
      domain: element.attributes['for'] ?? 'all',
    };
    keys.set(id, key);
    const fallback = element.children.find((child) => child.name === 'default');
    for (const domain of ['node', 'edge'] as const) {
      if (fallback && (key.domain === domain || key.domain === 'all')) defaults[domain][key.name] = typedValue(key, fallback, file);
    }
  }

  const attributesOf = (element: XmlElement, domain: 'node' | 'edge'): Record<string, unknown> => {
    const attributes = { ...defaults[domain] };
    for (const data of element.children.filter((child) => child.name === 'data')) {
      const id = requireAttribute(data, 'key', file);
      const key = keys.get(id) ?? { name: id, type: 'string', domain };
      attributes[key.name] = typedValue(key, data, file);
    }
    return attributes;
  };

  return {
    directed: graph.attributes['edgedefault'] === 'directed',
    nodes: graph.children
      .filter((child) => child.name === 'node')
      .map((node) => ({ id: requireAttribute(node, 'id', file), attributes: attributesOf(node, 'node'), line: node.line })),
    edges: graph.children
      .filter((child) => child.name === 'edge')
      .map((edge) => ({
        source: requireAttribute(edge, 'source', file),
        target: requireAttribute(edge, 'target', file),
        attributes: attributesOf(edge, 'edge'),
        line: edge.line,
      })),
  };
}

function requireAttribute(element: XmlElement, name: string, file: string): string {
  const value = element.attributes[name];
  if (value === undefined) throw malformed(file, `<${element.name}> has no ${name} attribute`, { line: element.line });
  return value;
}

function typedValue(key: KeyDeclaration, element: XmlElement, file: string): unknown {
  const text = element.text.trim();
  if (key.type === 'boolean') return text.toLowerCase() === 'true';
  if (!NUMERIC_TYPES.has(key.type)) return element.text;
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) {
    throw malformed(file, `value "${text}" of ${key.name} is not a number, though its key says ${key.type}`, { line: element.line });
  }
  return value;
}
