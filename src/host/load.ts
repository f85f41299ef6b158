import { createRequire } from 'node:module';
import type { Algorithm } from '../sdk/types.js';

/** Loads a bundled algorithm file (CommonJS) afresh; throws if its default export is not an algorithm. */
export function requireAlgorithm(file: string): Algorithm {
  const require = createRequire(file);
  delete require.cache[file];
  const loaded = require(file) as { default?: Algorithm };
  if (loaded.default?.kind !== 'peerlab.algorithm') {
    throw new Error(`${file} does not export an algorithm made by defineAlgorithm() as its default export`);
  }
  return loaded.default;
}
