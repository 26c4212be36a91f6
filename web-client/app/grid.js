// The video grid: a tile per person in the room (with who is muted, whose camera is off, whose
// hand is up, whose connection dropped, whom a host hard-muted), a quiet placeholder for each
// person who stepped out, and our own tile. The active speaker's tile is highlighted, and one
// tile can be pinned (shown larger). In SFU meetings the grid also says which camera quality to
// receive: the speaker's and the pinned tile's high, every other thumbnail low. It follows the
// SDK's events and state; view.js renders our own tile through it when our media or role change.

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
   */
  constructor(meeting, el, signal) {
    this.meeting = meeting;
    this.el = el;
    /** @type {Map<PeerId | 'self', Tile>} */
    this.tiles = new Map();
    /** Placeholders for people who stepped out of the room. @type {Map<PeerId, HTMLElement>} */
    this.awayTiles = new Map();
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
    on(m, 'reconnecting', () => this.el.classList.add('offline'), signal);
    on(m, 'reconnected', () => this.el.classList.remove('offline'), signal);
  }

  /** Whether `id` is shown as stepped out (until the next `peers` event). @param {PeerId} id */
  isAway(id) {
    return this.awayTiles.has(id);
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
      if (tile.pin && tile.pin.getAttribute('aria-label') !== `Pin — ${peer.name}`) tile.pin.setAttribute('aria-label', `Pin — ${peer.name}`);
      this.setBadges(tile, m.peerMedia(peer.id), peer.role ?? 'participant', !!peer.hand, !!peer.reconnecting, m.peerBlocked(peer.id));
    }
    this.syncAwayTiles();
    this.el.dataset.count = String(this.tiles.size);
    if (this.pinned != null && !wanted.has(this.pinned)) this.pinned = null;
    if (this.speaker != null && !wanted.has(this.speaker)) this.speaker = null;
    this.renderSpeaking(m.activeSpeakers[0] ?? null);
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
      const quality = peer.id === this.pinned || peer.id === this.speaker ? 'high' : 'low';
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
    this.subscribeAll();
  }

  dropRemoteTiles() {
    for (const [id, tile] of this.tiles) {
      if (id === 'self') continue;
      tile.video.srcObject = null;
      tile.el.remove();
      this.tiles.delete(id);
    }
  }

  /** A quiet placeholder for each person who stepped out, until they are back. */
  syncAwayTiles() {
    const away = new Map(this.meeting.steppedOut.map((p) => [p.id, p]));
    for (const [id, el] of this.awayTiles) {
      if (!away.has(id)) {
        el.remove();
        this.awayTiles.delete(id);
      }
    }
    for (const peer of away.values()) {
      if (this.awayTiles.has(peer.id)) continue;
      const el = h('figure', { class: 'tile away', 'data-peer': String(peer.id) },
        h('p', { class: 'away-note' }, 'Stepped out'),
        h('figcaption', {}, h('span', { class: 'name' }, peer.name),
          h('span', { class: 'badges' }, h('span', { class: 'badge away' }, 'Stepped out'))));
      this.awayTiles.set(peer.id, el);
      this.el.append(el);
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
      this.el.prepend(tile.el);
    }
    // None for an observer (the SDK stops the camera when a host makes us one).
    if (tile.video.srcObject !== m.localStream) tile.video.srcObject = m.localStream;
    const caption = tile.el.querySelector('.name');
    if (caption) caption.textContent = `${m.you?.name ?? 'You'} (you)`;
    this.setBadges(tile, { audio: m.audioEnabled && hasTrack(m, 'audio'), video: m.videoEnabled && hasTrack(m, 'video') }, m.you?.role ?? '', m.handRaised, false,
      { audio: m.audioBlocked, video: m.videoBlocked });
  }

  /** @param {string} name @param {boolean} self @returns {Tile} */
  makeTile(name, self) {
    const video = h('video', { autoplay: true, playsinline: true, muted: self });
    video.muted = self;
    const badges = h('span', { class: 'badges' });
    const el = h('figure', { class: 'tile' }, video, h('figcaption', {}, h('span', { class: 'name' }, name), badges));
    return { el, video, badges, pin: null };
  }

  /**
   * @param {Tile} tile @param {MediaState} media @param {string} role
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
    for (const tile of this.tiles.values()) tile.video.srcObject = null;
    this.el.replaceChildren();
    this.tiles.clear();
    this.awayTiles.clear();
    this.el.classList.remove('offline');
  }
}

/** Whether we send a track of this kind. @param {Meeting} m @param {'audio' | 'video'} kind */
export function hasTrack(m, kind) {
  return !!m.localStream && m.localStream.getTracks().some((t) => t.kind === kind);
}
