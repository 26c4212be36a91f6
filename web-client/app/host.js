// Host and cohost controls: the roster by room, move, visit, broadcast, merge (with countdown),
// extend timer, help alerts, and the split dialog. Shown only to hosts and cohosts; the hub
// checks the role of every action anyway.

import { byId, h, setOptions } from './dom.js';
import { describe } from './view.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').SplitStrategy} SplitStrategy */

/** @typedef {{name: string, room: string, roomName: string, ts: number}} HelpAlert */

export class HostPanel {
  /** @param {Meeting} meeting */
  constructor(meeting) {
    this.meeting = meeting;
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
    this.bind();
  }

  bind() {
    const m = this.meeting;
    /** @param {string} name @param {(detail: any) => void} fn */
    const on = (name, fn) => m.addEventListener(name, (e) => fn(/** @type {CustomEvent} */ (e).detail));
    on('welcome', () => { this.panel.hidden = !m.isHost; this.render(); });
    on('rooms', () => this.render());
    on('peers', () => this.render());
    on('room-changed', () => this.render());
    on('help-requested', (d) => this.addAlert({ name: d.name, room: d.room, roomName: d.roomName, ts: d.ts }));

    /** @param {string} id @param {() => Promise<void>} action @param {string} done */
    const form = (id, action, done) => byId(id, HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      this.run(action, done);
    });
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

    byId('split-open', HTMLButtonElement).addEventListener('click', () => this.openSplit());
    byId('split-cancel', HTMLButtonElement).addEventListener('click', () => this.dialog.close());
    this.strategy.addEventListener('change', () => this.renderSplitForm());
    this.count.addEventListener('input', () => this.renderSplitForm());
    byId('split-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      this.submitSplit();
    });
  }

  /** @param {() => Promise<void>} action @param {string} done */
  run(action, done) {
    this.status.textContent = '';
    action().then(
      () => { this.status.textContent = done; },
      (err) => { this.status.textContent = `Refused: ${describe(err)}`; },
    );
  }

  render() {
    const m = this.meeting;
    if (!m.isHost) return;
    const { rooms, closesAt } = m.rooms;
    const me = m.you?.id;
    const here = m.room.id;
    this.roster.replaceChildren(...rooms.map((r) => h('section', { class: `room${r.id === here ? ' here' : ''}`, 'data-room': r.id },
      h('h4', {}, r.name, r.id === here ? ' (you are here)' : ''),
      r.topic ? h('p', { class: 'topic' }, r.topic) : null,
      h('ul', {}, ...r.members.map((id) => h('li', {}, id === me ? `${m.nameOf(id)} (you)` : m.nameOf(id)))),
    )));
    const people = rooms.flatMap((r) => r.members.filter((id) => id !== me).map((id) => ({
      value: String(id), label: `${m.nameOf(id)} — ${r.name}`,
    })));
    setOptions(this.movePerson, people);
    setOptions(this.moveRoom, rooms.map((r) => ({ value: r.id, label: r.name })));
    setOptions(this.visitRoom, rooms.filter((r) => r.id !== here).map((r) => ({ value: r.id, label: r.name })));
    for (const [form, empty] of /** @type {const} */ ([['visit-form', this.visitRoom.options.length === 0], ['move-form', people.length === 0]])) {
      for (const el of byId(form, HTMLFormElement).elements) /** @type {HTMLButtonElement} */ (el).disabled = empty;
    }
    const breakouts = rooms.length > 1;
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
