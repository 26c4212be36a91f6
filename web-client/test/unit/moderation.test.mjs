// Moderation state without a socket: the waiting room, raised hands, the lock, the audit feed,
// who stepped out (pull aside), whose microphone is off, and role changes, as MeetingState keeps
// them from hub messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeetingState, AUDIT_KEEP } from '../../sdk/state.js';
import { MEDIA_STATE_KEY } from '../../sdk/wire.js';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const sam = { id: 9, name: 'Sam', role: 'participant' };
const casey = { id: 12, name: 'Casey', role: 'participant' };

/** A state welcomed as `you` into the main room with `peers`. */
function welcomed(you = host, peers = [alex, sam]) {
  const s = new MeetingState();
  s.handle({
    type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main', peers, chat: [], ice_servers: [],
    rooms: [{ id: 'main', name: 'Main room', members: [you.id, ...peers.map((p) => p.id)].sort((a, b) => a - b) }],
    choosing: false,
  });
  return s;
}
const names = (out) => out.events.map(([n]) => n);

test('waiting: held until welcome, which clears it', () => {
  const s = new MeetingState();
  const out = s.handle({ type: 'waiting', meeting: 'demo', you: casey });
  assert.deepEqual(out.events, [['waiting', { you: casey, meeting: 'demo' }]]);
  assert.deepEqual(out.connect, [], 'no one to connect to while waiting');
  assert.equal(s.waitingAs?.id, 12);
  s.handle({ type: 'welcome', protocol: 1, you: casey, meeting: 'demo', room: 'main', peers: [host], chat: [],
    ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [7, 12] }], choosing: false });
  assert.equal(s.waitingAs, null);
});

test('lobby: the list replaces the last one, and waiting people get names', () => {
  const s = welcomed();
  let out = s.handle({ type: 'lobby', enabled: true, waiting: [casey] });
  assert.deepEqual(out.events, [['lobby', { enabled: true, waiting: [casey] }]]);
  assert.deepEqual(s.lobby, { enabled: true, waiting: [casey] });
  assert.equal(s.nameOf(12), 'Casey');
  out = s.handle({ type: 'lobby', enabled: false, waiting: [] });
  assert.deepEqual(s.lobby, { enabled: false, waiting: [] });
});

test('hands: the queue as the hub orders it; our own hand is what we asked, reset by a new seat', () => {
  const s = welcomed();
  s.handle({ type: 'hands', queue: [9, 8] });
  assert.deepEqual(s.hands, [9, 8]);
  s.handRaised = true;
  s.handle({ type: 'welcome', protocol: 1, you: host, meeting: 'demo', room: 'main', peers: [alex], chat: [],
    ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [7, 8] }], choosing: false });
  assert.equal(s.handRaised, false, 'a fresh seat has no hand up on the hub');
  assert.deepEqual(s.hands, [], 'the queue comes again with the next change');
});

test('locked and audit: kept, and the feed is bounded', () => {
  const s = welcomed();
  s.handle({ type: 'locked', locked: true, by: 7 });
  assert.equal(s.locked, true);
  const out = s.handle({ type: 'audit', by: 7, action: 'remove', subject: 9, ts: 5 });
  assert.deepEqual(out.events, [['audit', { by: 7, action: 'remove', subject: 9, ts: 5, on: null }]]);
  s.handle({ type: 'audit', by: 7, action: 'lock', ts: 6 });
  assert.deepEqual(s.audit.at(-1), { by: 7, action: 'lock', subject: null, ts: 6, on: true }, 'which way, from the locked before it');
  s.handle({ type: 'lobby', enabled: false, waiting: [] });
  s.handle({ type: 'audit', by: 7, action: 'set_lobby', ts: 7 });
  assert.equal(s.audit.at(-1).on, false);
  for (let i = 0; i < AUDIT_KEEP + 10; i++) s.handle({ type: 'audit', by: 7, action: 'move', subject: 8, ts: 100 + i });
  assert.equal(s.audit.length, AUDIT_KEEP);
  assert.equal(s.audit.at(-1).ts, 100 + AUDIT_KEEP + 9, 'the newest are kept');
  s.handle({ type: 'lobby', enabled: true, waiting: [casey] });
  // A fresh seat (after a hub restart, ids even name other people): what we were told is gone.
  s.handle({ type: 'welcome', protocol: 1, you: host, meeting: 'demo', room: 'main', peers: [], chat: [],
    ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [7] }], choosing: false });
  assert.deepEqual([s.audit, s.locked, s.lobby], [[], false, { enabled: false, waiting: [] }]);
});

test('media: peer_media and SDK media data both count; forgotten when the person leaves or reconnects', () => {
  const s = welcomed();
  assert.deepEqual(s.mediaOf(8), { audio: true, video: true }, 'on until told otherwise');
  let out = s.handle({ type: 'peer_media', id: 8, audio: false, video: true });
  assert.deepEqual(out.events, [['peer-media', { id: 8, audio: false, video: true }]]);
  assert.deepEqual(s.mediaOf(8), { audio: false, video: true });
  s.handle({ type: 'data', from: 9, payload: { [MEDIA_STATE_KEY]: { audio: true, video: false } } });
  assert.deepEqual(s.mediaOf(9), { audio: true, video: false });
  s.handle({ type: 'peer_left', id: 8, reason: 'replaced' });
  s.handle({ type: 'peer_joined', peer: alex });
  assert.deepEqual(s.mediaOf(8), { audio: true, video: true }, 'a new connection says its state anew');
  out = s.handle({ type: 'room_changed', room: 'b1', name: 'Circle A', peers: [host, alex], chat: [] });
  assert.deepEqual(s.mediaOf(9), { audio: true, video: true }, 'people left behind are forgotten');
});

test('pull aside: the room sees who stepped out until they come back', () => {
  const s = welcomed(alex, [host, sam]);
  let out = s.handle({ type: 'peer_left', id: 7, reason: 'stepped_out' });
  s.handle({ type: 'peer_left', id: 9, reason: 'stepped_out' });
  assert.deepEqual(out.disconnect, [7]);
  assert.deepEqual(s.steppedOutList().map((p) => p.name), ['Dr. Rivera', 'Sam']);
  assert.deepEqual(s.peerList(), [], 'they are not in the room meanwhile');
  out = s.handle({ type: 'peer_joined', peer: host });
  assert.ok(names(out).includes('peers'));
  assert.deepEqual(s.steppedOutList().map((p) => p.id), [9]);
  s.handle({ type: 'peer_left', id: 9, reason: 'left' });
  assert.deepEqual(s.steppedOutList(), [], 'leaving for good is not stepping out');
});

test('pull aside: a room in no list (after the list that follows the move) is private', () => {
  const s = welcomed();
  s.handle({ type: 'room_changed', room: 'a3', name: 'Private conversation', peers: [host, sam], chat: [] });
  assert.equal(s.inPrivateRoom(), false, 'not before the room list that follows the move');
  s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [8] }], choosing: false });
  assert.equal(s.inPrivateRoom(), true);
  assert.deepEqual(s.peerList().map((p) => p.id), [9]);
  s.handle({ type: 'room_changed', room: 'main', name: 'Main room', peers: [host, alex, sam], chat: [] });
  s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [7, 8, 9] }], choosing: false });
  assert.equal(s.inPrivateRoom(), false);
  // A breakout is listed by the rooms that follow the split.
  s.handle({ type: 'room_changed', room: 'b4', name: 'Room 1', peers: [host, alex], chat: [] });
  s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [9] }, { id: 'b4', name: 'Room 1', members: [7, 8] }], choosing: false });
  assert.equal(s.inPrivateRoom(), false);
});

test('peer_updated: roles change on the roster, for people stepped out, and for ourselves', () => {
  const s = welcomed(alex, [host, sam]);
  s.handle({ type: 'peer_left', id: 9, reason: 'stepped_out' });
  s.handle({ type: 'peer_updated', peer: { ...sam, role: 'cohost' } });
  assert.equal(s.steppedOutList()[0].role, 'cohost');
  assert.equal(s.person(9).role, 'cohost');
  s.handRaised = true;
  s.handle({ type: 'peer_updated', peer: { ...alex, role: 'observer' } });
  assert.equal(s.you.role, 'observer');
  assert.equal(s.handRaised, false, 'observers have no hand');
  assert.equal(s.person(8).role, 'observer');
});
