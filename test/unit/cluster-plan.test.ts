import { describe, expect, it } from 'vitest';
import { overlaps, parseCidr, planCluster } from '../../src/cluster/plan.js';
import { PeerlabError } from '../../src/errors.js';

describe('planCluster', () => {
  const hostLike = ['192.0.2.0/24', '172.17.0.0/16', '127.0.0.0/8', '192.0.2.2/24'];

  it('gives engine 1 to the host and each other engine its namespace, folder, socket and link address', () => {
    const plan = planCluster({ name: 'lab', engines: 3, usedNetworks: hostLike, stateRoot: '/state' });
    expect(plan.linkSubnet).toBe('10.213.0.0/24');
    expect(plan.addressPool).toBe('10.224.0.0/12');
    expect(plan.overlaySubnetBits).toBe(20);
    expect(plan.dataPathPort).toBe(4789);
    expect(plan.hubNetns).toBe('peerlab-lab-hub');
    expect(plan.engines.map((engine) => [engine.name, engine.netns, engine.address, engine.ownLeg, engine.hubLeg, engine.socketPath])).toEqual([
      ['engine-1', undefined, '10.213.0.1', 'pl-lab', 'e1', undefined],
      ['engine-2', 'peerlab-lab-2', '10.213.0.2', 'eth0', 'e2', '/state/lab/engine-2/docker.sock'],
      ['engine-3', 'peerlab-lab-3', '10.213.0.3', 'eth0', 'e3', '/state/lab/engine-3/docker.sock'],
    ]);
  });

  it('keeps interface names within Linux’s 15 characters for the longest name', () => {
    const plan = planCluster({ name: 'abcdefgh', engines: 32, usedNetworks: [] });
    for (const engine of plan.engines) {
      expect(engine.ownLeg.length).toBeLessThanOrEqual(15);
      expect(engine.hubLeg.length).toBeLessThanOrEqual(15);
    }
  });

  it('moves the link and the overlay pool off networks the host already uses', () => {
    const plan = planCluster({ name: 'lab', engines: 2, usedNetworks: ['10.213.0.0/23', '10.213.2.7/32', '10.230.1.0/24'] });
    expect(plan.linkSubnet).toBe('10.213.3.0/24');
    expect(plan.addressPool).toBe('10.240.0.0/12');
    // A host route covering everything in 10/8 leaves no candidate: one line saying so.
    expect(() => planCluster({ name: 'lab', engines: 2, usedNetworks: ['10.0.0.0/8'] })).toThrow(/no free \/24/);
    expect(() => planCluster({ name: 'lab', engines: 2, usedNetworks: ['10.224.0.0/11', '10.192.0.0/12', '10.208.0.0/16', '10.176.0.0/12', '10.160.0.0/12'] })).toThrow(/overlaps a host network/);
  });

  it('refuses a bad name, engine count or data-path port with the flag and a fix', () => {
    const defaults = { name: 'lab', engines: 3, usedNetworks: [] };
    for (const [options, flag] of [
      [{ name: 'Lab' }, '--name'],
      [{ name: 'toolongname' }, '--name'],
      [{ engines: 0 }, '--engines'],
      [{ engines: 33 }, '--engines'],
      [{ engines: 2.5 }, '--engines'],
      [{ dataPathPort: 80 }, '--data-path-port'],
    ] as const) {
      const error = (() => {
        try {
          planCluster({ ...defaults, ...options });
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error).toBeInstanceOf(PeerlabError);
      expect((error as PeerlabError).message.startsWith(flag)).toBe(true);
      expect((error as PeerlabError).hint).toBeTruthy();
    }
  });
});

describe('CIDR arithmetic', () => {
  it('parses to the network and compares by the shorter prefix', () => {
    expect(parseCidr('10.1.2.3/16')).toEqual({ base: 10 * 2 ** 24 + 1 * 2 ** 16, bits: 16 });
    expect(overlaps(parseCidr('10.0.0.0/8'), parseCidr('10.213.0.0/24'))).toBe(true);
    expect(overlaps(parseCidr('10.213.0.0/24'), parseCidr('10.213.1.0/24'))).toBe(false);
    expect(overlaps(parseCidr('0.0.0.0/0'), parseCidr('192.0.2.1'))).toBe(true);
    expect(() => parseCidr('10.0.0/8')).toThrow();
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
  });
});
