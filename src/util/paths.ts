import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The installed package root (where package.json, algorithms/, proto/ and the Dockerfile are). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
