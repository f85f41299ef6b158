/**
 * The start-up bench's baseline starts peerlab's own node container spec with `docker run -d`: every setting
 * becomes its flag, and a setting without one fails instead of silently making the baseline lighter.
 */
import { describe, expect, it } from 'vitest';
import { dockerRunArgs } from '../../src/runtime/docker-run-args.js';
import { nodeContainerSpec } from '../../src/runtime/docker.js';

const options = { runId: 'bench-x', image: 'peerlab/node:abc', memoryLimit: 64 * 2 ** 20, mounts: { '/tmp/bundle': '/algorithm' }, concurrency: 8 };

/** The values that follow each occurrence of `flag`. */
function valuesOf(args: readonly string[], flag: string): string[] {
  return args.flatMap((arg, index) => (arg === flag ? [args[index + 1]!] : []));
}

describe('dockerRunArgs', () => {
  it("turns every setting of a node's container into its docker run flag", () => {
    const args = dockerRunArgs(nodeContainerSpec(options, { id: '7', env: { PEERLAB_NODE: '7', PEERLAB_RUN: 'bench-x' } }));
    expect(args.slice(0, 2)).toEqual(['run', '-d']);
    expect(valuesOf(args, '--name')).toEqual(['peerlab-bench-x-node-7']);
    expect(valuesOf(args, '--hostname')).toEqual(['node-7']);
    expect(valuesOf(args, '--env')).toEqual(['PEERLAB_NODE=7', 'PEERLAB_RUN=bench-x']);
    expect(valuesOf(args, '--label')).toEqual(['peerlab.run=bench-x', 'peerlab.node=7', 'peerlab.role=node']);
    expect(valuesOf(args, '--network')).toEqual(['peerlab-bench-x']);
    expect(valuesOf(args, '--cap-drop')).toEqual(['ALL']);
    expect(valuesOf(args, '--security-opt')).toEqual(['no-new-privileges']);
    expect(args).toContain('--read-only');
    expect(valuesOf(args, '--tmpfs')).toEqual(['/tmp:rw,noexec,nosuid,size=16m']);
    expect(valuesOf(args, '--memory')).toEqual([`${64 * 2 ** 20}b`]);
    expect(valuesOf(args, '--memory-swap')).toEqual([`${64 * 2 ** 20}b`]);
    expect(valuesOf(args, '--cpu-shares')).toEqual(['256']);
    expect(valuesOf(args, '--pids-limit')).toEqual(['64']);
    expect(valuesOf(args, '--volume')).toEqual(['/tmp/bundle:/algorithm:ro']);
    expect(valuesOf(args, '--log-driver')).toEqual(['json-file']);
    expect(valuesOf(args, '--log-opt')).toEqual(['max-size=1m', 'max-file=2']);
    expect(args.at(-1)).toBe('peerlab/node:abc');
  });

  it('puts the image, then the rest of the entry point, then the command last', () => {
    const args = dockerRunArgs({ Image: 'img', Entrypoint: ['node', '--flag'], Cmd: ['-e', '1'] });
    expect(args).toEqual(['run', '-d', '--entrypoint', 'node', 'img', '--flag', '-e', '1']);
  });

  it('refuses a setting it has no flag for, naming it', () => {
    expect(() => dockerRunArgs({ Image: 'img', HostConfig: { OomKillDisable: true } })).toThrow(/no docker run flag for HostConfig\.OomKillDisable/);
    expect(() => dockerRunArgs({ Image: 'img', WorkingDir: '/x' })).toThrow(/no docker run flag for container field WorkingDir/);
  });
});
