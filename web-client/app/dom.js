// Small DOM helpers, the one way the UI listens to the meeting (`on`, typed by the SDK's event
// map), and the confirm dialog. Text always goes in as text (never as HTML): names, topics and
// chat come from other people.

/** @typedef {import('../sdk/huddle.js').Meeting} Meeting */
/** @typedef {import('../sdk/huddle.js').MeetingEventMap} MeetingEventMap */

/**
 * Calls `fn` with the detail of each `name` event of the meeting (typed by the event map, so a
 * misspelt name or a wrong field fails tsc), until `signal` aborts.
 * @template {keyof MeetingEventMap} K
 * @param {Meeting} meeting
 * @param {K} name
 * @param {(detail: MeetingEventMap[K]) => void} fn
 * @param {AbortSignal} [signal]
 */
export function on(meeting, name, fn, signal) {
  meeting.addEventListener(name, (event) => fn(event.detail), { signal });
}

/**
 * The element with this id, checked to be of `type`.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return el;
}

/**
 * Creates an element: `h('button', {type: 'button', class: 'x', onclick: fn}, 'Label')`.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | number | boolean | EventListener | null | undefined>} [attrs]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (typeof value === 'function') el.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child == null || child === false) continue;
    el.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** Replaces the options of a select, keeping the selection when it still exists.
 * @param {HTMLSelectElement} select
 * @param {{value: string, label: string}[]} options
 */
export function setOptions(select, options) {
  const keep = select.value;
  select.replaceChildren(...options.map((o) => h('option', { value: o.value }, o.label)));
  if (options.some((o) => o.value === keep)) select.value = keep;
}

/** "9:05" for 545 seconds. @param {number} secs */
export function clock(secs) {
  const s = Math.max(0, Math.ceil(secs));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/**
 * Asks before something that cannot be undone (removing someone, ending the meeting). Resolves
 * true when confirmed; Cancel and Escape mean no, and Cancel has the focus.
 * @param {string} text
 * @param {string} yes the confirm button's label, saying what it does
 * @returns {Promise<boolean>}
 */
export function ask(text, yes) {
  const dialog = byId('confirm-dialog', HTMLDialogElement);
  if (dialog.open) return Promise.resolve(false);
  byId('confirm-text', HTMLParagraphElement).textContent = text;
  byId('confirm-yes', HTMLButtonElement).textContent = yes;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.showModal();
  });
}

/** An error as words for the page: the hub's message and code. @param {unknown} err */
export function describe(err) {
  if (err && typeof err === 'object' && 'code' in err) {
    const e = /** @type {{code: string, message?: string}} */ (err);
    return e.message ? `${e.message} (${e.code})` : e.code;
  }
  return err instanceof Error ? err.message : String(err);
}
