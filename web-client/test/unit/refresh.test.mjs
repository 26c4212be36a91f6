// Token refresh: the SDK reads the token's `exp` (unverified) and, with `JoinOptions.getToken`,
// asks the app for a fresh token before it expires (60 s before; after 80 % of what is left for
// short tokens) and sends it as `refresh` on the live socket, so that the hub does not close the
// session (4006). Every reconnect asks for a fresh token too. `meeting.refresh(token)` is the
// same by hand. A token naming another role than the session's is reported, never obeyed.

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSocket, advance, fakeNetwork, joinedMeeting, jwt } from './helpers.mjs';
import { refreshDelayMs, tokenClaims, tokenExpiry, tokenRole } from '../../sdk/token.js';
import { HuddleError } from '../../sdk/huddle.js';

const NOW = 1_000_000; // the fake clock's start, ms
const alex = { id: 8, name: 'Alex', role: 'participant' };
const welcome = (over = {}) => ({
  type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [], chat: [],
  ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [8] }], choosing: false,
  resume_token: 'tok-1', ...over,
});
/** Alex's token, expiring `secs` after the fake clock's start. */
const tokenFor = (secs, role = 'participant') => jwt({ sub: 'alex', name: 'Alex', meeting: 'demo', role, exp: NOW / 1000 + secs });

/** Lets the SDK's pending promises (getToken, the request) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));
const refreshes = (ws) => ws.sent.filter((f) => f.type === 'refresh');

test('the rule: 60 s before exp, or after 80 % of what is left when under 5 minutes; at once when expired', () => {
  assert.equal(refreshDelayMs(1600, 1_000_000), 540_000, '600 s left: 60 s before');
  assert.equal(refreshDelayMs(1300, 1_000_000), 240_000, '300 s left: both rules agree');
  assert.equal(refreshDelayMs(1100, 1_000_000), 80_000, '100 s left: after 80 s');
  assert.equal(refreshDelayMs(1010, 1_000_000), 8000, '10 s left: after 8 s');
  assert.equal(refreshDelayMs(1000, 1_000_000), 0);
  assert.equal(refreshDelayMs(900, 1_000_000), 0);
  assert.equal(refreshDelayMs(1e12, 1_000_000), 2 ** 31 - 1, 'never past what setTimeout can wait');
});

test('claims are read without verifying: base64url without padding, UTF-8 names; garbage is null', () => {
  const t = jwt({ name: 'Zoë 🙂', role: 'observer', exp: 1700000000 });
  assert.deepEqual(tokenClaims(t), { name: 'Zoë 🙂', role: 'observer', exp: 1700000000 });
  assert.equal(tokenRole(t), 'observer');
  assert.equal(tokenExpiry(t), 1700000000);
  for (const bad of ['garbage', 'a.b.c', '', 'x.WzFd.y']) {
    assert.equal(tokenClaims(bad), null, bad);
    assert.equal(tokenExpiry(bad), null, bad);
  }
  assert.equal(tokenExpiry(jwt({ exp: '1700000000' })), null, 'a numeric claim only');
});

/**
 * A Meeting joined with `token` and a `getToken` that hands out the `fresh` tokens in turn (or
 * what the function `fresh` returns); an Error it throws instead.
 */
async function joinedWith(t, token, fresh, listen = ['token-role-mismatch', 'token-refresh-failed', 'closed']) {
  fakeNetwork(t, { now: NOW });
  const getToken = mock.fn(async () => {
    const next = typeof fresh === 'function' ? fresh() : fresh.shift();
    if (next instanceof Error) throw next;
    return next;
  });
  const joined = await joinedMeeting(t, welcome(), { options: { token, getToken, heartbeat: false }, listen });
  return { ...joined, getToken };
}

test('getToken is called 60 s before exp and the fresh token is sent as `refresh` on the live socket', async (t) => {
  const second = tokenFor(1200);
  const { ws, getToken, events } = await joinedWith(t, tokenFor(600), [second, tokenFor(1800)]);
  advance(539_000, 1000);
  assert.equal(getToken.mock.callCount(), 0, 'not before 540 s');
  advance(1000, 1000);
  assert.equal(getToken.mock.callCount(), 1);
  await settle();
  const [frame] = refreshes(ws);
  assert.deepEqual(frame, { type: 'refresh', token: second, id: frame.id });
  ws.receive({ type: 'ack', ref: frame.id });
  await settle();
  // The next one from the fresh token's exp: 1200 s - 60 s.
  advance(599_000, 1000);
  assert.equal(getToken.mock.callCount(), 1);
  advance(1000, 1000);
  assert.equal(getToken.mock.callCount(), 2);
  assert.deepEqual(events, []);
});

test('a short token is refreshed after 80 % of its lifetime', async (t) => {
  const { ws, getToken } = await joinedWith(t, tokenFor(100), [tokenFor(200)]);
  advance(79_000, 1000);
  assert.equal(getToken.mock.callCount(), 0);
  advance(1000, 1000);
  await settle();
  assert.equal(getToken.mock.callCount(), 1);
  assert.equal(refreshes(ws).length, 1);
});

test('a failed refresh (getToken throws, or the hub refuses) is reported and tried again 10 s later', async (t) => {
  const good = tokenFor(1200);
  const { ws, getToken, events } = await joinedWith(t, tokenFor(600), [new Error('backend down'), tokenFor(900), good]);
  advance(540_000, 1000);
  await settle();
  assert.deepEqual(events.at(-1), ['token-refresh-failed', { code: 'get_token_failed', message: 'backend down' }]);
  assert.equal(refreshes(ws).length, 0);
  advance(10_000, 1000);
  await settle();
  const [refused] = refreshes(ws);
  ws.receive({ type: 'error', code: 'unauthorized', message: 'refresh token refused', ref: refused.id });
  await settle();
  assert.deepEqual(events.at(-1), ['token-refresh-failed', { code: 'unauthorized', message: 'refresh token refused' }]);
  advance(10_000, 1000);
  await settle();
  assert.equal(getToken.mock.callCount(), 3);
  assert.equal(refreshes(ws).at(-1).token, good);
});

test('every reconnect asks for a fresh token first and says hello with it', async (t) => {
  const fresh = tokenFor(3600);
  const { ws, getToken } = await joinedWith(t, tokenFor(600), [fresh]);
  ws.drop();
  advance(1300, 100); // the first backoff: 1 s and jitter
  await settle();
  assert.equal(getToken.mock.callCount(), 1, 'asked before the new socket');
  const next = FakeSocket.all.at(-1);
  assert.notEqual(next, ws);
  next.open();
  assert.equal(next.sent[0].type, 'hello');
  assert.equal(next.sent[0].token, fresh);
  assert.equal(next.sent[0].resume.token, 'tok-1', 'still a resume');
});

test('a reconnect whose getToken fails says hello with the token it has while that is valid; once expired it waits and tries again', async (t) => {
  const first = tokenFor(60);
  const fresh = tokenFor(3600);
  let online = false;
  const offline = () => (online ? fresh : new Error('offline'));
  const { ws, events } = await joinedWith(t, first, offline);
  ws.drop();
  advance(1300, 100);
  await settle();
  const second = FakeSocket.all.at(-1);
  second.open();
  assert.equal(second.sent[0].token, first, 'still valid: used');
  second.receive(welcome({ resumed: true, resume_token: 'tok-2' }));
  advance(65_000, 1000); // the refreshes at 48 s and 58 s fail too; the token expires at 60 s
  await settle();
  second.drop();
  advance(20_000, 1000);
  await settle();
  assert.equal(FakeSocket.all.at(-1), second, 'no hello with an expired token (the hub would end the session: 4001)');
  assert.ok(events.filter(([n]) => n === 'token-refresh-failed').length >= 4);
  assert.deepEqual(events.filter(([n]) => n === 'closed'), []);
  online = true;
  advance(60_000, 1000);
  await settle();
  const third = FakeSocket.all.at(-1);
  assert.notEqual(third, second);
  third.open();
  assert.equal(third.sent[0].token, fresh);
});

test('meeting.refresh(token) resolves on ack, rejects on error; a refused token is not used again', async (t) => {
  fakeNetwork(t, { now: NOW });
  const { m, ws } = await joinedMeeting(t, welcome(), { options: { token: tokenFor(600), heartbeat: false } });
  const bad = tokenFor(1200);
  const refused = m.refresh(bad);
  await settle();
  ws.receive({ type: 'error', code: 'unauthorized', message: 'refresh token is for someone else', ref: refreshes(ws)[0].id });
  await assert.rejects(refused, (err) => err instanceof HuddleError && err.code === 'unauthorized');
  const good = tokenFor(1800);
  const accepted = m.refresh(good);
  await settle();
  ws.receive({ type: 'ack', ref: refreshes(ws)[1].id });
  await accepted;
  // The next hello (after a drop; no getToken to ask) carries the accepted token.
  ws.drop();
  advance(2000, 100);
  await settle();
  const next = FakeSocket.all.at(-1);
  next.open();
  assert.equal(next.sent[0].token, good);
});

test('a fresh token naming another role is reported and the session keeps its role', async (t) => {
  const hostToken = tokenFor(1200, 'host');
  const { m, ws, events } = await joinedWith(t, tokenFor(600), [hostToken]);
  advance(540_000, 1000);
  await settle();
  ws.receive({ type: 'ack', ref: refreshes(ws)[0].id });
  await settle();
  assert.deepEqual(events, [['token-role-mismatch', { tokenRole: 'host', role: 'participant' }]]);
  assert.equal(m.you.role, 'participant');
  assert.equal(m.isHost, false);
});

test('leave() stops the refresh timer', async (t) => {
  const { m, getToken } = await joinedWith(t, tokenFor(600), [tokenFor(1200)]);
  m.leave();
  advance(600_000, 1000);
  assert.equal(getToken.mock.callCount(), 0);
});
