// Resume after a drop, without a network: what `hello.resume` says, how a resumed welcome's
// chat is appended or replaces the log (each message reaches the app once), peers whose seat
// the hub holds (peer_reconnecting / peer_reconnected / timeout), and the Meeting's reconnect
// loop against a fake WebSocket: resume after a drop, a fresh hello at once after 4106, and the
// resume token kept out of storage.

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { MeetingState } from '../../sdk/state.js';
import { FakeSocket, fakeNetwork, joinedMeeting } from './helpers.mjs';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const sam = { id: 9, name: 'Sam', role: 'participant' };
const rooms = [{ id: 'main', name: 'Main room', members: [7, 8, 9] }];
const chat = (id, from, text, extra = {}) => ({ id, seq: id, room: 'main', from, text, ts: 1000 + id, ...extra });

/** A welcome for Alex; `over` replaces fields. */
function welcome(over = {}) {
  return {
    type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [host, sam],
    chat: [chat(1, 7, 'Welcome')], ice_servers: [], rooms, choosing: false, resume_token: 'tok-1', ...over,
  };
}

/** Alex, welcomed, who then got two more messages (one private) and has the token `tok-1`. */
function joined() {
  const s = new MeetingState();
  s.handle(welcome());
  s.handle({ type: 'chat', ...chat(2, 9, 'hi') });
  s.handle({ type: 'chat', ...chat(3, 7, 'psst', { to: 8 }) });
  return s;
}
const names = (out) => out.events.map(([n]) => n);
const chatEvents = (out) => out.events.filter(([n]) => n === 'chat').map(([, d]) => d.message.id);

test('hello.resume: the latest token, our room and the highest group and private chat ids', () => {
  const s = new MeetingState();
  assert.equal(s.resumeRequest(), null, 'nothing to resume before a welcome');
  s.handle({ type: 'waiting', meeting: 'demo', you: alex });
  assert.equal(s.resumeRequest(), null, 'the waiting room holds no seat');
  const j = joined();
  assert.deepEqual(j.resumeRequest(), { token: 'tok-1', room: 'main', last_chat: 2, last_private: 3 });
  j.handle({ type: 'room_changed', room: 'b1', name: 'Circle A', peers: [alex, sam], chat: [{ ...chat(5, 9, 'b1 talk'), room: 'b1' }] });
  assert.deepEqual(j.resumeRequest(), { token: 'tok-1', room: 'b1', last_chat: 5, last_private: 3 },
    'history received counts; a room change keeps our private series');
});

test('resumed welcome in the same room: missed messages are appended and given once, in order', () => {
  const s = joined();
  s.resumeRequest();
  const out = s.handle(welcome({
    resumed: true, resume_token: 'tok-2',
    // The hub sends only what was missed; a repeat of one we had (id 2) must not reach the app twice.
    chat: [chat(2, 9, 'hi'), chat(4, 7, 'missed group'), chat(5, 9, 'missed private', { to: 8 }), chat(6, 8, 'mine, lost in flight')],
  }));
  assert.deepEqual(names(out).slice(0, 3), ['welcome', 'rooms', 'peers']);
  assert.equal(out.events[0][1].resumed, true);
  assert.deepEqual(chatEvents(out), [4, 5, 6]);
  assert.equal(out.events.find(([n, d]) => n === 'chat' && d.message.id === 5)[1].private, true);
  assert.deepEqual(s.chat.map((m) => m.id), [1, 2, 4, 6], 'the group log: appended, private ones apart');
  assert.deepEqual(out.events[0][1].chat.map((m) => m.id), [1, 2, 4, 6]);
  assert.equal(s.resumeToken, 'tok-2', 'every welcome brings a new token');
  assert.equal(s.resumeRequest().last_chat, 6);
  // A live message the replay already brought is not given again.
  assert.deepEqual(s.handle({ type: 'chat', ...chat(6, 8, 'mine, lost in flight') }).events, []);
});

test('resumed welcome in another room (moved meanwhile): the log is replaced, like room_changed', () => {
  const s = joined();
  s.resumeRequest(); // names "main"
  const b1 = (id, from, text, extra) => ({ ...chat(id, from, text, extra), room: 'b1' });
  const out = s.handle(welcome({
    resumed: true, room: 'b1', peers: [sam],
    rooms: [{ id: 'main', name: 'Main room', members: [7] }, { id: 'b1', name: 'Circle A', members: [8, 9] }],
    chat: [b1(4, 9, 'earlier in b1'), b1(5, 7, 'missed private', { to: 8 })],
  }));
  assert.deepEqual(names(out).slice(0, 2), ['welcome', 'room-changed']);
  assert.deepEqual(s.room, { id: 'b1', name: 'Circle A', topic: null });
  assert.deepEqual(s.chat.map((m) => m.id), [4], 'replaced by the new room\'s history');
  assert.deepEqual(chatEvents(out), [5], 'only the missed private message comes as an event');
  assert.deepEqual(out.disconnect.sort(), [7, 9]);
  assert.deepEqual(out.connect.map((p) => p.id), [9], 'the mesh is rebuilt from the welcome');
});

test('a fresh welcome after a refused resume: new id, the room\'s history, a new seat', () => {
  const s = joined();
  s.handRaised = true;
  s.resumeRequest();
  const refused = s.handle({ type: 'error', code: 'resume_expired', message: 'nothing to resume: join again' });
  assert.deepEqual(refused.events, [], 'the SDK handles it; it is not the app\'s error');
  assert.equal(s.resumeRequest(), null, 'the next hello has no resume');
  const out = s.handle(welcome({ you: { ...alex, id: 12 }, chat: [chat(1, 7, 'Welcome'), chat(2, 9, 'hi')], resume_token: 'tok-3' }));
  assert.equal(out.events[0][1].resumed, false);
  assert.deepEqual(chatEvents(out), [], 'history is not news');
  assert.deepEqual(s.chat.map((m) => m.id), [1, 2]);
  assert.equal(s.handRaised, false);
  assert.equal(s.resumeToken, 'tok-3');
  assert.equal(s.resumeRequest().last_chat, 2);
});

test('a resumed welcome says the seat\'s hand and the lock as they are now', () => {
  const s = joined();
  s.resumeRequest();
  s.handle(welcome({ resumed: true, chat: [], you: { ...alex, hand: true }, locked: true }));
  assert.equal(s.handRaised, true);
  assert.equal(s.locked, true);
  // A host lowered it and unlocked while we were away.
  s.resumeRequest();
  const out = s.handle(welcome({ resumed: true, chat: [], resume_token: 'tok-3' }));
  assert.equal(s.handRaised, false);
  assert.equal(s.locked, false);
  assert.deepEqual(out.events.find(([n]) => n === 'hand'), ['hand', { raised: false, byHost: true }]);
});

test('notices replayed after a resumed welcome: marked, and a closing warning whose timer is gone is dropped', () => {
  const s = joined();
  s.resumeRequest();
  // The rooms closed while we were away: the welcome has no timer. Three notices follow it.
  s.handle(welcome({ resumed: true, chat: [], resume_token: 'tok-2', replayed: 3 }));
  let out = s.handle({ type: 'breakout_closing', closes_at: 5000, seconds: 60 });
  assert.deepEqual(out.events, [], 'no stale countdown');
  assert.equal(s.closesAt, null);
  out = s.handle({ type: 'broadcast', from: 7, text: 'Back in five', ts: 4000 });
  assert.deepEqual(out.events, [['broadcast', { from: 7, text: 'Back in five', ts: 4000, replayed: true, room: null, roomName: null }]]);
  out = s.handle({ type: 'mute_requested', by: 7, audio: true, video: false });
  assert.equal(out.events[0][1].replayed, true);
  // `welcome.replayed` counted three: what follows is live, whatever its type.
  out = s.handle({ type: 'broadcast', from: 7, text: 'Now', ts: 6000 });
  assert.equal(out.events[0][1].replayed, false);
  out = s.handle({ type: 'breakout_closing', closes_at: 9000, seconds: 60 });
  assert.deepEqual(out.events, [['breakout-closing', { closesAt: 9000, seconds: 60, replayed: false }]],
    'a live warning comes before the room list that carries its timer');
});

test('a replayed closing warning for the timer still running is kept, to count to closes_at', () => {
  const s = joined();
  s.resumeRequest();
  s.handle(welcome({ resumed: true, chat: [], closes_at: 9000, replayed: 1, rooms: [...rooms, { id: 'b1', name: 'Circle A', members: [] }] }));
  const out = s.handle({ type: 'breakout_closing', closes_at: 9000, seconds: 60 });
  assert.deepEqual(out.events, [['breakout-closing', { closesAt: 9000, seconds: 60, replayed: true }]]);
  // A fresh seat replays nothing.
  s.handle(welcome({ you: { ...alex, id: 20 }, chat: [] }));
  assert.equal(s.handle({ type: 'broadcast', from: 7, text: 'x', ts: 1 }).events[0][1].replayed, false);
});

test('peer_reconnecting keeps them on the roster, marked, without a connection; peer_reconnected connects again', () => {
  const s = joined();
  let out = s.handle({ type: 'peer_reconnecting', id: 9 });
  assert.deepEqual(out.disconnect, [9]);
  assert.deepEqual(out.connect, []);
  assert.deepEqual(names(out), ['peer-reconnecting', 'peers']);
  assert.deepEqual(s.peerList().map((p) => [p.id, !!p.reconnecting]), [[7, false], [9, true]]);
  out = s.handle({ type: 'peer_reconnected', id: 9 });
  assert.deepEqual(out.disconnect, [9], 'any old connection goes first');
  assert.deepEqual(out.connect.map((p) => p.id), [9]);
  assert.equal(s.peers.get(9).reconnecting, undefined);
  assert.deepEqual(names(out), ['peer-reconnected', 'peers']);
});

test('peer_left timeout: the grace ended without a resume', () => {
  const s = joined();
  s.handle({ type: 'peer_reconnecting', id: 9 });
  const out = s.handle({ type: 'peer_left', id: 9, reason: 'timeout' });
  assert.deepEqual(out.events[0], ['peer-left', { id: 9, reason: 'timeout', peer: { ...sam, reconnecting: true } }]);
  assert.deepEqual(s.peerList().map((p) => p.id), [7]);
  assert.deepEqual(s.steppedOutList(), []);
});

test('people whose seat is held are not connected to from rosters (welcome, room_changed, peer_joined)', () => {
  const s = new MeetingState();
  let out = s.handle(welcome({ peers: [host, { ...sam, reconnecting: true }] }));
  assert.deepEqual(out.connect.map((p) => p.id), [7]);
  assert.equal(s.peers.get(9).reconnecting, true, 'but they are on the roster');
  out = s.handle({ type: 'room_changed', room: 'b1', name: 'Circle A', peers: [alex, { ...host, reconnecting: true }], chat: [] });
  assert.deepEqual(out.connect, []);
  assert.deepEqual(out.disconnect.sort(), [7, 9]);
  out = s.handle({ type: 'peer_joined', peer: { ...sam, reconnecting: true } });
  assert.deepEqual(out.connect, []);
  out = s.handle({ type: 'peer_reconnected', id: 9 });
  assert.deepEqual(out.connect.map((p) => p.id), [9]);
});

// ---- the reconnect loop, with a fake WebSocket ----

test('Meeting: after a drop it asks for its seat back; after 4106 it joins afresh at once', async (t) => {
  const globals = { sessionStorage: globalThis.sessionStorage, localStorage: globalThis.localStorage };
  const stored = [];
  const storage = { setItem: (k, v) => stored.push([k, v]), getItem: () => null, removeItem() {} };
  Object.assign(globalThis, { sessionStorage: storage, localStorage: storage });
  t.after(() => Object.assign(globalThis, globals));
  fakeNetwork(t, { apis: ['setTimeout'] });
  const { m, events, ws: first } = await joinedMeeting(t, welcome({ peers: [], chat: [chat(1, 7, 'Welcome'), chat(2, 9, 'hi')] }),
    { listen: ['reconnecting', 'reconnected', 'chat', 'closed'] });
  let ws = first;
  assert.equal(ws.sent[0].resume, undefined, 'the first hello has no resume');

  ws.drop(1006);
  assert.deepEqual(events.at(-1)[0], 'reconnecting');
  assert.equal(events.at(-1)[1].resuming, true);
  assert.ok(events.at(-1)[1].delayMs >= 1000, 'backoff');
  mock.timers.tick(events.at(-1)[1].delayMs);
  ws = FakeSocket.all.at(-1);
  ws.open();
  assert.deepEqual(ws.sent[0].resume, { token: 'tok-1', room: 'main', last_chat: 2, last_private: 0 });
  ws.receive(welcome({ peers: [], resumed: true, resume_token: 'tok-2', chat: [chat(3, 9, 'missed')] }));
  assert.deepEqual(events.slice(-2).map(([n]) => n), ['chat', 'reconnected'], 'the missed message, then the all-clear');
  assert.deepEqual(events.at(-1), ['reconnected', { you: alex, resumed: true }]);
  assert.deepEqual(m.chatHistory.map((c) => c.id), [1, 2, 3]);

  // The hub restarted (or the grace ended): the resume is refused; a plain hello follows at once.
  ws.drop(1006);
  mock.timers.tick(events.at(-1)[1].delayMs);
  ws = FakeSocket.all.at(-1);
  ws.open();
  assert.equal(ws.sent[0].resume.token, 'tok-2');
  ws.receive({ type: 'error', code: 'resume_expired', message: 'nothing to resume: join again' });
  ws.drop(4106);
  assert.equal(events.at(-1)[0], 'reconnecting');
  assert.equal(events.at(-1)[1].delayMs, 0);
  assert.equal(events.at(-1)[1].resuming, false);
  mock.timers.tick(0);
  ws = FakeSocket.all.at(-1);
  ws.open();
  assert.equal(ws.sent[0].type, 'hello');
  assert.equal(ws.sent[0].resume, undefined);
  ws.receive(welcome({ you: { ...alex, id: 14 }, peers: [], resume_token: 'tok-4', chat: [] }));
  assert.deepEqual(events.at(-1), ['reconnected', { you: { ...alex, id: 14 }, resumed: false }]);

  m.leave();
  assert.equal(m.state.resumeToken, null, 'forgotten on leave');
  assert.deepEqual(stored, [], 'nothing in storage');
});

test('Meeting: a terminal close empties the roster, says why, and does not reconnect', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  // People whose seat is held: on the roster, with no peer connection (there is no WebRTC here).
  const held = [host, sam].map((p) => ({ ...p, reconnecting: true }));
  const { m, ws, events } = await joinedMeeting(t, welcome({ peers: held }), { listen: ['peers', 'reconnecting', 'closed'] });
  assert.deepEqual(m.peers.map((p) => p.id), [7, 9]);
  ws.receive({ type: 'error', code: 'forbidden', message: 'removed by a host' });
  ws.drop(4008);
  assert.deepEqual(events.slice(-2), [
    ['peers', { peers: [] }],
    ['closed', { code: 4008, reason: 'removed', error: { code: 'forbidden', message: 'removed by a host' }, reconnectable: false }],
  ]);
  assert.deepEqual(m.peers, []);
  assert.equal(m.state.resumeRequest(), null, 'nothing to resume');
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1, 'no new socket');
  assert.equal(events.filter(([n]) => n === 'reconnecting').length, 0);
});

test('group and private ids are separate series: the same number in each is two messages', () => {
  const s = joined();
  const group = s.handle({ type: 'chat', ...chat(7, 9, 'group seven') });
  const priv = s.handle({ type: 'chat', ...chat(7, 9, 'private seven', { to: 8 }) });
  assert.deepEqual(chatEvents(group), [7]);
  assert.deepEqual(chatEvents(priv), [7], 'not taken for a repeat of group 7');
  assert.equal(priv.events[0][1].private, true);
  assert.deepEqual(s.resumeRequest(), { token: 'tok-1', room: 'main', last_chat: 7, last_private: 7 });
  // A real repeat in either series is still dropped.
  assert.deepEqual(s.handle({ type: 'chat', ...chat(7, 9, 'private seven', { to: 8 }) }).events, []);
});

test('a fresh welcome (a second tab) shows our private conversation so far and where it stands', () => {
  const s = new MeetingState();
  const out = s.handle(welcome({
    chat: [chat(1, 7, 'Welcome'), chat(1, 9, 'earlier, privately', { to: 8 }), chat(2, 8, 'my answer', { to: 9 })],
  }));
  assert.deepEqual(s.chat.map((m) => m.id), [1], 'the group log');
  assert.deepEqual(chatEvents(out), [1, 2], 'the private messages, as chat events');
  assert.deepEqual(s.resumeRequest(), { token: 'tok-1', room: 'main', last_chat: 1, last_private: 2 });
});
