// Consent before the group (#15) in the reference UI. It owns: the agreement screen shown instead
// of the meeting when the hub asks before letting someone in (the text as paragraphs, "I agree"
// and "Leave", readable on a phone: the text scrolls, the buttons stay in reach), the dialog over
// the meeting when a seated member is asked again after the text changed, and the Host tab's
// "Group agreement" section (set, change or remove it; who has accepted, who is still to, who is
// reading it before joining). The text is someone's words: always put in as text, never HTML.
// The pure parts (paragraphs, byte size, the hosts' summary) are exported for unit tests.

import { byId, describe, h, on } from './dom.js';

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/huddle.js').MeetingEventMap} MeetingEventMap */

/** The hub's limit on the text (bytes of UTF-8). */
export const MAX_AGREEMENT_BYTES = 8 * 1024;

/**
 * The text as paragraphs: blank lines separate them; a single line break stays inside one (the
 * page keeps it with `white-space: pre-line`). Plain text, so nothing else is interpreted.
 * @param {string} text @returns {string[]}
 */
export function paragraphs(text) {
  return text.replace(/\r\n?/g, '\n').split(/\n[ \t]*\n/).map((p) => p.replace(/^\n+|\s+$/g, '')).filter((p) => p.trim() !== '');
}

/** Size as the hub counts it. @param {string} text */
export function utf8Bytes(text) {
  return new TextEncoder().encode(text).length;
}

/**
 * What the Host tab says about the agreement: whether there is one, and by name (ids for people
 * the page has no name for: someone reading has not entered, so nobody was told their name).
 * `members` are the participants, mentors and observers seated now (hosts are never asked).
 * @param {MeetingEventMap['agreements'] | null} d
 * @param {{id: number, role?: string}[]} members
 * @param {(id: number) => string | null} nameOf a known name, or null
 */
export function agreementSummary(d, members, nameOf) {
  const label = (/** @type {number} */ id) => nameOf(id) ?? `someone not yet in the meeting (no. ${id})`;
  if (!d || d.version == null) return { active: false, status: 'No agreement: people join without being asked.', accepted: [], pending: [], reading: [] };
  const accepted = new Set(d.accepted);
  const reading = new Set(d.reading);
  const pending = members.filter((p) => p.role !== 'host' && p.role !== 'cohost' && !accepted.has(p.id) && !reading.has(p.id)).map((p) => label(p.id));
  return {
    active: true,
    status: 'Everyone but hosts and co-hosts agrees to it before joining.',
    accepted: d.accepted.map(label),
    pending,
    reading: d.reading.map(label),
  };
}

/** Fills `el` with the text's paragraphs. @param {HTMLElement} el @param {string} text */
function renderText(el, text) {
  el.replaceChildren(...paragraphs(text).map((p) => h('p', {}, p)));
  el.scrollTop = 0;
}

/**
 * The person's side: the full screen before joining and the dialog while seated. `show(screen)`
 * is the page's screen switcher (main.js owns the screens); `onLeave` leaves.
 */
export class AgreementPrompt {
  /**
   * @param {Meeting} meeting
   * @param {{show: (screen: HTMLElement) => void, onLeave: () => void}} page
   */
  constructor(meeting, page) {
    this.meeting = meeting;
    this.page = page;
    this.abort = new AbortController();
    this.screen = byId('agreement-screen', HTMLElement);
    this.dialog = byId('agreement-dialog', HTMLDialogElement);
    /** Whether an answer is on its way (the button says so; a second click does nothing). */
    this.busy = false;
    const signal = this.abort.signal;
    on(meeting, 'agreement-required', (d) => this.ask(d), signal);
    // In (or let in because the agreement was removed): nothing left to read.
    on(meeting, 'welcome', () => { if (!meeting.agreement) this.hide(); }, signal);
    on(meeting, 'waiting', () => this.hide(), signal);
    for (const [id, where] of /** @type {const} */ ([['agreement-accept', 'screen'], ['agreement-dialog-accept', 'dialog']])) {
      byId(id, HTMLButtonElement).addEventListener('click', () => void this.accept(where), { signal });
    }
    byId('agreement-leave', HTMLButtonElement).addEventListener('click', () => page.onLeave(), { signal });
    byId('agreement-dialog-leave', HTMLButtonElement).addEventListener('click', () => page.onLeave(), { signal });
    // Escape does not make the question go away: the hub still asks.
    this.dialog.addEventListener('cancel', (e) => e.preventDefault(), { signal });
  }

  /** The hub asks: the screen before joining, the dialog once seated. @param {{text: string}} d */
  ask(d) {
    const where = this.meeting.joined ? 'dialog' : 'screen';
    renderText(byId(where === 'screen' ? 'agreement-text' : 'agreement-dialog-text', HTMLDivElement), d.text);
    this.setError(where, '');
    if (where === 'screen') {
      this.page.show(this.screen);
      byId('agreement-heading', HTMLHeadingElement).focus();
    } else {
      if (!this.dialog.open) this.dialog.showModal();
      byId('agreement-dialog-heading', HTMLHeadingElement).focus();
    }
  }

  /** @param {'screen' | 'dialog'} where @param {string} text */
  setError(where, text) {
    byId(where === 'screen' ? 'agreement-error' : 'agreement-dialog-error', HTMLParagraphElement).textContent = text;
  }

  /** "I agree": the version shown (a newer one comes back as a conflict with its text). @param {'screen' | 'dialog'} where */
  async accept(where) {
    const asked = this.meeting.agreement;
    if (this.busy || !asked) return;
    this.busy = true;
    const button = byId(where === 'screen' ? 'agreement-accept' : 'agreement-dialog-accept', HTMLButtonElement);
    button.setAttribute('aria-disabled', 'true');
    this.setError(where, '');
    try {
      await this.meeting.acceptAgreement(asked.version);
      if (where === 'dialog') this.hide();
    } catch (err) {
      const code = err && typeof err === 'object' && 'code' in err ? err.code : '';
      if (code === 'conflict' && this.meeting.agreement) {
        // It changed while they read: the new text is already shown (agreement-required).
        this.setError(where, 'The agreement changed while you were reading. Please read this version.');
      } else if (code === 'conflict') {
        // Removed meanwhile: nothing to agree to (before joining, the welcome comes by itself).
        if (this.meeting.joined) this.hide();
      } else if (!this.abort.signal.aborted) {
        this.setError(where, `That did not go through: ${describe(err)}. Please try again.`);
      }
    } finally {
      this.busy = false;
      button.removeAttribute('aria-disabled');
    }
  }

  hide() {
    if (this.dialog.open) this.dialog.close();
  }

  /** The session ended: stop listening and close the dialog (the screen goes with the page's switch). */
  destroy() {
    this.abort.abort();
    this.hide();
  }
}

/** The Host tab's "Group agreement": set, change or remove it, and who has accepted. */
export class AgreementAdmin {
  /**
   * @param {Meeting} meeting
   * @param {(action: () => Promise<void>, done: string) => void} run the host panel's runner (status line)
   */
  constructor(meeting, run) {
    this.meeting = meeting;
    this.abort = new AbortController();
    /** The hub's last `agreements`. @type {MeetingEventMap['agreements'] | null} */
    this.last = null;
    this.input = byId('agreement-input', HTMLTextAreaElement);
    const signal = this.abort.signal;
    on(meeting, 'agreements', (d) => { this.last = d; this.render(); }, signal);
    // Names arrive with the roster: re-render when it changes.
    on(meeting, 'rooms', () => this.render(), signal);
    on(meeting, 'peers', () => this.render(), signal);
    on(meeting, 'peer-updated', () => this.render(), signal);
    byId('agreement-form', HTMLFormElement).addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (utf8Bytes(text) > MAX_AGREEMENT_BYTES) {
        byId('agreement-size', HTMLParagraphElement).textContent = 'Too long: an agreement is at most 8 KB. Please shorten it.';
        return;
      }
      run(() => meeting.setAgreement(text), text
        ? 'Agreement saved. Everyone who has not agreed to this version is asked now.'
        : 'Agreement removed: people join without being asked.');
    }, { signal });
    byId('agreement-remove', HTMLButtonElement).addEventListener('click', () => {
      this.input.value = '';
      run(() => meeting.setAgreement(''), 'Agreement removed: people join without being asked.');
    }, { signal });
    this.input.addEventListener('input', () => this.renderSize(), { signal });
    this.render();
  }

  renderSize() {
    const bytes = utf8Bytes(this.input.value.trim());
    byId('agreement-size', HTMLParagraphElement).textContent = bytes > MAX_AGREEMENT_BYTES
      ? 'Too long: an agreement is at most 8 KB. Please shorten it.' : '';
  }

  render() {
    const m = this.meeting;
    const members = m.rooms.rooms.flatMap((r) => r.members).filter((id) => id !== m.you?.id)
      .map((id) => ({ id, role: m.person(id)?.role }));
    const s = agreementSummary(this.last, members, (id) => m.person(id)?.name ?? null);
    byId('agreement-status', HTMLParagraphElement).textContent = s.status;
    byId('agreement-remove', HTMLButtonElement).hidden = !s.active;
    /** @param {string} id @param {string} title @param {string[]} names */
    const list = (id, title, names) => {
      const el = byId(id, HTMLDivElement);
      el.hidden = !s.active;
      el.replaceChildren(h('h4', {}, `${title} (${names.length})`),
        names.length ? h('ul', {}, ...names.map((n) => h('li', { class: 'name' }, n))) : h('p', { class: 'hint' }, 'Nobody'));
    };
    list('agreement-accepted', 'Agreed', s.accepted);
    list('agreement-pending', 'In the meeting, not yet agreed', s.pending);
    list('agreement-reading', 'Reading it before joining', s.reading);
  }

  destroy() {
    this.abort.abort();
    this.last = null;
    for (const id of ['agreement-accepted', 'agreement-pending', 'agreement-reading']) byId(id, HTMLDivElement).replaceChildren();
    byId('agreement-status', HTMLParagraphElement).textContent = '';
  }
}
