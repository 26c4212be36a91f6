// The therapy room as everyone sees it: room name and topic, your controls (microphone, camera,
// devices, raising a hand, "Ask for help", the view, keyboard shortcuts), host broadcasts (which
// expire), the breakout countdown (milestones announced politely), the
// choose-a-room list, the notices moderation brings (a mute request, a host lowering your hand,
// the lock, a private conversation, a new role, a host's hard mute of our microphone or camera in
// SFU meetings), one neutral line while the therapist stepped out (never who went with them),
// private-message alerts, a scheduled session's end (the notice is schedule.js's), and connection
// trouble: ours ("Connection lost — reconnecting…"), and sharing our screen: "Share screen" (on
// phones in More; hidden for observers and where the browser cannot share a screen; for
// participants and mentors it stays focusable but says why it does nothing until a host allows
// it) and "Stop sharing". The video grid (with other people's
// "reconnecting…") is grid.js's, the chat chat.js's, the staff back channel staff.js's, reactions
// reactions.js's; host controls live in host.js and
// moderation.js. The view only reacts to SDK events and reads SDK state.

import { Alerts } from './alerts.js';
import { ChatPanel } from './chat.js';
import { byId, clock, describe, h, on, setOptions } from './dom.js';
import { VideoGrid, hasTrack } from './grid.js';
import { Layout } from './layout.js';
import { ReactionsControl } from './reactions.js';
import { SessionNotice } from './schedule.js';
import { StaffPanel } from './staff.js';

/** How long a host's announcement stays (it can be dismissed sooner). */
const BROADCAST_MS = 3 * 60_000;
/** Seconds left at which the countdown is announced to screen readers. */
const MILESTONES = [600, 300, 120, 60, 30, 10];
/** "X left" alerts for hosts go after this long. */
const LEFT_ALERT_MS = 30_000;

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
    /** The last countdown milestone announced (seconds). @type {number | null} */
    this.milestone = null;
    /** Whether the group was told that the therapist stepped out (once per private conversation). */
    this.awayTold = false;
    this.awayWasModerator = false;
    /** Who left lately, for the hosts' alert. @type {{name: string, at: number}[]} */
    this.recentlyLeft = [];
    /** What Leave does (main.js asks first). @type {() => void} */
    this.onLeave = () => meeting.leave();

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

    this.awayLine = byId('away-line', HTMLParagraphElement);
    /** The screen-sharing controls: in the toolbar, and in More on phones. */
    this.screenButtons = [byId('screen-toggle', HTMLButtonElement), byId('screen-more', HTMLButtonElement)];
    this.screenHint = byId('screen-hint', HTMLParagraphElement);
    /** Set while we stop sharing ourselves (otherwise a stop is news: a host or the browser). */
    this.stoppingScreen = false;

    const signal = this.abort.signal;
    this.layout = new Layout(signal);
    this.alerts = new Alerts(() => this.layout.renderTitle());
    this.layout.alertCount = () => this.alerts.size;
    this.grid = new VideoGrid(meeting, byId('grid', HTMLDivElement), signal, this.layout);
    this.chat = new ChatPanel(meeting, (text) => this.showStatus(text), signal, this.layout);
    this.staff = new StaffPanel(meeting, (text) => this.showStatus(text), signal, this.layout);
    this.reactions = new ReactionsControl(meeting, this.grid, this.layout, (text) => this.showStatus(text), signal);
    this.session = new SessionNotice(meeting, this.alerts, signal);
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
    const viewToggle = byId('view-toggle', HTMLButtonElement);
    const selfToggle = byId('self-toggle', HTMLButtonElement);
    const renderViewButtons = () => {
      viewToggle.setAttribute('aria-pressed', String(this.grid.speakerView));
      selfToggle.setAttribute('aria-pressed', String(this.grid.selfHidden));
    };
    viewToggle.addEventListener('click', () => {
      if (this.grid.speakerView) {
        if (this.grid.pinned != null) this.grid.togglePin(this.grid.pinned);
        this.grid.setMode('gallery');
      } else this.grid.setMode('speaker');
      renderViewButtons();
    }, { signal });
    selfToggle.addEventListener('click', () => { this.grid.hideSelf(!this.grid.selfHidden); renderViewButtons(); }, { signal });
    this.grid.onArrange = renderViewButtons;
    const sound = byId('sound-toggle', HTMLInputElement);
    sound.checked = false;
    sound.addEventListener('change', () => this.alerts.setSound(sound.checked), { signal });
    this.layout.phone.addEventListener('change', renderViewButtons, { signal });
    renderViewButtons();
    for (const id of ['leave-button', 'leave-more']) {
      byId(id, HTMLButtonElement).addEventListener('click', () => { this.layout.closeMore(); this.onLeave(); }, { signal });
    }
    // Keyboard shortcuts (Alt, so typing in the chat never triggers them).
    document.addEventListener('keydown', (e) => {
      if (!e.altKey || e.ctrlKey || e.metaKey || document.querySelector('dialog[open]')) return;
      const button = { KeyM: this.micButton, KeyV: this.camButton, KeyH: this.handButton }[e.code];
      if (button && !button.hidden && !button.disabled) {
        e.preventDefault();
        button.click();
        this.layout.announce(button === this.micButton ? (m.audioEnabled ? 'Microphone on' : 'Microphone muted')
          : button === this.camButton ? (m.videoEnabled ? 'Camera on' : 'Camera off') : this.handButton.textContent ?? '');
      } else if (e.code === 'KeyC') {
        e.preventDefault();
        this.layout.show('chat', true);
      }
    }, { signal });
    for (const b of this.screenButtons) b.addEventListener('click', () => { this.layout.closeMore(); this.toggleScreen(); }, { signal });
    this.grid.onStopSharing = () => this.toggleScreen();
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
    on(m, 'room-changed', (d) => {
      this.setRoom(d.room);
      // Moved, visiting, pulled aside or back: the stage in view, and a toast that says where.
      this.layout.focusStage();
      this.showStatus(`You are now in ${d.room.name}.`);
      this.layout.announce(`You are now in ${d.room.name}.`);
      this.awayTold = false;
      this.renderAway();
    }, signal);
    on(m, 'peers', () => {
      // The roster of a private conversation changes with its people.
      if (m.inPrivateRoom) this.setRoom(m.room);
      this.renderAway();
    }, signal);
    // Leaving, said in the chat (and to hosts above the stage). Stepping out is said once, without
    // names, by renderAway.
    on(m, 'peer-left', (d) => {
      if (!d.peer) return;
      const gone = d.reason === 'timeout' ? `${d.peer.name} lost their connection and left.`
        : d.reason === 'left' || d.reason === 'disconnected' ? `${d.peer.name} left.`
          : d.reason === 'removed' ? `${d.peer.name} was removed.` : null;
      if (!gone) return;
      this.chat.addNotice(gone);
      if (!m.isHost) return;
      // One line for everyone who left lately ("Jordan, Olive left."), not a stack of them.
      const now = Date.now();
      const name = d.peer.name;
      this.recentlyLeft = [...this.recentlyLeft.filter((x) => now - x.at < LEFT_ALERT_MS && x.name !== name), { name, at: now }];
      const text = this.recentlyLeft.length === 1 ? gone : `${this.recentlyLeft.map((x) => x.name).join(', ')} left.`;
      this.alerts.add({ key: 'left', kind: 'left', text, ttlMs: LEFT_ALERT_MS });
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
      const when = d.replayed ? 'While you were reconnecting, ' : '';
      this.showNotice(`${when}${d.name} asked you to turn off ${what}. You can turn ${d.audio && d.video ? 'them' : 'it'} back on when you are ready.`,
        { audio: d.audio, video: d.video });
      this.renderSelf();
    }, signal);
    let breakouts = m.rooms.rooms.length > 1;
    on(m, 'rooms', (d) => {
      // Breakouts closed: announcements made for them ("two minutes left") are stale.
      if (breakouts && d.rooms.length <= 1) this.banners.querySelectorAll('.banner.broadcast').forEach((b) => b.remove());
      breakouts = d.rooms.length > 1;
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
    // A private message while the chat is out of sight: an alert above the stage until it is read.
    on(m, 'chat', (d) => {
      const from = d.message.from;
      if (!d.private || from === m.you?.id || this.layout.isVisible('chat')) return;
      this.alerts.add({ key: `private:${from}`, kind: 'private', text: `Private message from ${m.nameOf(from)}`,
        actions: [{ label: 'Read', ariaLabel: `Read the private message from ${m.nameOf(from)}`, run: () => this.layout.show('chat', true) }] });
    }, signal);
    this.layout.onShow.push((name) => { if (name === 'chat') this.alerts.removeWhere((a) => a.kind === 'private'); });
    on(m, 'broadcast', (d) => {
      // To one room: said so ("to this room", or to hosts elsewhere which room it went to).
      const to = d.room == null ? null : d.room === m.room.id ? 'to this room' : `to ${d.roomName ?? d.room}`;
      this.addBroadcast(d.text, m.nameOf(d.from), d.replayed, to);
    }, signal);
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
    on(m, 'local-screen', (d) => {
      this.renderScreen();
      if (!d.stream && !this.stoppingScreen) this.showStatus('Your screen sharing stopped.');
    }, signal);
    on(m, 'screen-share-allowed', (d) => {
      this.renderScreen();
      const role = m.you?.role;
      if (role === 'participant' || role === 'mentor') {
        this.showStatus(d.allowed ? 'The host now lets participants share their screen.' : 'The host turned screen sharing off for participants.');
      }
    }, signal);
  }

  /** Shares our screen, or stops sharing it. */
  toggleScreen() {
    const m = this.meeting;
    if (m.sharingScreen) {
      this.stoppingScreen = true;
      m.stopScreenShare().finally(() => { this.stoppingScreen = false; });
      return;
    }
    if (!m.mayShareScreen) {
      this.showStatus(this.screenHint.textContent ?? '');
      return;
    }
    m.startScreenShare().then(
      () => this.showStatus('You are sharing your screen. Everyone in your room sees it.'),
      (err) => {
        const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
        const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
        this.showStatus(code === 'forbidden' ? 'The host has not allowed participants to share their screen.'
          : name === 'NotAllowedError' ? 'Screen sharing was cancelled.' : `Could not share your screen: ${describe(err)}`);
        this.renderScreen();
      },
    );
  }

  /**
   * The Share screen / Stop sharing controls: hidden for observers and where the browser cannot
   * share a screen (phones); for participants and mentors while no host allows it, shown but
   * marked unavailable with the reason (a disabled button could not be focused to learn why).
   */
  renderScreen() {
    const m = this.meeting;
    const role = m.you?.role;
    const supported = typeof navigator.mediaDevices?.getDisplayMedia === 'function';
    const sharing = m.sharingScreen;
    const allowed = m.mayShareScreen;
    this.screenHint.textContent = allowed || sharing ? '' : 'Screen sharing is off: a host can let participants share their screen.';
    this.screenHint.hidden = allowed || sharing || role === 'observer';
    for (const b of this.screenButtons) {
      b.hidden = !m.you || role === 'observer' || !supported;
      b.setAttribute('aria-pressed', String(sharing));
      if (allowed || sharing) b.removeAttribute('aria-disabled');
      else b.setAttribute('aria-disabled', 'true');
      const label = sharing ? 'Stop sharing' : 'Share screen';
      const long = b.querySelector('.long');
      if (long) long.textContent = label;
      else b.textContent = label;
    }
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
    this.layout.renderTitle(`${room.name || 'Huddle'} · Huddle`);
    const m = this.meeting;
    const aside = m.inPrivateRoom;
    // Hosts run the rooms; asking for help is for everyone else in a breakout.
    this.helpButton.hidden = room.id === 'main' || m.isHost || aside;
    this.asideEnd.hidden = !(aside && m.isHost);
    this.asideBanner.hidden = !aside;
    if (aside) {
      const other = m.peers.map((p) => p.name).join(', ') || 'a host';
      this.asideBanner.textContent = m.isHost
        ? `You are talking privately with ${other}. The group sees only “The therapist stepped out for a moment”, not who is with you.`
        : `You are in a private conversation with ${other}. The group is not told that you are here.`;
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
      this.milestone = null;
      return;
    }
    const update = () => {
      const left = ((this.deadline ?? Date.now()) - Date.now()) / 1000;
      this.countdown.textContent = left > 0
        ? `Breakout rooms close in ${clock(left)}`
        : 'Breakout rooms are closing…';
      // The per-second text is not read out (aria-live off); milestones are, politely, once each.
      const reached = MILESTONES.find((s) => left <= s && left > s - 2 && (this.milestone == null || s < this.milestone));
      if (reached != null) {
        this.milestone = reached;
        this.layout.announce(`Breakout rooms close in ${reached >= 60 ? `${reached / 60} minute${reached === 60 ? '' : 's'}` : `${reached} seconds`}.`);
      }
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
    const handLabel = this.handButton.querySelector('.label');
    if (handLabel) handLabel.textContent = m.handRaised ? 'Lower hand' : 'Raise hand';
    this.handButton.setAttribute('aria-pressed', String(m.handRaised));
    setLabel(this.micButton, m.audioEnabled ? 'Mute microphone' : 'Unmute microphone', m.audioEnabled ? 'Mute' : 'Unmute');
    this.micButton.setAttribute('aria-pressed', String(!m.audioEnabled));
    setLabel(this.camButton, m.videoEnabled ? 'Turn camera off' : 'Turn camera on', m.videoEnabled ? 'Camera off' : 'Camera on');
    this.camButton.setAttribute('aria-pressed', String(!m.videoEnabled));
    byId('devices', HTMLDetailsElement).hidden = m.you?.role === 'observer';
    this.renderScreen();
    this.micButton.disabled = !hasTrack(m, 'audio');
    this.camButton.disabled = !hasTrack(m, 'video');
    // A mute request is stale once the person turned that device back on.
    const notice = this.banners.querySelector('.banner.notice.mute-request');
    if (notice instanceof HTMLElement && ((notice.dataset.audio === '1' && m.audioEnabled) || (notice.dataset.video === '1' && m.videoEnabled))) notice.remove();
  }

  /**
   * While people of our room are in a private conversation: one neutral line, never who went
   * (the therapist's tile goes, the other person's goes quietly), said once in the chat too.
   */
  renderAway() {
    const m = this.meeting;
    const away = m.inPrivateRoom ? [] : m.steppedOut;
    const moderator = away.some((p) => p.role === 'host' || p.role === 'cohost');
    const text = away.length === 0 ? '' : moderator ? 'The therapist stepped out for a moment.' : 'Someone stepped out for a moment with the therapist.';
    this.awayLine.hidden = !text;
    this.awayLine.textContent = text;
    if (text && !this.awayTold) this.chat.addNotice(text);
    if (!text && this.awayTold) this.chat.addNotice(moderator || this.awayWasModerator ? 'The therapist is back.' : 'Everyone is back.');
    this.awayTold = !!text;
    this.awayWasModerator = moderator;
  }

  // ---- banners ----

  /**
   * A host's announcement, shown until dismissed; one sent while we were reconnecting comes
   * after the resume and says so.
   * @param {string} text @param {string} from @param {boolean} [replayed]
   * @param {string | null} [to] "to this room" when sent to one room only
   */
  addBroadcast(text, from, replayed = false, to = null) {
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss announcement' }, '×');
    const banner = h('div', { class: `banner broadcast${to ? ' room-only' : ''}`, role: 'alert' },
      h('strong', {}, to ? `${from}, ${to}: ` : `${from}: `), h('span', { class: 'text' }, text),
      replayed ? h('span', { class: 'when' }, '(while you were reconnecting)') : null, close);
    close.addEventListener('click', () => banner.remove());
    // Announcements expire (the breakouts they were about close, or after a while).
    setTimeout(() => banner.remove(), BROADCAST_MS);
    const older = this.banners.querySelectorAll('.banner.broadcast');
    if (older.length >= 2) older[0].remove();
    this.banners.append(banner);
  }

  /**
   * A host's mute request, addressed to you: it stays until dismissed or until you turn the
   * device back on; a newer one replaces it.
   * @param {string} text @param {{audio: boolean, video: boolean}} what was asked
   */
  showNotice(text, what) {
    this.banners.querySelector('.banner.notice.mute-request')?.remove();
    const close = h('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss notice' }, '×');
    const banner = h('div', { class: 'banner notice mute-request', role: 'alert', 'data-audio': what.audio ? '1' : '0', 'data-video': what.video ? '1' : '0' },
      h('span', { class: 'text' }, text), close);
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
    this.alerts.clear();
    this.layout.destroy();
    this.banners.querySelectorAll('.banner.mute-request, .banner.broadcast').forEach((b) => b.remove());
    for (const el of [this.asideBanner, this.lockedBanner, this.blockedBanner, this.asideEnd, this.handButton, this.reconnectBanner, this.awayLine, this.countdown, ...this.screenButtons, this.screenHint]) el.hidden = true;
  }
}

/**
 * A control's label: the whole one is its accessible name (and shown on wide screens), the short
 * one is what a phone's narrow button shows.
 * @param {HTMLButtonElement} button @param {string} long @param {string} short
 */
function setLabel(button, long, short) {
  button.setAttribute('aria-label', long);
  const [l, s] = [button.querySelector('.long'), button.querySelector('.short')];
  if (l) l.textContent = long;
  if (s) s.textContent = short;
}
