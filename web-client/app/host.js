// Host and cohost controls: the roster by room (each person with their badges and actions from
// moderation.js), move, visit, broadcast, merge (with countdown), extend timer, help alerts, and
// the split dialog. Shown only to hosts and cohosts (also after a promotion); the hub checks the
// role of every action anyway.

import { byId, describe, h, on, setOptions } from './dom.js';
import { Moderation } from './moderation.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').SplitStrategy} SplitStrategy */

/** @typedef {{name: string, room: string, roomName: string, ts: number}} HelpAlert */

export class HostPanel {
  /** @param {Meeting} meeting */
  constructor(meeting) {
    this.meeting = meeting;
    /** Ends every DOM listener of this session (the elements outlive it). */
    this.abort = new AbortController();
    /** @type {HelpAlert[]} */
    this.alerts = [];
    this.panel = byId('host-panel', HTMLElement);
    this.alertList = byId('alerts', HTMLDivElement);
    this.roster = byId('roster', HTMLDivElement);
    this.status = byId('host-status', HTMLParagraphElement);
    this.movePerson = byId('move-person', HTMLSelectElement);
    this.moveRoom = byId('move-room', HTMLSelectElement);
    this.visitRoom = byId('visit-room', HTMLSelectElement);
    this.mergeButton = byId('merge-button', HTMLButtonElement);
    this.extendForm = byId('extend-form', HTMLFormElement);
    this.dialog = byId('split-dialog', HTMLDialogElement);
    this.strategy = byId('split-strategy', HTMLSelectElement);
    this.count = byId('split-count', HTMLInputElement);
    this.roomList = byId('split-room-list', HTMLDivElement);
    this.peopleSet = byId('split-people', HTMLFieldSetElement);
    this.peopleList = byId('split-people-list', HTMLDivElement);
    this.splitError = byId('split-error', HTMLParagraphElement);
    this.moderation = new Moderation(meeting, (action, done) => this.run(action, done), this.abort.signal);
    this.bind();
  }

  bind() {
    const m = this.meeting;
    const signal = this.abort.signal;
    on(m, 'welcome', () => { this.panel.hidden = !m.isHost; this.render(); }, signal);
    on(m, 'peer-updated', () => {
      // A promotion shows the panel, a demotion hides it; host-only actions follow the role.
      this.panel.hidden = !m.isHost;
      this.render();
    }, signal);
    on(m, 'rooms', () => this.render(), signal);
    on(m, 'peers', () => this.render(), signal);
    on(m, 'room-changed', () => this.render(), signal);
    on(m, 'peer-media', () => this.render(), signal);
    on(m, 'hands', () => this.render(), signal);
    on(m, 'lobby', () => this.render(), signal);
    on(m, 'help-requested', (d) => this.addAlert({ name: d.name, room: d.room, roomName: d.roomName, ts: d.ts }), signal);

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

    byId('split-open', HTMLButtonElement).addEventListener('click', () => this.openSplit(), { signal });
    byId('split-cancel', HTMLButtonElement).addEventListener('click', () => this.dialog.close(), { signal });
    this.strategy.addEventListener('change', () => this.renderSplitForm(), { signal });
    this.count.addEventListener('input', () => this.renderSplitForm(), { signal });
    byId('split-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      this.submitSplit();
    }, { signal });
  }

  /** The session ended: stop listening and clear what was shown. */
  destroy() {
    this.abort.abort();
    this.panel.hidden = true;
    this.roster.replaceChildren();
    this.alertList.replaceChildren();
    this.status.textContent = '';
    for (const id of ['lobby-list', 'hand-queue', 'audit-log']) byId(id, HTMLElement).replaceChildren();
    byId('lobby-banner', HTMLParagraphElement).hidden = true;
  }

  /** @param {() => Promise<void>} action @param {string} done */
  run(action, done) {
    this.status.textContent = '';
    // An answer after the session ended (end meeting closes our socket too) is not news.
    const say = (/** @type {string} */ text) => { if (!this.abort.signal.aborted) this.status.textContent = text; };
    action().then(() => say(done), (err) => say(`Refused: ${describe(err)}`));
  }

  render() {
    const m = this.meeting;
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
    this.roster.replaceChildren(...rooms.map((r) => h('section', { class: `room${r.id === here ? ' here' : ''}`, 'data-room': r.id },
      h('h4', {}, r.name, r.id === here ? ' (you are here)' : ''),
      r.topic ? h('p', { class: 'topic' }, r.topic) : null,
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
    const breakouts = listed.length > 1;
    this.mergeButton.disabled = !breakouts;
    for (const el of this.extendForm.elements) /** @type {HTMLButtonElement} */ (el).disabled = closesAt == null;
    byId('split-open', HTMLButtonElement).disabled = breakouts;
  }

  /** @param {HelpAlert} alert */
  addAlert(alert) {
    this.alerts.push(alert);
    const go = h('button', { type: 'button' }, `Go to ${alert.roomName}`);
    const dismiss = h('button', { type: 'button', class: 'dismiss', 'aria-label': `Dismiss ${alert.name}'s request` }, '×');
    const el = h('div', { class: 'alert help' }, h('span', { class: 'text' }, `${alert.name} asks for help in ${alert.roomName}`), go, dismiss);
    go.addEventListener('click', () => this.run(() => this.meeting.visit(alert.room), `You are in ${alert.roomName}.`));
    dismiss.addEventListener('click', () => el.remove());
    this.alertList.append(el);
  }

  // ---- split dialog ----

  openSplit() {
    this.splitError.textContent = '';
    this.renderSplitForm();
    this.dialog.showModal();
  }

  /** The rows of the dialog: one name and topic per room, and who goes where for `manual`. */
  renderSplitForm() {
    const strategy = /** @type {SplitStrategy} */ (this.strategy.value);
    const count = Math.max(1, Math.min(50, Number(this.count.value) || 1));
    this.count.disabled = strategy === 'pairs';
    const rows = [...this.roomList.querySelectorAll('.split-room')];
    const keep = rows.map((row) => ({
      name: /** @type {HTMLInputElement} */ (row.querySelector('.room-name')).value,
      topic: /** @type {HTMLInputElement} */ (row.querySelector('.room-topic')).value,
    }));
    const showRooms = strategy !== 'pairs';
    this.roomList.replaceChildren(...(showRooms ? Array.from({ length: count }, (_, i) => {
      const n = i + 1;
      return h('div', { class: 'split-room grid-form' },
        h('label', { for: `split-room-${n}-name` }, `Room ${n} name`),
        h('input', { id: `split-room-${n}-name`, class: 'room-name', type: 'text', maxlength: 80, placeholder: `Room ${n}`, value: keep[i]?.name ?? '' }),
        h('label', { for: `split-room-${n}-topic` }, `Room ${n} topic`),
        h('input', { id: `split-room-${n}-topic`, class: 'room-topic', type: 'text', maxlength: 500, value: keep[i]?.topic ?? '' }));
    }) : []));
    const manual = strategy === 'manual';
    this.peopleSet.hidden = !manual;
    if (!manual) return;
    const m = this.meeting;
    const main = m.rooms.rooms.find((r) => r.id === 'main');
    const before = new Map([...this.peopleList.querySelectorAll('select')].map((s) => [s.dataset.peer, s.value]));
    this.peopleList.replaceChildren(...(main?.members ?? []).map((id) => {
      const selectId = `split-person-${id}`;
      const select = h('select', { id: selectId, 'data-peer': String(id) },
        h('option', { value: '' }, 'Stay in the main room'),
        ...Array.from({ length: count }, (_, i) => h('option', { value: String(i) }, `Room ${i + 1}`)));
      const prev = before.get(String(id));
      if (prev != null && Number(prev) < count) select.value = prev;
      const label = id === m.you?.id ? `${m.nameOf(id)} (you)` : m.nameOf(id);
      return h('div', { class: 'row' }, h('label', { for: selectId }, label), select);
    }));
  }

  submitSplit() {
    const strategy = /** @type {SplitStrategy} */ (this.strategy.value);
    const rows = [...this.roomList.querySelectorAll('.split-room')];
    /** @type {{name?: string, topic?: string, members?: number[]}[]} */
    const rooms = rows.map((row) => ({
      name: /** @type {HTMLInputElement} */ (row.querySelector('.room-name')).value.trim() || undefined,
      topic: /** @type {HTMLInputElement} */ (row.querySelector('.room-topic')).value.trim() || undefined,
    }));
    if (strategy === 'manual') {
      for (const select of this.peopleList.querySelectorAll('select')) {
        if (select.value === '') continue;
        const room = rooms[Number(select.value)];
        if (room) (room.members ??= []).push(Number(select.dataset.peer));
      }
    }
    const minutes = Number(byId('split-duration', HTMLInputElement).value);
    const topic = byId('split-topic', HTMLInputElement).value.trim();
    const count = Number(this.count.value) || undefined;
    this.splitError.textContent = '';
    this.meeting.split({
      strategy,
      count: strategy === 'pairs' || strategy === 'manual' ? undefined : count,
      rooms: strategy === 'pairs' ? undefined : rooms,
      topic: topic || undefined,
      durationSecs: minutes > 0 ? Math.round(minutes * 60) : undefined,
    }).then(
      () => { this.dialog.close(); this.status.textContent = 'Breakout rooms are open.'; },
      (err) => { this.splitError.textContent = `The hub refused the split: ${describe(err)}`; },
    );
  }
}
