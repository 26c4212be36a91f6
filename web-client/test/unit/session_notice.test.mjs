// The reference UI's notice of a scheduled session's end (app/schedule.js): its words, that they
// change about once a minute (the alerts region is polite), that the same end said again is no new
// alert, and that a moved end takes it away. The alerts are a fake with the same methods; no DOM.

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { SessionNotice, endingText, timeOfDay } from '../../app/schedule.js';

/** Alerts as app/alerts.js keeps them, recording what was added and every text change. */
class FakeAlerts {
  constructor() {
    /** @type {Map<string, {kind: string, text: string, ttlMs?: number}>} */
    this.items = new Map();
    this.added = [];
    this.changes = 0;
  }
  add(spec) { this.items.set(spec.key, { ...spec }); this.added.push(spec.key); }
  remove(key) { this.items.delete(key); }
  has(key) { return this.items.has(key); }
  setText(key, text) {
    const item = this.items.get(key);
    if (!item || item.text === text) return;
    item.text = text;
    this.changes += 1;
  }
  text(key) { return this.items.get(key)?.text ?? null; }
}

const NOW = 1_795_003_300_000;

function setup(t) {
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: NOW });
  t.after(() => mock.timers.reset());
  const meeting = new EventTarget();
  const alerts = new FakeAlerts();
  const abort = new AbortController();
  t.after(() => abort.abort());
  new SessionNotice(/** @type {any} */ (meeting), /** @type {any} */ (alerts), abort.signal);
  const emit = (name, detail) => meeting.dispatchEvent(new CustomEvent(name, { detail }));
  return { alerts, emit, abort };
}

test('the words: whole minutes, then less than a minute, then ending now; always the time of day', () => {
  const at = NOW + 300_000;
  const when = timeOfDay(at);
  assert.match(when, /\d{1,2}[:.]\d{2}/);
  assert.equal(endingText(300, at), `The session ends in 5 minutes (at ${when}).`);
  assert.equal(endingText(290, at), `The session ends in 5 minutes (at ${when}).`, 'a delayed notice still says 5');
  assert.equal(endingText(89, at), `The session ends in 1 minute (at ${when}).`);
  assert.equal(endingText(20, at), `The session ends in less than a minute (at ${when}).`);
  assert.equal(endingText(0, at), `The session is ending now (at ${when}).`);
});

test('session-ending: one alert, kept current about once a minute, gone 30 s after the end', (t) => {
  const { alerts, emit } = setup(t);
  const at = NOW + 300_000;
  emit('session-ending', { at, seconds: 300 });
  assert.deepEqual(alerts.added, ['session:ending']);
  assert.match(alerts.text('session:ending'), /^The session ends in 5 minutes \(at .+\)\.$/);
  assert.equal(alerts.items.get('session:ending').kind, 'session');
  for (let s = 0; s < 300; s++) mock.timers.tick(1000);
  assert.match(alerts.text('session:ending'), /^The session is ending now/);
  assert.ok(alerts.changes <= 6, `the words changed ${alerts.changes} times in 5 minutes`);
  for (let s = 0; s < 31; s++) mock.timers.tick(1000);
  assert.equal(alerts.has('session:ending'), false);
});

test('the count follows the hub\'s seconds (our clock may be off), the time of day its `at`', (t) => {
  const { alerts, emit } = setup(t);
  // Our clock is 4 minutes behind the hub's: `at` looks 9 minutes away, the hub says 5.
  const at = NOW + 540_000;
  emit('session-ending', { at, seconds: 300 });
  assert.equal(alerts.text('session:ending'), `The session ends in 5 minutes (at ${timeOfDay(at)}).`);
});

test('the same end said again (a resume, let in from the waiting room) is no new alert; dismissed, it stays dismissed', (t) => {
  const { alerts, emit } = setup(t);
  const at = NOW + 300_000;
  emit('session-ending', { at, seconds: 300 });
  mock.timers.tick(60_000);
  emit('session-ending', { at, seconds: 240 });
  assert.deepEqual(alerts.added, ['session:ending']);
  alerts.remove('session:ending'); // the person dismissed it
  emit('session-ending', { at, seconds: 200 });
  assert.equal(alerts.has('session:ending'), false);
});

test('session-rescheduled: the notice goes; a short one says the new end, or that there is none', (t) => {
  const { alerts, emit } = setup(t);
  const at = NOW + 120_000;
  emit('session-ending', { at, seconds: 120 });
  emit('session-rescheduled', { endsAt: at + 600_000 });
  assert.equal(alerts.has('session:ending'), false);
  assert.equal(alerts.text('session:moved'), `The session now ends at ${timeOfDay(at + 600_000)}.`);
  assert.ok(alerts.items.get('session:moved').ttlMs > 0, 'it goes by itself');
  mock.timers.tick(5000);
  assert.equal(alerts.changes, 0, 'nothing counts down any more');
  emit('session-rescheduled', { endsAt: null });
  assert.equal(alerts.text('session:moved'), 'The session no longer has a set end time.');
  // Moved to a near end again: the hub's fresh warning brings the notice back, and the short one goes.
  emit('session-ending', { at: NOW + 200_000, seconds: 195 });
  assert.equal(alerts.has('session:moved'), false);
  assert.match(alerts.text('session:ending'), /^The session ends in 3 minutes/);
});
