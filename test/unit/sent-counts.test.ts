import { describe, expect, it } from 'vitest';
import { SentCounts } from '../../src/run/sent-counts.js';

describe("edges.csv's counts per direction (SentCounts)", () => {
  it("gives what each node reported sending each neighbour, and nothing for a silent or unreported one", () => {
    const counts = new SentCounts(['a', 'b', 'c', 'hub']);
    counts.add('hub', { a: { messages: 3, bytes: 30 }, b: { messages: 1, bytes: 7 }, c: { messages: 2, bytes: 2 } });
    counts.add('a', { hub: { messages: 5, bytes: 50 } });
    // b did not report (a Docker node that failed); c reported but sent nothing; x is not in the graph.
    counts.add('c', {});
    counts.add('x', { a: { messages: 9, bytes: 9 } });
    expect(counts.get('hub', 'b')).toEqual({ messages: 1, bytes: 7 });
    expect(counts.get('hub', 'c')).toEqual({ messages: 2, bytes: 2 });
    expect(counts.get('a', 'hub')).toEqual({ messages: 5, bytes: 50 });
    expect(counts.get('b', 'hub')).toBeUndefined();
    expect(counts.get('c', 'hub')).toBeUndefined();
    expect(counts.get('x', 'a')).toBeUndefined();
    expect(counts.get('a', 'b')).toBeUndefined();
  });
});
