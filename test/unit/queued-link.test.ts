/**
 * queuedLink's order: a close asked for while the link is still opening ends the stream after the messages queued
 * before it. It used to end it first, and the stream then took those messages after its end: the node died of
 * ERR_STREAM_WRITE_AFTER_END (a neighbour's move aborted while the link to its target was opening).
 */
import { expect, it } from 'vitest';
import { queuedLink, type OutgoingLink } from '../../src/node/links.js';
import type { Envelope } from '../../src/node/peer-wire.js';

it('closes an opening link after the messages queued before the close', async () => {
  const calls: string[] = [];
  let ended = false;
  const stream: OutgoingLink = {
    send: async (envelope) => {
      calls.push(ended ? `write after end: ${envelope.payload}` : envelope.payload);
    },
    close: async () => {
      ended = true;
      calls.push('end');
    },
  };
  let open: (link: OutgoingLink) => void = () => {};
  const link = queuedLink(new Promise<OutgoingLink>((resolve) => (open = resolve)));
  const message = (payload: string): Envelope => ({ payload });
  void link.send(message('a'));
  void link.send(message('b'));
  const closed = link.close();
  open(stream);
  await closed;
  expect(calls).toEqual(['a', 'b', 'end']);
});

it('closes a link that never opened without an error', async () => {
  const link = queuedLink(Promise.reject(new Error('refused')));
  void link.send({ payload: 'lost with the link' });
  await expect(link.close()).resolves.toBeUndefined();
});
