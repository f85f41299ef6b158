import os from 'node:os';
import path from 'node:path';
import type { RunId } from '../util/names.js';

/** peerlab's own folder for the local state of runs that are up: the only folder `peerlab down` removes from. */
export const STATE_ROOT = path.join(os.tmpdir(), 'peerlab');

/**
 * Local files of a run that is up (its algorithm bundle, mounted into the nodes); removed with the run. A
 * checked RunId is one path segment, so this is always a folder directly inside STATE_ROOT.
 */
export function runStateDir(runId: RunId): string {
  return path.join(STATE_ROOT, runId);
}
