/**
 * The node container's entry point (bin/start.cjs): runs the agent, bin/agent.cjs, from the V8 code cache that
 * the image build made beside it (see the Dockerfile), so that each of hundreds of nodes starting at once skips
 * compiling the agent: about 25 ms of CPU per node, and on a host of two cores every CPU-second of start-up is
 * wall time. Node 20 has no module.enableCompileCache (22.1+), hence vm.Script and its cachedData. A cache V8
 * rejects (another Node.js, other flags) or a missing one costs only the compile it was meant to save.
 *
 * With `--make-code-cache` (the image build) it loads the agent, which loads every module the agent uses, runs a
 * node's message path once in miniature (rehearsal.ts), and writes the cache of all that V8 compiled. V8 compiles
 * a function on its first call, so a cache made after the top level alone left the whole message path to be
 * compiled by every node at its first message.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, wrap } from 'node:module';
import path from 'node:path';
import { Script } from 'node:vm';

const agentFile = path.join(__dirname, 'agent.cjs');
const cacheFile = `${agentFile}.cache`;
const making = process.argv.includes('--make-code-cache');

const script = new Script(wrap(readFileSync(agentFile, 'utf8')), {
  filename: agentFile,
  cachedData: making ? undefined : readCache(),
});
const agentModule = { exports: {} };
(script.runInThisContext() as (...args: unknown[]) => void)(
  agentModule.exports,
  createRequire(agentFile),
  agentModule,
  agentFile,
  path.dirname(agentFile),
);
if (making) {
  const { rehearseMessagePath } = agentModule.exports as { rehearseMessagePath?: () => Promise<{ delivered: number }> };
  // A rehearsal that fails (or an agent without one) costs only the compiles it was meant to save: the build goes
  // on with the cache of the top level.
  void (async () => {
    try {
      if (!rehearseMessagePath) throw new Error('the agent has none');
      const { delivered } = await rehearseMessagePath();
      console.log(`code cache: rehearsed the message path (${delivered} messages)`);
    } catch (error) {
      console.warn(`code cache: no rehearsal of the message path (${(error as Error).message}); caching the top level only`);
    }
    writeFileSync(cacheFile, script.createCachedData());
    process.exit(0);
  })();
}

function readCache(): Buffer | undefined {
  try {
    return readFileSync(cacheFile);
  } catch {
    return undefined;
  }
}
