// Moderation for hosts and cohosts: the waiting room (on/off, admit, deny), the raised-hand
// queue (and lowering someone's hand), lock and end-meeting, the activity feed (with "X left the
// meeting" for people in other rooms, learnt from the room lists: an id gone from every room and
// not in a private conversation has left), and what can be
// done to each person (lower their hand, ask to mute, in SFU meetings block or allow their
// microphone and camera at the hub, pull aside, roles, host handover, remove, ban). The roster
// is host.js's; it asks this
// module for each person's badges and actions. The hub checks the role of every action anyway;
// the UI only leaves out what would be refused.

import { ask, byId, h, on } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */

/**
 * Who is in no room any more, between two room lists: left the meeting, or (to be checked) in a
 * private conversation. Not us, not someone our room's `peer-left` already told of (`told`), not
 * someone still with us (`here`: a list may lag behind our own room).
 * @param {ReadonlySet<number>} before @param {ReadonlySet<number>} now
 * @param {{me: number | null, told: ReadonlySet<number>, here: ReadonlySet<number>}} known
 * @returns {number[]}
 */
export function departures(before, now, { me, told, here }) {
  return [...before].filter((id) => !now.has(id) && id !== me && !told.has(id) && !here.has(id));
}
/** @typedef {import('../sdk/huddle.js').AuditEntry} AuditEntry */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */

/** Activity entries shown (the SDK keeps more). */
const AUDIT_SHOWN = 50;
/**
 * How long someone gone from every room list may be in a private conversation instead: the
 * moderator's `pull_aside` audit entry may come just after the room list that drops them.
 */
const ASIDE_GRACE_MS = 1500;

export class Moderation {
  /**
   * @param {Meeting} meeting
   * @param {(action: () => Promise<void>, done: string) => void} run carries out a request and
   *   says how it went in the host panel
   * @param {AbortSignal} signal ends the DOM listeners with the session
   * @param {import('./layout.js').Layout} layout to show the waiting room's tab
   */
  constructor(meeting, run, signal, layout) {
    this.meeting = meeting;
    this.run = run;
    this.layout = layout;
    /** Comings and goings in our room, for the activity feed (the hub's audit has moderators' actions). @type {{ts: number, text: string}[]} */
    this.comings = [];
    /** Everyone in the last room list (null before the first). @type {Set<PeerId> | null} */
    this.lastMembers = null;
    /** People whose leaving our room's `peer-left` already told. @type {Set<PeerId>} */
    this.toldLeft = new Set();
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    this.timers = new Set();
    signal.addEventListener('abort', () => { for (const t of this.timers) clearTimeout(t); });
    this.lobbyToggle = byId('lobby-toggle', HTMLInputElement);
    this.lobbyList = byId('lobby-list', HTMLUListElement);
    this.admitAll = byId('admit-all', HTMLButtonElement);
    this.lobbyBanner = byId('lobby-banner', HTMLParagraphElement);
    this.handQueue = byId('hand-queue', HTMLOListElement);
    this.handsEmpty = byId('hands-empty', HTMLParagraphElement);
    this.lockToggle = byId('lock-toggle', HTMLButtonElement);
    this.endButton = byId('end-meeting', HTMLButtonElement);
    this.auditList = byId('audit-log', HTMLOListElement);
    this.bind(signal);
  }

  /** @param {AbortSignal} signal */
  bind(signal) {
    const m = this.meeting;
    on(m, 'welcome', () => this.render(), signal);
    on(m, 'peer-updated', () => this.render(), signal);
    on(m, 'lobby', () => this.renderLobby(), signal);
    on(m, 'hands', () => this.renderHands(), signal);
    on(m, 'locked', () => this.renderLock(), signal);
    on(m, 'audit', () => this.renderAudit(), signal);
    on(m, 'peer-left', (d) => {
      const what = { left: 'left', disconnected: 'left', timeout: 'lost their connection and left', removed: 'was removed' }[/** @type {string} */ (d.reason)];
      if (d.peer && what) this.addComing(`${d.peer.name} ${what}`);
      if (what) this.toldLeft.add(d.id);
    }, signal);
    on(m, 'rooms', (d) => this.noteDepartures(d.rooms), signal);
    on(m, 'welcome', (d) => { if (!d.resumed) this.lastMembers = null; }, signal);
    on(m, 'peer-joined', (d) => this.addComing(`${d.peer.name} joined ${m.room.name}`), signal);

    this.lobbyToggle.addEventListener('change', () => {
      const enable = this.lobbyToggle.checked;
      this.run(() => m.setLobby(enable), enable ? 'New arrivals now wait until you let them in.' : 'The waiting room is off; everyone waiting was let in.');
    }, { signal });
    this.admitAll.addEventListener('click', () => this.run(() => m.admit(), 'Everyone waiting was let in.'), { signal });
    byId('lobby-banner-show', HTMLButtonElement).addEventListener('click', () => {
      const heading = byId('lobby-heading', HTMLHeadingElement);
      this.layout.show('people');
      heading.scrollIntoView({ block: 'start' });
      heading.focus();
    }, { signal });
    this.lockToggle.addEventListener('click', () => {
      const lock = !m.locked;
      this.run(() => m.lock(lock), lock ? 'Locked: no one new can join.' : 'Unlocked.');
    }, { signal });
    this.endButton.addEventListener('click', async () => {
      if (await ask('End the meeting for everyone? Everyone is disconnected, in every room.', 'End meeting for all')) {
        this.run(() => m.endMeeting(), 'The meeting has ended.');
      }
    }, { signal });
  }

  render() {
    this.renderLobby();
    this.renderHands();
    this.renderLock();
    this.renderAudit();
  }

  renderLobby() {
    const m = this.meeting;
    const { enabled, waiting } = m.lobby;
    this.lobbyToggle.checked = enabled;
    this.lobbyList.replaceChildren(...waiting.map((p) => h('li', { 'data-peer': String(p.id) },
      h('span', { class: 'name' }, p.name),
      h('button', {
        type: 'button', class: 'primary', 'aria-label': `Admit — ${p.name}`,
        onclick: () => this.run(() => m.admit(p.id), `${p.name} was let in.`),
      }, 'Admit'),
      h('button', {
        type: 'button', 'aria-label': `Deny — ${p.name}`,
        onclick: () => this.run(() => m.deny(p.id), `${p.name} was turned away.`),
      }, 'Deny'))));
    this.admitAll.hidden = waiting.length < 2;
    byId('lobby-heading', HTMLHeadingElement).textContent = waiting.length > 0 ? `Waiting room (${waiting.length})` : 'Waiting room';
    // Hosts mostly look at the video: say it above the grid too.
    this.lobbyBanner.hidden = !m.isHost || waiting.length === 0;
    byId('lobby-banner-text', HTMLSpanElement).textContent = waiting.length === 1
      ? `${waiting[0].name} is waiting to join.` : `${waiting.length} people are waiting to join.`;
  }

  renderHands() {
    const m = this.meeting;
    const queue = m.hands;
    this.handQueue.replaceChildren(...queue.map((id) => {
      const name = m.nameOf(id);
      return h('li', { 'data-peer': String(id) }, h('span', { class: 'name' }, name), ' ',
        h('button', {
          type: 'button', class: 'small', 'aria-label': `Lower hand — ${name}`,
          onclick: () => this.run(() => m.lowerHand(id), `${name}'s hand is lowered.`),
        }, 'Lower hand'));
    }));
    this.handsEmpty.hidden = queue.length > 0;
  }

  renderLock() {
    const locked = this.meeting.locked;
    this.lockToggle.textContent = locked ? 'Unlock meeting' : 'Lock meeting';
    this.lockToggle.setAttribute('aria-pressed', String(locked));
  }

  /** @param {string} text */
  addComing(text) {
    if (!this.meeting.isHost) return;
    this.comings.push({ ts: Date.now(), text });
    if (this.comings.length > AUDIT_SHOWN) this.comings.shift();
    this.renderAudit();
  }

  /**
   * Hosts in another room hear of nobody's `peer_left`: the room list they get after every
   * change says it. Someone in no room any more has left the meeting, unless they went into a
   * private conversation (which is in no room list: its `pull_aside` audit entry says so).
   * @param {import('../sdk/huddle.js').RoomInfo[]} rooms
   */
  noteDepartures(rooms) {
    const m = this.meeting;
    const now = new Set(rooms.flatMap((r) => r.members));
    const before = this.lastMembers;
    this.lastMembers = now;
    if (!before || !m.isHost) return;
    const gone = departures(before, now, { me: m.you?.id ?? null, told: this.toldLeft, here: new Set(m.peers.map((p) => p.id)) });
    if (gone.length === 0) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      // The latest moderator actions (not by time: the hub's clock may differ from ours).
      const aside = new Set(m.auditLog.slice(-20).filter((e) => e.action === 'pull_aside').flatMap((e) => [e.by, e.subject]));
      const stillGone = new Set(m.rooms.rooms.flatMap((r) => r.members));
      for (const id of gone) {
        if (stillGone.has(id) || aside.has(id) || this.toldLeft.has(id)) continue;
        this.toldLeft.add(id);
        this.addComing(`${m.nameOf(id)} left the meeting`);
      }
    }, ASIDE_GRACE_MS);
    this.timers.add(timer);
  }

  renderAudit() {
    const m = this.meeting;
    const entries = [...m.auditLog.slice(-AUDIT_SHOWN).map((e) => ({ ts: e.ts, text: auditText(e, m) })), ...this.comings]
      .sort((a, b) => b.ts - a.ts).slice(0, AUDIT_SHOWN);
    this.auditList.replaceChildren(...entries.map((e) => h('li', {},
      h('time', { datetime: new Date(e.ts).toISOString() }, timeOfDay(e.ts)), ' ', e.text)));
  }

  /**
   * What the roster shows next to a name: the role (participants need none), the hand, and
   * microphone and camera where known (the hub tells only the same room).
   * @param {PeerId} id
   * @returns {HTMLElement[]}
   */
  badges(id) {
    const m = this.meeting;
    const role = m.person(id)?.role;
    const items = [];
    if (role && role !== 'participant') items.push(h('span', { class: `badge role ${role}` }, roleLabel(role)));
    const hand = m.hands.indexOf(id);
    if (hand >= 0) items.push(h('span', { class: 'badge hand', title: `Hand raised (${hand + 1} in the queue)` }, `Hand ${hand + 1}`));
    const here = m.peers.find((p) => p.id === id);
    if (here?.reconnecting) items.push(h('span', { class: 'badge reconnecting' }, 'Reconnecting…'));
    if (here) {
      const media = m.peerMedia(id);
      if (!media.audio) items.push(h('span', { class: 'badge muted' }, 'Muted'));
      if (!media.video) items.push(h('span', { class: 'badge camera-off' }, 'Camera off'));
    }
    const blocked = m.peerBlocked(id);
    if (blocked.audio) items.push(h('span', { class: 'badge blocked' }, 'Microphone blocked'));
    if (blocked.video) items.push(h('span', { class: 'badge blocked' }, 'Camera blocked'));
    return items;
  }

  /**
   * The actions menu for one person (null for yourself). A `details` element: keyboard and
   * screen-reader friendly with no menu code.
   * @param {PeerId} id
   */
  actions(id) {
    const m = this.meeting;
    const me = m.you;
    const person = m.person(id);
    if (!me || id === me.id || !person) return null;
    const name = person.name;
    const iAmHost = me.role === 'host';
    const speaks = person.role !== 'observer';
    const inRoom = m.peers.some((p) => p.id === id);
    const media = inRoom ? m.peerMedia(id) : { audio: true, video: true };
    /** @param {string} label @param {() => void} fn @param {string} [cls] */
    const item = (label, fn, cls) => h('button', { type: 'button', class: cls, 'aria-label': `${label} — ${name}`, 'data-key': `${label}:${id}`, onclick: fn }, label);
    /** @param {string} label @param {() => Promise<void>} action @param {string} done */
    const act = (label, action, done, cls = '') => item(label, () => { closeMenu(); this.run(action, done); }, cls);
    /** @param {string} label @param {string} question @param {() => Promise<void>} action @param {string} done */
    const confirmed = (label, question, action, done) => item(label, async () => {
      if (await ask(question, label)) {
        closeMenu();
        this.run(action, done);
      }
    }, 'danger');
    const items = [];
    if (m.hands.includes(id)) items.push(act('Lower hand', () => m.lowerHand(id), `${name}'s hand is lowered.`));
    if (speaks && media.audio) items.push(act('Ask to mute microphone', () => m.requestMute(id, { audio: true, video: false }), `Asked ${name} to mute their microphone.`));
    if (speaks && media.video) items.push(act('Ask to turn camera off', () => m.requestMute(id, { audio: false, video: true }), `Asked ${name} to turn their camera off.`));
    // A hard mute: the hub stops forwarding the device (SFU meetings; hosts and cohosts cannot be blocked).
    if (m.mediaMode === 'sfu' && speaks && person.role !== 'host' && person.role !== 'cohost') {
      const blocked = m.peerBlocked(id);
      items.push(blocked.audio
        ? act('Allow microphone', () => m.blockMedia(id, { audio: false }), `${name}'s microphone reaches the group again.`)
        : act('Block microphone', () => m.blockMedia(id, { audio: true }), `${name}'s microphone is blocked: no one hears it until you allow it.`));
      items.push(blocked.video
        ? act('Allow camera', () => m.blockMedia(id, { video: false }), `${name}'s camera reaches the group again.`)
        : act('Block camera', () => m.blockMedia(id, { video: true }), `${name}'s camera is blocked: no one sees it until you allow it.`));
    }
    if (!m.inPrivateRoom) {
      items.push(item('Talk privately (pull aside)', async () => {
        // Stepping out of our room with them: warn when the group keeps no host or co-host.
        const stays = m.peers.some((p) => p.id !== id && (p.role === 'host' || p.role === 'cohost'));
        const mine = m.peers.some((p) => p.id === id);
        if (mine && !stays && !(await ask(`While you talk privately with ${name}, no host or co-host stays with the group in ${m.room.name}. Step out anyway?`, 'Step out'))) return;
        closeMenu();
        this.run(() => m.pullAside(id), `You are talking privately with ${name}.`);
      }));
    }
    if (iAmHost && person.role !== 'host') {
      if (person.role !== 'cohost') items.push(act('Make co-host', () => m.setRole(id, 'cohost'), `${name} is a co-host now.`));
      if (person.role === 'cohost' || person.role === 'observer') {
        items.push(act('Make participant', () => m.setRole(id, 'participant'), `${name} is a participant now.`));
      } else {
        items.push(act('Make observer (listen only)', () => m.setRole(id, 'observer'),
          `${name} is an observer now: they see and hear the room, and are not seen or heard.`));
      }
      items.push(confirmed('Make host', `Hand the host role to ${name}? You will become a co-host.`,
        () => m.transferHost(id), `${name} is the host now; you are a co-host.`));
    }
    // A cohost cannot remove a host (the hub refuses it).
    if (person.role !== 'host' || iAmHost) {
      items.push(confirmed('Remove', `Remove ${name} from the meeting? They can come back with their link.`,
        () => m.remove(id), `${name} was removed.`));
      items.push(confirmed('Remove and ban', `Remove ${name} and keep them out of this meeting, even with a new link?`,
        () => m.remove(id, { ban: true }), `${name} was removed and cannot come back to this meeting.`));
    }
    const menu = h('details', { class: 'actions', 'data-peer': String(id) },
      h('summary', { 'aria-label': `Actions for ${name}`, 'data-key': `menu:${id}` }, 'Actions'),
      h('div', { class: 'menu' }, ...items));
    // Done with this person: the menu closes (the roster keeps open menus across updates).
    function closeMenu() {
      const summary = menu.querySelector('summary');
      menu.open = false;
      summary?.focus();
    }
    return menu;
  }
}

/** @param {string} role */
export function roleLabel(role) {
  return ({ host: 'Host', cohost: 'Co-host', mentor: 'Mentor', observer: 'Observer' })[role] ?? 'Participant';
}

/** "14:05". @param {number} ts */
function timeOfDay(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** Roles as words in a sentence. */
const ROLE_WORDS = /** @type {Record<string, string>} */ ({
  host: 'host', cohost: 'co-host', mentor: 'mentor', participant: 'participant', observer: 'observer',
});

/** How a split assigned people, by the hub's strategy word. */
const SPLIT_HOW = /** @type {Record<string, string>} */ ({
  even: 'assigned evenly', random: 'shuffled', pairs: 'in pairs', manual: 'assigned by hand', choose: 'participants choose',
});

/**
 * One activity line, with names where known. Built only from the action, ids and the hub's
 * one-word detail: the hub never puts chat or broadcast text in `audit`.
 * @param {AuditEntry} e
 * @param {Meeting} m
 */
export function auditText(e, m) {
  const you = m.you?.id;
  const by = e.by === you ? 'You' : m.nameOf(e.by);
  const who = e.subject == null ? 'someone' : e.subject === you ? 'you' : m.nameOf(e.subject);
  const whose = e.subject === you ? 'your' : `${who}'s`;
  const d = e.detail;
  /** @param {string} on @param {string} off */
  const onOff = (on, off) => (d === 'off' ? off : on);
  /** @type {Record<string, () => string>} */
  const what = {
    remove: () => (d === 'ban' ? `removed and banned ${who}` : `removed ${who}`),
    end_meeting: () => 'ended the meeting',
    request_mute: () => `asked ${who} to mute`,
    block_media: () => blockText(d, whose),
    set_role: () => (d ? `made ${who} ${withArticle(ROLE_WORDS[d] ?? d)}` : `changed the role of ${who}`),
    transfer_host: () => `made ${who} the host`,
    lock: () => onOff('locked the meeting', 'unlocked the meeting'),
    set_lobby: () => onOff('turned the waiting room on', 'turned the waiting room off'),
    admit: () => (e.subject == null ? 'let everyone waiting in' : `let ${who} in from the waiting room`),
    deny: () => (e.subject == null ? 'turned everyone waiting away' : `turned ${who} away from the waiting room`),
    raise_hand: () => `lowered ${whose} hand`,
    pull_aside: () => (e.subject == null ? 'started a private conversation' : `started a private conversation with ${who}`),
    end_aside: () => 'ended a private conversation',
    split: () => `opened breakout rooms${d ? ` (${SPLIT_HOW[d] ?? d})` : ''}`,
    move: () => `moved ${who}`,
    swap: () => `swapped ${who} with ${e.other == null ? 'someone' : e.other === you ? 'you' : m.nameOf(e.other)}`,
    visit: () => 'went to another room',
    broadcast: () => 'sent a message to every room',
    merge: () => 'closed breakout rooms',
    extend_timer: () => 'extended the breakout timer',
    reopen: () => 'reopened breakout rooms',
  };
  const text = what[e.action]?.() ?? `did “${e.action}”${e.subject != null ? ` to ${who}` : ''}`;
  return `${by} ${text}`;
}

/**
 * A hard mute in words, from the hub's detail (`audio_blocked,video_allowed`, …).
 * @param {string | null} detail @param {string} whose
 */
function blockText(detail, whose) {
  const device = /** @type {Record<string, string>} */ ({ audio: 'microphone', video: 'camera' });
  const parts = (detail ?? '').split(',').map((w) => /^(audio|video)_(blocked|allowed)$/.exec(w))
    .filter((x) => x != null).map((x) => `${x[2] === 'blocked' ? 'blocked' : 'allowed'} ${whose} ${device[x[1]]}`);
  return parts.length > 0 ? parts.join(' and ') : `changed what the hub forwards of ${whose} media`;
}

/** "a co-host", "an observer". @param {string} noun */
function withArticle(noun) {
  return `${/^[aeiou]/.test(noun) ? 'an' : 'a'} ${noun}`;
}
