// Host and cohost controls: the roster by room (each person with their badges and actions from
// moderation.js, which rooms asked for help, and while breakouts are open "Message this room":
// a broadcast to that room only), move, visit, broadcast, merge (with countdown),
// extend timer, a scheduled session's end and "Extend session +10 min" (only while the session has
// an end), whether participants may share their screen, "Allow reactions" (set_reactions), "Keep chat
// history for late joiners" (set_chat_history), the group's agreement (agreement.js: set, change,
// remove, who agreed), the split dialog (split.js), rotating pairs' "Round N"
// while a round is open and "Next round" after it (a rotate split like the last), and the alerts a therapist needs above the stage:
// help requests (gone when the room closes or the host went there) and raised hands (gone when the
// hand is down). Shown only to hosts and cohosts (the People, Host and Activity tabs, also after a
// promotion); the hub checks the role of every action anyway.

import { AgreementAdmin } from './agreement.js';
import { byId, describe, h, on, setOptions } from './dom.js';
import { Moderation } from './moderation.js';
import { timeOfDay } from './schedule.js';
import { SplitDialog } from './split.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('./view.js').MeetingView} MeetingView */

/** @typedef {{name: string, room: string, roomName: string, ts: number}} HelpAlert */

/**
 * What "Extend session" adds: a round step a therapist can say to the group ("ten more minutes"),
 * clicked again for more (the hub takes at most four hours at a time).
 */
const EXTEND_SESSION_SECS = 600;

export class HostPanel {
  /** @param {Meeting} meeting @param {MeetingView} view its layout and alerts */
  constructor(meeting, view) {
    this.meeting = meeting;
    this.layout = view.layout;
    this.alerts = view.alerts;
    /** Ends every DOM listener of this session (the elements outlive it). */
    this.abort = new AbortController();
    /** Rooms whose people asked for help, by room id (while the alert stands). @type {Map<string, string[]>} */
    this.helpRooms = new Map();
    /** The raised hands we alerted about. @type {Set<number>} */
    this.handsAlerted = new Set();
    this.roster = byId('roster', HTMLDivElement);
    this.status = byId('host-status', HTMLParagraphElement);
    this.movePerson = byId('move-person', HTMLSelectElement);
    this.moveRoom = byId('move-room', HTMLSelectElement);
    this.visitRoom = byId('visit-room', HTMLSelectElement);
    this.mergeButton = byId('merge-button', HTMLButtonElement);
    this.extendForm = byId('extend-form', HTMLFormElement);
    this.sessionEnd = byId('session-end', HTMLDivElement);
    this.moderation = new Moderation(meeting, (action, done) => this.run(action, done), this.abort.signal, this.layout);
    this.split = new SplitDialog(meeting, this.abort.signal, (text) => { this.status.textContent = text; });
    this.agreement = new AgreementAdmin(meeting, (action, done) => this.run(action, done));
    this.bind();
  }

  bind() {
    const m = this.meeting;
    const signal = this.abort.signal;
    on(m, 'welcome', () => { this.layout.setHostTabs(m.isHost); this.render(); }, signal);
    on(m, 'peer-updated', () => {
      // A promotion shows the panels, a demotion hides them; host-only actions follow the role.
      this.layout.setHostTabs(m.isHost);
      if (!m.isHost) {
        this.alerts.removeWhere((a) => a.kind === 'help' || a.kind === 'hand');
        this.handsAlerted.clear();
        this.helpRooms.clear();
      }
      this.render();
    }, signal);
    on(m, 'rooms', (d) => {
      // A help request from a room that closed is stale.
      this.alerts.removeWhere((a) => a.kind === 'help' && !d.rooms.some((r) => r.id === a.room));
      for (const room of [...this.helpRooms.keys()]) if (!d.rooms.some((r) => r.id === room)) this.helpRooms.delete(room);
      this.render();
    }, signal);
    on(m, 'hands', (d) => this.renderHandAlerts(d.queue), signal);
    on(m, 'peers', () => this.render(), signal);
    on(m, 'room-changed', () => this.render(), signal);
    on(m, 'peer-media', () => this.render(), signal);
    on(m, 'hands', () => this.render(), signal);
    on(m, 'lobby', () => this.render(), signal);
    on(m, 'help-requested', (d) => this.addAlert({ name: d.name, room: d.room, roomName: d.roomName, ts: d.ts }), signal);
    on(m, 'session-ending', () => this.renderSession(), signal);
    // The box shows what the hub said last; only its answer (or a refusal) moves it, not every
    // re-render while our request is on its way.
    const screenAllow = byId('screen-allow', HTMLInputElement);
    const renderScreenAllow = () => { screenAllow.checked = m.screenShareAllowed; };
    on(m, 'screen-share-allowed', renderScreenAllow, signal);
    on(m, 'welcome', renderScreenAllow, signal);
    screenAllow.addEventListener('change', () => {
      const allow = screenAllow.checked;
      this.run(async () => {
        try {
          await m.allowScreenShare(allow);
        } catch (err) {
          renderScreenAllow();
          throw err;
        }
      }, allow ? 'Participants may now share their screen.' : 'Participants can no longer share their screen; anyone sharing stopped.');
    }, { signal });
    // "Allow reactions", likewise: what the hub said last.
    const reactionsAllow = byId('reactions-allow', HTMLInputElement);
    const renderReactionsAllow = () => { reactionsAllow.checked = !m.reactionsOff; };
    on(m, 'reactions-enabled', renderReactionsAllow, signal);
    on(m, 'welcome', renderReactionsAllow, signal);
    reactionsAllow.addEventListener('change', () => {
      const allow = reactionsAllow.checked;
      this.run(async () => {
        try {
          await m.setReactions(allow);
        } catch (err) {
          renderReactionsAllow();
          throw err;
        }
      }, allow ? 'Reactions are on.' : 'Reactions are off for everyone.');
    }, { signal });
    // "Keep chat history for late joiners", likewise: what the hub said last.
    const chatKeep = byId('chat-keep', HTMLInputElement);
    const renderChatKeep = () => { chatKeep.checked = m.chatKept; };
    on(m, 'chat-history', renderChatKeep, signal);
    on(m, 'welcome', renderChatKeep, signal);
    chatKeep.addEventListener('change', () => {
      const keep = chatKeep.checked;
      this.run(async () => {
        try {
          await m.setChatKept(keep);
        } catch (err) {
          renderChatKeep();
          throw err;
        }
      }, keep ? 'Chat is kept: people who join later see recent messages.' : 'Chat is no longer kept: messages are delivered, not saved.');
    }, { signal });
    // The next round of rotating pairs, with the last round's duration and topic.
    byId('next-round', HTMLButtonElement).addEventListener('click', () => {
      const last = this.split.lastRotate;
      if (last) this.run(() => this.split.startRotate(last), 'The next round of pairs is open.');
    }, { signal });
    on(m, 'session-rescheduled', () => this.renderSession(), signal);
    byId('extend-session', HTMLButtonElement).addEventListener('click', () => {
      this.run(() => m.extendSession(EXTEND_SESSION_SECS), `Session extended by ${EXTEND_SESSION_SECS / 60} minutes.`);
    }, { signal });

    /** @param {string} id @param {() => Promise<void>} action @param {string} done */
    const form = (id, action, done) => byId(id, HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      this.run(action, done);
    }, { signal });
    form('move-form', () => m.move(Number(this.movePerson.value), this.moveRoom.value), 'Moved.');
    form('visit-form', () => m.visit(this.visitRoom.value), 'You changed rooms.');
    form('broadcast-form', async () => {
      const input = byId('broadcast-text', HTMLInputElement);
      await m.broadcast(input.value.trim());
      input.value = '';
    }, 'Sent to every room.');
    form('merge-form', () => {
      const secs = Number(byId('merge-countdown', HTMLInputElement).value) || 0;
      return m.merge({ countdownSecs: secs });
    }, 'Rooms are closing.');
    form('extend-form', () => m.extendTimer(Number(byId('extend-secs', HTMLInputElement).value)), 'Timer extended.');
    const roomDialog = byId('room-message-dialog', HTMLDialogElement);
    const roomText = byId('room-message-text', HTMLInputElement);
    const roomError = byId('room-message-error', HTMLParagraphElement);
    byId('room-message-cancel', HTMLButtonElement).addEventListener('click', () => roomDialog.close(), { signal });
    byId('room-message-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      const room = roomDialog.dataset.room ?? '';
      const name = roomDialog.dataset.name ?? room;
      roomError.textContent = '';
      m.broadcast(roomText.value.trim(), room).then(() => {
        roomDialog.close();
        this.status.textContent = `Sent to ${name}.`;
      }, (err) => { roomError.textContent = `Not sent: ${describe(err)}`; });
    }, { signal });

  }

  /** "Message this room": asks for the text, then sends it to that room only. @param {{id: string, name: string}} room */
  messageRoom(room) {
    const dialog = byId('room-message-dialog', HTMLDialogElement);
    dialog.dataset.room = room.id;
    dialog.dataset.name = room.name;
    byId('room-message-heading', HTMLHeadingElement).textContent = `Message ${room.name}`;
    byId('room-message-text', HTMLInputElement).value = '';
    byId('room-message-error', HTMLParagraphElement).textContent = '';
    dialog.showModal();
  }

  /** The session ended: stop listening and clear what was shown. */
  destroy() {
    this.abort.abort();
    this.agreement.destroy();
    this.layout.setHostTabs(false);
    this.roster.replaceChildren();
    this.status.textContent = '';
    for (const id of ['lobby-list', 'hand-queue', 'audit-log']) byId(id, HTMLElement).replaceChildren();
    byId('lobby-banner', HTMLParagraphElement).hidden = true;
    this.sessionEnd.hidden = true;
    byId('breakout-round', HTMLParagraphElement).hidden = true;
    byId('next-round', HTMLButtonElement).hidden = true;
  }

  /** @param {() => Promise<void>} action @param {string} done */
  run(action, done) {
    this.status.textContent = '';
    // An answer after the session ended (end meeting closes our socket too) is not news.
    const say = (/** @type {string} */ text) => { if (!this.abort.signal.aborted) this.status.textContent = text; };
    action().then(() => say(done), (err) => say(`Refused: ${describe(err)}`));
  }

  /** The session's end and the control to extend it, for hosts and cohosts while it has one. */
  renderSession() {
    const m = this.meeting;
    const endsAt = m.endsAt;
    this.sessionEnd.hidden = !m.isHost || endsAt == null;
    if (endsAt != null) byId('session-end-text', HTMLParagraphElement).textContent = `This session ends at ${timeOfDay(endsAt)}.`;
  }

  render() {
    const m = this.meeting;
    this.renderSession();
    if (!m.isHost) return;
    const { rooms: listed, closesAt } = m.rooms;
    const me = m.you?.id;
    const here = m.room.id;
    // A private conversation is in no room list; the host in it sees it at the top.
    const rooms = m.inPrivateRoom && me != null
      ? [{ id: here, name: m.room.name, topic: null, members: [me, ...m.peers.map((p) => p.id)] }, ...listed]
      : listed;
    // Re-rendering must not close the menu someone is using, nor lose their focus.
    const open = [...this.roster.querySelectorAll('details.actions[open]')].map((d) => /** @type {HTMLElement} */ (d).dataset.peer);
    const focused = this.roster.contains(document.activeElement) ? /** @type {HTMLElement} */ (document.activeElement).dataset.key : undefined;
    // While breakouts are open each room can be told something on its own ("five minutes left").
    const perRoom = listed.length > 1;
    this.roster.replaceChildren(...rooms.map((r) => h('section', { class: `room${r.id === here ? ' here' : ''}`, 'data-room': r.id },
      h('h4', {}, r.name, r.id === here ? ' (you are here)' : ''),
      perRoom && listed.some((x) => x.id === r.id) ? h('button', {
        type: 'button', class: 'room-message', 'data-key': `message:${r.id}`, 'aria-label': `Message ${r.name}`,
        onclick: () => this.messageRoom(r),
      }, 'Message this room') : null,
      r.topic ? h('p', { class: 'topic' }, r.topic) : null,
      this.helpRooms.has(r.id) ? h('p', { class: 'help' }, `Asked for help: ${this.helpRooms.get(r.id)?.join(', ')}`) : null,
      h('ul', {}, ...r.members.map((id) => h('li', { class: 'person', 'data-peer': String(id) },
        h('span', { class: 'name' }, id === me ? `${m.nameOf(id)} (you)` : m.nameOf(id)),
        ...this.moderation.badges(id),
        this.moderation.actions(id)))),
    )));
    for (const peer of open) {
      const details = this.roster.querySelector(`details.actions[data-peer="${peer}"]`);
      if (details instanceof HTMLDetailsElement) details.open = true;
    }
    if (focused) {
      const again = [...this.roster.querySelectorAll('[data-key]')].find((el) => /** @type {HTMLElement} */ (el).dataset.key === focused);
      if (again instanceof HTMLElement) again.focus();
    }
    const people = listed.flatMap((r) => r.members.filter((id) => id !== me).map((id) => ({
      value: String(id), label: `${m.nameOf(id)} — ${r.name}`,
    })));
    setOptions(this.movePerson, people);
    setOptions(this.moveRoom, listed.map((r) => ({ value: r.id, label: r.name })));
    setOptions(this.visitRoom, listed.filter((r) => r.id !== here).map((r) => ({ value: r.id, label: r.name })));
    for (const [form, empty] of /** @type {const} */ ([['visit-form', this.visitRoom.options.length === 0], ['move-form', people.length === 0]])) {
      for (const el of byId(form, HTMLFormElement).elements) /** @type {HTMLButtonElement} */ (el).disabled = empty;
    }
    // Nowhere else to go while there are no breakouts.
    byId('visit-form', HTMLFormElement).hidden = this.visitRoom.options.length === 0;
    const breakouts = listed.length > 1;
    this.mergeButton.disabled = !breakouts;
    for (const el of this.extendForm.elements) /** @type {HTMLButtonElement} */ (el).disabled = closesAt == null;
    byId('split-open', HTMLButtonElement).disabled = breakouts;
    // Rotating pairs: the round while it is open (the host says it to the group), and after the
    // merge the way to the next one.
    const round = byId('breakout-round', HTMLParagraphElement);
    const { round: n } = m.rooms;
    round.hidden = !breakouts || n == null;
    round.textContent = n == null ? '' : `Round ${n} of rotating pairs`;
    byId('next-round', HTMLButtonElement).hidden = breakouts || this.split.lastRotate == null;
  }

  /** A help request: above the stage until the host goes there, dismisses it, or the room closes. @param {HelpAlert} alert */
  addAlert(alert) {
    const names = this.helpRooms.get(alert.room) ?? [];
    if (!names.includes(alert.name)) this.helpRooms.set(alert.room, [...names, alert.name]);
    const key = `help:${alert.room}`;
    const done = () => { this.alerts.remove(key); this.helpRooms.delete(alert.room); this.render(); };
    this.alerts.add({
      key, kind: 'help', room: alert.room, urgent: true,
      text: `${this.helpRooms.get(alert.room)?.join(' and ')} ${this.helpRooms.get(alert.room)?.length === 1 ? 'asks' : 'ask'} for help in ${alert.roomName}`,
      actions: [{
        label: `Go to ${alert.roomName}`,
        run: () => this.run(async () => { await this.meeting.visit(alert.room); done(); }, `You are in ${alert.roomName}.`),
      }],
    });
    this.render();
  }

  /** A raised hand: above the stage until it is lowered. @param {number[]} queue */
  renderHandAlerts(queue) {
    const m = this.meeting;
    for (const id of queue) {
      if (this.handsAlerted.has(id)) continue;
      this.handsAlerted.add(id);
      const name = m.nameOf(id);
      this.alerts.add({
        key: `hand:${id}`, kind: 'hand', text: `${name} raised their hand`,
        actions: [{ label: 'Lower hand', ariaLabel: `Lower hand — ${name} (alert)`, run: () => this.run(() => m.lowerHand(id), `${name}'s hand is lowered.`) }],
      });
    }
    for (const id of [...this.handsAlerted]) {
      if (queue.includes(id)) continue;
      this.handsAlerted.delete(id);
      this.alerts.remove(`hand:${id}`);
    }
  }
}
