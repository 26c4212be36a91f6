// The Staff tab: the hosts' and cohosts' back channel (`staffChat`, `staff-chat` events; PROTOCOL.md
// `chat` with `channel: "staff"`), so co-facilitators can coordinate ("I'll check in with Sam after
// this") without the group seeing it. It owns the tab's log (sender and time), its box, and its
// unread count. The tab exists only for hosts and cohosts (layout.js shows it with the host tabs);
// the hub delivers staff messages to nobody else, and the log is cleared when we stop being one,
// so a demoted person's page no longer shows what staff said. Nothing is kept beyond this page:
// the hub keeps no staff history either (someone who arrives later sees only what comes next).

import { byId, describe, h, on } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */

/** @typedef {{id: number, ts: number, from: PeerId, fromName: string, text: string}} StaffEntry */

/** Staff messages kept in the log (the oldest go first): it is a page, not an archive. */
const STAFF_KEPT = 200;

export class StaffPanel {
  /**
   * @param {Meeting} meeting
   * @param {(text: string) => void} showStatus says what went wrong (a message not sent)
   * @param {AbortSignal} signal ends the listeners with the session
   * @param {import('./layout.js').Layout} layout whether the tab is in sight; the unread count
   */
  constructor(meeting, showStatus, signal, layout) {
    this.meeting = meeting;
    this.layout = layout;
    this.showStatus = showStatus;
    /** @type {StaffEntry[]} */
    this.entries = [];
    /** Messages from other staff that arrived while the tab was out of sight. */
    this.unread = 0;
    this.log = byId('staff-log', HTMLOListElement);
    this.input = byId('staff-input', HTMLInputElement);
    this.bind(signal);
    signal.addEventListener('abort', () => this.clear());
  }

  /** @param {AbortSignal} signal */
  bind(signal) {
    const m = this.meeting;
    byId('staff-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (!text) return;
      this.input.value = '';
      m.staffChat(text).catch((err) => {
        // Not lost: it goes back in the box to try again.
        if (!this.input.value) this.input.value = text;
        this.showStatus(`Staff message not sent: ${describe(err)}`);
      });
    }, { signal });
    on(m, 'staff-chat', (d) => {
      // The hub sends these to hosts and cohosts only; a page that is neither shows nothing.
      if (!m.isHost) return;
      const msg = d.message;
      this.entries.push({ id: msg.id, ts: msg.ts, from: msg.from, fromName: m.nameOf(msg.from), text: msg.text });
      if (this.entries.length > STAFF_KEPT) this.entries.shift();
      this.render();
      if (msg.from !== m.you?.id && !this.layout.isVisible('staff')) {
        this.unread += 1;
        this.layout.setCount('staff', this.unread);
      }
    }, signal);
    this.layout.onShow.push((name) => {
      if (name !== 'staff' || this.unread === 0) return;
      this.unread = 0;
      this.layout.setCount('staff', 0);
    });
    // No longer a host or cohost: nothing of the back channel stays on this page.
    on(m, 'peer-updated', () => { if (!m.isHost) this.clear(); }, signal);
    on(m, 'welcome', () => { if (!m.isHost) this.clear(); }, signal);
  }

  clear() {
    this.entries = [];
    this.unread = 0;
    this.log.replaceChildren();
    this.input.value = '';
  }

  render() {
    const me = this.meeting.you?.id;
    this.log.replaceChildren(...this.entries.map((e) => h('li', { 'data-from': String(e.from) },
      h('span', { class: 'from' }, e.from === me ? 'You' : e.fromName,
        h('time', { datetime: new Date(e.ts).toISOString() }, timeOfDay(e.ts))),
      h('span', { class: 'text' }, e.text))));
    this.log.scrollTop = this.log.scrollHeight;
  }
}

/** "14:05". @param {number} ts */
function timeOfDay(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
