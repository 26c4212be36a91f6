// Message handling without a socket: what each hub message means for the app (events), for the
// WebRTC mesh (connect / disconnect), and for pending requests; plus close codes and backoff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeetingState, Requests, HuddleError } from '../../sdk/state.js';
import { backoffMs, closeKind } from '../../sdk/wire.js';
import { hubSocketUrl, tokenRole } from '../../sdk/huddle.js';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const sam = { id: 9, name: 'Sam', role: 'participant' };
const jordan = { id: 10, name: 'Jordan', role: 'participant' };

/** Welcomed into the main room with the other three (as Alex unless said). */
function welcomed(you = alex) {
  const s = new MeetingState();
  s.handle({
    type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main',
    peers: [host, alex, sam, jordan].filter((p) => p.id !== you.id), resume_token: 'r1',
    chat: [{ id: 1, seq: 1, room: 'main', from: 7, text: 'Welcome', ts: 1 }],
    ice_servers: [{ urls: ['stun:stun.example.org:3478'] }],
    rooms: [{ id: 'main', name: 'Main room', members: [7, 8, 9, 10] }], choosing: false,
  });
  return s;
}
const names = (out) => out.events.map(([n]) => n);

test('welcome: connect to everyone in the room; history, rooms and roster', () => {
  const s = new MeetingState();
  const out = s.handle({
    type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [host, sam],
    chat: [], ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [7, 8, 9] }],
    choosing: false,
  });
  assert.deepEqual(out.connect.map((p) => p.id), [7, 9]);
  assert.deepEqual(out.disconnect, []);
  assert.deepEqual(names(out), ['welcome', 'rooms', 'peers']);
  assert.deepEqual(s.room, { id: 'main', name: 'Main room', topic: null });
  assert.equal(s.nameOf(7), 'Dr. Rivera');
});

test('every server example is handled without throwing', () => {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'proto', 'examples', 'server');
  for (const f of readdirSync(dir)) {
    // The examples are about Alex (8) as others see him, or addressed to him.
    const s = welcomed(/^peer_reconnect/.test(f) ? host : alex);
    const out = s.handle(JSON.parse(readFileSync(join(dir, f), 'utf8')));
    assert.ok(out.events.length > 0 || out.signal || out.media || out.answer || out.pong, f);
  }
});

test('peer_joined and peer_left open and close one connection', () => {
  const s = welcomed();
  const casey = { id: 11, name: 'Casey', role: 'participant' };
  let out = s.handle({ type: 'peer_joined', peer: casey });
  assert.deepEqual(out.connect, [casey]);
  assert.deepEqual(names(out), ['peer-joined', 'peers', 'rooms']);
  out = s.handle({ type: 'peer_left', id: 9, reason: 'moved' });
  assert.deepEqual(out.disconnect, [9]);
  assert.equal(out.events[0][1].reason, 'moved');
  assert.equal(out.events[0][1].peer.name, 'Sam');
  assert.deepEqual(s.peerList().map((p) => p.id), [7, 10, 11]);
});

test('room_changed keeps connections to people who came along, closes the rest, opens new ones', () => {
  const s = welcomed(); // room: 7, 9, 10
  const casey = { id: 11, name: 'Casey', role: 'participant' };
  const out = s.handle({
    type: 'room_changed', room: 'b1', name: 'Circle A', topic: 'A small win', peers: [sam, casey],
    chat: [{ id: 5, seq: 1, room: 'b1', from: 11, text: 'hi', ts: 2 }],
  });
  assert.deepEqual(out.disconnect.sort((x, y) => x - y), [7, 10]);
  assert.deepEqual(out.connect.map((p) => p.id), [11]);
  assert.deepEqual(s.room, { id: 'b1', name: 'Circle A', topic: 'A small win' });
  assert.deepEqual(s.chat.map((m) => m.id), [5], 'history is the new room\'s');
  assert.equal(s.nameOf(7), 'Dr. Rivera', 'people in other rooms keep their names');
});

test('rooms updates the list, the timer, choosing, and our room\'s topic', () => {
  const s = welcomed();
  const out = s.handle({
    type: 'rooms', rooms: [{ id: 'main', name: 'Main room', topic: 'Check-in', members: [7, 8] }, { id: 'b1', name: 'Room 1', members: [9, 10] }],
    closes_at: 1795000600000, choosing: true,
  });
  assert.deepEqual(names(out), ['rooms']);
  assert.equal(out.events[0][1].closesAt, 1795000600000);
  assert.equal(out.events[0][1].choosing, true);
  assert.equal(s.room.topic, 'Check-in');
  assert.equal(s.roomOf(9), 'b1');
});

test('rooms after a rotate split tell the round (event and state); a merge clears it', () => {
  const s = welcomed();
  assert.equal(s.round, null);
  assert.equal(s.roomsDetail().round, null);
  let out = s.handle({
    type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [7, 10] }, { id: 'b5', name: 'Pair 1', members: [8, 9] }],
    choosing: false, round: 2,
  });
  assert.deepEqual(names(out), ['rooms']);
  assert.equal(out.events[0][1].round, 2);
  assert.equal(s.round, 2);
  out = s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [7, 8, 9, 10] }], choosing: false });
  assert.equal(out.events[0][1].round, null, 'no round once the pairs are merged');
  assert.equal(s.round, null);
});

test('chat: group messages join the history, private ones do not', () => {
  const s = welcomed();
  let out = s.handle({ type: 'chat', id: 2, seq: 2, room: 'main', from: 9, text: 'hello', ts: 3 });
  assert.equal(out.events[0][1].private, false);
  out = s.handle({ type: 'chat', id: 3, seq: 0, room: 'main', from: 9, to: 8, text: 'psst', ts: 4 });
  assert.equal(out.events[0][1].private, true);
  assert.equal(out.events[0][1].message.to, 8);
  assert.deepEqual(s.chat.map((m) => m.id), [1, 2]);
});

test('signals go to the mesh; app data goes to the app, whatever its keys', () => {
  const s = welcomed();
  const sig = s.handle({ type: 'signal', from: 9, data: { candidate: { candidate: 'c' } } });
  assert.deepEqual(sig.signal, { from: 9, data: { candidate: { candidate: 'c' } } });
  assert.deepEqual(sig.events, []);
  const app = s.handle({ type: 'data', from: 9, payload: { step: 3 } });
  assert.deepEqual(app.events, [['data', { from: 9, payload: { step: 3 }, private: false }]]);
  // The key older SDKs used for media state is nobody's business now: plain app data.
  const old = s.handle({ type: 'data', from: 9, payload: { huddle_media: { audio: false, video: true } } });
  assert.equal(old.events[0][0], 'data');
  assert.deepEqual(s.mediaOf(9), { audio: true, video: true, screen: false });
});

test('pong is recognised and means nothing else', () => {
  const s = welcomed();
  assert.deepEqual(s.handle({ type: 'pong' }), { events: [], connect: [], disconnect: [], pong: true });
});

test('peer ids may be large numbers (up to 2^53): exact, ordered, and never shown as labels', () => {
  const big = 1795000123456789; // < 2^53
  const s = new MeetingState();
  s.handle({
    type: 'welcome', protocol: 1, you: { ...alex, id: big + 1 }, meeting: 'demo', room: 'main',
    peers: [{ ...host, id: big }], chat: [], ice_servers: [],
    rooms: [{ id: 'main', name: 'Main room', members: [big, big + 1, big + 7, big + 9] }], choosing: false,
  });
  const parsed = JSON.parse(`{"id": ${big + 9}}`).id;
  assert.equal(parsed, big + 9, 'JSON numbers this size are exact');
  assert.equal(s.nameOf(big), 'Dr. Rivera');
  // Someone only ever in another room: a small label of our own, the same each time.
  assert.equal(s.nameOf(big + 9), 'Person 1');
  assert.equal(s.nameOf(big + 7), 'Person 2');
  assert.equal(s.nameOf(big + 9), 'Person 1');
  assert.ok(!s.nameOf(big + 7).includes(String(big)));
});

test('host-facing events name people and rooms', () => {
  const s = welcomed();
  s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [7, 8] }, { id: 'b1', name: 'Circle A', members: [9] }], choosing: false });
  const out = s.handle({ type: 'help_requested', from: 9, room: 'b1', ts: 5 });
  assert.deepEqual(out.events[0], ['help-requested', { from: 9, name: 'Sam', room: 'b1', roomName: 'Circle A', ts: 5, replayed: false }]);
  const closing = s.handle({ type: 'breakout_closing', closes_at: 100, seconds: 60 });
  assert.deepEqual(closing.events[0], ['breakout-closing', { closesAt: 100, seconds: 60, replayed: false }]);
  assert.equal(s.closesAt, 100);
});

test('ack and error answer requests; errors without ref are events', async () => {
  const s = welcomed();
  const r = new Requests();
  const a = r.create();
  const b = r.create();
  const c = r.create();
  assert.notEqual(a.id, b.id);
  assert.equal(r.settle(s.handle({ type: 'ack', ref: a.id }).answer), true);
  await a.promise;
  const refused = s.handle({ type: 'error', code: 'forbidden', message: 'hosts only', ref: b.id });
  r.settle(refused.answer);
  await assert.rejects(b.promise, (e) => e instanceof HuddleError && e.code === 'forbidden');
  assert.equal(r.settle({ ref: 999 }), false, 'unknown refs are ignored');
  r.failAll('socket closed');
  await assert.rejects(c.promise, (e) => e.code === 'closed');
  const general = s.handle({ type: 'error', code: 'rate_limited', message: 'slow down' });
  assert.deepEqual(general.events, [['error', { code: 'rate_limited', message: 'slow down' }]]);
});

test('lastError: the last error without ref (why a close is coming), until the next welcome', () => {
  const s = new MeetingState();
  s.handle({ type: 'error', code: 'unauthorized', message: 'bad token' });
  assert.deepEqual(s.lastError, { code: 'unauthorized', message: 'bad token' });
  s.handle({ type: 'error', code: 'forbidden', message: 'hosts only', ref: 3 });
  assert.equal(s.lastError.code, 'unauthorized', 'an answer to a request is not it');
  const w = welcomed();
  w.handle({ type: 'error', code: 'resume_expired', message: 'nothing to resume' });
  assert.equal(w.lastError.code, 'resume_expired', 'also the one the SDK handles itself');
  w.handle({ type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [], chat: [],
    ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [8] }], choosing: false });
  assert.equal(w.lastError, null);
});

test('closed for good: nothing to resume, no one in the room', () => {
  const s = welcomed();
  assert.deepEqual(s.closed(), [['peers', { peers: [] }]]);
  assert.deepEqual(s.peerList(), []);
  assert.equal(s.resumeRequest(), null);
  assert.equal(s.nameOf(7), 'Dr. Rivera', 'names stay for what the app still shows');
});

test('unknown message types from a newer hub are ignored', () => {
  const s = welcomed();
  assert.deepEqual(s.handle({ type: 'future_thing' }), { events: [], connect: [], disconnect: [] });
});

test('close codes: 40xx and 1009 terminal, 41xx and 1001 reconnectable', () => {
  for (const c of [4001, 4002, 4003, 4004, 4005, 4012, 1009]) assert.equal(closeKind(c), 'terminal', String(c));
  for (const c of [1001, 4101, 4102, 4103, 4104, 4105, 4106, 1006]) assert.equal(closeKind(c), 'reconnectable', String(c));
  assert.equal(closeKind(1000), 'normal');
});

test('close codes outside the hub\'s table: a 40xx a newer hub adds is terminal, anything else reconnectable', () => {
  for (const c of [4013, 4099]) assert.equal(closeKind(c), 'terminal', String(c));
  for (const c of [1005, 1006, 1011, 4107, 4199, 4500]) assert.equal(closeKind(c), 'reconnectable', String(c));
});

test('backoff: 1 s, 2 s, 4 s … capped at 30 s, jitter at most 20 %', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffMs(n, 0)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(backoffMs(1, 0.999), 1200);
});

test('hub URL and token role hint', () => {
  assert.equal(hubSocketUrl('http://127.0.0.1:8090/#token=abc'), 'ws://127.0.0.1:8090/v1/ws');
  assert.equal(hubSocketUrl('https://hub.example/huddle/'), 'wss://hub.example/huddle/v1/ws');
  assert.equal(hubSocketUrl('wss://hub.example/v1/ws'), 'wss://hub.example/v1/ws');
  const payload = Buffer.from(JSON.stringify({ role: 'observer', name: 'Obs' })).toString('base64url');
  assert.equal(tokenRole(`eyJhbGciOiJIUzI1NiJ9.${payload}.sig`), 'observer');
  assert.equal(tokenRole('garbage'), null);
});

test('the own room\'s member list follows joins and leaves (the hub sends rooms then only during breakouts)', () => {
  const s = new MeetingState();
  s.handle({ type: 'welcome', protocol: 1, you: host, meeting: 'demo', room: 'main', peers: [], chat: [],
    ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [7] }], choosing: false });
  let out = s.handle({ type: 'peer_joined', peer: alex });
  assert.deepEqual(names(out), ['peer-joined', 'peers', 'rooms']);
  s.handle({ type: 'peer_joined', peer: sam });
  assert.deepEqual(s.rooms[0].members, [7, 8, 9]);
  out = s.handle({ type: 'peer_left', id: 8, reason: 'left' });
  assert.deepEqual(s.rooms[0].members, [7, 9]);
  assert.equal(names(out).at(-1), 'rooms');
  // A hub list that already agrees produces no extra event.
  s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [7, 9, 10] }], choosing: false });
  out = s.handle({ type: 'peer_joined', peer: jordan });
  assert.deepEqual(names(out), ['peer-joined', 'peers']);
});

test('room_changed never lists ourselves as a peer (newer hubs include the recipient)', () => {
  const s = welcomed(); // we are Alex (8)
  const out = s.handle({ type: 'room_changed', room: 'b1', name: 'Circle A', peers: [alex, sam], chat: [] });
  assert.deepEqual(out.connect, []);
  assert.deepEqual(s.peerList().map((p) => p.id), [9]);
  assert.deepEqual(out.disconnect.sort((x, y) => x - y), [7, 10]);
});

test('a roster entry without a role is a participant (the hub leaves the default out)', () => {
  const s = new MeetingState();
  s.handle({
    type: 'welcome', protocol: 1, you: { id: 8, name: 'Alex' }, meeting: 'demo', room: 'main',
    peers: [{ id: 7, name: 'Dr. Rivera', role: 'host' }, { id: 9, name: 'Sam' }], chat: [], ice_servers: [],
    rooms: [{ id: 'main', name: 'Main room', members: [7, 8, 9] }], choosing: false, resume_token: 't',
  });
  assert.equal(s.you?.role, 'participant');
  assert.deepEqual(s.peerList().map((p) => p.role), ['host', 'participant']);
  s.handle({ type: 'peer_joined', peer: { id: 10, name: 'Jo' } });
  assert.equal(s.peers.get(10)?.role, 'participant');
});

test('staff chat is its own series: it neither hides nor is hidden by a group message of the same id', () => {
  const s = welcomed();
  let out = s.handle({ type: 'chat', id: 50, seq: 9, room: 'main', from: 7, text: 'hello', ts: 1 });
  assert.deepEqual(names(out), ['chat']);
  out = s.handle({ type: 'chat', id: 50, seq: 0, room: 'main', from: 7, channel: 'staff', text: 'check on Sam', ts: 2 });
  assert.deepEqual(names(out), ['staff-chat']);
  assert.equal(out.events[0][1].message.channel, 'staff');
  assert.ok(s.chat.every((c) => c.channel == null), 'kept out of the room history');
  out = s.handle({ type: 'chat', id: 50, seq: 0, room: 'main', from: 7, channel: 'staff', text: 'check on Sam', ts: 2 });
  assert.equal(out.events.length, 0, 'a repeat is dropped');
});

test('reactions arrive with the sender\'s name, and a host turning them off is remembered', () => {
  const s = welcomed();
  let out = s.handle({ type: 'reaction', from: 9, reaction: 'me_too' });
  assert.deepEqual(names(out), ['reaction']);
  assert.equal(out.events[0][1].reaction, 'me_too');
  out = s.handle({ type: 'reactions_enabled', enabled: false });
  assert.equal(s.reactionsOff, true);
});
