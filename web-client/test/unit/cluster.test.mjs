// A hub cluster (several nodes, any of which takes a client and its resume): `url` as a list of
// the nodes. The first socket goes to a random node; after each reconnectable close the next
// attempt goes to the next one, round robin, with `hello.resume`; 1001 and 4108 (`moved`: the
// node drains or no longer serves the meeting) reconnect at once, after a jitter under 250 ms.
// Math.random is replaced in each test, so which node and which delay are known.

import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSocket, fakeNetwork, joinedMeeting } from './helpers.mjs';
import { CLOSE_REASONS, closeKind } from '../../sdk/constants.js';
import { MOVE_JITTER_MS, backoffMs, reconnectDelayMs } from '../../sdk/wire.js';
import { HuddleError, Meeting, join } from '../../sdk/huddle.js';

const alex = { id: 8, name: 'Alex', role: 'participant' };
const rooms = [{ id: 'main', name: 'Main room', members: [8] }];

/** A welcome for Alex, alone in the main room; `over` replaces fields. */
function welcome(over = {}) {
  return {
    type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [], chat: [],
    ice_servers: [], rooms, choosing: false, resume_token: 'tok-1', ...over,
  };
}

const nodes = ['https://a.example', 'https://b.example/huddle/', 'wss://c.example/v1/ws'];
const [A, B, C] = ['wss://a.example/v1/ws', 'wss://b.example/huddle/v1/ws', 'wss://c.example/v1/ws'];

/** Math.random gives `values` in order, then the last one again, until test `t` ends. */
function randoms(t, ...values) {
  let i = 0;
  t.mock.method(Math, 'random', () => values[Math.min(i++, values.length - 1)]);
}

const last = (events, name) => events.filter(([n]) => n === name).at(-1)?.[1];
const hello = (ws) => ws.sent.find((f) => f.type === 'hello');

test('constants.js: 4108 is `moved`, and reconnectable', () => {
  assert.equal(CLOSE_REASONS[4108], 'moved');
  assert.equal(closeKind(4108), 'reconnectable');
  assert.equal(closeKind(1001), 'reconnectable');
});

test('reconnectDelayMs: jitter after 4108 (and 1001 with a list) for one turn round the list, then backoff', () => {
  assert.equal(reconnectDelayMs(4108, 1, 3, 0.999), 249);
  assert.equal(reconnectDelayMs(1001, 3, 3, 0), 0);
  assert.ok(reconnectDelayMs(4108, 2, 3, 0.9999999) < MOVE_JITTER_MS);
  assert.equal(reconnectDelayMs(4108, 4, 3, 0), backoffMs(4, 0), 'every node sent us away: back off');
  assert.equal(reconnectDelayMs(4108, 2, 1, 0), backoffMs(2, 0), 'one hub URL: one quick attempt');
  assert.equal(reconnectDelayMs(1001, 1, 1, 0), backoffMs(1, 0), 'the only hub going down: backoff, it is not listening yet');
  assert.equal(reconnectDelayMs(4108, 1, 1, 0), 0, 'moved behind one load-balanced URL: at once');
  assert.equal(reconnectDelayMs(1006, 1, 3, 0.5), backoffMs(1, 0.5), 'a drop: backoff as before');
  assert.equal(reconnectDelayMs(4107, 1, 3, 0), 1000);
  assert.equal(reconnectDelayMs(4106, 5, 3, 0.7), 0, 'a refused resume: a fresh hello at once');
});

test('a list of 3: moved (4108) on the first node resumes at once on the second; a welcome keeps it; round robin after', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0, 0.999); // the first node; then the longest jitter (and backoff)
  const { m, ws: first, events } = await joinedMeeting(t, welcome(), { options: { url: nodes, heartbeat: false } });
  assert.equal(first.url, A);
  assert.equal(hello(first).resume, undefined);

  first.drop(4108);
  const r = last(events, 'reconnecting');
  assert.deepEqual(r, {
    code: 4108, reason: 'moved', error: null, reconnectable: true, attempt: 1, delayMs: 249, resuming: true, url: B,
  });
  mock.timers.tick(248);
  assert.equal(FakeSocket.all.length, 1, 'not before the jitter is over');
  mock.timers.tick(1);
  assert.equal(FakeSocket.all.length, 2);
  let ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, B);
  ws.open();
  assert.equal(ws.sent.length, 1);
  assert.equal(hello(ws).token, 'a.b.c');
  assert.deepEqual(hello(ws).resume, { token: 'tok-1', room: 'main', last_chat: 0, last_private: 0 });
  ws.receive(welcome({ resumed: true, resume_token: 'tok-2' }));
  assert.deepEqual(last(events, 'reconnected'), { you: alex, resumed: true });
  assert.equal(m.wsUrl, B, 'the welcome keeps the node');

  // A plain drop later: the next node, after the usual backoff (attempts count from the welcome).
  ws.drop(1006);
  assert.equal(last(events, 'reconnecting').url, C);
  assert.equal(last(events, 'reconnecting').delayMs, backoffMs(1, 0.999));
  mock.timers.tick(backoffMs(1, 0.999));
  ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, C);
  ws.open();
  assert.equal(hello(ws).resume.token, 'tok-2');
  ws.receive(welcome({ resumed: true, resume_token: 'tok-3' }));

  // And round again: after the last node, the first.
  ws.drop(4108);
  mock.timers.tick(last(events, 'reconnecting').delayMs);
  ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, A);
  ws.open();
  assert.equal(hello(ws).resume.token, 'tok-3');
  assert.equal(FakeSocket.all.length, 4);
});

test('a node whose socket does not open: the next attempt goes to the next node (random start, wrapping)', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0.5, 0); // floor(0.5 * 3): the second node first; no jitter
  const m = new Meeting({ url: nodes, token: 'a.b.c', media: null, heartbeat: false });
  const seen = [];
  m.addEventListener('reconnecting', (e) => seen.push(e.detail));
  const joined = m.connect();
  t.after(() => m.leave());
  await new Promise((resolve) => setImmediate(resolve));
  let ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, B);

  ws.drop(1006); // refused, never opened
  assert.deepEqual(seen.map((d) => [d.code, d.url, d.resuming, d.delayMs]), [[1006, C, false, 1000]]);
  mock.timers.tick(999);
  assert.equal(FakeSocket.all.length, 1);
  mock.timers.tick(1);
  ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, C);
  ws.drop(1006);
  assert.deepEqual(seen.at(-1).url, A, 'after the last, the first');
  mock.timers.tick(seen.at(-1).delayMs);
  ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, A);
  ws.open();
  assert.equal(hello(ws).resume, undefined, 'never welcomed: nothing to resume');
  ws.receive(welcome());
  await joined;
  assert.equal(m.wsUrl, A);
  assert.deepEqual(FakeSocket.all.map((s) => s.url), [B, C, A]);
});

test('1001 (the node shuts down) moves on at once too, with the resume', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0.99, 0.4); // the last node first; a 100 ms jitter
  const { ws: first, events } = await joinedMeeting(t, welcome(), { options: { url: nodes, heartbeat: false } });
  assert.equal(first.url, C);
  first.drop(1001);
  const r = last(events, 'reconnecting');
  assert.deepEqual([r.code, r.reason, r.delayMs, r.url], [1001, 'going_away', 100, A]);
  mock.timers.tick(100);
  const ws = FakeSocket.all.at(-1);
  assert.equal(ws.url, A);
  ws.open();
  assert.equal(hello(ws).resume.token, 'tok-1');
});

test('sent away by every node in turn without a welcome: back to backoff after one turn', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0, 0);
  const { events } = await joinedMeeting(t, welcome(), { options: { url: nodes.slice(0, 2), heartbeat: false } });
  for (let i = 0; i < 3; i++) {
    const ws = FakeSocket.all.at(-1);
    if (i > 0) ws.open();
    ws.drop(4108);
    mock.timers.tick(last(events, 'reconnecting').delayMs);
  }
  assert.deepEqual(events.filter(([n]) => n === 'reconnecting').map(([, d]) => [d.attempt, d.delayMs, d.url]),
    [[1, 0, B], [2, 0, A], [3, backoffMs(3, 0), B]]);
  assert.deepEqual(FakeSocket.all.map((s) => s.url), [A, B, A, B]);
});

test('a single URL works as before: the same hub every time; 4108 once at once, a drop with backoff', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0.5);
  const { m, ws: first, events } = await joinedMeeting(t, welcome(), { options: { url: 'https://hub.example', heartbeat: false } });
  assert.equal(first.url, 'wss://hub.example/v1/ws');
  assert.equal(Math.random.mock.callCount(), 0, 'no node to pick');
  first.drop(1006);
  assert.deepEqual(last(events, 'reconnecting'), {
    code: 1006, reason: '', error: null, reconnectable: true, attempt: 1, delayMs: backoffMs(1, 0.5), resuming: true,
    url: 'wss://hub.example/v1/ws',
  });
  mock.timers.tick(backoffMs(1, 0.5));
  let ws = FakeSocket.all.at(-1);
  ws.open();
  ws.receive(welcome({ resumed: true, resume_token: 'tok-2' }));
  ws.drop(4108);
  assert.equal(last(events, 'reconnecting').delayMs, 125);
  mock.timers.tick(125);
  ws = FakeSocket.all.at(-1);
  ws.open();
  assert.equal(hello(ws).resume.token, 'tok-2');
  ws.drop(4108);
  assert.equal(last(events, 'reconnecting').delayMs, backoffMs(2, 0.5), 'sent away again: backoff');
  assert.deepEqual(new Set(FakeSocket.all.map((s) => s.url)), new Set(['wss://hub.example/v1/ws']));
  assert.equal(m.wsUrl, 'wss://hub.example/v1/ws');
});

test('a terminal close (4008) on a node of a list does not reconnect anywhere', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0);
  const { ws, events } = await joinedMeeting(t, welcome(), { options: { url: nodes, heartbeat: false } });
  ws.drop(4008);
  assert.deepEqual(last(events, 'closed'), { code: 4008, reason: 'removed', error: null, reconnectable: false });
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.all.length, 1, 'no new socket');
  assert.equal(events.filter(([n]) => n === 'reconnecting').length, 0);
});

test('a list with an insecure node is refused before anything opens; an empty list is no URL', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  await assert.rejects(join({ url: ['https://a.example', 'http://b.example'], token: 'a.b.c', media: null, heartbeat: false }),
    (err) => err instanceof HuddleError && err.code === 'insecure_transport' && /b\.example/.test(err.message));
  assert.equal(FakeSocket.all.length, 0);
  assert.throws(() => new Meeting({ url: [], token: 'a.b.c' }), TypeError);
  assert.throws(() => new Meeting({ url: ['https://a.example', 7], token: 'a.b.c' }), TypeError);
});

test('the reconnecting event shows the node without credentials or query', async (t) => {
  fakeNetwork(t, { apis: ['setTimeout'] });
  randoms(t, 0);
  const { ws, events } = await joinedMeeting(t, welcome(), {
    options: { url: ['https://a.example', 'https://user:secret@b.example/?key=k#token=t'], heartbeat: false },
  });
  ws.drop(4108);
  assert.equal(last(events, 'reconnecting').url, 'wss://b.example/v1/ws');
});
