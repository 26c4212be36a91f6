// The wire protocol as the SDK speaks it: frame builders (camelCase SDK options to the hub's
// snake_case frames) and when to reconnect (backoff, or at once when a hub node sent us away).
// Pure functions. The message types come from protocol.d.ts and the protocol's constants
// (version, close codes) from constants.js, both generated from proto/schema/ (see
// tools/gen-types.mjs); re-exported here for the SDK.

/** @typedef {import('./protocol').ClientFrame} ClientFrame */
/** @typedef {import('./protocol').ClientSplit} ClientSplit */
/** @typedef {import('./protocol').ClientMerge} ClientMerge */
/** @typedef {import('./types').SplitOptions} SplitOptions */
/** @typedef {import('./types').MergeOptions} MergeOptions */

import { RESUME_EXPIRED } from './constants.js';

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
 * Close codes after which the hub node we were on no longer serves the meeting, while the
 * meeting goes on elsewhere: 1001 (`going_away`: the node shuts down) and 4108 (`moved`: it
 * drains, or another node owns the meeting now). Any node can take our resume, so we reconnect
 * at once, to the next hub URL when the app gave several.
 */
export const NODE_GONE = new Set([1001, 4108]);

/**
 * The most a reconnect after a NODE_GONE close waits: a little, at random, so that a group the
 * node sent away together does not arrive at the next node in the same instant.
 */
export const MOVE_JITTER_MS = 250;

/**
 * Delay before reconnect attempt `attempt` (1-based) after the socket closed with `code`
 * (a reconnectable one): none after 4106 (the hub refused our resume: a fresh hello is due); a
 * jitter under MOVE_JITTER_MS after 4108, or after 1001 when there are other URLs to try, for one turn round the `nodes` hub URLs
 * since the last welcome (every node saying so, or failing, looks like the cluster's trouble,
 * not ours: back off then, rather than loop); otherwise backoffMs.
 * @param {number} code
 * @param {number} attempt
 * @param {number} nodes how many hub URLs the app gave (1 for a single URL)
 * @param {number} [random]
 */
export function reconnectDelayMs(code, attempt, nodes, random = Math.random()) {
  if (code === RESUME_EXPIRED) return 0;
  // 1001 from the only hub the app knows is that hub going down (a restart, a deploy): trying it
  // again within a blink finds nothing listening, so it gets the usual backoff. 4108 says another
  // node serves the meeting now, which a load-balanced URL reaches as well as a list does.
  const quick = code === 4108 || (code === 1001 && nodes > 1);
  if (quick && attempt <= nodes) return Math.floor(random * MOVE_JITTER_MS);
  return backoffMs(attempt, random);
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
