// The wire protocol as the SDK speaks it: frame builders (camelCase SDK options to the hub's
// snake_case frames), close-code rules and reconnect backoff. Pure functions; the message types
// come from protocol.d.ts, generated from proto/schema/ (see tools/gen-types.mjs).

/** @typedef {import('./protocol').ClientFrame} ClientFrame */
/** @typedef {import('./protocol').ClientSplit} ClientSplit */
/** @typedef {import('./protocol').ClientMerge} ClientMerge */
/** @typedef {import('./protocol').SplitStrategy} SplitStrategy */
/** @typedef {import('./protocol').PeerId} PeerId */
/** @typedef {import('./protocol').RoomId} RoomId */

export const PROTOCOL_VERSION = 1;
export const WS_PATH = '/v1/ws';

/**
 * Options of `Meeting.split`.
 * @typedef {object} SplitOptions
 * @property {SplitStrategy} strategy
 * @property {number} [count] rooms for `even`, `random`, `choose`
 * @property {{name?: string, topic?: string, members?: PeerId[]}[]} [rooms]
 * @property {string} [topic] for rooms without their own
 * @property {number} [durationSecs] start the breakout timer
 * @property {boolean} [spreadMentors]
 */

/** @param {SplitOptions} o @returns {ClientSplit} */
export function splitFrame(o) {
  /** @type {ClientSplit} */
  const f = { type: 'split', strategy: o.strategy };
  if (o.count != null) f.count = o.count;
  if (o.rooms && o.rooms.length > 0) {
    f.rooms = o.rooms.map((r) => {
      /** @type {import('./protocol').BreakoutRoomSpec} */
      const spec = {};
      if (r.name) spec.name = r.name;
      if (r.topic) spec.topic = r.topic;
      if (r.members && r.members.length > 0) spec.members = r.members;
      return spec;
    });
  }
  if (o.topic) f.topic = o.topic;
  if (o.durationSecs != null) f.duration_secs = o.durationSecs;
  if (o.spreadMentors != null) f.spread_mentors = o.spreadMentors;
  return f;
}

/** @param {{countdownSecs?: number, rooms?: RoomId[]}} [o] @returns {ClientMerge} */
export function mergeFrame(o = {}) {
  /** @type {ClientMerge} */
  const f = { type: 'merge' };
  if (o.countdownSecs != null && o.countdownSecs > 0) f.countdown_secs = o.countdownSecs;
  if (o.rooms && o.rooms.length > 0) f.rooms = o.rooms;
  return f;
}

/**
 * What to do after the socket closed with `code` (PROTOCOL.md, "Close codes"): 40xx and 1009 are
 * terminal (the same token would fail the same way), 41xx and 1001 are reconnectable, 1000 is
 * the answer to our own close. Codes the hub never sends (1006: the connection dropped without
 * a close frame, e.g. the network went away) are treated as reconnectable.
 * @param {number} code
 * @returns {'normal' | 'terminal' | 'reconnectable'}
 */
export function closeKind(code) {
  if (code === 1000) return 'normal';
  if (code === 1009) return 'terminal';
  if (code >= 4000 && code < 4100) return 'terminal';
  return 'reconnectable';
}

/** Hub close codes by number, for messages (the reason string is also sent by the hub). */
export const CLOSE_REASONS = /** @type {Record<number, string>} */ ({
  1000: 'normal',
  1001: 'going_away',
  1009: 'too_large',
  4001: 'unauthorized',
  4002: 'unsupported_protocol',
  4003: 'protocol_violation',
  4004: 'meeting_full',
  4005: 'flood',
  4006: 'token_expired',
  4007: 'replaced',
  4008: 'removed',
  4009: 'meeting_ended',
  4010: 'meeting_locked',
  4011: 'denied',
  4100: 'reconnecting',
  4101: 'hello_timeout',
  4102: 'slow_consumer',
  4103: 'ping_timeout',
  4104: 'server_full',
  4105: 'internal',
  4106: 'resume_expired',
});

/** Close code of a refused `hello.resume`: reconnect at once, without `resume`. */
export const RESUME_EXPIRED = 4106;

/**
 * The close code we send when our heartbeat finds the connection dead: the hub then holds our
 * seat as for a drop (any other close frame from us is a goodbye), and we resume on a new socket.
 */
export const CLIENT_RECONNECTING = 4100;

/**
 * Delay before reconnect attempt `attempt` (1-based): 1 s, 2 s, 4 s … capped at 30 s, with up to
 * 20 % random jitter (`random` in [0, 1)) so a hub restart is not met by every client at once.
 * @param {number} attempt
 * @param {number} [random]
 */
export function backoffMs(attempt, random = Math.random()) {
  const base = Math.min(30_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (1 + 0.2 * random));
}
