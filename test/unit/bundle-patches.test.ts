import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { rareSubchannelCheck, SUBCHANNEL_CHECK_MS, withRareSubchannelCheck } from '../../src/node/bundle-patches.js';

const require = createRequire(import.meta.url);

describe("the agent bundle's grpc-js patch", () => {
  it("changes the installed grpc-js's 10 s subchannel check, and nothing else", async () => {
    const file = path.join(path.dirname(require.resolve('@grpc/grpc-js')), 'subchannel-pool.js');
    const source = await readFile(file, 'utf8');
    const patched = withRareSubchannelCheck(source);
    expect(patched).toContain(`const REF_CHECK_INTERVAL = ${SUBCHANNEL_CHECK_MS};`);
    expect(patched).not.toContain('const REF_CHECK_INTERVAL = 10000;');
    expect(patched.replace(String(SUBCHANNEL_CHECK_MS), '10000')).toBe(source);
  });

  it('refuses a grpc-js whose line changed, naming the file to check', () => {
    expect(() => withRareSubchannelCheck('const REF_CHECK_INTERVAL = 5000;')).toThrow(/subchannel-pool\.js no longer holds .* check src\/node\/bundle-patches\.ts/);
  });

  it('fails a build that never bundles grpc-js, instead of shipping it unpatched', async () => {
    const bundling = build({ stdin: { contents: 'console.log(1)' }, write: false, logLevel: 'silent', plugins: [rareSubchannelCheck()] });
    await expect(bundling).rejects.toThrow(/subchannel-pool\.js was not bundled/);
  });
});
