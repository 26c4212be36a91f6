// Reactions (PROTOCOL.md `react`, `reaction`, `reactions_enabled`): non-verbal support without
// interrupting whoever is speaking. It owns the React button and its menu in the control bar
// (the five reactions, drawn icons with words, never emoji: they differ between systems and read
// out oddly), showing a received reaction on the sender's tile for a few seconds (ours too: the
// hub echoes it), and the button's state: hidden for observers (the hub refuses them), and while
// a host turned reactions off shown but marked unavailable with the reason (a disabled button
// could not be focused to learn why; as Share screen does). A reaction is said politely to screen
// readers (the page's one polite announcer, where a burst collapses to the latest) and never kept:
// once its few seconds are over nothing of it remains on the page.

import { byId, describe, h, on } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */
/** @typedef {import('../sdk/protocol').Reaction} Reaction */

/** How long a reaction stays on a tile. */
export const REACTION_MS = 3000;

/** The fixed set, in menu order: words shown and read, and the icon drawn beside them. */
export const REACTIONS = /** @type {const} */ ([
  { name: 'heart', label: 'Heart', icon: 'i-heart' },
  { name: 'clap', label: 'Clap', icon: 'i-clap' },
  { name: 'thumbs_up', label: 'Thumbs up', icon: 'i-thumbs-up' },
  { name: 'me_too', label: 'Me too', icon: 'i-me-too' },
  { name: 'tissue', label: 'Tissue', icon: 'i-tissue' },
]);

/** Said when a host turned reactions off. */
export const REACTIONS_OFF = 'Reactions are off: a host turned them off for this meeting.';

/** A reaction's words; null for a name outside the set (nothing free-form reaches a tile). @param {string} name */
export function reactionLabel(name) {
  return REACTIONS.find((r) => r.name === name)?.label ?? null;
}

/**
 * The React button for this person: hidden before joining and for observers; unavailable (with
 * the reason) while reactions are off.
 * @param {string | undefined} role @param {boolean} off
 * @returns {{hidden: boolean, unavailable: boolean, hint: string}}
 */
export function reactControl(role, off) {
  const hidden = role == null || role === 'observer';
  return { hidden, unavailable: !hidden && off, hint: !hidden && off ? REACTIONS_OFF : '' };
}

/**
 * Which reaction each tile shows, for REACTION_MS each: a newer one from the same person replaces
 * theirs and starts its time again. Holds only what is on screen now. Timers are injected (tests).
 * @template K
 */
export class TileReactions {
  /**
   * @param {(key: K, reaction: string | null) => void} render shows a reaction on a tile, or takes it away (null)
   * @param {{ms?: number, setTimer?: (fn: () => void, ms: number) => unknown, clearTimer?: (t: any) => void}} [opts]
   */
  constructor(render, opts = {}) {
    this.render = render;
    this.ms = opts.ms ?? REACTION_MS;
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t));
    /** @type {Map<K, {reaction: string, timer: unknown}>} */
    this.shown = new Map();
  }

  /** @param {K} key @param {string} reaction */
  show(key, reaction) {
    const old = this.shown.get(key);
    if (old) this.clearTimer(old.timer);
    const timer = this.setTimer(() => this.hide(key), this.ms);
    this.shown.set(key, { reaction, timer });
    this.render(key, reaction);
  }

  /** @param {K} key */
  hide(key) {
    const old = this.shown.get(key);
    if (!old) return;
    this.clearTimer(old.timer);
    this.shown.delete(key);
    this.render(key, null);
  }

  /** What is shown now (the test hook). */
  current() {
    return [...this.shown].map(([key, v]) => ({ key, reaction: v.reaction }));
  }

  clear() {
    for (const key of [...this.shown.keys()]) this.hide(key);
  }
}

export class ReactionsControl {
  /**
   * @param {Meeting} meeting
   * @param {import('./grid.js').VideoGrid} grid the tiles reactions are shown on
   * @param {import('./layout.js').Layout} layout the polite announcer; closing More
   * @param {(text: string) => void} showStatus
   * @param {AbortSignal} signal ends the listeners with the session
   */
  constructor(meeting, grid, layout, showStatus, signal) {
    this.meeting = meeting;
    this.grid = grid;
    this.layout = layout;
    this.showStatus = showStatus;
    this.button = byId('react-toggle', HTMLButtonElement);
    this.menu = byId('react-menu', HTMLDivElement);
    this.hint = byId('react-hint', HTMLParagraphElement);
    /** @type {TileReactions<PeerId | 'self'>} */
    this.onTiles = new TileReactions((key, reaction) => this.renderTile(key, reaction));
    this.bind(signal);
    signal.addEventListener('abort', () => { this.onTiles.clear(); this.close(); this.button.hidden = true; });
  }

  /** @param {AbortSignal} signal */
  bind(signal) {
    const m = this.meeting;
    const opts = { signal };
    this.button.addEventListener('click', () => {
      if (m.reactionsOff) {
        this.showStatus(REACTIONS_OFF);
        return;
      }
      if (this.menu.classList.contains('open')) this.close();
      else this.open();
    }, opts);
    for (const b of this.menu.querySelectorAll('button[data-reaction]')) {
      b.addEventListener('click', () => {
        const name = /** @type {Reaction} */ (/** @type {HTMLElement} */ (b).dataset.reaction);
        this.close();
        this.button.focus();
        m.react(name).catch((err) => this.showStatus(
          err && typeof err === 'object' && 'code' in err && err.code === 'conflict' ? REACTIONS_OFF : `Reaction not sent: ${describe(err)}`));
      }, opts);
    }
    document.addEventListener('click', (e) => {
      const t = /** @type {Node} */ (e.target);
      if (this.menu.classList.contains('open') && !this.menu.contains(t) && !this.button.contains(t)) this.close();
    }, opts);
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || !this.menu.classList.contains('open')) return;
      this.close();
      this.button.focus();
      e.stopPropagation();
    }, { signal, capture: true });
    on(m, 'reaction', (d) => {
      const label = reactionLabel(d.reaction);
      if (!label) return;
      const mine = d.from === m.you?.id;
      this.onTiles.show(mine ? 'self' : d.from, d.reaction);
      if (!mine) this.layout.announce(`${d.name}: ${label}`);
    }, signal);
    on(m, 'reactions-enabled', (d) => {
      this.render();
      if (!d.enabled) this.onTiles.clear();
      if (!m.isHost) this.showStatus(d.enabled ? 'A host turned reactions on.' : REACTIONS_OFF);
    }, signal);
    on(m, 'welcome', () => this.render(), signal);
    on(m, 'peer-updated', () => this.render(), signal);
    // People who left the room take their reaction with them.
    on(m, 'peers', () => {
      for (const { key } of this.onTiles.current()) if (key !== 'self' && !m.peers.some((p) => p.id === key)) this.onTiles.hide(key);
    }, signal);
    on(m, 'room-changed', () => this.onTiles.clear(), signal);
  }

  open() {
    this.layout.closeMore();
    this.menu.classList.add('open');
    this.button.setAttribute('aria-expanded', 'true');
    /** @type {HTMLButtonElement | null} */ (this.menu.querySelector('button[data-reaction]'))?.focus();
  }

  close() {
    this.menu.classList.remove('open');
    this.button.setAttribute('aria-expanded', 'false');
  }

  render() {
    const m = this.meeting;
    const c = reactControl(m.you?.role, m.reactionsOff);
    this.button.hidden = c.hidden;
    if (c.unavailable) {
      this.button.setAttribute('aria-disabled', 'true');
      this.close();
    } else this.button.removeAttribute('aria-disabled');
    this.button.title = c.hint;
    this.hint.textContent = c.hint;
    if (c.hidden) this.close();
  }

  /** A reaction on a tile (ours: 'self'), or none. @param {PeerId | 'self'} key @param {string | null} reaction */
  renderTile(key, reaction) {
    const tile = this.grid.tiles.get(key);
    if (!tile) return;
    tile.el.querySelector('.reaction')?.remove();
    const r = reaction == null ? null : REACTIONS.find((x) => x.name === reaction);
    if (!r) return;
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('viewBox', '0 0 24 24');
    const use = document.createElementNS(ns, 'use');
    use.setAttribute('href', `#${r.icon}`);
    svg.append(use);
    tile.el.append(h('p', { class: 'reaction', 'data-reaction': r.name }, svg, h('span', {}, r.label)));
  }

  /** Reactions on tiles now, by name (the test hook). */
  shown() {
    const m = this.meeting;
    return this.onTiles.current().map(({ key, reaction }) => ({ name: key === 'self' ? (m.you?.name ?? '') : m.nameOf(key), self: key === 'self', reaction }));
  }
}
