/**
 * Seed 004's roaming application (Zhang and Phillips, "Ubiquitous, Flexible and Distributed Computing"): a
 * client's one long-lived stream reaches a roaming service through a proxy, the seed's point of presence
 * (§III.B). What the three roles say to each other; the roles are algorithms/services/roaming-*.ts, and the
 * check (src/verify/roaming.ts) reads the results whose shapes are declared here.
 *
 * A stream is numbered by its client: stream 1 at the start, the next one each time the client reconnects. The
 * proxy translates (client, stream) into a session of its own towards the service, and back: its roaming NAT
 * table. Requests carry the client's sequence number; an answer carries the service's own count of answers.
 */

/** Client → proxy: a stream starts (or starts again, after a reconnect) with request `from`. */
export type StreamOpen = { readonly kind: 'open'; readonly stream: number; readonly from: number };
/** Client → proxy: request `seq` of a stream. */
export type StreamData = { readonly kind: 'data'; readonly stream: number; readonly seq: number };
/** Client → proxy: the stream is over; the proxy and the service report. */
export type StreamClose = { readonly kind: 'close'; readonly stream: number };
export type ClientMessage = StreamOpen | StreamData | StreamClose;

/** Proxy → service: a client message, its stream translated into the proxy's session. */
export type SessionOpen = { readonly kind: 'open'; readonly session: number; readonly from: number };
export type SessionData = { readonly kind: 'data'; readonly session: number; readonly seq: number };
export type SessionClose = { readonly kind: 'close'; readonly session: number };
export type SessionMessage = SessionOpen | SessionData | SessionClose;

/**
 * Service → proxy: request `seq` answered, as the service's `serviceSeq`-th answer; or `reset`, the service knows
 * no such session (it lost its state: TCP's RST to a segment of a connection it does not have).
 */
export type SessionAnswer = { readonly kind: 'answer'; readonly session: number; readonly seq: number; readonly serviceSeq: number };
export type SessionReset = { readonly kind: 'reset'; readonly session: number };
export type ServiceMessage = SessionAnswer | SessionReset;

/** Proxy → client: the service's message, translated back to the client's stream. */
export type StreamAnswer = { readonly kind: 'answer'; readonly stream: number; readonly seq: number; readonly serviceSeq: number };
export type StreamReset = { readonly kind: 'reset'; readonly stream: number };
export type ProxyMessage = StreamAnswer | StreamReset;

/** One request as its client saw it: its number, when first sent, when answered, and the service's count then. */
export type RequestRecord = [seq: number, sentAt: number, answeredAt: number, serviceSeq: number];

/** Why a client gave a stream up and opened the next one. */
export type ReconnectCause = 'reset' | 'timeout';

/** A reconnect: when, why, the new stream, the request it starts from and how many requests it sent again. */
export type Reconnect = { readonly at: number; readonly cause: ReconnectCause; readonly stream: number; readonly from: number; readonly resent: number };

/** What a client reports: every request answered, in order of answer; its reconnects; what it found wrong. */
export type ClientResult = { readonly sent: number; readonly records: RequestRecord[]; readonly reconnects: Reconnect[]; readonly errors: string[] };

/** What the proxy reports: its sessions (client, stream), how much it forwarded each way, and what it could not. */
export type ProxyResult = {
  readonly sessions: Array<{ readonly client: string; readonly stream: number }>;
  readonly toService: number;
  readonly toClients: number;
  readonly untranslatable: number;
};

/**
 * What the service reports: how many requests it answered (its counter, which a move must carry), the sessions
 * opened with it, the resets it sent, when it was restored on a new container, and what it found wrong.
 */
export type ServiceResult = { readonly answered: number; readonly opened: number; readonly resets: number; readonly restoredAt: number[]; readonly errors: string[] };
