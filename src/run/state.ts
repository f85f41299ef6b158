import os from 'node:os';
import path from 'node:path';

/** Local files of a run that is up (its algorithm bundle, mounted into the nodes); removed with the run. */
export function runStateDir(runId: string): string {
  return path.join(os.tmpdir(), 'peerlab', runId);
}
