// The heartbeat: when a silent connection counts as dead (plain numbers), and the Meeting's use
// of it against a fake WebSocket and fake timers: it pings, a healthy socket is left alone, a
// stalled one is closed with 4100 and the seat resumed on a new socket, and a hidden tab whose
// timers run late does not reconnect for nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Heartbeat, PING_EVERY_MS, DEAD_AFTER_MS } from '../../sdk/heartbeat.js';
import { FakeSocket, advance, fakeNetwork, joinedMeeting } from './helpers.mjs';

test('defaults: a ping every 10 s, dead after 25 s', () => {
  assert.equal(PING_EVERY_MS, 10_000);
  assert.equal(DEAD_AFTER_MS, 25_000);
  assert.throws(() => new Heartbeat({ pingEveryMs: 5000, deadAfterMs: 5000 }), RangeError);
});

test('answered pings keep it alive; the next check is when something is due', () => {
  const h = new Heartbeat();
  h.start(0);
  assert.deepEqual(h.check(0), { ping: false, dead: false, next: 10_000 });
  for (let t = 10_000; t <= 120_000; t += 10_000) {
    const step = h.check(t);
    assert.deepEqual([step.ping, step.dead], [true, false], `at ${t}`);
    assert.equal(step.next, t + 10_000);
    h.heard(t + 40); // the pong
  }
});

test('silence after an unanswered ping: dead 25 s after the last frame', () => {
  const h = new Heartbeat();
  h.start(0);
  h.heard(3000); // the welcome
  let step = h.check(10_000);
  assert.equal(step.ping, true);
  step = h.check(step.next); // 20 s: still asking
  assert.deepEqual([step.ping, step.dead], [true, false]);
  assert.equal(step.next, 28_000, 'the verdict is due 25 s after the last frame');
  assert.equal(h.check(27_999).dead, false);
  assert.equal(h.check(28_000).dead, true);
});

test('any frame counts, not only pong', () => {
  const h = new Heartbeat();
  h.start(0);
  h.check(10_000);
  h.heard(24_000); // a chat message
  assert.equal(h.check(30_000).dead, false);
});

test('a connect that hangs is silence too', () => {
  const h = new Heartbeat({ pingEveryMs: 1000, deadAfterMs: 4000 });
  h.start(0); // socket created; no frame ever
  let step = h.check(0);
  let t = 0;
  while (!step.dead) {
    t = step.next;
    step = h.check(t);
  }
  assert.equal(t, 4000);
});

test('timers running late (a hidden tab) do not make a healthy connection look dead', () => {
  const h = new Heartbeat();
  h.start(0);
  // The browser runs our timer once a minute; the hub answers every ping at once.
  for (let t = 60_000; t <= 600_000; t += 60_000) {
    const step = h.check(t);
    assert.equal(step.dead, false, `at ${t}`);
    assert.equal(step.ping, true);
    h.heard(t + 50);
  }
  // Late, and the connection is really dead: the ping we send now gets 15 s to be answered.
  let step = h.check(660_000);
  assert.deepEqual([step.ping, step.dead], [true, false]);
  step = h.check(720_000);
  assert.equal(step.dead, true);
});

// ---- the Meeting with a fake socket and fake timers ----

const alex = { id: 1795000000008, name: 'Alex', role: 'participant' };
const welcome = (over = {}) => ({
  type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [], chat: [],
  ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [alex.id] }], choosing: false,
  resume_token: 'tok-1', ...over,
});

/** A Meeting welcomed on a fake socket, with fake timers. */
function joined(t, options = {}) {
  fakeNetwork(t);
  return joinedMeeting(t, welcome(), { options });
}

test('Meeting: pings on a healthy socket and leaves it alone while frames come', async (t) => {
  const { m, ws, events } = await joined(t);
  for (let i = 0; i < 12; i++) {
    advance(10_000, 1000);
    ws.receive({ type: 'pong' });
  }
  assert.equal(ws.pings(), 12);
  assert.equal(ws.closedWith, null);
  assert.deepEqual(events, []);
  assert.equal(m.ws, ws);
});

test('Meeting: a stalled socket is closed with 4100 and the seat resumed on a new one', async (t) => {
  const { m, ws, events } = await joined(t, { heartbeat: { pingEveryMs: 1000, deadAfterMs: 4000 } });
  advance(3900);
  assert.equal(ws.closedWith, null, 'not before the deadline');
  assert.equal(ws.pings(), 3);
  advance(100);
  assert.deepEqual(ws.closedWith, { code: 4100, reason: 'reconnecting' });
  assert.equal(events.length, 1);
  const [name, detail] = events[0];
  assert.equal(name, 'reconnecting');
  assert.deepEqual([detail.code, detail.reconnectable, detail.resuming], [4100, true, true],
    'without waiting for a close event that a dead connection may never deliver');
  advance(detail.delayMs);
  const next = FakeSocket.all.at(-1);
  assert.notEqual(next, ws);
  next.open();
  assert.equal(next.sent[0].type, 'hello');
  assert.equal(next.sent[0].resume.token, 'tok-1');
  next.receive(welcome({ resumed: true, resume_token: 'tok-2' }));
  assert.deepEqual(events.at(-1), ['reconnected', { you: alex, resumed: true }]);
  // A late close event from the old socket changes nothing.
  ws.onclose?.({ code: 1006, reason: '' });
  assert.equal(m.ws, next);
  assert.equal(events.length, 2);
});

test('Meeting: `heartbeat: false` sends no pings; leave() stops the timer', async (t) => {
  const { m, ws } = await joined(t, { heartbeat: false });
  advance(120_000, 1000);
  assert.equal(ws.pings(), 0);
  assert.equal(ws.closedWith, null);
  const { m: m2, ws: ws2 } = await joined(t);
  m2.leave();
  advance(120_000, 1000);
  assert.equal(ws2.pings(), 0);
  assert.equal(m.ws, ws);
});
