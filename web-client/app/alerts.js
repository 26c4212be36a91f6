// Alerts above the stage, where a therapist looks: help requests, raised hands, private messages,
// someone leaving, a scheduled session's end (schedule.js). Each alert has a key (a newer alert
// with the same key replaces it), a kind, and a lifetime: until dismissed, until its cause goes (the
// room closed, the hand went down, the chat was read, the session's end moved: the caller removes
// it), or for `ttlMs`. Its text may be brought up to date in place (`setText`: no new alert, no
// chime). Text goes in as text, never as HTML. A soft chime can be turned on (More: "Play a sound
// for alerts").

import { byId, h } from './dom.js';

/**
 * @typedef {object} AlertSpec
 * @property {string} key one alert per key
 * @property {'help' | 'hand' | 'private' | 'left' | 'session'} kind
 * @property {string} text
 * @property {{label: string, ariaLabel?: string, run: () => void}[]} [actions]
 * @property {number} [ttlMs] gone after this long (0: until removed)
 * @property {string} [room] the room it is about (help requests)
 * @property {boolean} [urgent] announced at once (role="alert")
 */

export class Alerts {
  /** @param {() => void} onChange after every change (the title counts alerts) */
  constructor(onChange) {
    this.el = byId('alerts', HTMLDivElement);
    this.onChange = onChange;
    /** @type {Map<string, {spec: AlertSpec, el: HTMLElement, timer: ReturnType<typeof setTimeout> | null}>} */
    this.items = new Map();
    /** A soft chime for help requests, hands and private messages, when people turn it on (off by default). @type {AudioContext | null} */
    this.sound = null;
  }

  /** Turns the chime on (from a click: browsers start audio only after a gesture) or off. @param {boolean} on */
  setSound(on) {
    if (on && !this.sound) this.sound = new AudioContext();
    if (!on && this.sound) {
      this.sound.close().catch(() => {});
      this.sound = null;
    }
  }

  chime() {
    const ctx = this.sound;
    if (!ctx) return;
    const tone = ctx.createOscillator();
    const gain = ctx.createGain();
    tone.frequency.value = 660;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.15, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.4);
    tone.connect(gain).connect(ctx.destination);
    tone.start();
    tone.stop(ctx.currentTime + 0.45);
  }

  get size() {
    return this.items.size;
  }

  /** @param {AlertSpec} spec */
  add(spec) {
    this.remove(spec.key, false);
    const dismiss = h('button', { type: 'button', class: 'dismiss', 'aria-label': `Dismiss: ${spec.text}` }, '×');
    const el = h('div', { class: `alert ${spec.kind}`, role: spec.urgent ? 'alert' : null, 'data-key': spec.key },
      h('span', { class: 'text' }, spec.text),
      ...(spec.actions ?? []).map((a) => h('button', { type: 'button', 'aria-label': a.ariaLabel, onclick: () => a.run() }, a.label)),
      dismiss);
    dismiss.addEventListener('click', () => this.remove(spec.key));
    const timer = spec.ttlMs ? setTimeout(() => this.remove(spec.key), spec.ttlMs) : null;
    this.items.set(spec.key, { spec, el, timer });
    this.el.append(el);
    if (spec.kind !== 'left') this.chime();
    this.onChange();
  }

  /** Whether an alert with this key is shown. @param {string} key */
  has(key) {
    return this.items.has(key);
  }

  /**
   * Brings an alert's text up to date, in place (the region is polite: a change is read out
   * once, so callers change it rarely). Nothing when it is gone (dismissed) or already says so.
   * @param {string} key @param {string} text
   */
  setText(key, text) {
    const item = this.items.get(key);
    if (!item || item.spec.text === text) return;
    item.spec = { ...item.spec, text };
    const span = item.el.querySelector('.text');
    if (span) span.textContent = text;
    item.el.querySelector('.dismiss')?.setAttribute('aria-label', `Dismiss: ${text}`);
  }

  /** @param {string} key @param {boolean} [notify] */
  remove(key, notify = true) {
    const item = this.items.get(key);
    if (!item) return;
    if (item.timer) clearTimeout(item.timer);
    item.el.remove();
    this.items.delete(key);
    if (notify) this.onChange();
  }

  /** Removes every alert whose spec matches. @param {(spec: AlertSpec) => boolean} match */
  removeWhere(match) {
    for (const { spec } of [...this.items.values()]) if (match(spec)) this.remove(spec.key);
  }

  /** @param {(spec: AlertSpec) => boolean} match */
  some(match) {
    return [...this.items.values()].some((i) => match(i.spec));
  }

  clear() {
    this.removeWhere(() => true);
    this.setSound(false);
  }
}
