// Moderation state without a socket: the waiting room, raised hands (the queue, and the hand on
// each person, ours included), the lock, the audit feed, who stepped out (pull aside), whose
// microphone is off (from rosters and updates), and role changes, as MeetingState keeps them
// from hub messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeetingState, AUDIT_KEEP, HuddleError } from '../../sdk/state.js';
import { fakeNetwork, joinedMeeting } from './helpers.mjs';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const sam = { id: 9, name: 'Sam', role: 'participant' };
const casey = { id: 12, name: 'Casey', role: 'participant' };

/** A welcome as `you` into the main room with `peers`; `over` replaces fields. */
function welcome(you = host, peers = [alex, sam], over = {}) {
  return {
    type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main', peers, chat: [], ice_servers: [],
    rooms: [{ id: 'main', name: 'Main room', members: [you.id, ...peers.map((p) => p.id)].sort((a, b) => a - b) }],
    choosing: false, ...over,
  };
}

/** A state welcomed as `you` into the main room with `peers`. */
function welcomed(you = host, peers = [alex, sam], over = {}) {
  const s = new MeetingState();
  s.handle(welcome(you, peers, over));
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

test('hands: the queue as the hub orders it; everyone sees the hand on the person', () => {
  const s = welcomed();
  s.handle({ type: 'hands', queue: [9, 8] });
  assert.deepEqual(s.hands, [9, 8]);
  const out = s.handle({ type: 'peer_updated', peer: { ...sam, hand: true } });
  assert.deepEqual(names(out), ['peer-updated', 'peers']);
  assert.deepEqual(out.events[0][1].previous, sam, 'how we knew them before');
  assert.equal(s.peers.get(9).hand, true);
  const p = welcomed(alex, [host, { ...sam, hand: true }]);
  assert.equal(p.peers.get(9).hand, true, 'a participant sees hands from the roster too');
  assert.deepEqual(p.hands, [], 'but not the queue (moderators only)');
});

test('our own hand follows the hub: a host lowering it is told as such, our own echo is not', () => {
  const s = welcomed(alex, [host, sam], { you: { ...alex, hand: true } });
  assert.equal(s.handRaised, true, 'the welcome says it (a takeover keeps the seat\'s hand)');
  let out = s.handle({ type: 'peer_updated', peer: { ...alex } });
  assert.equal(s.handRaised, false);
  assert.deepEqual(out.events.filter(([n]) => n === 'hand'), [['hand', { raised: false, byHost: true }]]);
  // We raise it (the SDK sets it and counts the request); the hub's peer_updated is our echo.
  s.handRaised = true;
  s.handRequests = 1;
  out = s.handle({ type: 'peer_updated', peer: { ...alex, hand: true } });
  assert.deepEqual(out.events.filter(([n]) => n === 'hand'), [], 'no change, no event');
  // We lower and raise again quickly: the hub's answers to the first arrive while we wait.
  s.handRequests = 2;
  out = s.handle({ type: 'peer_updated', peer: { ...alex } });
  assert.deepEqual(out.events.filter(([n]) => n === 'hand'), [['hand', { raised: false, byHost: false }]]);
  // A role change is not a hand change; a demotion to observer drops the hand on the hub.
  s.handRequests = 0;
  s.handle({ type: 'peer_updated', peer: { ...alex, hand: true } });
  s.handle({ type: 'peer_updated', peer: { ...alex, role: 'observer' } });
  assert.equal(s.handRaised, false);
  assert.equal(s.you.role, 'observer');
});

test('asking for our hand: shown at once and counted until answered; a refusal puts it back unless it changed since', () => {
  const s = welcomed(alex, [host, sam]);
  let asked = s.askHand(true);
  assert.deepEqual(asked, { before: false, events: [['hand', { raised: true, byHost: false }]] });
  assert.deepEqual([s.handRaised, s.handRequests], [true, 1]);
  // The hub's echo while the request is pending is not a host's doing.
  assert.deepEqual(s.handle({ type: 'peer_updated', peer: { ...alex, hand: true } }).events.filter(([n]) => n === 'hand'), []);
  assert.deepEqual(s.handAnswered(true, asked.before, false), [], 'granted: nothing changes');
  assert.deepEqual([s.handRaised, s.handRequests], [true, 0]);
  // Lowering refused: back up.
  asked = s.askHand(false);
  assert.deepEqual(s.handAnswered(false, asked.before, true), [['hand', { raised: true, byHost: false }]]);
  assert.deepEqual([s.handRaised, s.handRequests], [true, 0]);
  // Raised again while a refused lowering was pending: the later wish stands.
  const lower = s.askHand(false);
  s.askHand(true);
  assert.deepEqual(s.handAnswered(false, lower.before, true), []);
  assert.deepEqual([s.handRaised, s.handRequests], [true, 1]);
});

test('moderator state: a moderator\'s welcome keeps the lists until lobby and hands follow; others and demotions forget them', () => {
  const s = welcomed();
  s.handle({ type: 'hands', queue: [9] });
  s.handle({ type: 'lobby', enabled: true, waiting: [casey] });
  // A fresh welcome (e.g. after the hub restarted): lobby and hands come right after it.
  s.handle(welcome(host, [alex, sam], { locked: true }));
  assert.equal(s.locked, true, 'the lock is in the welcome');
  s.handle({ type: 'lobby', enabled: false, waiting: [] });
  s.handle({ type: 'hands', queue: [] });
  assert.deepEqual([s.lobby, s.hands], [{ enabled: false, waiting: [] }, []]);
  s.handle({ type: 'hands', queue: [8] });
  s.handle({ type: 'peer_updated', peer: { ...host, role: 'participant' } });
  assert.deepEqual(s.hands, [], 'demoted: no longer told, so not kept');
  const p = welcomed(alex, [host, sam]);
  p.hands = [9];
  p.handle(welcome(alex, [host, sam]));
  assert.deepEqual(p.hands, []);
  assert.equal(p.locked, false, 'no `locked` in the welcome: unlocked');
});

test('locked and audit: kept, with the hub\'s detail, and the feed is bounded', () => {
  const s = welcomed();
  s.handle({ type: 'locked', locked: true, by: 7 });
  assert.equal(s.locked, true);
  const out = s.handle({ type: 'audit', by: 7, action: 'remove', subject: 9, detail: 'ban', ts: 5 });
  assert.deepEqual(out.events, [['audit', { by: 7, action: 'remove', subject: 9, detail: 'ban', other: null, ts: 5 }]]);
  s.handle({ type: 'audit', by: 7, action: 'lock', detail: 'on', ts: 6 });
  assert.deepEqual(s.audit.at(-1), { by: 7, action: 'lock', subject: null, detail: 'on', other: null, ts: 6 });
  s.handle({ type: 'audit', by: 7, action: 'swap', subject: 8, other: 9, ts: 6 });
  assert.equal(s.audit.at(-1).other, 9, 'the second person of a swap');
  s.handle({ type: 'audit', by: 7, action: 'move', subject: 8, ts: 7 });
  assert.equal(s.audit.at(-1).detail, null);
  for (let i = 0; i < AUDIT_KEEP + 10; i++) s.handle({ type: 'audit', by: 7, action: 'move', subject: 8, ts: 100 + i });
  assert.equal(s.audit.length, AUDIT_KEEP);
  assert.equal(s.audit.at(-1).ts, 100 + AUDIT_KEEP + 9, 'the newest are kept');
});

test('media: from the roster (also for people muted before we came), then peer_media and peer_updated', () => {
  const s = welcomed(host, [{ ...alex, audio: false, video: true }, sam]);
  assert.deepEqual(s.mediaOf(8), { audio: false, video: true, screen: false }, 'muted before we arrived');
  assert.deepEqual(s.mediaOf(9), { audio: true, video: true, screen: false }, 'on until told otherwise');
  let out = s.handle({ type: 'peer_media', id: 8, audio: true, video: false });
  assert.deepEqual(out.events, [['peer-media', { id: 8, audio: true, video: false, screen: false }]]);
  assert.deepEqual(s.mediaOf(8), { audio: true, video: false, screen: false });
  assert.equal(s.peers.get(8).video, false, 'kept on the person');
  s.handle({ type: 'peer_updated', peer: { ...sam, role: 'cohost', audio: false, video: false } });
  assert.deepEqual(s.mediaOf(9), { audio: false, video: false, screen: false });
  s.handle({ type: 'peer_left', id: 8, reason: 'replaced' });
  s.handle({ type: 'peer_joined', peer: { ...alex, audio: false } });
  assert.deepEqual(s.mediaOf(8), { audio: false, video: true, screen: false }, 'the hub keeps a seat\'s state across a takeover');
  out = s.handle({ type: 'room_changed', room: 'b1', name: 'Circle A', peers: [host, { ...casey, video: false }], chat: [] });
  assert.deepEqual(s.mediaOf(12), { audio: true, video: false, screen: false });
  // Screen sharing: on the roster and in peer_media.
  out = s.handle({ type: 'peer_media', id: 12, audio: true, video: false, screen: true });
  assert.deepEqual(out.events, [['peer-media', { id: 12, audio: true, video: false, screen: true }]]);
  assert.equal(s.mediaOf(12).screen, true);
  s.handle({ type: 'room_changed', room: 'main', name: 'Main room', peers: [{ ...sam, screen: true }], chat: [] });
  assert.equal(s.mediaOf(9).screen, true, 'from the roster of people who share when we arrive');
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

test('pull aside: the room stepped out of hears when they leave the meeting from the private room', () => {
  const s = welcomed(alex, [host, sam]);
  s.handle({ type: 'peer_left', id: 7, reason: 'stepped_out' });
  s.handle({ type: 'peer_left', id: 9, reason: 'stepped_out' });
  // Sam's held seat ran out; the conversation ended and the host comes back.
  let out = s.handle({ type: 'peer_left', id: 9, reason: 'timeout' });
  assert.deepEqual(out.events[0], ['peer-left', { id: 9, reason: 'timeout', peer: sam }]);
  assert.deepEqual(s.steppedOutList().map((p) => p.id), [7]);
  out = s.handle({ type: 'peer_joined', peer: host });
  assert.deepEqual(s.steppedOutList(), []);
  assert.deepEqual(s.peerList().map((p) => p.id), [7]);
});

test('pull aside: room_changed and welcome say the room is private', () => {
  const s = welcomed();
  s.handle({ type: 'room_changed', room: 'a3', name: 'Private conversation', peers: [host, sam], chat: [], private: true });
  assert.equal(s.inPrivateRoom(), true, 'at once, without waiting for a room list');
  assert.deepEqual(s.peerList().map((p) => p.id), [9]);
  s.handle({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [8] }], choosing: false });
  assert.equal(s.inPrivateRoom(), true);
  s.handle({ type: 'room_changed', room: 'main', name: 'Main room', peers: [host, alex, sam], chat: [] });
  assert.equal(s.inPrivateRoom(), false);
  // A breakout is not private, before its room list too.
  s.handle({ type: 'room_changed', room: 'b4', name: 'Room 1', peers: [host, alex], chat: [] });
  assert.equal(s.inPrivateRoom(), false);
  // Resumed into a private conversation.
  s.handle(welcome(host, [sam], { room: 'a5', private: true, rooms: [{ id: 'main', name: 'Main room', members: [8] }] }));
  assert.equal(s.inPrivateRoom(), true);
  assert.equal(s.room.name, 'Private conversation');
});

test('peer_updated: roles change on the roster, for people stepped out, and for ourselves', () => {
  const s = welcomed(alex, [host, sam]);
  s.handle({ type: 'peer_left', id: 9, reason: 'stepped_out' });
  s.handle({ type: 'peer_updated', peer: { ...sam, role: 'cohost' } });
  assert.equal(s.steppedOutList()[0].role, 'cohost');
  assert.equal(s.person(9).role, 'cohost');
  const out = s.handle({ type: 'peer_updated', peer: { ...alex, role: 'observer' } });
  assert.equal(s.you.role, 'observer');
  assert.equal(out.events[0][1].previous.role, 'participant');
  assert.equal(s.person(8).role, 'observer');
});

test('a fresh welcome forgets the activity feed and names (a restarted hub reuses ids); a resume keeps them', () => {
  const s = welcomed(host, [alex, sam], { resume_token: 'tok-1' });
  s.handle({ type: 'audit', by: 7, action: 'lock', detail: 'on', ts: 1 });
  s.resumeRequest();
  s.handle(welcome(host, [alex, sam], { resumed: true, resume_token: 'tok-2' }));
  assert.equal(s.audit.length, 1, 'kept across a resume');
  s.handle(welcome(host, [alex], {}));
  assert.deepEqual(s.audit, [], 'a fresh seat starts a new feed');
  assert.equal(s.nameOf(sam.id).startsWith('Person'), true, 'no name from the old id space');
});

test('people: a host learns the names of everyone in every room', () => {
  const s = welcomed(host, []);
  assert.match(s.nameOf(sam.id), /^Person /, 'unknown before');
  s.handle({ type: 'people', peers: [host, alex, sam] });
  assert.equal(s.nameOf(sam.id), 'Sam');
  assert.equal(s.nameOf(alex.id), 'Alex');
});

test('Meeting.raiseHand: the hand shows at once, and goes back down when the hub refuses', async (t) => {
  fakeNetwork(t);
  const { m, ws, events } = await joinedMeeting(t, welcome(alex, []), { listen: ['hand'] });
  const asked = m.raiseHand();
  assert.equal(m.handRaised, true);
  assert.deepEqual(events, [['hand', { raised: true, byHost: false }]]);
  const frame = ws.sent.at(-1);
  assert.deepEqual([frame.type, frame.raised], ['raise_hand', true]);
  ws.receive({ type: 'error', code: 'forbidden', message: 'observers do not raise hands', ref: frame.id });
  await assert.rejects(asked, (e) => e instanceof HuddleError && e.code === 'forbidden');
  assert.equal(m.handRaised, false);
  assert.deepEqual(events.at(-1), ['hand', { raised: false, byHost: false }]);
  // Granted: it stays up, and the hub's echo is not news.
  const again = m.raiseHand();
  ws.receive({ type: 'peer_updated', peer: { ...alex, hand: true } });
  ws.receive({ type: 'ack', ref: ws.sent.at(-1).id });
  await again;
  assert.equal(m.handRaised, true);
  assert.equal(m.state.handRequests, 0);
  assert.equal(events.length, 3);
});
