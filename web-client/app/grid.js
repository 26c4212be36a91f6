// The video grid: a tile per person in the room (with who is muted, whose camera is off and their
// initials instead, whose hand is up, whose connection dropped, whom a host hard-muted), and our
// own tile (which can be hidden). Two views: a gallery whose tiles are sized to fill the stage, and
// a speaker view (the default on phones, and whenever a tile is pinned): one large tile (the
// pinned one, else the active speaker, else the first person) above a strip of the others that
// scrolls sideways; on phones our own video is a small overlay. Tiles keep a stable order: hosts
// first, then co-hosts, then by join order (peer ids grow as people join). The active speaker's
// tile is highlighted. In SFU meetings the grid also says which camera quality to receive: the
// featured tile's, the speaker's and the pinned tile's high, every other thumbnail low. A shared
// screen is a tile of its own ("Alex is sharing their screen"; ours says "You are sharing your
// screen" and has Stop sharing): while there is one the stage is in speaker view whatever was
// chosen, the screen featured (a remote one before ours; a pinned person still wins, as chosen),
// the cameras in the strip. It follows the SDK's events and state; view.js renders our own tile
// through it.

import { h, on } from './dom.js';
import { roleLabel } from './moderation.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/huddle.js').MediaState} MediaState */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */

/**
 * @typedef {object} Tile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} badges
 * @property {HTMLButtonElement | null} pin the pin toggle (remote tiles)
 */

export class VideoGrid {
  /**
   * @param {Meeting} meeting
   * @param {HTMLElement} el the grid's element
   * @param {AbortSignal} signal ends the listeners with the session
   * @param {import('./layout.js').Layout} layout whether we are on a phone
   */
  constructor(meeting, el, signal, layout) {
    this.meeting = meeting;
    this.el = el;
    this.layout = layout;
    this.stage = /** @type {HTMLElement} */ (el.parentElement);
    /** @type {Map<PeerId | 'self', Tile>} */
    this.tiles = new Map();
    /** Shared screens shown, by who shares ('self': ours). @type {Map<PeerId | 'self', Tile>} */
    this.screens = new Map();
    /** What Stop sharing on our screen's tile does (view.js). @type {() => void} */
    this.onStopSharing = () => {};
    /** The view people chose (null: speaker on phones, gallery on wide screens). @type {'gallery' | 'speaker' | null} */
    this.mode = null;
    /** Whether our own tile is hidden. */
    this.selfHidden = false;
    /** The tile shown large in speaker view (`screen:<id>` for a shared screen). @type {PeerId | 'self' | string | null} */
    this.featured = null;
    /** Called after every arrangement (the view's buttons follow a pin). @type {() => void} */
    this.onArrange = () => {};
    /** The pinned tile's peer (shown larger, and in high quality). @type {PeerId | null} */
    this.pinned = null;
    /**
     * The remote speaker whose camera we get in high quality: the loudest other person, kept
     * while only we speak or nobody does (so the quality does not flap). @type {PeerId | null}
     */
    this.speaker = null;
    this.bind(signal);
  }

  /** @param {AbortSignal} signal */
  bind(signal) {
    const m = this.meeting;
    // A new seat (not resumed): the tiles start over with the roster that follows.
    on(m, 'welcome', (d) => { if (!d.resumed) this.dropRemoteTiles(); }, signal);
    on(m, 'peers', () => this.sync(), signal);
    on(m, 'active-speaker', (d) => {
      const me = m.you?.id;
      const other = d.peers.find((id) => id !== me);
      if (other != null) this.speaker = other;
      this.renderSpeaking(d.peers[0] ?? null);
      this.arrange();
      this.subscribeAll();
    }, signal);
    on(m, 'peer-media', () => this.sync(), signal);
    on(m, 'stream', (d) => {
      const tile = this.tiles.get(d.peerId);
      if (tile && tile.video.srcObject !== d.stream) tile.video.srcObject = d.stream;
    }, signal);
    on(m, 'connection-state', (d) => {
      this.tiles.get(d.peerId)?.el.setAttribute('data-state', d.state);
    }, signal);
    on(m, 'screen-started', (d) => this.showScreen(d.peerId, d.stream), signal);
    on(m, 'screen-stopped', (d) => this.dropScreen(d.peerId), signal);
    on(m, 'local-screen', (d) => (d.stream ? this.showScreen('self', d.stream) : this.dropScreen('self')), signal);
    on(m, 'reconnecting', () => this.el.classList.add('offline'), signal);
    on(m, 'reconnected', () => this.el.classList.remove('offline'), signal);
    const resize = new ResizeObserver(() => this.arrange());
    resize.observe(this.stage);
    signal.addEventListener('abort', () => resize.disconnect());
    this.layout.phone.addEventListener('change', () => this.arrange(), { signal });
  }

  /** Gallery or speaker view, as chosen (null: the default for the screen). @param {'gallery' | 'speaker' | null} mode */
  setMode(mode) {
    this.mode = mode;
    this.arrange();
  }

  /** Hides or shows our own tile. @param {boolean} hidden */
  hideSelf(hidden) {
    this.selfHidden = hidden;
    this.el.classList.toggle('hide-self', hidden);
    this.arrange();
  }

  get speakerView() {
    return this.pinned != null || (this.mode ?? (this.layout.isPhone ? 'speaker' : 'gallery')) === 'speaker';
  }

  /** The screen to feature: someone else's before ours (null: nobody shares). */
  screenKey() {
    const remote = [...this.screens.keys()].find((k) => k !== 'self');
    const key = remote ?? (this.screens.has('self') ? 'self' : null);
    return key == null ? null : `screen:${key}`;
  }

  /**
   * A shared screen's tile, large on the stage. @param {PeerId | 'self'} who @param {MediaStream} stream
   */
  showScreen(who, stream) {
    let tile = this.screens.get(who);
    const m = this.meeting;
    const label = who === 'self' ? 'You are sharing your screen' : `${m.nameOf(who)} is sharing their screen`;
    if (!tile) {
      tile = this.makeTile(label, true);
      tile.el.classList.add('screen');
      tile.el.dataset.screen = String(who);
      tile.el.style.order = '-1';
      if (who === 'self') {
        tile.el.querySelector('figcaption')?.append(h('button', { type: 'button', class: 'stop-share', onclick: () => this.onStopSharing() }, 'Stop sharing'));
      }
      this.screens.set(who, tile);
      this.el.prepend(tile.el);
      this.layout.announce(`${label}.`);
    }
    if (tile.video.srcObject !== stream) tile.video.srcObject = stream;
    this.arrange();
  }

  /** @param {PeerId | 'self'} who */
  dropScreen(who) {
    const tile = this.screens.get(who);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.el.remove();
    this.screens.delete(who);
    if (who !== 'self') this.layout.announce(`${this.meeting.nameOf(who)} stopped sharing their screen.`);
    this.arrange();
  }

  /** Remote peers in the order tiles show them: hosts, co-hosts, then by join order. */
  ordered() {
    const rank = (/** @type {string | undefined} */ role) => (role === 'host' ? 0 : role === 'cohost' ? 1 : 2);
    return [...this.meeting.peers].sort((a, b) => rank(a.role) - rank(b.role) || a.id - b.id);
  }

  /**
   * Orders the tiles, picks the featured one (speaker view) and sizes them to fill the stage:
   * in the gallery the column count that gives the largest tiles, in speaker view the strip.
   */
  arrange() {
    const ordered = this.ordered();
    ordered.forEach((p, i) => { const t = this.tiles.get(p.id); if (t) t.el.style.order = String(i); });
    const self = this.tiles.get('self');
    if (self) self.el.style.order = String(ordered.length + 1);
    const screen = this.screenKey();
    // A shared screen is what everyone looks at: large, whichever view was chosen.
    const speaker = this.speakerView || screen != null;
    const remote = ordered.map((p) => p.id);
    const pick = this.pinned ?? screen ?? (this.speaker != null && remote.includes(this.speaker) ? this.speaker : null) ?? remote[0] ?? 'self';
    const before = this.featured;
    this.featured = speaker ? pick : null;
    this.el.classList.toggle('speaker', speaker);
    this.el.classList.toggle('sharing', screen != null);
    for (const [key, tile] of this.tiles) tile.el.classList.toggle('featured', key === this.featured);
    for (const [key, tile] of this.screens) tile.el.classList.toggle('featured', `screen:${key}` === this.featured);
    const W = this.stage.clientWidth;
    const H = this.stage.clientHeight;
    if (speaker) {
      // On phones our own video is an overlay, not in the strip.
      const strip = [...this.tiles.keys(), ...[...this.screens.keys()].map((k) => `screen:${k}`)]
        .filter((k) => k !== this.featured && !(k === 'self' && (this.selfHidden || this.layout.isPhone)));
      const stripH = strip.length === 0 ? 0 : Math.round(Math.max(64, Math.min(150, H * (this.layout.isPhone ? 0.16 : 0.2))));
      this.el.style.setProperty('--strip-h', `${stripH}px`);
      this.el.classList.toggle('solo', strip.length === 0);
    } else {
      const n = [...this.tiles.keys()].filter((k) => !(k === 'self' && this.selfHidden)).length || 1;
      const gap = 8;
      let best = { cols: 1, w: 0 };
      for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        const w = Math.min((W - gap * (cols - 1)) / cols, ((H - gap * (rows - 1)) / rows) * (4 / 3));
        if (w > best.w) best = { cols, w };
      }
      this.el.style.setProperty('--cols', String(best.cols));
      this.el.style.setProperty('--tile-w', `${Math.max(80, Math.floor(best.w))}px`);
    }
    if (before !== this.featured) this.subscribeAll();
    this.onArrange();
  }

  /** A tile for everyone in the room, and only for them. */
  sync() {
    const m = this.meeting;
    const wanted = new Set(m.peers.map((p) => p.id));
    for (const [id, tile] of this.tiles) {
      if (id !== 'self' && !wanted.has(id)) {
        tile.video.srcObject = null;
        tile.el.remove();
        this.tiles.delete(id);
      }
    }
    // Screens of people who left the room (the SDK says so too), and ones that came first.
    for (const id of [...this.screens.keys()]) if (id !== 'self' && !wanted.has(id)) this.dropScreen(id);
    for (const peer of m.peers) {
      const stream = m.remoteScreen(peer.id);
      if (stream && !this.screens.has(peer.id)) this.showScreen(peer.id, stream);
    }
    for (const peer of m.peers) {
      let tile = this.tiles.get(peer.id);
      if (!tile) {
        tile = this.makeTile(peer.name, false);
        const id = peer.id;
        tile.pin = h('button', { type: 'button', class: 'pin', 'aria-pressed': 'false', 'aria-label': `Pin — ${peer.name}`, onclick: () => this.togglePin(id) }, 'Pin');
        tile.el.querySelector('figcaption')?.append(tile.pin);
        tile.el.dataset.peer = String(peer.id);
        this.tiles.set(peer.id, tile);
        this.el.append(tile.el);
        const stream = m.remoteStream(peer.id);
        if (stream) tile.video.srcObject = stream;
      }
      const caption = tile.el.querySelector('.name');
      if (caption && caption.textContent !== peer.name) caption.textContent = peer.name;
      setInitials(tile, peer.name);
      if (tile.pin && tile.pin.getAttribute('aria-label') !== `Pin — ${peer.name}`) tile.pin.setAttribute('aria-label', `Pin — ${peer.name}`);
      this.setBadges(tile, m.peerMedia(peer.id), peer.role ?? 'participant', !!peer.hand, !!peer.reconnecting, m.peerBlocked(peer.id));
    }
    this.el.dataset.count = String(this.tiles.size);
    if (this.pinned != null && !wanted.has(this.pinned)) this.togglePin(this.pinned);
    if (this.speaker != null && !wanted.has(this.speaker)) this.speaker = null;
    this.renderSpeaking(m.activeSpeakers[0] ?? null);
    this.arrange();
    this.subscribeAll();
  }

  /**
   * SFU meetings: the camera quality to receive of each roommate — high for the speaker and the
   * pinned tile, low for the thumbnails. The SDK sends only changes.
   */
  subscribeAll() {
    const m = this.meeting;
    if (m.mediaMode !== 'sfu') return;
    for (const peer of m.peers) {
      if (peer.reconnecting) continue;
      const quality = peer.id === this.pinned || peer.id === this.speaker || peer.id === this.featured ? 'high' : 'low';
      // Refused when they just left the room (a move on its way): the next sync asks again.
      m.subscribe(peer.id, quality).catch(() => {});
    }
  }

  /** Highlights the tile of whoever speaks loudest now (ours too). @param {PeerId | null} id */
  renderSpeaking(id) {
    const me = this.meeting.you?.id;
    for (const [key, tile] of this.tiles) {
      const speaking = id != null && (key === id || (key === 'self' && id === me));
      tile.el.classList.toggle('speaking', speaking);
    }
  }

  /** Pins a tile (or unpins it): shown larger and, in SFU meetings, in high quality. @param {PeerId} id */
  togglePin(id) {
    this.pinned = this.pinned === id ? null : id;
    for (const [key, tile] of this.tiles) {
      const on = key === this.pinned;
      tile.el.classList.toggle('pinned', on);
      tile.pin?.setAttribute('aria-pressed', String(on));
      if (tile.pin) tile.pin.textContent = on ? 'Unpin' : 'Pin';
    }
    this.arrange();
    this.subscribeAll();
  }

  dropRemoteTiles() {
    for (const id of [...this.screens.keys()]) if (id !== 'self') this.dropScreen(id);
    for (const [id, tile] of this.tiles) {
      if (id === 'self') continue;
      tile.video.srcObject = null;
      tile.el.remove();
      this.tiles.delete(id);
    }
  }

  /** Our own tile: our camera, name, role, hand and what we send. */
  renderSelf() {
    const m = this.meeting;
    let tile = this.tiles.get('self');
    if (!tile) {
      tile = this.makeTile(`${m.you?.name ?? 'You'} (you)`, true);
      tile.el.classList.add('self');
      this.tiles.set('self', tile);
      this.el.append(tile.el);
      this.arrange();
    }
    // None for an observer (the SDK stops the camera when a host makes us one).
    if (tile.video.srcObject !== m.localStream) tile.video.srcObject = m.localStream;
    const caption = tile.el.querySelector('.name');
    if (caption) caption.textContent = `${m.you?.name ?? 'You'} (you)`;
    setInitials(tile, m.you?.name ?? '');
    this.setBadges(tile, { audio: m.audioEnabled && hasTrack(m, 'audio'), video: m.videoEnabled && hasTrack(m, 'video') }, m.you?.role ?? '', m.handRaised, false,
      { audio: m.audioBlocked, video: m.videoBlocked });
  }

  /** @param {string} name @param {boolean} self @returns {Tile} */
  makeTile(name, self) {
    const video = h('video', { autoplay: true, playsinline: true, muted: self });
    video.muted = self;
    const badges = h('span', { class: 'badges' });
    const el = h('figure', { class: 'tile' }, video, h('div', { class: 'initials', 'aria-hidden': 'true' }, h('span', {})),
      h('figcaption', {}, h('span', { class: 'name' }, name), badges));
    return { el, video, badges, pin: null };
  }

  /**
   * @param {Tile} tile @param {{audio: boolean, video: boolean}} media @param {string} role
   * @param {boolean} hand raised
   * @param {boolean} reconnecting their connection dropped; the hub holds their seat
   * @param {{audio: boolean, video: boolean}} blocked a host stops the hub forwarding them (SFU)
   */
  setBadges(tile, media, role, hand, reconnecting, blocked) {
    const items = [];
    if (reconnecting) items.push(h('span', { class: 'badge reconnecting', title: 'Their connection dropped; they should be back shortly' }, 'Reconnecting…'));
    tile.el.classList.toggle('reconnecting', reconnecting);
    if (role === 'host' || role === 'cohost' || role === 'mentor') items.push(h('span', { class: `badge role ${role}` }, roleLabel(role)));
    if (hand) items.push(h('span', { class: 'badge hand', title: 'Hand raised' }, 'Hand raised'));
    if (!media.audio) items.push(h('span', { class: 'badge muted', title: 'Microphone off' }, 'Muted'));
    if (!media.video) items.push(h('span', { class: 'badge camera-off', title: 'Camera off' }, 'Camera off'));
    if (blocked.audio) items.push(h('span', { class: 'badge blocked', title: 'A host turned this microphone off' }, 'Microphone blocked'));
    if (blocked.video) items.push(h('span', { class: 'badge blocked', title: 'A host turned this camera off' }, 'Camera blocked'));
    tile.badges.replaceChildren(...items);
    tile.el.classList.toggle('camera-off', !media.video);
  }

  /** The session ended: no tiles, no streams. */
  destroy() {
    for (const tile of [...this.tiles.values(), ...this.screens.values()]) tile.video.srcObject = null;
    this.el.replaceChildren();
    this.tiles.clear();
    this.screens.clear();
    this.el.classList.remove('offline', 'speaker', 'solo', 'hide-self', 'sharing');
  }
}

/** Whether we send a track of this kind. @param {Meeting} m @param {'audio' | 'video'} kind */
export function hasTrack(m, kind) {
  return !!m.localStream && m.localStream.getTracks().some((t) => t.kind === kind);
}

/** "AL" for Alex Lee, "DR" for Dr. Rivera: shown when the camera is off. @param {Tile} tile @param {string} name */
function setInitials(tile, name) {
  const words = name.replace(/\(you\)$/, '').split(/\s+/).map((w) => w.replace(/[^\p{L}\p{N}]/gu, '')).filter(Boolean);
  const text = words.slice(0, 2).map((w) => w[0].toUpperCase()).join('');
  const span = tile.el.querySelector('.initials span');
  if (span && span.textContent !== text) span.textContent = text;
}
