/**
 * A move's new container is started as its old one was, but for what the CLI sets per container: the succession
 * and the test hook come from the CLI that moves the node, or not at all (src/node/identity.ts).
 */
import { describe, expect, it } from 'vitest';
import { ENV, successorEnvLines } from '../../src/node/identity.js';

describe('successorEnvLines', () => {
  const inherited = [`${ENV.run}=r1`, `${ENV.node}=3`, `${ENV.testExit}=handoff`, `${ENV.succeeds}=migrate-3-a`, `${ENV.succession}=migrate`, 'A=B=C'];

  it('keeps the identity, drops the old container\'s succession and test hook, and adds the new ones once', () => {
    expect(successorEnvLines(inherited, { [ENV.succeeds]: 'migrate-3-b', [ENV.succession]: 'migrate' })).toEqual([
      `${ENV.run}=r1`,
      `${ENV.node}=3`,
      'A=B=C',
      `${ENV.succeeds}=migrate-3-b`,
      `${ENV.succession}=migrate`,
    ]);
  });

  it('takes the moving CLI\'s test hook, and replaces an inherited variable it names', () => {
    expect(successorEnvLines(inherited, { [ENV.testExit]: 'resumed', A: 'D' })).toEqual([`${ENV.run}=r1`, `${ENV.node}=3`, `${ENV.testExit}=resumed`, 'A=D']);
  });
});
