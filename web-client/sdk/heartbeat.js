// Noticing a silently dead connection, without I/O. Browsers answer the hub's WebSocket pings
// but never show them to the page, so a half-open connection (a phone that changed networks, a
// stalled NAT) looks healthy for as long as TCP keeps trying. The page sends `ping` and counts
// any frame from the hub as a sign of life; when nothing at all has come for a while although we
// asked, the connection is dead. Meeting (huddle.js) drives this with one timer and the clock;
// the rule itself is here so that it can be tested with plain numbers.

/** @typedef {import('./types').HeartbeatOptions} HeartbeatOptions */

/** PROTOCOL.md (`ping`): a ping every 10 s or so, dead after about 25 s without a frame. */
export const PING_EVERY_MS = 10_000;
export const DEAD_AFTER_MS = 25_000;

/**
 * What to do now.
 * @typedef {{ping: boolean, dead: boolean, next: number}} HeartbeatStep
 *   `ping`: send a ping; `dead`: give up on the socket; `next`: when to call `check` again
 */

export class Heartbeat {
  /** @param {HeartbeatOptions} [options] */
  constructor({ pingEveryMs = PING_EVERY_MS, deadAfterMs = DEAD_AFTER_MS } = {}) {
    if (!(pingEveryMs > 0 && deadAfterMs > pingEveryMs)) {
      throw new RangeError('heartbeat: need 0 < pingEveryMs < deadAfterMs');
    }
    this.pingEveryMs = pingEveryMs;
    this.deadAfterMs = deadAfterMs;
    /**
     * How long a ping of ours may go unanswered before silence counts. Without this rule a tab
     * whose timers the browser throttled (a hidden tab may run them once a minute) would send
     * its pings late, hear nothing in between, and reconnect every minute on a healthy socket.
     */
    this.answerWithinMs = deadAfterMs - pingEveryMs;
    this.lastHeard = 0;
    this.nextPing = 0;
    /** When we sent the oldest ping that nothing has come after. @type {number | null} */
    this.unansweredSince = null;
  }

  /** A new socket: silence is counted from now (a connect that hangs is silence too). @param {number} now */
  start(now) {
    this.lastHeard = now;
    this.nextPing = now + this.pingEveryMs;
    this.unansweredSince = null;
  }

  /** A frame arrived (any frame: a pong, chat, a signal). @param {number} now */
  heard(now) {
    this.lastHeard = now;
    this.unansweredSince = null;
  }

  /** @param {number} now @returns {HeartbeatStep} */
  check(now) {
    const silentFor = now - this.lastHeard;
    const asked = this.unansweredSince != null && now - this.unansweredSince >= this.answerWithinMs;
    if (silentFor >= this.deadAfterMs && asked) return { ping: false, dead: true, next: now };
    // Due, or silent for long without a ping we could blame (our timer ran late): ask now.
    const ping = now >= this.nextPing || silentFor >= this.deadAfterMs;
    if (ping) {
      this.nextPing = now + this.pingEveryMs;
      if (this.unansweredSince == null) this.unansweredSince = now;
    }
    const verdictAt = this.unansweredSince == null
      ? this.lastHeard + this.deadAfterMs
      : Math.max(this.lastHeard + this.deadAfterMs, this.unansweredSince + this.answerWithinMs);
    return { ping, dead: false, next: Math.max(now, Math.min(this.nextPing, verdictAt)) };
  }
}
