import { randomBytes } from 'node:crypto';
import { parseRunId, type RunId } from '../util/names.js';

/** `<algorithm>-<yyyymmdd-hhmmss>-<4 hex>`: sortable, unique, and valid in Docker names and etcd keys. */
export function newRunId(algorithm: string, now = new Date()): RunId {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const name = algorithm.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 24) || 'run';
  return parseRunId(`${name}-${stamp}-${randomBytes(2).toString('hex')}`, 'new run id');
}
