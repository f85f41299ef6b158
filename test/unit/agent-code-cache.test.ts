/**
 * The node image's code cache (src/node/start.ts): made after a rehearsal of a node's message path, so a node's
 * first messages run compiled code, and accepted by V8 when a node starts with the image's flags.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildAgentBundle } from '../../src/node/bundle.js';
import { rehearseMessagePath } from '../../src/node/rehearsal.js';
import { packageRoot } from '../../src/util/paths.js';

/** The V8 flags of the image's code-cache step: a cache is accepted only under the flags it was made with. */
function imageNodeFlags(): string[] {
  const dockerfile = readFileSync(path.join(packageRoot, 'Dockerfile'), 'utf8');
  const run = /RUN (\[.*"--make-code-cache"\])/.exec(dockerfile);
  if (!run) throw new Error('the Dockerfile has no code-cache step');
  return (JSON.parse(run[1]!) as string[]).filter((part) => part.startsWith('--') && part !== '--make-code-cache');
}

describe('the agent code cache', () => {
  it('rehearses the message path through the host, an outbox and a gRPC link', async () => {
    expect(await rehearseMessagePath()).toEqual({ delivered: 20 });
  });

  it('is made after the rehearsal and accepted under the image flags', async () => {
    const outDir = await buildAgentBundle(mkdtempSync(path.join(os.tmpdir(), 'peerlab-agent-cache-')));
    const flags = imageNodeFlags();
    const start = path.join(outDir, 'bin', 'start.cjs');
    const output = execFileSync(process.execPath, [...flags, start, '--make-code-cache'], { encoding: 'utf8' });
    expect(output).toMatch(/rehearsed the message path \(20 messages\)/);

    const agent = path.join(outDir, 'bin', 'agent.cjs');
    expect(statSync(`${agent}.cache`).size).toBeGreaterThan(0);
    const probe = `const fs = require('node:fs');
      const script = new (require('node:vm').Script)(require('node:module').wrap(fs.readFileSync(${JSON.stringify(agent)}, 'utf8')), { filename: ${JSON.stringify(agent)}, cachedData: fs.readFileSync(${JSON.stringify(`${agent}.cache`)}) });
      process.stdout.write(String(script.cachedDataRejected));`;
    expect(execFileSync(process.execPath, [...flags, '-e', probe], { encoding: 'utf8' })).toBe('false');
  });
});
