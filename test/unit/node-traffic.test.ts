import { describe, expect, it } from 'vitest';
import { NodeTraffic } from '../../src/run/node-traffic.js';

describe("edges.csv's counts per direction and nodes.csv's totals (NodeTraffic)", () => {
  const traffic = new NodeTraffic(['a', 'b', 'c', 'hub']);
  traffic.add('hub', {
    sent: { a: { messages: 3, bytes: 30 }, b: { messages: 1, bytes: 7 }, c: { messages: 2, bytes: 2 }, gone: { messages: 4, bytes: 40 } },
    received: { a: { messages: 5, bytes: 50 }, c: { messages: 0, bytes: 0 } },
  });
  traffic.add('a', { sent: { hub: { messages: 5, bytes: 50 } }, received: { hub: { messages: 3, bytes: 30 } } });
  // b did not report (a Docker node that failed); c reported but sent nothing; x is not in the graph.
  traffic.add('c', { sent: {}, received: { hub: { messages: 2, bytes: 2 } } });
  traffic.add('x', { sent: { a: { messages: 9, bytes: 9 } }, received: {} });

  it('gives what each node reported sending each neighbour, and nothing for a silent or unreported one', () => {
    expect(traffic.get('hub', 'b')).toEqual({ messages: 1, bytes: 7 });
    expect(traffic.get('hub', 'c')).toEqual({ messages: 2, bytes: 2 });
    expect(traffic.get('a', 'hub')).toEqual({ messages: 5, bytes: 50 });
    expect(traffic.get('b', 'hub')).toBeUndefined();
    expect(traffic.get('c', 'hub')).toBeUndefined();
    expect(traffic.get('x', 'a')).toBeUndefined();
    expect(traffic.get('a', 'b')).toBeUndefined();
  });

  it("totals every edge a node's report names, a node that left the graph's too, and nothing for an unreported one", () => {
    expect(traffic.totals('hub')).toEqual({ messagesSent: 10, bytesSent: 79, messagesReceived: 5 });
    expect(traffic.totals('a')).toEqual({ messagesSent: 5, bytesSent: 50, messagesReceived: 3 });
    expect(traffic.totals('c')).toEqual({ messagesSent: 0, bytesSent: 0, messagesReceived: 2 });
    expect(traffic.totals('b')).toBeUndefined();
    expect(traffic.totals('x')).toBeUndefined();
  });

  it("totals the run's messages and bytes over every report, x's too", () => {
    expect(traffic.sentInAll()).toEqual({ messages: 10 + 5 + 0 + 9, bytes: 79 + 50 + 0 + 9 });
  });
});
