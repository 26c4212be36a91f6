// The therapy room as everyone sees it: room name and topic, the video grid (with who stepped
// out, who is muted, whose hand is up), chat, host broadcasts, the breakout countdown, "Ask for
// help", the choose-a-room list, raising a hand, the notices moderation brings (a mute request,
// a host lowering your hand, the lock, a private conversation, a new role), and connection
// trouble: ours ("Connection lost — reconnecting…") and other people's ("reconnecting…" on their
// tile). Host controls live in host.js and moderation.js. The view only reacts to SDK events and
// reads SDK state.

import { byId, clock, h, on, setOptions } from './dom.js';
import { roleLabel } from './moderation.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').Peer} Peer */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */
/** @typedef {import('../sdk/protocol').ChatMessage} ChatMessage */

/**
 * A chat line as shown. `session`: chat ids count per hub session (they start over after a
 * hub restart, when we get a new seat), so lines are ordered by session, then id.
 * @typedef {{session: number, id: number, ts: number, from: PeerId, fromName: string, text: string,
 *   private: boolean, to: PeerId | null, toName: string | null}} ChatEntry
 */

/**
 * @typedef {object} Tile
 * @property {HTMLElement} el
 * @property {HTMLVideoElement} video
 * @property {HTMLElement} badges
 */

export class MeetingView {
  /** @param {Meeting} meeting */
  constructor(meeting) {
    this.meeting = meeting;
    /** Ends every DOM listener of this session (the elements outlive it). */
    this.abort = new AbortController();
    /** @type {Map<PeerId | 'self', Tile>} */
    this.tiles = new Map();
    /** Placeholders for people who stepped out of the room. @type {Map<PeerId, HTMLElement>} */
    this.awayTiles = new Map();
    /** Group messages of the current room. @type {ChatEntry[]} */
    this.groupChat = [];
    /** Private messages, kept across room changes. @type {ChatEntry[]} */
    this.privateChat = [];
    /** Counts fresh (not resumed) welcomes: see ChatEntry. */
    this.session = 0;
    /** The hub's `closes_at` we last saw. @type {number | null} */
    this.closesAt = null;
    /** Local deadline of the breakout timer (ms, our clock). @type {number | null} */
    this.deadline = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;

    this.grid = byId('grid', HTMLDivElement);
    this.roomName = byId('room-name', HTMLHeadingElement);
    this.roomTopic = byId('room-topic', HTMLParagraphElement);
    this.chatLog = byId('chat-log', HTMLOListElement);
    this.chatTo = byId('chat-to', HTMLSelectElement);
    this.chatInput = byId('chat-input', HTMLInputElement);
    this.banners = byId('banners', HTMLDivElement);
    this.countdown = byId('countdown', HTMLParagraphElement);
    this.status = byId('connection-status', HTMLParagraphElement);
    this.helpButton = byId('help-button', HTMLButtonElement);
    this.micButton = byId('mic-toggle', HTMLButtonElement);
    this.camButton = byId('cam-toggle', HTMLButtonElement);
    this.choosePanel = byId('choose-panel', HTMLElement);
    this.chooseList = byId('choose-list', HTMLUListElement);
    this.handButton = byId('hand-toggle', HTMLButtonElement);
    this.asideEnd = byId('aside-end', HTMLButtonElement);
    this.asideBanner = byId('aside-banner', HTMLParagraphElement);
    this.lockedBanner = byId('locked-banner', HTMLParagraphElement);
    this.reconnectBanner = byId('reconnect-banner', HTMLParagraphElement);

    this.bindControls();
    this.bindEvents();
  }

  bindControls() {
    const m = this.meeting;
    const signal = this.abort.signal;
    byId('chat-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this.chatInput.value.trim();
      if (!text) return;
      const to = this.chatTo.value ? Number(this.chatTo.value) : null;
      const sent = to == null ? m.chat(text) : m.privateChat(to, text);
      this.chatInput.value = '';
      sent.catch((err) => this.showStatus(`Message not sent: ${describe(err)}`));
    }, { signal });
    this.micButton.addEventListener('click', () => {
      m.setAudioEnabled(!m.audioEnabled);
      this.renderSelf();
    }, { signal });
    this.camButton.addEventListener('click', () => {
      m.setVideoEnabled(!m.videoEnabled);
      this.renderSelf();
    }, { signal });
    this.handButton.addEventListener('click', () => {
      const raise = !m.handRaised;
      m.raiseHand(raise)
        .then(() => this.showStatus(raise ? 'Your hand is raised; the host can see it.' : 'Your hand is lowered.'))
        .catch((err) => this.showStatus(`Could not ${raise ? 'raise' : 'lower'} your hand: ${describe(err)}`));
    }, { signal });
    this.asideEnd.addEventListener('click', () => {
      this.asideEnd.disabled = true;
      m.endAside()
        .catch((err) => this.showStatus(`Could not end the private conversation: ${describe(err)}`))
        .finally(() => { this.asideEnd.disabled = false; });
    }, { signal });
    const devices = byId('devices', HTMLDetailsElement);
    const cameraSelect = byId('camera-select', HTMLSelectElement);
    const micSelect = byId('mic-select', HTMLSelectElement);
    devices.addEventListener('toggle', async () => {
      if (!devices.open) return;
      const list = await navigator.mediaDevices.enumerateDevices();
      /** @param {MediaDeviceKind} kind @param {'audio' | 'video'} track */
      const options = (kind, track) => {
        const current = m.localStream?.getTracks().find((t) => t.kind === track)?.getSettings().deviceId;
        return list.filter((d) => d.kind === kind).map((d, i) => ({
          value: d.deviceId, label: d.label || `${kind === 'videoinput' ? 'Camera' : 'Microphone'} ${i + 1}`, current: d.deviceId === current,
        }));
      };
      for (const [select, opts] of /** @type {const} */ ([[cameraSelect, options('videoinput', 'video')], [micSelect, options('audioinput', 'audio')]])) {
        setOptions(select, opts);
        const current = opts.find((o) => o.current);
        if (current) select.value = current.value;
      }
    }, { signal });
    byId('devices-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      m.selectDevices({ videoDeviceId: cameraSelect.value || undefined, audioDeviceId: micSelect.value || undefined })
        .then(() => this.showStatus('Devices switched.'))
        .catch((err) => this.showStatus(`Could not switch devices: ${describe(err)}`));
    }, { signal });
    this.helpButton.addEventListener('click', () => {
      this.helpButton.disabled = true;
      m.askHelp()
        .then(() => this.showStatus('A host has been asked to come to your room.'))
        .catch((err) => this.showStatus(`Could not ask for help: ${describe(err)}`))
        .finally(() => { this.helpButton.disabled = false; });
    }, { signal });
  }

  bindEvents() {
    const m = this.meeting;
    const signal = this.abort.signal;
    on(m, 'welcome', (d) => {
      this.setRoom(d.room);
      // Resumed: our log stands; what we missed comes as chat events (or, if we were moved
      // meanwhile, with room-changed). Otherwise (a new seat) the room's history is the log, a
      // new chat session begins (see ChatEntry), and the tiles start over with the roster.
      if (!d.resumed) {
        this.session += 1;
        this.setHistory(d.chat);
        this.dropRemoteTiles();
      }
      this.renderSelf();
    }, signal);
    on(m, 'room-changed', (d) => {
      this.setRoom(d.room);
      this.setHistory(d.chat);
      this.addNotice(`You are now in ${d.room.name}.`);
    }, signal);
    on(m, 'peers', () => this.syncTiles(), signal);
    on(m, 'peer-left', (d) => {
      if (d.reason === 'stepped_out' && d.peer) this.addNotice(`${d.peer.name} stepped out for a moment.`);
      if (d.reason === 'timeout' && d.peer) this.addNotice(`${d.peer.name} lost their connection.`);
      // Someone who stepped out and left from the private conversation: their placeholder goes
      // (with the `peers` event that follows), so say why.
      else if (d.reason !== 'stepped_out' && d.peer && this.awayTiles.has(d.id)) this.addNotice(`${d.peer.name} left.`);
    }, signal);
    on(m, 'peer-joined', (d) => {
      if (this.awayTiles.has(d.peer.id)) this.addNotice(`${d.peer.name} is back.`);
    }, signal);
    on(m, 'peer-updated', (d) => {
      // Hand changes come this way too; only a new role is news here.
      if (d.peer.id === m.you?.id && d.previous && d.previous.role !== d.peer.role) {
        const role = d.peer.role;
        this.showStatus(role === 'host' ? 'You are now the host.' : role === 'cohost' ? 'You are now a co-host.' : `You are now ${role === 'observer' ? 'an observer' : `a ${role}`}.`);
        this.setRoom(m.room);
        this.renderSelf();
      }
    }, signal);
    on(m, 'hand', (d) => {
      this.renderSelf();
      if (d.byHost) this.showStatus('A host lowered your hand.');
    }, signal);
    on(m, 'locked', (d) => {
      this.renderLocked();
      this.showStatus(`${d.by === m.you?.id ? 'You' : m.nameOf(d.by)} ${d.locked ? 'locked' : 'unlocked'} the meeting.`);
    }, signal);
    on(m, 'mute-requested', (d) => {
      const what = d.audio && d.video ? 'your microphone and camera' : d.audio ? 'your microphone' : 'your camera';
      this.renderSelf();
      const when = d.replayed ? 'While you were reconnecting, ' : '';
      this.showNotice(`${when}${d.name} asked you to turn off ${what}. You can turn ${d.audio && d.video ? 'them' : 'it'} back on when you are ready.`);
    }, signal);
    on(m, 'rooms', (d) => {
      this.setRoom(m.room);
      if (d.closesAt !== this.closesAt) {
        // The hub's clock; a `breakout_closing` (seconds left) corrects for skew.
        this.closesAt = d.closesAt;
        this.deadline = d.closesAt;
      }
      this.renderCountdown();
      this.renderChoose(d);
      this.renderRecipients();
    }, signal);
    on(m, 'breakout-closing', (d) => {
      this.closesAt = d.closesAt;
      // `seconds` corrects for clock skew, but a replayed warning's were counted long ago.
      this.deadline = d.replayed ? d.closesAt : Date.now() + d.seconds * 1000;
      this.renderCountdown();
    }, signal);
    on(m, 'stream', (d) => {
      const tile = this.tiles.get(d.peerId);
      if (tile && tile.video.srcObject !== d.stream) tile.video.srcObject = d.stream;
    }, signal);
    on(m, 'peer-media', () => this.syncTiles(), signal);
    on(m, 'connection-state', (d) => {
      this.tiles.get(d.peerId)?.el.setAttribute('data-state', d.state);
    }, signal);
    on(m, 'chat', (d) => this.addChat(d.message), signal);
    on(m, 'broadcast', (d) => this.addBroadcast(d.text, m.nameOf(d.from), d.replayed), signal);
    on(m, 'error', (d) => this.showStatus(`The hub refused something: ${d.code}`), signal);
    on(m, 'reconnecting', (d) => {
      this.reconnectBanner.hidden = false;
      byId('reconnect-detail', HTMLSpanElement).textContent = d.attempt > 1
        ? `Still trying (attempt ${d.attempt}). Check your network.`
        : 'Your place in the meeting is kept for a short while.';
      this.grid.classList.add('offline');
    }, signal);
    on(m, 'reconnected', (d) => {
      this.reconnectBanner.hidden = true;
      this.grid.classList.remove('offline');
      this.showStatus(d.resumed ? 'Reconnected.' : 'Reconnected (you rejoined the meeting).');
    }, signal);
    on(m, 'local-stream', () => this.renderSelf(), signal);
  }

  renderLocked() {
    this.lockedBanner.hidden = !this.meeting.locked;
  }

  // ---- room ----

  /** @param {{id: string, name: string, topic: string | null}} room */
  setRoom(room) {
    this.roomName.textContent = room.name || 'Main room';
    this.roomTopic.textContent = room.topic ? `Topic: ${room.topic}` : '';
    this.roomTopic.hidden = !room.topic;
    document.title = `${room.name || 'Huddle'} · Huddle`;
    const m = this.meeting;
    const aside = m.inPrivateRoom;
    // Hosts run the rooms; asking for help is for everyone else in a breakout.
    this.helpButton.hidden = room.id === 'main' || m.isHost || aside;
    this.asideEnd.hidden = !(aside && m.isHost);
    this.asideBanner.hidden = !aside;
    if (aside) {
      const other = m.peers.map((p) => p.name).join(', ') || 'a host';
      this.asideBanner.textContent = m.isHost
        ? `You are talking privately with ${other}. Their room sees only that you both stepped out.`
        : `You are in a private conversation with ${other}. The group sees only that you stepped out.`;
    }
    document.body.dataset.room = room.id;
    this.renderCountdown();
    this.renderLocked();
  }

  renderCountdown() {
    const inBreakout = this.meeting.room.id !== 'main' || this.meeting.rooms.rooms.length > 1;
    if (this.deadline == null || !inBreakout) {
      this.countdown.hidden = true;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      return;
    }
    const update = () => {
      const left = ((this.deadline ?? Date.now()) - Date.now()) / 1000;
      this.countdown.textContent = left > 0
        ? `Breakout rooms close in ${clock(left)}`
        : 'Breakout rooms are closing…';
    };
    update();
    this.countdown.hidden = false;
    if (!this.timer) this.timer = setInterval(update, 1000);
  }

  /** @param {{rooms: {id: string, name: string, topic?: string | null, members: number[]}[], choosing: boolean}} d */
  renderChoose(d) {
    const role = this.meeting.you?.role;
    const mayChoose = d.choosing && (role === 'participant' || role === 'mentor');
    this.choosePanel.hidden = !mayChoose;
    if (!mayChoose) return;
    const here = this.meeting.room.id;
    this.chooseList.replaceChildren(...d.rooms.filter((r) => r.id !== 'main').map((r) => h('li', {},
      h('button', {
        type: 'button', class: r.id === here ? 'current' : null, 'aria-pressed': String(r.id === here),
        onclick: () => { this.meeting.chooseRoom(r.id).catch((err) => this.showStatus(`Could not join ${r.name}: ${describe(err)}`)); },
      }, `${r.name}${r.topic ? ` — ${r.topic}` : ''} (${r.members.length})`))));
  }

  // ---- video ----

  syncTiles() {
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
        tile.el.dataset.peer = String(peer.id);
        this.tiles.set(peer.id, tile);
        this.grid.append(tile.el);
        const stream = m.remoteStream(peer.id);
        if (stream) tile.video.srcObject = stream;
      }
      const caption = tile.el.querySelector('.name');
      if (caption && caption.textContent !== peer.name) caption.textContent = peer.name;
      this.setBadges(tile, m.peerMedia(peer.id), peer.role, !!peer.hand, !!peer.reconnecting);
    }
    this.syncAwayTiles();
    // The roster of a private conversation changes with its people.
    if (m.inPrivateRoom) this.setRoom(m.room);
    this.renderRecipients();
    this.grid.dataset.count = String(this.tiles.size);
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
      this.grid.append(el);
    }
  }

  renderSelf() {
    const m = this.meeting;
    let tile = this.tiles.get('self');
    if (!tile) {
      tile = this.makeTile(`${m.you?.name ?? 'You'} (you)`, true);
      tile.el.classList.add('self');
      this.tiles.set('self', tile);
      this.grid.prepend(tile.el);
    }
    if (m.localStream && tile.video.srcObject !== m.localStream) tile.video.srcObject = m.localStream;
    const caption = tile.el.querySelector('.name');
    if (caption) caption.textContent = `${m.you?.name ?? 'You'} (you)`;
    this.setBadges(tile, { audio: m.audioEnabled && hasTrack(m, 'audio'), video: m.videoEnabled && hasTrack(m, 'video') }, m.you?.role ?? '', m.handRaised, false);
    // Hosts run the session (they do not queue to speak); observers do not speak.
    const role = m.you?.role;
    this.handButton.hidden = role === 'host' || role === 'observer' || !m.you;
    this.handButton.textContent = m.handRaised ? 'Lower hand' : 'Raise hand';
    this.handButton.setAttribute('aria-pressed', String(m.handRaised));
    this.micButton.textContent = m.audioEnabled ? 'Mute microphone' : 'Unmute microphone';
    this.micButton.setAttribute('aria-pressed', String(!m.audioEnabled));
    this.camButton.textContent = m.videoEnabled ? 'Turn camera off' : 'Turn camera on';
    this.camButton.setAttribute('aria-pressed', String(!m.videoEnabled));
    byId('devices', HTMLDetailsElement).hidden = m.you?.role === 'observer';
    this.micButton.disabled = !hasTrack(m, 'audio');
    this.camButton.disabled = !hasTrack(m, 'video');
  }

  /** @param {string} name @param {boolean} self @returns {Tile} */
  makeTile(name, self) {
    const video = h('video', { autoplay: true, playsinline: true, muted: self });
    video.muted = self;
    const badges = h('span', { class: 'badges' });
    const el = h('figure', { class: 'tile' }, video, h('figcaption', {}, h('span', { class: 'name' }, name), badges));
    return { el, video, badges };
  }

  /**
   * @param {Tile} tile @param {{audio: boolean, video: boolean}} media @param {string} role
   * @param {boolean} hand raised
   * @param {boolean} reconnecting their connection dropped; the hub holds their seat
   */
  setBadges(tile, media, role, hand, reconnecting) {
    const items = [];
    if (reconnecting) items.push(h('span', { class: 'badge reconnecting', title: 'Their connection dropped; they should be back shortly' }, 'Reconnecting…'));
    tile.el.classList.toggle('reconnecting', reconnecting);
    if (role === 'host' || role === 'cohost' || role === 'mentor') items.push(h('span', { class: `badge role ${role}` }, roleLabel(role)));
    if (hand) items.push(h('span', { class: 'badge hand', title: 'Hand raised' }, 'Hand raised'));
    if (!media.audio) items.push(h('span', { class: 'badge muted', title: 'Microphone off' }, 'Muted'));
    if (!media.video) items.push(h('span', { class: 'badge camera-off', title: 'Camera off' }, 'Camera off'));
    tile.badges.replaceChildren(...items);
    tile.el.classList.toggle('camera-off', !media.video);
  }

  // ---- chat ----

  /** @param {ChatMessage[]} history */
  setHistory(history) {
    this.groupChat = history.map((msg) => this.entry(msg));
    this.renderChat();
  }

  /** @param {ChatMessage} msg @returns {ChatEntry} */
  entry(msg) {
    const m = this.meeting;
    return {
      session: this.session,
      id: msg.id, ts: msg.ts, from: msg.from, fromName: m.nameOf(msg.from), text: msg.text,
      private: msg.to != null, to: msg.to ?? null, toName: msg.to != null ? m.nameOf(msg.to) : null,
    };
  }

  /** @param {ChatMessage} msg */
  addChat(msg) {
    // Each message once, whatever path it came by (live, or replayed after a drop).
    const seen = (/** @type {ChatEntry} */ c) => c.session === this.session && c.id === msg.id;
    if (this.groupChat.some(seen) || this.privateChat.some(seen)) return;
    const e = this.entry(msg);
    if (e.private) this.privateChat.push(e);
    else if (msg.room === this.meeting.room.id) this.groupChat.push(e);
    else return;
    this.renderChat();
  }

  /** @param {string} text */
  addNotice(text) {
    this.chatLog.append(h('li', { class: 'notice' }, text));
  }

  renderChat() {
    const me = this.meeting.you?.id;
    const all = this.chatEntries();
    this.chatLog.replaceChildren(...all.map((e) => {
      const who = e.from === me ? 'You' : e.fromName;
      const label = e.private
        ? (e.from === me ? `You → ${e.toName} (private)` : `${who} → you (private)`)
        : who;
      return h('li', { class: e.private ? 'private' : null, 'data-from': String(e.from) },
        h('span', { class: 'from' }, label), h('span', { class: 'text' }, e.text));
    }));
    this.chatLog.scrollTop = this.chatLog.scrollHeight;
  }

  /** Who a private message can go to: the room, or everyone for hosts. */
  renderRecipients() {
    const m = this.meeting;
    const me = m.you?.id;
    /** @type {Map<number, string>} */
    const people = new Map(m.peers.map((p) => [p.id, p.name]));
    if (m.isHost) {
      for (const r of m.rooms.rooms) {
        for (const id of r.members) if (id !== me) people.set(id, m.nameOf(id));
      }
    }
    setOptions(this.chatTo, [
      { value: '', label: 'Everyone in this room' },
      ...[...people].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => ({ value: String(id), label: `${name} (private)` })),
    ]);
  }

  /** Entries for the test hook and for people reading the log. */
  chatEntries() {
    // The hub's chat ids order a session's messages (`seq` counts group messages per room only).
    return [...this.groupChat, ...this.privateChat].sort((a, b) => a.session - b.session || a.id - b.id);
  }

  // ---- banners ----

  /**
   * A host's announcement, shown until dismissed; one sent while we were reconnecting comes
   * after the resume and says so.
   * @param {string} text @param {string} from @param {boolean} [replayed]
   */
  addBroadcast(text, from, replayed = false) {
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss announcement' }, '×');
    const banner = h('div', { class: 'banner broadcast', role: 'alert' },
      h('strong', {}, `${from}: `), h('span', { class: 'text' }, text),
      replayed ? h('span', { class: 'when' }, '(while you were reconnecting)') : null, close);
    close.addEventListener('click', () => banner.remove());
    this.banners.append(banner);
  }

  /**
   * A notice addressed to you (a host's mute request) that stays until dismissed; a newer one
   * replaces it.
   * @param {string} text
   */
  showNotice(text) {
    this.banners.querySelector('.banner.notice')?.remove();
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss notice' }, '×');
    const banner = h('div', { class: 'banner notice', role: 'alert' }, h('span', { class: 'text' }, text), close);
    close.addEventListener('click', () => banner.remove());
    this.banners.append(banner);
  }

  /** @param {string} text @param {boolean} [sticky] */
  showStatus(text, sticky = false) {
    this.status.textContent = text;
    this.status.hidden = false;
    if (!sticky) {
      const shown = text;
      setTimeout(() => { if (this.status.textContent === shown) this.status.hidden = true; }, 6000);
    }
  }

  destroy() {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    for (const tile of this.tiles.values()) tile.video.srcObject = null;
    this.grid.replaceChildren();
    this.tiles.clear();
    this.awayTiles.clear();
    this.banners.querySelectorAll('.banner.notice, .banner.broadcast').forEach((b) => b.remove());
    for (const el of [this.asideBanner, this.lockedBanner, this.asideEnd, this.handButton, this.reconnectBanner]) el.hidden = true;
    this.grid.classList.remove('offline');
  }
}

/** @param {Meeting} m @param {'audio' | 'video'} kind */
function hasTrack(m, kind) {
  return !!m.localStream && m.localStream.getTracks().some((t) => t.kind === kind);
}

/** @param {unknown} err */
export function describe(err) {
  if (err && typeof err === 'object' && 'code' in err) {
    const e = /** @type {{code: string, message?: string}} */ (err);
    return e.message ? `${e.message} (${e.code})` : e.code;
  }
  return err instanceof Error ? err.message : String(err);
}
