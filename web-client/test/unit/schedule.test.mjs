// Scheduled sessions (PROTOCOL.md "Scheduled sessions") as the SDK keeps them: when the session
// ends (`welcome.ends_at`, a resumed welcome, `session_ending`, `session_rescheduled`), the
// `session-ending` and `session-rescheduled` events, and `extendSession` on the wire.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeetingState, HuddleError } from '../../sdk/state.js';
import { fakeNetwork, joinedMeeting } from './helpers.mjs';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };

const END = 1795003600000;

/**
 * A welcome as `you` into the main room with the other one; `over` replaces fields (a Meeting
 * test gives `peers: []`: no peer connections without WebRTC).
 */
function welcome(you = alex, over = {}) {
  return {
    type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main', peers: [you === host ? alex : host],
    chat: [], ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [7, 8] }], choosing: false,
    resume_token: 'tok-1', ...over,
  };
}
const names = (out) => out.events.map(([n]) => n);

test('welcome: ends_at is the session\'s end; without it there is none, and a first welcome is no reschedule', () => {
  const s = new MeetingState();
  assert.equal(s.endsAt, null);
  const out = s.handle(welcome(alex, { ends_at: END }));
  assert.equal(s.endsAt, END);
  assert.ok(!names(out).includes('session-rescheduled'));
  const plain = new MeetingState();
  plain.handle(welcome());
  assert.equal(plain.endsAt, null);
});

test('session_ending: an event with the hub\'s end and the seconds left; it is the end from then on', () => {
  const s = new MeetingState();
  s.handle(welcome(alex, { ends_at: END }));
  let out = s.handle({ type: 'session_ending', at: END, seconds: 300 });
  assert.deepEqual(out.events, [['session-ending', { at: END, seconds: 300 }]]);
  assert.deepEqual([out.connect, out.disconnect], [[], []]);
  // The hub's `at` wins over what the welcome said (it is the end the hub holds now).
  out = s.handle({ type: 'session_ending', at: END + 1000, seconds: 120 });
  assert.deepEqual(out.events, [['session-ending', { at: END + 1000, seconds: 120 }]]);
  assert.equal(s.endsAt, END + 1000);
});

test('session_ending reaches the waiting room too (before any welcome)', () => {
  const s = new MeetingState();
  s.handle({ type: 'waiting', meeting: 'demo', you: alex });
  const out = s.handle({ type: 'session_ending', at: END, seconds: 60 });
  assert.deepEqual(out.events, [['session-ending', { at: END, seconds: 60 }]]);
  assert.equal(s.endsAt, END);
});

test('session_rescheduled moves the end, or clears it when ends_at is absent', () => {
  const s = new MeetingState();
  s.handle(welcome(alex, { ends_at: END }));
  s.handle({ type: 'session_ending', at: END, seconds: 300 });
  let out = s.handle({ type: 'session_rescheduled', ends_at: END + 600_000 });
  assert.deepEqual(out.events, [['session-rescheduled', { endsAt: END + 600_000 }]]);
  assert.equal(s.endsAt, END + 600_000);
  out = s.handle({ type: 'session_rescheduled' });
  assert.deepEqual(out.events, [['session-rescheduled', { endsAt: null }]]);
  assert.equal(s.endsAt, null);
  // Also an explicit null (the schema allows it).
  s.handle({ type: 'session_rescheduled', ends_at: END });
  s.handle({ type: 'session_rescheduled', ends_at: null });
  assert.equal(s.endsAt, null);
});

test('a resumed welcome with another end than we knew says so (it moved while we were away); the same end says nothing', () => {
  const s = new MeetingState();
  s.handle(welcome(alex, { ends_at: END }));
  s.resumeRequest();
  let out = s.handle(welcome(alex, { ends_at: END, resumed: true, resume_token: 'tok-2' }));
  assert.ok(!names(out).includes('session-rescheduled'), 'unchanged: nothing to say');
  s.resumeRequest();
  out = s.handle(welcome(alex, { ends_at: END + 600_000, resumed: true, resume_token: 'tok-3' }));
  assert.deepEqual(out.events.filter(([n]) => n === 'session-rescheduled'), [['session-rescheduled', { endsAt: END + 600_000 }]]);
  assert.ok(names(out).indexOf('session-rescheduled') > names(out).indexOf('welcome'), 'after the welcome');
  assert.equal(s.endsAt, END + 600_000);
  // The end was taken away while we were away (a fresh seat here: the same holds).
  out = s.handle(welcome({ ...alex, id: 20 }, { resume_token: 'tok-4' }));
  assert.deepEqual(out.events.filter(([n]) => n === 'session-rescheduled'), [['session-rescheduled', { endsAt: null }]]);
  assert.equal(s.endsAt, null);
});

test('Meeting: endsAt follows the hub; extendSession sends extend_session {secs} and resolves on ack', async (t) => {
  fakeNetwork(t);
  const { m, ws, events } = await joinedMeeting(t, welcome(host, { ends_at: END, peers: [] }), { listen: ['session-ending', 'session-rescheduled'] });
  assert.equal(m.endsAt, END);
  ws.receive({ type: 'session_ending', at: END, seconds: 300 });
  assert.deepEqual(events, [['session-ending', { at: END, seconds: 300 }]]);
  const asked = m.extendSession(600);
  const frame = ws.sent.at(-1);
  assert.deepEqual({ ...frame, id: undefined }, { type: 'extend_session', secs: 600, id: undefined });
  assert.equal(typeof frame.id, 'number');
  ws.receive({ type: 'session_rescheduled', ends_at: END + 600_000 });
  ws.receive({ type: 'ack', ref: frame.id });
  await asked;
  assert.equal(m.endsAt, END + 600_000);
  assert.deepEqual(events.at(-1), ['session-rescheduled', { endsAt: END + 600_000 }]);
});

test('Meeting.extendSession: the hub\'s refusal rejects with its code', async (t) => {
  fakeNetwork(t);
  const { m, ws } = await joinedMeeting(t, welcome(host, { peers: [] }));
  const asked = m.extendSession(600);
  ws.receive({ type: 'error', code: 'conflict', message: 'this meeting has no scheduled end', ref: ws.sent.at(-1).id });
  await assert.rejects(asked, (e) => e instanceof HuddleError && e.code === 'conflict');
  assert.equal(m.endsAt, null);
});

test('close 4012 (not_started) is terminal: closed with the hub\'s not_started error, and join() rejects with it', async (t) => {
  fakeNetwork(t);
  const { Meeting } = await import('../../sdk/huddle.js');
  const { FakeSocket } = await import('./helpers.mjs');
  const m = new Meeting({ token: 'a.b.c', media: null });
  const closed = [];
  m.addEventListener('closed', (e) => closed.push(e.detail));
  const joined = m.connect();
  await new Promise((resolve) => setImmediate(resolve));
  const ws = FakeSocket.all.at(-1);
  ws.open();
  ws.receive({ type: 'error', code: 'not_started', message: 'this session has not opened yet' });
  ws.drop(4012);
  await assert.rejects(joined, (e) => e instanceof HuddleError && e.code === 'not_started');
  assert.equal(closed.length, 1);
  assert.equal(closed[0].code, 4012);
  assert.equal(closed[0].reason, 'not_started');
  assert.equal(closed[0].reconnectable, false);
  assert.equal(closed[0].error?.code, 'not_started');
  assert.equal(FakeSocket.all.length, 1, 'no reconnect');
});
