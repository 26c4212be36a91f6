// The split dialog with a preview of who goes where before Start. For `even`, `random` and
// `pairs` the preview proposes rooms (never a room of one: with too few people it uses fewer rooms
// and says so; the odd one out of pairs joins a pair), the host changes it by drag and drop or
// with each person's room picker (the keyboard way), and Start sends what the preview shows as a
// `manual` split with explicit members, so the hub does exactly what the host saw. `manual`
// starts with everyone staying in the main room; `choose` has no preview (rooms open empty).
// `rotate` (rotating pairs, an icebreaker) has no per-person preview either: the hub keeps the
// schedule (who has met whom, round after round; a changed group starts a schedule of its own), so
// any pairs drawn here could be wrong. The dialog says what will happen instead (how many pairs,
// who rests, how many rounds until everyone has met), sends `rotate` itself, and remembers the
// duration and topic so the host panel's "Next round" can start the next one the same way.
// Hosts, co-hosts and observers stay in the main room unless the host moves them in the preview,
// as the hub does.

import { byId, describe, h } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/protocol').PeerId} PeerId */
/** @typedef {import('../sdk/protocol').SplitStrategy} SplitStrategy */

export class SplitDialog {
  /**
   * @param {Meeting} meeting
   * @param {AbortSignal} signal
   * @param {(text: string) => void} say the host panel's status line
   */
  constructor(meeting, signal, say) {
    this.meeting = meeting;
    this.say = say;
    this.dialog = byId('split-dialog', HTMLDialogElement);
    this.strategy = byId('split-strategy', HTMLSelectElement);
    this.count = byId('split-count', HTMLInputElement);
    this.note = byId('split-note', HTMLParagraphElement);
    this.preview = byId('split-preview', HTMLDivElement);
    this.error = byId('split-error', HTMLParagraphElement);
    /** Room names and topics as typed, by index. @type {{name: string, topic: string}[]} */
    this.roomText = [];
    /** Who goes where: a room index, or null to stay in the main room. @type {Map<PeerId, number | null>} */
    this.assign = new Map();
    /** How many rooms the preview has. */
    this.rooms = 2;
    /**
     * The duration and topic of the last rotate split ("Next round" starts the next one the same
     * way); null when the last split was not `rotate`.
     * @type {{topic?: string, durationSecs?: number} | null}
     */
    this.lastRotate = null;
    const opts = { signal };
    byId('split-open', HTMLButtonElement).addEventListener('click', () => this.open(), opts);
    byId('split-cancel', HTMLButtonElement).addEventListener('click', () => this.dialog.close(), opts);
    this.strategy.addEventListener('change', () => this.propose(), opts);
    this.count.addEventListener('input', () => this.propose(), opts);
    byId('split-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    }, opts);
  }

  open() {
    this.error.textContent = '';
    this.propose();
    this.dialog.showModal();
  }

  /** The main room's people, in join order (ids grow as people join). */
  people() {
    const main = this.meeting.rooms.rooms.find((r) => r.id === 'main');
    return [...(main?.members ?? [])].sort((a, b) => a - b);
  }

  /** Whether the hub would deal this person into a room (participants and mentors). @param {PeerId} id */
  dealt(id) {
    const role = this.meeting.person(id)?.role ?? 'participant';
    return role === 'participant' || role === 'mentor';
  }

  /** A fresh proposal for the chosen strategy and room count. */
  propose() {
    const strategy = /** @type {SplitStrategy} */ (this.strategy.value);
    const asked = Math.max(1, Math.min(50, Number(this.count.value) || 1));
    const everyone = this.people();
    const keepManual = strategy === 'manual' ? new Map(this.assign) : null;
    this.assign = new Map(everyone.map((id) => [id, keepManual?.get(id) ?? null]));
    this.count.disabled = strategy === 'pairs' || strategy === 'rotate';
    let note = '';
    if (strategy === 'rotate') {
      this.rooms = 0;
      note = rotateNote(everyone.filter((id) => this.dealt(id)).length);
    } else if (strategy === 'manual' || strategy === 'choose') {
      this.rooms = asked;
      if (keepManual) for (const [id, room] of this.assign) if (room != null && room >= asked) this.assign.set(id, null);
      note = strategy === 'choose' ? 'Rooms open empty; participants pick one.' : 'Drag people into rooms, or pick a room for each.';
    } else {
      const plan = proposeRooms(everyone.filter((id) => this.dealt(id)), (id) => this.meeting.person(id)?.role === 'mentor', strategy, asked);
      this.rooms = plan.rooms;
      for (const [id, room] of plan.assign) this.assign.set(id, room);
      note = plan.note;
      if (strategy === 'pairs') this.count.value = String(this.rooms);
    }
    const others = everyone.filter((id) => !this.dealt(id));
    if (strategy === 'rotate') {
      if (others.length > 0) note += ' Hosts, co-hosts and observers stay in the main room.';
    } else if (others.length > 0 && strategy !== 'choose') note += `${note ? ' ' : ''}Hosts, co-hosts and observers stay in the main room unless you move them.`;
    this.note.textContent = note;
    this.render();
  }

  /** Keeps what was typed in the room names and topics. */
  keepText() {
    this.preview.querySelectorAll('.split-room[data-room]').forEach((el) => {
      const i = Number(/** @type {HTMLElement} */ (el).dataset.room);
      if (!Number.isInteger(i)) return;
      this.roomText[i] = {
        name: /** @type {HTMLInputElement} */ (el.querySelector('.room-name')).value,
        topic: /** @type {HTMLInputElement} */ (el.querySelector('.room-topic')).value,
      };
    });
  }

  render() {
    this.keepText();
    const m = this.meeting;
    const choose = this.strategy.value === 'choose';
    // Rotating pairs: the hub picks; nothing to show or change here (see the top of this file).
    this.preview.hidden = this.strategy.value === 'rotate';
    if (this.preview.hidden) {
      this.preview.replaceChildren();
      return;
    }
    /** @param {number | null} room */
    const members = (room) => [...this.assign].filter(([, r]) => r === room).map(([id]) => id);
    /** @param {PeerId} id */
    const chip = (id) => {
      const name = id === m.you?.id ? `${m.nameOf(id)} (you)` : m.nameOf(id);
      const selectId = `split-person-${id}`;
      const select = h('select', { id: selectId, 'data-peer': String(id) },
        h('option', { value: '' }, 'Stay in the main room'),
        ...Array.from({ length: this.rooms }, (_, i) => h('option', { value: String(i) }, this.roomLabel(i))));
      select.value = String(this.assign.get(id) ?? '');
      select.addEventListener('change', () => this.moveTo(id, select.value === '' ? null : Number(select.value)));
      const el = h('li', { class: 'person-chip', draggable: 'true', 'data-peer': String(id), 'data-name': m.nameOf(id) },
        h('label', { for: selectId }, name), select);
      el.addEventListener('dragstart', (e) => {
        e.dataTransfer?.setData('text/plain', String(id));
        if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
      });
      return el;
    };
    /** @param {HTMLElement} list @param {number | null} room */
    const dropZone = (list, room) => {
      list.addEventListener('dragover', (e) => { e.preventDefault(); list.classList.add('over'); });
      list.addEventListener('dragleave', () => list.classList.remove('over'));
      list.addEventListener('drop', (e) => {
        e.preventDefault();
        list.classList.remove('over');
        const id = Number(e.dataTransfer?.getData('text/plain'));
        if (this.assign.has(id)) this.moveTo(id, room);
      });
      return list;
    };
    const stay = h('section', { class: 'split-room stay', 'data-room': 'main', 'aria-label': 'Stay in the main room' },
      h('h3', {}, 'Stay in the main room'),
      dropZone(h('ul', { class: 'members' }, ...members(null).map(chip)), null));
    const rooms = Array.from({ length: this.rooms }, (_, i) => {
      const n = i + 1;
      const here = members(i);
      const text = this.roomText[i] ?? { name: '', topic: '' };
      return h('section', { class: 'split-room', 'data-room': String(i), 'aria-label': `Room ${n}` },
        h('label', { for: `split-room-${n}-name` }, `Room ${n} name`),
        h('input', { id: `split-room-${n}-name`, class: 'room-name', type: 'text', maxlength: 80, placeholder: `Room ${n}`, value: text.name }),
        h('label', { for: `split-room-${n}-topic` }, `Room ${n} topic`),
        h('input', { id: `split-room-${n}-topic`, class: 'room-topic', type: 'text', maxlength: 500, value: text.topic }),
        choose ? null : dropZone(h('ul', { class: 'members', 'aria-label': `People in room ${n}` }, ...here.map(chip)), i),
        !choose && here.length === 1 ? h('p', { class: 'alone' }, 'Only one person here.') : null);
    });
    this.preview.replaceChildren(...(choose ? [] : [stay]), ...rooms);
  }

  /** The picker's word for a room (its column shows the name typed). @param {number} i */
  roomLabel(i) {
    return `Room ${i + 1}`;
  }

  /** @param {PeerId} id @param {number | null} room */
  moveTo(id, room) {
    this.assign.set(id, room);
    this.render();
  }

  submit() {
    this.keepText();
    const strategy = /** @type {SplitStrategy} */ (this.strategy.value);
    const rooms = Array.from({ length: this.rooms }, (_, i) => ({
      name: this.roomText[i]?.name.trim() || undefined,
      topic: this.roomText[i]?.topic.trim() || undefined,
      /** @type {PeerId[] | undefined} */
      members: strategy === 'choose' ? undefined : [...this.assign].filter(([, r]) => r === i).map(([id]) => id),
    }));
    const minutes = Number(byId('split-duration', HTMLInputElement).value);
    const topic = byId('split-topic', HTMLInputElement).value.trim();
    this.error.textContent = '';
    if (strategy === 'rotate') {
      if (this.people().filter((id) => this.dealt(id)).length < 2) {
        this.error.textContent = 'Rotating pairs need at least two participants in the main room.';
        return;
      }
      this.startRotate({ topic: topic || undefined, durationSecs: minutes > 0 ? Math.round(minutes * 60) : undefined }).then(
        () => { this.dialog.close(); this.say('The first round of pairs is open.'); },
        (err) => { this.error.textContent = `The hub refused the split: ${describe(err)}`; },
      );
      return;
    }
    if (strategy !== 'choose' && rooms.every((r) => (r.members ?? []).length === 0)) {
      this.error.textContent = 'Nobody is in a breakout room yet: move people into the rooms first.';
      return;
    }
    this.meeting.split({
      // What the preview shows, exactly: the hub deals no one itself.
      strategy: strategy === 'choose' ? 'choose' : 'manual',
      count: strategy === 'choose' ? this.rooms : undefined,
      rooms,
      topic: topic || undefined,
      durationSecs: minutes > 0 ? Math.round(minutes * 60) : undefined,
    }).then(
      () => { this.lastRotate = null; this.dialog.close(); this.say('Breakout rooms are open.'); },
      (err) => { this.error.textContent = `The hub refused the split: ${describe(err)}`; },
    );
  }

  /**
   * A round of rotating pairs, remembered for "Next round".
   * @param {{topic?: string, durationSecs?: number}} options
   */
  async startRotate(options) {
    await this.meeting.split({ strategy: 'rotate', ...options });
    this.lastRotate = options;
  }
}

/**
 * What the split dialog says about rotating pairs for `n` people the hub would pair (participants
 * and mentors in the main room): the idea, how many pairs, who rests, and after how many rounds
 * everyone has met (the circle method: n - 1 rounds, or n with one resting each round).
 * @param {number} n
 */
export function rotateNote(n) {
  const idea = 'A new partner each round; nobody twice until everyone has met. The hub chooses the pairs: you see them when the round starts.';
  if (n < 2) return `${idea} There ${n === 1 ? 'is only one participant' : 'are no participants'} in the main room: nobody to pair.`;
  const pairs = Math.floor(n / 2);
  const rest = n % 2 === 1 ? ', and one person rests in the main room each round (everyone once before anyone twice)' : '';
  const rounds = n % 2 === 1 ? n : n - 1;
  return `${idea} ${n} people: ${pairs} pair${pairs > 1 ? 's' : ''}${rest}. Everyone has met everyone after ${rounds} round${rounds > 1 ? 's' : ''}.`;
}

/** A shuffled copy (Fisher–Yates). @template T @param {T[]} items */
function shuffle(items) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Who goes where for `even`, `random` and `pairs`, never a room of one: at most one room per two
 * people (`even`, `random`: fewer rooms than asked when there are too few, dealt in order, mentors
 * first so each room gets at most one while there are enough rooms; `random` shuffles first);
 * `pairs`: rooms of two, the odd one out joining the last pair. With fewer than two people nobody
 * is placed. Returns the room count, each person's room index, and a sentence on what happened.
 * @param {PeerId[]} people in join order
 * @param {(id: PeerId) => boolean} isMentor
 * @param {'even' | 'random' | 'pairs' | string} strategy
 * @param {number} asked rooms asked for (even, random)
 * @param {<T>(items: T[]) => T[]} [mix] the shuffle for `random`
 * @returns {{rooms: number, assign: Map<PeerId, number>, note: string}}
 */
export function proposeRooms(people, isMentor, strategy, asked, mix = shuffle) {
  let dealt = strategy === 'random' ? mix(people) : [...people];
  // A stable sort: mentors first, otherwise in order.
  dealt = [...dealt.filter(isMentor), ...dealt.filter((id) => !isMentor(id))];
  const n = dealt.length;
  /** @type {Map<PeerId, number>} */
  const assign = new Map();
  if (n < 2) {
    return { rooms: strategy === 'pairs' ? 1 : asked, assign, note: n === 0 ? 'No participants in the main room to send to breakout rooms.' : 'Only one participant: nobody to pair them with, so they stay in the main room.' };
  }
  if (strategy === 'pairs') {
    const rooms = Math.floor(n / 2);
    dealt.forEach((id, i) => assign.set(id, Math.min(Math.floor(i / 2), rooms - 1)));
    const note = n % 2 === 1
      ? `${n} people: ${rooms} room${rooms > 1 ? 's' : ''}, one of three (the odd one out joins a pair).`
      : `${n} people in ${rooms} pairs.`;
    return { rooms, assign, note };
  }
  // The hub's rule for `even` and `random` (unless `allow_solo`): at most one room per two people.
  const rooms = Math.max(1, Math.min(asked, Math.floor(n / 2)));
  dealt.forEach((id, i) => assign.set(id, i % rooms));
  let note = rooms < asked ? `${n} participants fill at most ${rooms} room${rooms > 1 ? 's' : ''} without leaving anyone alone: the preview uses ${rooms}.` : '';
  // Uneven counts: say which rooms get one more, so nobody is surprised by a room of three.
  const extra = n % rooms;
  if (extra > 0) {
    const small = Math.floor(n / rooms);
    note += `${note ? ' ' : ''}${n} people in ${rooms} rooms: ${extra} room${extra > 1 ? 's' : ''} of ${small + 1}, ${rooms - extra} of ${small}.`;
  }
  return { rooms, assign, note };
}
