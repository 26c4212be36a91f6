// The chat panel: the room's group messages and our private ones (each message once, whatever
// path it came by, with the time it was sent), notices about the room in the log, who a message
// can go to, how many arrived while the chat was out of sight (on its tab and in the title), and,
// while a host has the meeting keep no chat (`chat_history: none`), the line "Messages in this
// meeting are not saved" above the log (and a notice in the log when that changes). It follows
// the SDK's events; view.js adds the notices that need the grid (someone stepped out, is back).

import { byId, describe, h, on, setOptions } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */
/** @typedef {import('../sdk/protocol').ChatMessage} ChatMessage */

/**
 * A chat line as shown. `session`: chat ids count per hub session (they start over after a
 * hub restart, when we get a new seat), so lines are ordered by session, then id.
 * @typedef {{session: number, id: number, ts: number, from: PeerId, fromName: string, text: string,
 *   private: boolean, to: PeerId | null, toName: string | null}} ChatEntry
 */

/** Notices kept in the log (the oldest go first). */
const NOTICES_KEPT = 50;

export class ChatPanel {
  /**
   * @param {Meeting} meeting
   * @param {(text: string) => void} showStatus says what went wrong (a message not sent)
   * @param {AbortSignal} signal ends the listeners with the session
   * @param {import('./layout.js').Layout} layout whether the chat is in sight; the unread count
   */
  constructor(meeting, showStatus, signal, layout) {
    this.meeting = meeting;
    this.layout = layout;
    /** Messages from others that arrived while the chat was out of sight. */
    this.unread = 0;
    this.showStatus = showStatus;
    /** Group messages of the current room. @type {ChatEntry[]} */
    this.groupChat = [];
    /** Private messages, kept across room changes. @type {ChatEntry[]} */
    this.privateChat = [];
    /** Lines about the room ("Jordan left."), until the room changes. @type {{ts: number, text: string}[]} */
    this.notices = [];
    /** Counts fresh (not resumed) welcomes: see ChatEntry. */
    this.session = 0;
    this.log = byId('chat-log', HTMLOListElement);
    this.to = byId('chat-to', HTMLSelectElement);
    this.input = byId('chat-input', HTMLInputElement);
    this.notKept = byId('chat-not-kept', HTMLParagraphElement);
    this.bind(signal);
  }

  /** @param {AbortSignal} signal */
  bind(signal) {
    const m = this.meeting;
    byId('chat-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      const to = this.to.value ? Number(this.to.value) : null;
      const sent = to == null ? m.chat(text) : m.privateChat(to, text);
      this.input.value = '';
      sent.catch((err) => this.showStatus(`Message not sent: ${describe(err)}`));
    }, { signal });
    on(m, 'welcome', (d) => {
      // Resumed: our log stands; what we missed comes as chat events (or, if we were moved
      // meanwhile, with room-changed). Otherwise (a new seat) the room's history is the log and
      // a new chat session begins (see ChatEntry).
      if (d.resumed) return;
      this.session += 1;
      this.setHistory(d.chat);
    }, signal);
    on(m, 'room-changed', (d) => {
      this.setHistory(d.chat);
      this.addNotice(`You are now in ${d.room.name}.`);
    }, signal);
    on(m, 'chat', (d) => {
      if (this.addChat(d.message) && d.message.from !== m.you?.id && !this.layout.isVisible('chat')) {
        this.unread += 1;
        this.layout.setCount('chat', this.unread);
      }
    }, signal);
    this.layout.onShow.push((name) => {
      if (name !== 'chat' || this.unread === 0) return;
      this.unread = 0;
      this.layout.setCount('chat', 0);
    });
    on(m, 'peers', () => this.renderRecipients(), signal);
    on(m, 'rooms', () => this.renderRecipients(), signal);
    // People decide what to write knowing whether it stays: the line stands above the log for as
    // long as nothing is kept, and a change is said in the log too (read out: it is a live region).
    const renderKept = () => { this.notKept.hidden = m.chatKept; };
    on(m, 'welcome', renderKept, signal);
    on(m, 'chat-history', (d) => {
      renderKept();
      this.addNotice(d.kept ? 'Messages are saved again: people who join later see recent ones.'
        : 'Messages are no longer saved: people who join later will not see them.');
    }, signal);
  }

  /** @param {ChatMessage[]} history */
  setHistory(history) {
    this.groupChat = history.map((msg) => this.entry(msg));
    // Notices are about the room we were in.
    this.notices = [];
    this.render();
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

  /** Adds a message; false when it was shown already or is not for this room. @param {ChatMessage} msg */
  addChat(msg) {
    // Each message once, whatever path it came by (live, or replayed after a drop).
    // Group and private ids are separate series (PROTOCOL.md, `chat`).
    const isPrivate = msg.to != null;
    const seen = (/** @type {ChatEntry} */ c) =>
      c.session === this.session && c.private === isPrivate && c.id === msg.id;
    if (this.groupChat.some(seen) || this.privateChat.some(seen)) return false;
    const e = this.entry(msg);
    if (e.private) this.privateChat.push(e);
    else if (msg.room === this.meeting.room.id) this.groupChat.push(e);
    else return false;
    this.render();
    return true;
  }

  /** A line about the room in the log (until the log is replaced). @param {string} text */
  addNotice(text) {
    this.notices.push({ ts: Date.now(), text });
    if (this.notices.length > NOTICES_KEPT) this.notices.shift();
    this.render();
  }

  render() {
    const me = this.meeting.you?.id;
    const all = this.entries();
    // Notices ("Jordan left.") stay in the log among the messages, in time order.
    /** @type {{ts: number, el: HTMLElement}[]} */
    const notices = this.notices.map((n) => ({ ts: n.ts, el: h('li', { class: 'notice' }, n.text) }));
    const lines = all.map((e) => {
      const who = e.from === me ? 'You' : e.fromName;
      const label = e.private
        ? (e.from === me ? `You → ${e.toName} (private)` : `${who} → you (private)`)
        : who;
      return h('li', { class: e.private ? 'private' : null, 'data-from': String(e.from) },
        h('span', { class: 'from' }, label, h('time', { datetime: new Date(e.ts).toISOString() }, timeOfDay(e.ts))),
        h('span', { class: 'text' }, e.text));
    }).map((el, i) => ({ ts: all[i].ts, el }));
    this.log.replaceChildren(...[...lines, ...notices].sort((a, b) => a.ts - b.ts).map((x) => x.el));
    this.log.scrollTop = this.log.scrollHeight;
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
    setOptions(this.to, [
      { value: '', label: 'Everyone in this room' },
      ...[...people].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => ({ value: String(id), label: `${name} (private)` })),
    ]);
  }

  /** Entries for the test hook and for people reading the log. */
  entries() {
    // In the order they were sent: by session, then hub time; group and private ids are separate
    // series, so an id orders only within its own series (a stable sort keeps that order).
    return [...this.groupChat, ...this.privateChat].sort((a, b) => a.session - b.session || a.ts - b.ts);
  }
}

/** "14:05". @param {number} ts */
function timeOfDay(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
