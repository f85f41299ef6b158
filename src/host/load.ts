import { createRequire } from 'node:module';
import { PeerlabError } from '../errors.js';
import type { PlacementPolicy } from '../sdk/placement.js';
import type { Algorithm } from '../sdk/types.js';

/** The module loaded, but its default export is not an algorithm; the message says what it is instead. */
export class NotAnAlgorithm extends Error {
  override name = 'NotAnAlgorithm';
}

/**
 * Loads a bundled algorithm file (CommonJS) afresh. With `sourceMaps`, Node's source maps are switched on
 * first, so a stack trace from the algorithm names the user's `.ts` file and line rather than the bundle's
 * (bundles carry an inline map; modules loaded earlier carry none and are unaffected). The CLI and the
 * simulator use it; the node agent does not (it maps a stack only when it has one: see mapStack).
 */
export function requireAlgorithm(file: string, options: { sourceMaps: boolean }): Algorithm {
  if (options.sourceMaps) process.setSourceMapsEnabled(true);
  const require = createRequire(file);
  delete require.cache[file];
  const loaded = require(file) as { default?: unknown };
  const problem = whyNotAnAlgorithm(loaded.default);
  if (problem !== undefined) throw new NotAnAlgorithm(problem);
  return loaded.default as Algorithm;
}

function whyNotAnAlgorithm(value: unknown): string | undefined {
  if (value === undefined) return 'it has no default export';
  if (typeof value !== 'object' || value === null) return `its default export is ${value === null ? 'null' : `a ${typeof value}`}`;
  const candidate = value as Partial<Algorithm>;
  if (candidate.kind === 'peerlab.algorithm') return undefined;
  const handlers = typeof candidate.onMessage === 'function' || typeof candidate.run === 'function';
  return handlers
    ? 'its default export is a plain object; wrap it in defineAlgorithm({ … })'
    : 'its default export has neither onMessage nor run, and was not made by defineAlgorithm({ … })';
}

/** Loads a bundled placement policy file (CommonJS); `shown` names its source in the refusal of one that is not a policy. */
export function requirePolicy(file: string, shown: string): PlacementPolicy {
  process.setSourceMapsEnabled(true);
  const require = createRequire(file);
  delete require.cache[file];
  const loaded = (require(file) as { default?: Partial<PlacementPolicy> }).default;
  if (loaded?.kind !== 'peerlab.policy' || typeof loaded.place !== 'function') {
    throw new PeerlabError(`${shown} does not export a placement policy`, {
      hint: "end the file with `export default definePolicy({ name, place({ hosts, nodes, settings }) { … } })` (import definePolicy from 'peerlab')",
    });
  }
  return loaded as PlacementPolicy;
}
