import path from 'node:path';
import { packageRoot } from '../src/util/paths.js';

/** The Topology Zoo maps, in shared/ beside the repository (as on developers' machines and in CI). */
export const ZOO_DIR = path.resolve(packageRoot, '..', 'shared', 'topologies', 'zoo');
export const GTS_CE = path.join(ZOO_DIR, 'GtsCe.graphml');
