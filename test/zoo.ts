import path from 'node:path';
import { packageRoot } from '../src/util/paths.js';

/** The Topology Zoo maps the tests use, kept in the repository (topologies/zoo/, source in its SOURCE.md). */
export const ZOO_DIR = path.join(packageRoot, 'topologies', 'zoo');
export const GTS_CE = path.join(ZOO_DIR, 'GtsCe.graphml');
