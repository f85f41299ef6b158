/**
 * The algorithm bundle for node containers carries no zod (it would cost every node ~10 MiB), yet its module
 * loads, keeps its name and handlers, and a schema used by mistake inside a node fails loudly.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleAlgorithm, bundleForNodes } from '../../src/plugins/bundle.js';
import { requireAlgorithm } from '../../src/host/load.js';
import { packageRoot } from '../../src/util/paths.js';

describe('bundleForNodes', () => {
  it.each(['flood', 'ghs', 'high-risk-edges'])('%s: loads without zod, and validating in a node throws', async (name) => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-node-bundle-'));
    const source = path.join(packageRoot, 'algorithms', `${name}.ts`);
    const [cli, nodeFile] = await Promise.all([bundleAlgorithm(source, outDir), bundleForNodes(source, outDir)]);

    expect(readFileSync(cli.file, 'utf8')).toMatch(/ZodError/);
    const nodeCode = readFileSync(nodeFile, 'utf8');
    expect(nodeCode).not.toMatch(/ZodError/);
    expect(nodeCode.length).toBeLessThan(readFileSync(cli.file, 'utf8').length / 3);

    const algorithm = requireAlgorithm(nodeFile, { sourceMaps: false });
    expect(algorithm.name).toBe(name);
    expect(typeof (algorithm.onMessage ?? algorithm.run)).toBe('function');
    expect(() => algorithm.params!.parse({})).toThrow(/zod does not run inside node containers/);
    expect(cli.algorithm.params!.parse({})).toBeTypeOf('object');
  });

  it('loads a service built by a helper (algorithms/lib/lookup-service.ts) without zod', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'peerlab-node-bundle-'));
    const nodeFile = await bundleForNodes(path.join(packageRoot, 'algorithms', 'services', 'weather.ts'), outDir);
    expect(readFileSync(nodeFile, 'utf8')).not.toMatch(/ZodError/);
    expect(requireAlgorithm(nodeFile, { sourceMaps: false })).toMatchObject({ name: 'weather', kind: 'peerlab.algorithm' });
  });
});
