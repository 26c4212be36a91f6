// Consent before the group (#15), the SDK's side against a fake WebSocket: `agreement_required`
// instead of `welcome` keeps `connect()` pending (no timeout, no failure) while the app shows the
// text; `acceptAgreement` goes out before the welcome (nothing else does), the welcome follows
// and then the ack; a version changed meanwhile (`conflict`) leaves the new text in
// `meeting.agreement`; a seated member asked again stays seated; leaving while reading ends the
// join cleanly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSocket, advance, fakeNetwork } from './helpers.mjs';

const alex = { id: 8, name: 'Alex', role: 'participant' };
const TEXT = 'What is said in the group stays in the group.\n\nUse first names only.';

/** Alex's welcome into an empty main room (no peers: no connections to make). */
function welcome(over = {}) {
  return {
    type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [], chat: [],
    ice_servers: [], rooms: [{ id: 'main', name: 'Main room', members: [8] }], choosing: false,
    resume_token: 'tok-1', media: 'mesh', ...over,
  };
}

/** A Meeting whose hello went out and whose connect() is pending; events recorded by name. */
async function connecting(t) {
  fakeNetwork(t);
  const { Meeting } = await import('../../sdk/huddle.js');
  const m = new Meeting({ token: 'a.b.c', media: null, heartbeat: false });
  const events = [];
  for (const name of ['agreement-required', 'welcome', 'closed']) m.addEventListener(name, (e) => events.push([name, /** @type {CustomEvent} */ (e).detail]));
  let settled = null;
  const joined = m.connect().then(() => { settled = 'joined'; }, (err) => { settled = err; });
  await new Promise((resolve) => setImmediate(resolve));
  const ws = FakeSocket.all.at(-1);
  ws.open();
  t.after(() => m.leave());
  return { m, ws, events, joined, settled: () => settled };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

test('agreement_required instead of welcome: join stays pending, accept goes out, welcome then ack', async (t) => {
  const { m, ws, events, joined, settled } = await connecting(t);
  ws.receive({ type: 'agreement_required', text: TEXT, version: 'v1' });
  assert.deepEqual(events, [['agreement-required', { text: TEXT, version: 'v1' }]]);
  assert.deepEqual(m.agreement, { text: TEXT, version: 'v1' });
  // Someone reads slowly: nothing times out, nothing fails, no reconnect.
  advance(120_000, 1000);
  await flush();
  assert.equal(settled(), null, 'connect() still pending while the agreement is read');
  assert.equal(m.joined, false);
  assert.equal(FakeSocket.all.length, 1, 'the same socket');

  // Only the answer goes out before the welcome: chat is refused locally, not sent.
  await assert.rejects(m.chat('hi'), { code: 'closed' });
  const accepted = m.acceptAgreement('v1');
  const frame = ws.sent.find((f) => f.type === 'accept_agreement');
  assert.ok(frame, 'accept_agreement sent before the welcome');
  assert.equal(frame.version, 'v1');
  assert.equal(typeof frame.id, 'number');
  assert.equal(ws.sent.some((f) => f.type === 'chat'), false);

  // The hub lets us in, then acks.
  ws.receive(welcome());
  ws.receive({ type: 'ack', ref: frame.id });
  await accepted;
  await joined;
  assert.equal(settled(), 'joined');
  assert.equal(m.joined, true);
  assert.equal(m.agreement, null, 'nothing asked any more');
  assert.deepEqual(events.map(([n]) => n), ['agreement-required', 'welcome']);
});

test('the version changed while reading: conflict, and the new text is the one to show', async (t) => {
  const { m, ws, events, settled } = await connecting(t);
  ws.receive({ type: 'agreement_required', text: TEXT, version: 'v1' });
  const first = m.acceptAgreement('v1');
  const frame = ws.sent.find((f) => f.type === 'accept_agreement');
  // As the hub does: the new text first, then the refusal.
  ws.receive({ type: 'agreement_required', text: `${TEXT}\n\nNo recording.`, version: 'v2' });
  ws.receive({ type: 'error', code: 'conflict', message: 'the agreement changed: read it again', ref: frame.id });
  await assert.rejects(first, { code: 'conflict' });
  assert.equal(m.agreement?.version, 'v2');
  assert.equal(events.filter(([n]) => n === 'agreement-required').length, 2);
  await flush();
  assert.equal(settled(), null, 'a refusal of the answer does not fail the join');
  const again = m.acceptAgreement('v2');
  const second = ws.sent.filter((f) => f.type === 'accept_agreement').at(-1);
  assert.equal(second.version, 'v2');
  ws.receive(welcome());
  ws.receive({ type: 'ack', ref: second.id });
  await again;
  assert.equal(m.joined, true);
  assert.equal(m.agreement, null);
});

test('the agreement removed while reading: the welcome comes without an answer', async (t) => {
  const { m, ws, joined } = await connecting(t);
  ws.receive({ type: 'agreement_required', text: TEXT, version: 'v1' });
  ws.receive(welcome());
  await joined;
  assert.equal(m.joined, true);
  assert.equal(m.agreement, null);
});

test('seated and asked again: the member stays; accepting clears it; a removed one is a conflict that clears it', async (t) => {
  const { m, ws, joined } = await connecting(t);
  ws.receive(welcome());
  await joined;
  ws.receive({ type: 'agreement_required', text: TEXT, version: 'v2' });
  assert.equal(m.joined, true, 'still seated');
  assert.equal(m.agreement?.version, 'v2');
  const accepted = m.acceptAgreement('v2');
  const frame = ws.sent.find((f) => f.type === 'accept_agreement');
  ws.receive({ type: 'ack', ref: frame.id });
  await accepted;
  assert.equal(m.agreement, null);

  // Asked again, then the host removes the agreement (only hosts are told): the answer is refused.
  ws.receive({ type: 'agreement_required', text: 'Other rules', version: 'v3' });
  const late = m.acceptAgreement('v3');
  const lateFrame = ws.sent.filter((f) => f.type === 'accept_agreement').at(-1);
  ws.receive({ type: 'error', code: 'conflict', message: 'this meeting has no agreement', ref: lateFrame.id });
  await assert.rejects(late, { code: 'conflict' });
  assert.equal(m.agreement, null, 'nothing left to accept');
  assert.equal(m.joined, true);
});

test('leaving while reading: the join ends as a leave, the socket closes normally', async (t) => {
  const { m, ws, events, joined, settled } = await connecting(t);
  ws.receive({ type: 'agreement_required', text: TEXT, version: 'v1' });
  m.leave();
  await joined;
  assert.equal(settled()?.code, 'closed');
  assert.deepEqual(ws.closedWith, { code: 1000, reason: 'left' });
  assert.equal(events.at(-1)[0], 'closed');
  assert.equal(events.at(-1)[1].code, 1000);
});

test('without an agreement asked, accept_agreement is not sent before the welcome', async (t) => {
  const { m, ws } = await connecting(t);
  await assert.rejects(m.acceptAgreement('v1'), { code: 'closed' });
  assert.equal(ws.sent.some((f) => f.type === 'accept_agreement'), false);
});
