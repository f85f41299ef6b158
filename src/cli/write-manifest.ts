/**
 * Writes oclif.manifest.json beside package.json, at the end of `npm run build`. Without it oclif imports every
 * command module, and with them nearly all of peerlab, to list the commands and their flags at each start: on the
 * 2-core host `peerlab --version` took 2.2 s and any command ~1 s more than its own imports. With it, oclif reads
 * the list and imports only the command run. The manifest is the one oclif would build itself (Plugin.manifest),
 * so it cannot disagree with the commands it was built from; it is rebuilt with them and never committed.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Plugin } from '@oclif/core';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// A command that fails to load fails the build, rather than going missing from the manifest.
const peerlab = new Plugin({ root: packageRoot, isRoot: true, ignoreManifest: true, errorOnManifestCreate: true });
await peerlab.load();
const { manifest } = peerlab;
writeFileSync(path.join(packageRoot, 'oclif.manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`oclif.manifest.json: ${Object.keys(manifest.commands).length} commands`);
