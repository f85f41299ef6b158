import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/**
 * How often the agent's grpc-js looks for subchannels no channel uses any more (grpc-js: every 10 s).
 *
 * grpc-js checks with a setInterval that runs as long as any channel is open: in a node, its whole life. An idle
 * node woke 15 times a minute, 6 of them for this check and 9 to renew its lease; with hundreds of nodes waiting,
 * what they cost starved the bring-up (README, start-up). Side by side on the 2-core host (two runs of 30 idle
 * nodes, 120 s, their containers' cpuacct), nodes with the check every 10 s took 0.449 ms of CPU a second and
 * nodes without it 0.393 (−12 %). What the check frees, the subchannel of a link that ended (a neighbour moved
 * or restarted), can wait minutes, and grpc-js has no option for it: so the agent's bundle changes the constant.
 */
export const SUBCHANNEL_CHECK_MS = 600_000;

/** The line replaced, matched exactly: a grpc-js release that changes it fails the agent's build, never patched blindly. */
const GRPC_JS_CHECK_LINE = 'const REF_CHECK_INTERVAL = 10000;';
const SUBCHANNEL_POOL_FILE = /[\\/]@grpc[\\/]grpc-js[\\/]build[\\/]src[\\/]subchannel-pool\.js$/;

/** grpc-js's subchannel-pool.js with the check every SUBCHANNEL_CHECK_MS. */
export function withRareSubchannelCheck(source: string): string {
  if (!source.includes(GRPC_JS_CHECK_LINE)) {
    throw new Error(`@grpc/grpc-js's subchannel-pool.js no longer holds "${GRPC_JS_CHECK_LINE}": check src/node/bundle-patches.ts against this release`);
  }
  return source.replace(GRPC_JS_CHECK_LINE, `const REF_CHECK_INTERVAL = ${SUBCHANNEL_CHECK_MS};`);
}

/** The esbuild plugin that applies it; the build fails if grpc-js's file was never met (moved, or no longer bundled). */
export function rareSubchannelCheck(): Plugin {
  return {
    name: 'peerlab-rare-subchannel-check',
    setup(build) {
      let patched = false;
      build.onLoad({ filter: SUBCHANNEL_POOL_FILE }, async (args) => {
        patched = true;
        return { contents: withRareSubchannelCheck(await readFile(args.path, 'utf8')), loader: 'js' };
      });
      // Thrown, not pushed onto result.errors: esbuild resolves a build whose onEnd only adds an error.
      build.onEnd((result) => {
        if (!patched && result.errors.length === 0) throw new Error("grpc-js's subchannel-pool.js was not bundled: check src/node/bundle-patches.ts");
      });
    },
  };
}
