// The therapy room as everyone sees it: room name and topic, your controls (microphone, camera,
// devices, raising a hand, "Ask for help"), host broadcasts, the breakout countdown, the
// choose-a-room list, the notices moderation brings (a mute request, a host lowering your hand,
// the lock, a private conversation, a new role, a host's hard mute of our microphone or camera in
// SFU meetings), and connection trouble: ours ("Connection lost
// — reconnecting…"). The video grid (with other people's "reconnecting…") is grid.js's, the chat
// chat.js's; host controls live in host.js and moderation.js. The view only reacts to SDK events
// and reads SDK state.

import { ChatPanel } from './chat.js';
import { byId, clock, describe, h, on, setOptions } from './dom.js';
import { VideoGrid, hasTrack } from './grid.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/huddle.js').CurrentRoom} CurrentRoom */
/** @typedef {import('../sdk/huddle.js').RoomsDetail} RoomsDetail */

export class MeetingView {
  /** @param {Meeting} meeting */
  constructor(meeting) {
    this.meeting = meeting;
    /** Ends every DOM listener of this session (the elements outlive it). */
    this.abort = new AbortController();
    /** The hub's `closes_at` we last saw. @type {number | null} */
    this.closesAt = null;
    /** Local deadline of the breakout timer (ms, our clock). @type {number | null} */
    this.deadline = null;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;

    this.roomName = byId('room-name', HTMLHeadingElement);
    this.roomTopic = byId('room-topic', HTMLParagraphElement);
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
    this.blockedBanner = byId('blocked-banner', HTMLParagraphElement);
    this.reconnectBanner = byId('reconnect-banner', HTMLParagraphElement);

    const signal = this.abort.signal;
    this.grid = new VideoGrid(meeting, byId('grid', HTMLDivElement), signal);
    this.chat = new ChatPanel(meeting, (text) => this.showStatus(text), signal);
    this.bindControls();
    this.bindEvents();
  }

  bindControls() {
    const m = this.meeting;
    const signal = this.abort.signal;
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
      this.renderSelf();
      this.renderBlocked();
    }, signal);
    /** What a host blocked before this change, to say what was allowed again. */
    let blocked = { audio: m.audioBlocked, video: m.videoBlocked };
    on(m, 'media-blocked', (d) => {
      this.renderBlocked();
      this.renderSelf();
      const allowed = [blocked.audio && !d.audio ? 'microphone' : '', blocked.video && !d.video ? 'camera' : ''].filter(Boolean);
      if (allowed.length > 0) this.showStatus(`A host allowed your ${allowed.join(' and ')} again: the group gets ${allowed.length > 1 ? 'them' : 'it'} when it is on.`);
      blocked = { ...d };
    }, signal);
    on(m, 'room-changed', (d) => this.setRoom(d.room), signal);
    // The roster of a private conversation changes with its people.
    on(m, 'peers', () => { if (m.inPrivateRoom) this.setRoom(m.room); }, signal);
    // Notices in the chat log about people the grid shows as stepped out (the grid updates on
    // the `peers` event that follows).
    on(m, 'peer-left', (d) => {
      if (d.reason === 'stepped_out' && d.peer) this.chat.addNotice(`${d.peer.name} stepped out for a moment.`);
      if (d.reason === 'timeout' && d.peer) this.chat.addNotice(`${d.peer.name} lost their connection.`);
      // Someone who stepped out and left from the private conversation: their placeholder goes
      // (with the `peers` event that follows), so say why.
      else if (d.reason !== 'stepped_out' && d.peer && this.grid.isAway(d.id)) this.chat.addNotice(`${d.peer.name} left.`);
    }, signal);
    on(m, 'peer-joined', (d) => {
      if (this.grid.isAway(d.peer.id)) this.chat.addNotice(`${d.peer.name} is back.`);
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
    }, signal);
    on(m, 'breakout-closing', (d) => {
      this.closesAt = d.closesAt;
      // `seconds` corrects for clock skew, but a replayed warning's were counted long ago.
      this.deadline = d.replayed ? d.closesAt : Date.now() + d.seconds * 1000;
      this.renderCountdown();
    }, signal);
    on(m, 'broadcast', (d) => this.addBroadcast(d.text, m.nameOf(d.from), d.replayed), signal);
    on(m, 'error', (d) => this.showStatus(`The hub refused something: ${d.code}`), signal);
    on(m, 'reconnecting', (d) => {
      this.reconnectBanner.hidden = false;
      byId('reconnect-detail', HTMLSpanElement).textContent = d.attempt > 1
        ? `Still trying (attempt ${d.attempt}). Check your network.`
        : 'Your place in the meeting is kept for a short while.';
    }, signal);
    on(m, 'reconnected', (d) => {
      this.reconnectBanner.hidden = true;
      this.showStatus(d.resumed ? 'Reconnected.' : 'Reconnected (you rejoined the meeting).');
    }, signal);
    on(m, 'local-stream', () => this.renderSelf(), signal);
  }

  renderLocked() {
    this.lockedBanner.hidden = !this.meeting.locked;
  }

  /** While a host hard-mutes us (SFU meetings): no one gets that device, whatever our buttons say. */
  renderBlocked() {
    const m = this.meeting;
    const what = m.audioBlocked && m.videoBlocked ? 'your microphone and camera' : m.audioBlocked ? 'your microphone' : 'your camera';
    this.blockedBanner.hidden = !m.audioBlocked && !m.videoBlocked;
    this.blockedBanner.textContent = `A host turned off ${what}: the group cannot ${m.audioBlocked && m.videoBlocked ? 'hear or see you' : m.audioBlocked ? 'hear you' : 'see you'} until a host turns it back on.`;
  }

  // ---- room ----

  /** @param {CurrentRoom} room */
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

  /** @param {RoomsDetail} d */
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

  // ---- you ----

  /** Our own tile and controls, after our media, hand or role changed. */
  renderSelf() {
    this.grid.renderSelf();
    const m = this.meeting;
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
    this.grid.destroy();
    this.banners.querySelectorAll('.banner.notice, .banner.broadcast').forEach((b) => b.remove());
    for (const el of [this.asideBanner, this.lockedBanner, this.blockedBanner, this.asideEnd, this.handButton, this.reconnectBanner]) el.hidden = true;
  }
}
