import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const LOCATION = /((?:file:\/\/)?\/[^\s():]+):(\d+):(\d+)/g;
const INLINE_MAP = /\/\/# sourceMappingURL=data:application\/json;base64,([A-Za-z0-9+/=]+)\s*$/;

/**
 * Rewrites the positions in `stack` that point into `bundle` (an algorithm bundled with an inline source map,
 * see plugins/bundle.ts) to the `.ts` file and line they came from. The node agent uses this instead of Node's
 * --enable-source-maps, which costs every idle node about 0.75 MiB: the map is read only when there is a
 * stack to translate. Positions the map does not cover are left as they are.
 */
export function mapStack(stack: string, bundle: string): string {
  let map: SourceMap | undefined | null = null;
  return stack.replace(LOCATION, (location, file: string, line: string, column: string) => {
    if ((file.startsWith('file://') ? fileURLToPath(file) : file) !== bundle) return location;
    if (map === null) map = readInlineMap(bundle);
    const entry = map?.findEntry(Number(line) - 1, Number(column) - 1) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (entry?.originalSource === undefined) return location;
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : entry.originalSource;
    return `${source}:${entry.originalLine! + 1}:${entry.originalColumn! + 1}`;
  });
}

function readInlineMap(bundle: string): SourceMap | undefined {
  try {
    const encoded = INLINE_MAP.exec(readFileSync(bundle, 'utf8'))?.[1];
    return encoded === undefined ? undefined : new SourceMap(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')));
  } catch {
    return undefined;
  }
}
