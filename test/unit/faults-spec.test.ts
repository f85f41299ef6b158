import { describe, expect, it } from 'vitest';
import { parseFaultSpec, parseFaultSpecs } from '../../src/faults/spec.js';
import { errorLine } from './faults-helpers.js';

describe('--fault parsing', () => {
  it('reads the examples of the issue', () => {
    expect(parseFaultSpec('at=2s kill top-degree:5', 1)).toEqual({
      index: 1,
      name: '--fault 1',
      text: 'at=2s kill top-degree:5',
      verb: 'kill',
      selector: { kind: 'top-degree', count: 5 },
      atMs: 2000,
      forMs: undefined,
      everyMs: undefined,
      untilMs: undefined,
      oneway: false,
    });
    expect(parseFaultSpec('at=5s partition mincut:2 for=20s', 1)).toMatchObject({ verb: 'partition', selector: { kind: 'mincut', parts: 2 }, atMs: 5000, forMs: 20_000 });
    expect(parseFaultSpec('at=1s pause ids:3,4 for=2s', 1)).toMatchObject({ verb: 'pause', selector: { kind: 'ids', ids: ['3', '4'] }, forMs: 2000 });
    expect(parseFaultSpec('at=0s cut edges:1-2,3-4 oneway', 1)).toMatchObject({ verb: 'cut', oneway: true, selector: { kind: 'edges', pairs: [['1', '2'], ['3', '4']] } });
    expect(parseFaultSpec('at=2s flap edges:1-2 every=500ms for=5s', 1)).toMatchObject({ verb: 'flap', everyMs: 500, forMs: 5000 });
    expect(parseFaultSpec('at=3s stop random:10%', 1)).toMatchObject({ verb: 'stop', selector: { kind: 'random-share', percent: 10 } });
    expect(parseFaultSpec('at=1s restart ids:7', 1)).toMatchObject({ verb: 'restart', selector: { kind: 'ids', ids: ['7'] } });
    expect(parseFaultSpec('at=10s migrate ids:3', 1)).toMatchObject({ verb: 'migrate', atMs: 10_000, selector: { kind: 'ids', ids: ['3'] } });
    expect(errorLine(() => parseFaultSpec('at=1s migrate ids:3 for=2s', 1))).toMatch(/migrate has nothing to heal, so for= would do nothing/);
    expect(errorLine(() => parseFaultSpec('at=1s migrate edges:1-2', 1))).toMatch(/migrate acts on nodes, and edges selects edges/);
    expect(parseFaultSpec('every=10s kill random:1', 1)).toMatchObject({ atMs: 0, everyMs: 10_000, selector: { kind: 'random', count: 1 } });
    expect(parseFaultSpec('kill leader', 1)).toMatchObject({ selector: { kind: 'leader', election: 'leader' } });
    expect(parseFaultSpec('at=5s kill leader:db', 1)).toMatchObject({ selector: { kind: 'leader', election: 'db' } });
    expect(parseFaultSpec('at=1.5m cut high-risk:results/x', 1)).toMatchObject({ atMs: 90_000, selector: { kind: 'high-risk', folder: 'results/x' } });
    expect(parseFaultSpec('partition region:45,5,55,15', 1).selector).toEqual({ kind: 'region', lat1: 45, lon1: 5, lat2: 55, lon2: 15 });
    expect(parseFaultSpec('cut heavier-than:2.5', 1).selector).toEqual({ kind: 'heavier-than', weight: 2.5 });
    expect(parseFaultSpec('cut random-edges:5%', 1).selector).toEqual({ kind: 'random-edges', percent: 5 });
  });

  it('numbers the faults from 1 in order', () => {
    expect(parseFaultSpecs(['kill ids:1', 'stop ids:2']).map((spec) => spec.index)).toEqual([1, 2]);
  });

  it('names the fault, its text, the problem and the fix in one line', () => {
    expect(errorLine(() => parseFaultSpecs(['kill ids:1', 'at=5s kill top-degre:5']))).toBe(
      '--fault 2 "at=5s kill top-degre:5": unknown selector top-degre — did you mean top-degree?',
    );
    expect(errorLine(() => parseFaultSpec('at=5s kil ids:1', 1))).toMatch(/^--fault 1 "at=5s kil ids:1": unknown selector kil — did you mean kill\?$/);
    expect(errorLine(() => parseFaultSpec('at=5x kill ids:1', 1))).toMatch(/at=5x: "x" is not a unit of time/);
    expect(errorLine(() => parseFaultSpec('at=5 kill ids:1', 1))).toMatch(/"5" has no unit/);
    expect(errorLine(() => parseFaultSpec('kill', 3))).toMatch(/^--fault 3 "kill": no selector/);
    expect(errorLine(() => parseFaultSpec('ids:1', 1))).toMatch(/no action — add one of kill/);
    expect(errorLine(() => parseFaultSpec('kill stop ids:1', 1))).toMatch(/a second action stop after kill/);
    expect(errorLine(() => parseFaultSpec('kill mincut:2', 1))).toMatch(/kill acts on nodes, and mincut selects edges/);
    expect(errorLine(() => parseFaultSpec('at=1s kill ids:1 for=2s', 1))).toMatch(/kill has nothing to heal/);
    expect(errorLine(() => parseFaultSpec('flap edges:1-2', 1))).toMatch(/flap needs every=/);
    expect(errorLine(() => parseFaultSpec('pause ids:1 every=1s for=2s', 1))).toMatch(/for=2s is not shorter than every=1s/);
    expect(errorLine(() => parseFaultSpec('kill ids:1 until=5s', 1))).toMatch(/until= ends a repetition, but there is no every=/);
    expect(errorLine(() => parseFaultSpec('kill top-degree:x', 1))).toMatch(/"x" is not a whole number ≥ 0/);
    expect(errorLine(() => parseFaultSpec('cut mincut:0', 1))).toMatch(/"0" is not a whole number ≥ 1/);
    expect(errorLine(() => parseFaultSpecs(['kill ids:1', 'kill top-degre:1'], (i) => `fault ${i}`))).toMatch(/^fault 2 "kill top-degre:1": unknown selector/);
    expect(errorLine(() => parseFaultSpec('kill random:150%', 1))).toMatch(/not a share in \(0%, 100%\]/);
    expect(errorLine(() => parseFaultSpec('cut mincut:1', 1))).toMatch(/mincut:1 splits nothing/);
    expect(errorLine(() => parseFaultSpec('cut edges:1-1', 1))).toMatch(/self-loop/);
    expect(errorLine(() => parseFaultSpec('partition region:1,2,3', 1))).toMatch(/expected four numbers/);
    expect(errorLine(() => parseFaultSpec('kill ids:1 oneway', 1))).toMatch(/oneway applies to links/);
    expect(errorLine(() => parseFaultSpec('kill ids:1 durring=2s', 1))).toBe('--fault 1 "kill ids:1 durring=2s": unknown setting durring= — the settings are at=, for=, every=, until= (and delay=, jitter=, loss=, rate= for degrade; offset=, rate= for skew)');
    expect(errorLine(() => parseFaultSpec('kill ids:1 evry=2s', 1))).toMatch(/unknown setting evry= — did you mean every\?/);
    expect(errorLine(() => parseFaultSpec('   ', 1))).toMatch(/the fault is empty/);
  });

  it('reads degrade: the link settings as --links writes them, checked one line each', () => {
    expect(parseFaultSpec('at=2s degrade edges:1-2 delay=100ms jitter=exp:5ms loss=1% rate=10mbit for=3s oneway', 1)).toMatchObject({
      verb: 'degrade',
      atMs: 2000,
      forMs: 3000,
      oneway: true,
      link: { delayMs: 100, jitterMs: 5, jitterDistribution: 'exponential', lossPercent: 1, rateBps: 10e6 },
    });
    expect(parseFaultSpec('degrade ids:3 delay=1s', 1)).toMatchObject({ selector: { kind: 'ids', ids: ['3'] }, link: { delayMs: 1000 } });
    expect(errorLine(() => parseFaultSpec('at=1s degrade edges:1-2', 1))).toMatch(/^--fault 1 "at=1s degrade edges:1-2": degrade needs what to change — add delay=, jitter=, loss= or rate=/);
    expect(errorLine(() => parseFaultSpec('degrade edges:1-2 delay=-5ms', 1))).toMatch(/delay=-5ms: "-5ms" is negative/);
    expect(errorLine(() => parseFaultSpec('degrade edges:1-2 rate=10mbps', 1))).toMatch(/rate=10mbps: "mbps" is ambiguous/);
    expect(errorLine(() => parseFaultSpec('degrade edges:1-2 loss=1% loss=2%', 1))).toMatch(/loss= is given twice/);
    expect(errorLine(() => parseFaultSpec('cut edges:1-2 delay=5ms', 1))).toMatch(/delay= change a link, which cut does not — use degrade/);
    expect(errorLine(() => parseFaultSpec('degrade leader delay=5ms', 1))).toMatch(/degrade of the leader's links is not supported/);
  });

  it('reads drop-messages:P%, and refuses a share that is not one', () => {
    expect(parseFaultSpec('at=2s drop-messages:5% edges:1-2 for=3s oneway', 1)).toMatchObject({ verb: 'drop-messages', dropPercent: 5, forMs: 3000, oneway: true });
    expect(parseFaultSpec('drop-messages:0.5% random-edges:10%', 1)).toMatchObject({ dropPercent: 0.5, selector: { kind: 'random-edges', percent: 10 } });
    for (const share of ['drop-messages', 'drop-messages:0%', 'drop-messages:150%', 'drop-messages:5']) {
      expect(errorLine(() => parseFaultSpec(`${share} edges:1-2`, 1))).toMatch(/drop-messages needs a share in \(0%, 100%\] — write e.g./);
    }
  });

  it('reads skew with offset= and rate=, and refuses what would not skew a clock', () => {
    expect(parseFaultSpec('at=2s skew ids:3 offset=+500ms', 1)).toMatchObject({ verb: 'skew', skew: { offsetMs: 500, rate: 1 }, link: undefined });
    expect(parseFaultSpec('rate=1.05 skew random:2 offset=-1.5s for=10s', 1)).toMatchObject({ skew: { offsetMs: -1500, rate: 1.05 }, forMs: 10_000, link: undefined });
    expect(parseFaultSpec('skew leader rate=0.9', 1)).toMatchObject({ skew: { offsetMs: 0, rate: 0.9 }, selector: { kind: 'leader' } });
    // rate= is still a link rate for degrade, wherever it stands.
    expect(parseFaultSpec('rate=10mbit degrade edges:1-2', 1).link).toMatchObject({ rateBps: 10_000_000 });
    expect(errorLine(() => parseFaultSpec('at=1s skew ids:1', 1))).toBe('--fault 1 "at=1s skew ids:1": skew needs offset= or rate= — write e.g. \'at=2s skew ids:3 offset=+500ms\' or \'at=2s skew random:2 rate=1.05 for=10s\'');
    expect(errorLine(() => parseFaultSpec('skew ids:1 rate=0', 1))).toMatch(/rate=0: a clock rate is a number above 0/);
    expect(errorLine(() => parseFaultSpec('skew ids:1 rate=fast', 1))).toMatch(/rate=fast: a clock rate is a number above 0/);
    expect(errorLine(() => parseFaultSpec('skew ids:1 offset=500', 1))).toMatch(/offset=500: "500" has no unit — write a signed time like \+500ms or -2s/);
    expect(errorLine(() => parseFaultSpec('skew ids:1 offset=0s rate=1', 1))).toMatch(/leave the clock as it is/);
    expect(errorLine(() => parseFaultSpec('skew edges:1-2 offset=1s', 1))).toMatch(/skew acts on nodes, and edges selects edges/);
    expect(errorLine(() => parseFaultSpec('kill ids:1 offset=1s', 1))).toMatch(/offset= sets a clock, which kill does not/);
    expect(errorLine(() => parseFaultSpec('kill ids:1 rate=1.05', 1))).toMatch(/rate=1.05/);
  });
});
