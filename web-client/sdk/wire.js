// The wire protocol as the SDK speaks it: frame builders (camelCase SDK options to the hub's
// snake_case frames) and reconnect backoff. Pure functions. The message types come from
// protocol.d.ts and the protocol's constants (version, close codes) from constants.js, both
// generated from proto/schema/ (see tools/gen-types.mjs); re-exported here for the SDK.

/** @typedef {import('./protocol').ClientFrame} ClientFrame */
/** @typedef {import('./protocol').ClientSplit} ClientSplit */
/** @typedef {import('./protocol').ClientMerge} ClientMerge */
/** @typedef {import('./types').SplitOptions} SplitOptions */
/** @typedef {import('./types').MergeOptions} MergeOptions */

export {
  CLIENT_RECONNECTING, CLOSE_REASONS, PROTOCOL_VERSION, RESUME_EXPIRED, closeKind,
} from './constants.js';

export const WS_PATH = '/v1/ws';

/**
 * Whether a URL's hostname is this machine: `localhost`, 127.0.0.0/8 or `[::1]` (the only places
 * the SDK talks to a hub without TLS). `URL` has already normalised IPv4 forms such as `127.1`.
 * @param {string} hostname as `URL.hostname` gives it (IPv6 in brackets)
 */
export function isLoopback(hostname) {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

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
  if (o.allowSolo != null) f.allow_solo = o.allowSolo;
  return f;
}

/** @param {MergeOptions} [o] @returns {ClientMerge} */
export function mergeFrame(o = {}) {
  /** @type {ClientMerge} */
  const f = { type: 'merge' };
  if (o.countdownSecs != null && o.countdownSecs > 0) f.countdown_secs = o.countdownSecs;
  if (o.rooms && o.rooms.length > 0) f.rooms = o.rooms;
  return f;
}

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
