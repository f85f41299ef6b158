/**
 * Removing what is already gone succeeds, however the engine words it; any other failure still fails. The errors
 * are shaped as dockerode makes them (statusCode, json.message), as the engine answered them in a Ctrl-C race.
 */
import { describe, expect, it } from 'vitest';
import { ignoreMissing } from '../../src/runtime/node-containers.js';

function engineError(statusCode: number, message: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${message}`), { statusCode, json: { message } });
}

describe('ignoreMissing', () => {
  it('takes 404, 409 and a Swarm manager\'s 500 "network … not found" as already gone', async () => {
    await expect(ignoreMissing(Promise.reject(engineError(404, 'No such container: 1234')))).resolves.toBeUndefined();
    await expect(ignoreMissing(Promise.reject(engineError(409, 'removal of container 1234 is already in progress')))).resolves.toBeUndefined();
    await expect(ignoreMissing(Promise.reject(engineError(500, 'network w3lsvo4upt39srq0gangf4wfz not found')))).resolves.toBeUndefined();
  });

  it('passes on any other failure, a 500 that is not "not found" included', async () => {
    await expect(ignoreMissing(Promise.reject(engineError(500, 'rpc error: code = FailedPrecondition desc = config is in use')))).rejects.toThrow(/in use/);
    await expect(ignoreMissing(Promise.reject(engineError(403, 'forbidden')))).rejects.toThrow(/forbidden/);
    await expect(ignoreMissing(Promise.reject(new Error('connect ENOENT /var/run/docker.sock')))).rejects.toThrow(/ENOENT/);
  });
});
