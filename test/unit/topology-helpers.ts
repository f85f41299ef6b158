import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { PeerlabError } from '../../src/errors.js';

/** Expects a rejection with a PeerlabError whose one-line form (message — hint) matches every pattern. */
export async function expectPeerlabError(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<PeerlabError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PeerlabError);
  for (const pattern of patterns) expect((error as PeerlabError).line).toMatch(pattern);
  return error as PeerlabError;
}

/** Writes `content` to a fresh temporary directory and returns the file's path. */
export function tempFile(name: string, content: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'peerlab-topology-')), name);
  writeFileSync(path, content);
  return path;
}
