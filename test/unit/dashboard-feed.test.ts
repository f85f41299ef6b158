import { describe, expect, it } from 'vitest';
import { DashboardFeed } from '../../src/dashboard/feed.js';

describe("the dashboard's frames of a live run", () => {
  it('show every node connected and running, even when it is done within the frame in which it started', () => {
    let now = 0;
    const feed = new DashboardFeed(['a', 'b']);
    feed.showsRunningBeforeDone(() => now);
    const statesOf = (id: string) => feed.frames.map((frame) => frame.states[id]).filter((state) => state !== undefined);
    // A fast run: registered, connected, running and done, all before the frame's timer closes it. Registered and
    // connected may share a frame (the last one counts); connected, running and done may not.
    for (const state of ['registered', 'connected', 'running'] as const) {
      now += 10;
      feed.state('a', state);
      feed.state('b', state);
    }
    now += 10;
    feed.result('a', 1);
    feed.result('b', 2);
    feed.finish(now);
    expect(statesOf('a')).toEqual(['connected', 'running', 'done']);
    expect(statesOf('b')).toEqual(['connected', 'running', 'done']);
    // Two frames more for the run, not one per node.
    expect(feed.frames).toHaveLength(3);
  });

  it('without a clock (the simulator, which closes frames in virtual time) keep the last state of each frame', () => {
    const feed = new DashboardFeed(['a']);
    feed.state('a', 'running');
    feed.result('a', 1);
    feed.finish(1);
    expect(feed.frames.map((frame) => frame.states.a)).toEqual(['done']);
  });
});
