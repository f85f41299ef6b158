/** What a long simulated run prints while it runs (src/run/execute-sim.ts): how far it has got, and at what pace. */
import { describe, expect, it } from 'vitest';
import { describeProgress, ProgressLines } from '../../src/run/execute-sim.js';

const progress = { virtualTimeMs: 1398.62, events: 41_943_040, messages: 27_962_027, results: 0, size: 1_000_000 };

describe('the progress lines of a simulated run', () => {
  it('say the events and their rate, the messages, the virtual time against the timeout and the nodes done', () => {
    expect(describeProgress(progress, 152_345, 300_000)).toBe(
      '41,943,040 events (152 k/s), 27,962,027 messages, 1,398.6 of at most 300,000 virtual ms, 0 of 1,000,000 nodes with a result',
    );
    expect(describeProgress({ ...progress, results: 999_999 }, 2_345_678, 300_000)).toContain('(2.35 M/s)');
  });

  it('take each rate over the time since the line before, counted from the first event', () => {
    const lines: string[] = [];
    let nowMs = 0;
    const report = new ProgressLines(300_000, (line) => lines.push(line), () => nowMs);
    nowMs = 20_000; // building the nodes: not in the first rate
    report.running();
    nowMs = 50_000;
    report.report({ ...progress, events: 3_000_000 });
    nowMs = 80_000;
    report.report({ ...progress, events: 9_000_000 });
    expect(lines.map((line) => /\((\d+) k\/s\)/.exec(line)![1])).toEqual(['100', '200']);
  });
});
