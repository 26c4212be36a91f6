// The meeting's frame: the side panels as tabs (a sheet above the controls on phones), the "More"
// menu, unread counts on tabs and in the page title, bringing the stage back into view, the
// polite announcer for screen readers, and the keyboard shortcuts. It knows nothing of the SDK:
// view.js, chat.js and host.js tell it what to show.

import { byId } from './dom.js';

/** @typedef {'chat' | 'staff' | 'people' | 'host' | 'activity'} TabName */

const TABS = /** @type {const} */ (['chat', 'staff', 'people', 'host', 'activity']);
/** Tab names as read out (with the unread count: "Staff, 2 new"). */
const TAB_LABELS = /** @type {Record<TabName, string>} */ ({ chat: 'Chat', staff: 'Staff', people: 'People', host: 'Host', activity: 'Activity' });
/** Narrow windows (phones): panels are a sheet, the stage shows the speaker. Matches style.css. */
const PHONE = '(max-width: 51.99rem)';

export class Layout {
  /** @param {AbortSignal} signal ends the listeners with the session */
  constructor(signal) {
    this.meetingEl = byId('meeting', HTMLDivElement);
    this.stage = byId('stage', HTMLElement);
    this.more = byId('more-panel', HTMLDivElement);
    this.moreToggle = byId('more-toggle', HTMLButtonElement);
    this.chatToggle = byId('chat-toggle', HTMLButtonElement);
    this.announcer = byId('announcer', HTMLParagraphElement);
    this.skip = byId('skip-chat', HTMLAnchorElement);
    /** @type {Record<TabName, {tab: HTMLButtonElement, panel: HTMLElement}>} */
    this.tabs = /** @type {any} */ (Object.fromEntries(TABS.map((name) => [name, {
      tab: byId(`tab-${name}`, HTMLButtonElement),
      panel: byId(`${name}-panel`, HTMLElement),
    }])));
    /** @type {TabName} */
    this.current = 'chat';
    /** Unread counts by tab. @type {Record<string, number>} */
    this.counts = {};
    this.titleBase = 'Huddle';
    /** How many alerts wait above the stage (the alerts module says). */
    this.alertCount = () => 0;
    /** Called with the tab shown whenever it changes or the sheet opens. @type {((name: TabName) => void)[]} */
    this.onShow = [];
    this.phone = matchMedia(PHONE);
    this.skip.hidden = false;
    this.bind(signal);
    this.select('chat');
  }

  /** @param {AbortSignal} signal */
  bind(signal) {
    const opts = { signal };
    for (const name of TABS) this.tabs[name].tab.addEventListener('click', () => this.show(name), opts);
    // Arrow keys move between tabs (the ARIA tabs pattern).
    byId('tab-chat', HTMLButtonElement).parentElement?.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
      const shown = TABS.filter((n) => !this.tabs[n].tab.hidden);
      const at = shown.indexOf(this.current);
      const next = shown[(at + (e.key === 'ArrowRight' ? 1 : shown.length - 1)) % shown.length];
      this.show(next);
      this.tabs[next].tab.focus();
      e.preventDefault();
    }, opts);
    // On phones the Chat button also carries the staff messages' count (hosts and cohosts): it
    // opens where the news is, and closes the sheet while either is open.
    this.chatToggle.addEventListener('click', () => {
      if (this.sheetOpen && (this.current === 'chat' || this.current === 'staff')) this.closeSheet();
      else this.show(chatToggleSummary(this.counts).opens);
    }, opts);
    byId('side-close', HTMLButtonElement).addEventListener('click', () => this.closeSheet(), opts);
    byId('panels-open', HTMLButtonElement).addEventListener('click', () => { this.closeMore(); this.show('people'); }, opts);
    this.moreToggle.addEventListener('click', () => (this.more.classList.contains('open') ? this.closeMore() : this.openMore()), opts);
    document.addEventListener('click', (e) => {
      const t = /** @type {Node} */ (e.target);
      if (this.more.classList.contains('open') && !this.more.contains(t) && !this.moreToggle.contains(t)) this.closeMore();
    }, opts);
    document.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape' || document.querySelector('dialog[open]')) return;
      if (this.more.classList.contains('open')) {
        this.closeMore();
        this.moreToggle.focus();
      } else if (this.sheetOpen) this.closeSheet();
    }, opts);
    this.skip.addEventListener('click', (e) => {
      e.preventDefault();
      this.show('chat', true);
    }, opts);
    this.phone.addEventListener('change', () => this.renderSheet(), opts);
  }

  get isPhone() {
    return this.phone.matches;
  }

  get sheetOpen() {
    return this.meetingEl.classList.contains('sheet-open');
  }

  /** Whether people can see this tab's panel now (on a phone: only with the sheet open). @param {TabName} name */
  isVisible(name) {
    return this.current === name && (!this.isPhone || this.sheetOpen) && !this.meetingEl.hidden;
  }

  /** Shows a tab (and on phones the sheet). @param {TabName} name @param {boolean} [focus] the chat box */
  show(name, focus = false) {
    this.select(name);
    this.meetingEl.classList.add('sheet-open');
    this.renderSheet();
    if (focus && name === 'chat') byId('chat-input', HTMLInputElement).focus();
    for (const fn of this.onShow) fn(name);
  }

  /** @param {TabName} name */
  select(name) {
    if (this.tabs[name].tab.hidden) name = 'chat';
    this.current = name;
    for (const n of TABS) {
      const { tab, panel } = this.tabs[n];
      const on = n === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      panel.hidden = !on;
    }
  }

  closeSheet() {
    this.meetingEl.classList.remove('sheet-open');
    this.renderSheet();
  }

  renderSheet() {
    this.chatToggle.setAttribute('aria-expanded', String(this.sheetOpen && (this.current === 'chat' || this.current === 'staff')));
  }

  openMore() {
    this.more.classList.add('open');
    this.moreToggle.setAttribute('aria-expanded', 'true');
  }

  closeMore() {
    this.more.classList.remove('open');
    this.moreToggle.setAttribute('aria-expanded', 'false');
  }

  /**
   * Hosts and cohosts get the Staff, People, Host and Activity tabs. Anyone else never sees the
   * Staff tab nor its count (a demotion clears both).
   * @param {boolean} on
   */
  setHostTabs(on) {
    for (const n of /** @type {const} */ (['staff', 'people', 'host', 'activity'])) this.tabs[n].tab.hidden = !on;
    byId('panels-open', HTMLButtonElement).hidden = !on;
    if (!on && (this.counts.staff ?? 0) > 0) this.setCount('staff', 0);
    if (!on && this.current !== 'chat') this.select('chat');
  }

  /** An unread count on a tab (0 hides it). @param {TabName} name @param {number} n */
  setCount(name, n) {
    this.counts[name] = n;
    const tab = this.tabs[name].tab;
    const badge = tab.querySelector('.count');
    if (badge instanceof HTMLElement) {
      badge.hidden = n === 0;
      badge.textContent = n > 0 ? String(n) : '';
      tab.setAttribute('aria-label', tabLabel(name, n));
    }
    if (name === 'chat' || name === 'staff') {
      const summary = chatToggleSummary(this.counts);
      const toggleBadge = this.chatToggle.querySelector('.count');
      if (toggleBadge instanceof HTMLElement) {
        toggleBadge.hidden = summary.count === 0;
        toggleBadge.textContent = summary.count > 0 ? String(summary.count) : '';
      }
      this.chatToggle.setAttribute('aria-label', summary.label);
    }
    this.renderTitle();
  }

  /** The page title: the room, and how much waits unseen. @param {string} [base] */
  renderTitle(base) {
    if (base != null) this.titleBase = base;
    const n = (this.counts.chat ?? 0) + (this.counts.staff ?? 0) + this.alertCount();
    document.title = `${n > 0 ? `(${n}) ` : ''}${this.titleBase}`;
  }

  /** After moving to another room (Go to, Visit, Pull aside, being moved): the stage in view. */
  focusStage() {
    this.closeMore();
    if (this.isPhone) this.closeSheet();
    this.stage.scrollIntoView({ block: 'nearest' });
    this.stage.focus({ preventScroll: true });
  }

  /** Says something to screen readers, politely (countdown milestones, room changes). @param {string} text */
  announce(text) {
    this.announcer.textContent = '';
    // A change of text is what gets read: clear first, then say it on the next frame.
    requestAnimationFrame(() => { this.announcer.textContent = text; });
  }

  destroy() {
    this.closeMore();
    this.closeSheet();
    this.setHostTabs(false);
    this.setCount('chat', 0);
    this.setCount('staff', 0);
    this.skip.hidden = true;
    document.title = 'Huddle';
  }
}

/** A tab's accessible name: "Chat", or "Chat, 3 new". @param {TabName} name @param {number} n */
export function tabLabel(name, n) {
  return n > 0 ? `${TAB_LABELS[name]}, ${n} new` : TAB_LABELS[name];
}

/**
 * The phone's Chat button: one badge for the chat and the staff messages (only hosts and cohosts
 * ever have the latter), a name that says which is which, and the tab it opens — the staff tab
 * only when nothing waits in the chat but something does there.
 * @param {Record<string, number>} counts unread by tab
 * @returns {{count: number, label: string, opens: TabName}}
 */
export function chatToggleSummary(counts) {
  const chat = counts.chat ?? 0;
  const staff = counts.staff ?? 0;
  const parts = [chat > 0 ? `${chat} new` : '', staff > 0 ? `${staff} new for staff` : ''].filter(Boolean);
  return { count: chat + staff, label: parts.length > 0 ? `Chat, ${parts.join(', ')}` : 'Chat', opens: chat === 0 && staff > 0 ? 'staff' : 'chat' };
}
