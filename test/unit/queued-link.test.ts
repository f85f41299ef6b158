/**
 * queuedLink's order: a close asked for while the link is still opening ends the stream after the messages queued
 * before it. It used to end it first, and the stream then took those messages after its end: the node died of
 * ERR_STREAM_WRITE_AFTER_END (a neighbour's move aborted while the link to its target was opening).
 * And a dropped link (a restarted neighbour's old container, gone): it ends at once, over a real gRPC stream to a
 * receiver that never answers, where a close would wait for that answer for ever.
 */
import * as grpc from '@grpc/grpc-js';
import { expect, it } from 'vitest';
import { openLink, queuedLink, type OutgoingLink } from '../../src/node/links.js';
import { peerService, type Envelope, type LinkSummary } from '../../src/node/peer-wire.js';

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
    drop: () => calls.push('drop'),
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

it('drops an opening link without sending what was queued, once it opens', async () => {
  const calls: string[] = [];
  let open: (link: OutgoingLink) => void = () => {};
  const link = queuedLink(new Promise<OutgoingLink>((resolve) => (open = resolve)));
  const sent = link.send({ payload: 'to a container that is gone' });
  link.drop();
  open({ send: async (envelope) => void calls.push(envelope.payload), close: async () => void calls.push('end'), drop: () => calls.push('drop') });
  await sent;
  await new Promise((resolve) => setImmediate(resolve));
  expect(calls).toEqual(['drop']);
});

it('ends a stream whose receiver never answers at once when dropped, where a close waits for the answer', async () => {
  const server = new grpc.Server();
  const ended: string[] = [];
  let calls = 0;
  server.addService(peerService, {
    // A receiver that reads and never answers: a container that is gone answers no close either.
    link(call: grpc.ServerReadableStream<Envelope, LinkSummary>) {
      calls += 1;
      call.on('data', () => {});
      call.on('end', () => ended.push('end'));
      call.on('cancelled', () => ended.push('cancelled'));
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  try {
    const open = () => openLink({ from: '1', address: `127.0.0.1:${port}`, connectTimeoutMs: 5_000, onBroken: () => {} });
    const closing = (await open()).close();
    const answered = await Promise.race([closing.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 500))]);
    expect(answered, 'a close waits for the receiver').toBe(false);

    const dropped = await open();
    // Dropped once the receiver has it, as a link is that carried messages.
    for (let waited = 0; calls < 2 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    dropped.drop();
    for (let waited = 0; !ended.includes('cancelled') && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ended).toContain('cancelled');
    await expect(dropped.send({ payload: 'after the drop' })).resolves.toBeUndefined();
  } finally {
    server.forceShutdown();
  }
});
