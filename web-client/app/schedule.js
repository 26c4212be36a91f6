// A scheduled session's end as everyone in it sees it (PROTOCOL.md "Scheduled sessions"): from the
// hub's `session-ending` until the end, an alert above the stage, "The session ends in 5 minutes
// (at 2:30 PM)". Its minutes are kept current in place, so its words change about once a minute:
// the alerts region is polite, and a countdown changing every second would be read out every
// second (the exact seconds are the breakout timer's business, not this). When the end moves
// (`session-rescheduled`) the notice no longer holds: it goes, and a short one says the new end
// (if that is near too, the hub's fresh `session-ending` brings the notice back). The end itself is
// the hub's close 4009, which main.js's ended screen explains; the host's "Extend session" control
// is host.js's.

import { on } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('./alerts.js').Alerts} Alerts */

const ENDING_KEY = 'session:ending';
const MOVED_KEY = 'session:moved';
/** How long "The session now ends at …" stays (it can be dismissed sooner). */
const MOVED_MS = 30_000;
/**
 * The notice goes this long after its end if the session is still on (the hub closes it at the
 * end; only a host who came in after the end stays, and has no notice then).
 */
const AFTER_END_MS = 30_000;

/** A time of day in the page's words ("2:30 PM", "14:30"). @param {number} at ms since the epoch */
export function timeOfDay(at) {
  return new Date(at).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

/**
 * What the notice says with `secs` left until `at`: whole minutes, rounded (so "5 minutes" for
 * the hub's usual 300 s, whatever the delay), then "less than a minute".
 * @param {number} secs @param {number} at
 */
export function endingText(secs, at) {
  if (secs <= 0) return `The session is ending now (at ${timeOfDay(at)}).`;
  const minutes = Math.round(secs / 60);
  const left = minutes >= 2 ? `${minutes} minutes` : minutes === 1 ? '1 minute' : 'less than a minute';
  return `The session ends in ${left} (at ${timeOfDay(at)}).`;
}

export class SessionNotice {
  /** @param {Meeting} meeting @param {Alerts} alerts @param {AbortSignal} signal ends it with the session */
  constructor(meeting, alerts, signal) {
    this.alerts = alerts;
    /**
     * The end the notice is about: the hub's `at` (shown as a time of day), and when it comes on
     * our clock (from the hub's `seconds` left, so a skewed clock still counts right).
     * @type {{at: number, deadline: number} | null}
     */
    this.ending = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    on(meeting, 'session-ending', (d) => this.show(d.at, Date.now() + d.seconds * 1000), signal);
    on(meeting, 'session-rescheduled', (d) => this.moved(d.endsAt), signal);
    signal.addEventListener('abort', () => this.stopTimer());
  }

  /** @param {number} at @param {number} deadline */
  show(at, deadline) {
    this.alerts.remove(MOVED_KEY);
    // The hub says it again to a page that resumes or is let in from the waiting room: the same
    // end is no news (and one that was dismissed stays dismissed); the count is corrected.
    const known = this.ending?.at === at;
    this.ending = { at, deadline };
    if (!known) this.alerts.add({ key: ENDING_KEY, kind: 'session', text: this.text() });
    this.tick();
    if (!this.timer && this.alerts.has(ENDING_KEY)) this.timer = setInterval(() => this.tick(), 1000);
  }

  /** The end moved, or there is none any more: the notice no longer holds. @param {number | null} endsAt */
  moved(endsAt) {
    this.ending = null;
    this.stopTimer();
    this.alerts.remove(ENDING_KEY);
    this.alerts.add({
      key: MOVED_KEY, kind: 'session', ttlMs: MOVED_MS,
      text: endsAt == null ? 'The session no longer has a set end time.' : `The session now ends at ${timeOfDay(endsAt)}.`,
    });
  }

  text() {
    return this.ending ? endingText((this.ending.deadline - Date.now()) / 1000, this.ending.at) : '';
  }

  /** Once a second; the words change about once a minute (setText writes only a change). */
  tick() {
    if (!this.ending || !this.alerts.has(ENDING_KEY)) {
      this.stopTimer();
      return;
    }
    if (Date.now() - this.ending.deadline > AFTER_END_MS) {
      this.alerts.remove(ENDING_KEY);
      this.stopTimer();
      return;
    }
    this.alerts.setText(ENDING_KEY, this.text());
  }

  stopTimer() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
