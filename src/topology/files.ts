import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { PeerlabError } from '../errors.js';
import { parseEdgeList } from './formats/edgelist.js';
import { parseGml } from './formats/gml.js';
import { parseGraphml } from './formats/graphml.js';
import { parseGraphologyJson } from './formats/json.js';
import { normalizeRawGraph, type RawGraph } from './raw-graph.js';
import type { TopologyDraft } from './types.js';

const PARSERS: Record<string, (text: string, file: string) => RawGraph> = {
  '.json': parseGraphologyJson,
  '.graphml': parseGraphml,
  '.gml': parseGml,
  '.txt': parseEdgeList,
  '.edges': parseEdgeList,
  '.edgelist': parseEdgeList,
  '.csv': parseEdgeList,
};

const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied' };

export const TOPOLOGY_FILE_EXTENSIONS: readonly string[] = Object.keys(PARSERS);

/** A spec names a file when one exists there, or when it ends like one (so a typo gets "cannot read", not "unknown model"). */
export function isTopologyFile(spec: string): boolean {
  return extname(spec).toLowerCase() in PARSERS || existsSync(spec);
}

export async function loadTopologyFile(file: string): Promise<TopologyDraft> {
  const parse = PARSERS[extname(file).toLowerCase()];
  if (!parse) {
    throw new PeerlabError(`cannot tell the format of topology file ${file} from its extension`, {
      hint: `rename it to end in one of ${TOPOLOGY_FILE_EXTENSIONS.join(', ')}`,
    });
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new PeerlabError(`cannot read topology file ${file}: ${READ_ERRORS[code] ?? (error as Error).message}`, {
      hint: 'check the path, or give a generator spec such as ring:n=10',
      cause: error,
    });
  }
  return normalizeRawGraph(parse(text, file), file);
}
