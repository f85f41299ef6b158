import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (package.json, algorithms/, proto/, Dockerfile), found from this file in src/ or dist/src/. */
export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(start: string): string {
  for (let dir = start; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'proto', 'peer.proto'))) return dir;
  }
  throw new Error(`peerlab: cannot find the package root above ${start}`);
}
