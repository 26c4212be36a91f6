// Every example in proto/examples/ is valid against the JSON Schema generated from the Rust types,
// the frames the SDK builds are valid client frames, and sdk/protocol.d.ts is up to date.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import Ajv2020 from 'ajv/dist/2020.js';
import { splitFrame, mergeFrame } from '../../sdk/wire.js';
import { FakeSocket } from './helpers.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const proto = join(root, 'proto');

function validator(direction) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  // schemars' integer formats: Ajv checks `minimum` already; the format adds the upper bound.
  ajv.addFormat('uint32', { type: 'number', validate: (n) => Number.isInteger(n) && n <= 0xffffffff });
  ajv.addFormat('uint64', { type: 'number', validate: (n) => Number.isInteger(n) && n <= Number.MAX_SAFE_INTEGER });
  const schema = JSON.parse(readFileSync(join(proto, 'schema', `${direction}.schema.json`), 'utf8'));
  return { validate: ajv.compile(schema), schema };
}

function examples(direction) {
  const dir = join(proto, 'examples', direction);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort()
    .map((f) => ({ file: `${direction}/${f}`, value: JSON.parse(readFileSync(join(dir, f), 'utf8')) }));
}

const typesOf = (schema) => schema.oneOf.map((v) => v.properties.type.const);

for (const direction of ['client', 'server']) {
  test(`every ${direction} example is valid, and every ${direction} message has one`, () => {
    const { validate, schema } = validator(direction);
    const all = examples(direction);
    assert.ok(all.length > 0);
    for (const { file, value } of all) {
      assert.ok(validate(value), `${file}: ${JSON.stringify(validate.errors)}`);
    }
    const covered = new Set(all.map((e) => e.value.type));
    for (const type of typesOf(schema)) assert.ok(covered.has(type), `no example for ${direction} ${type}`);
  });
}

test('the schema refuses malformed frames (the validator is not vacuous)', () => {
  const client = validator('client').validate;
  const server = validator('server').validate;
  assert.equal(client({ type: 'hello', protocol: 1 }), false, 'hello without token');
  assert.equal(client({ type: 'nope' }), false, 'unknown type');
  assert.equal(client({ type: 'move', peer: -1, room: 'b1' }), false, 'negative peer id');
  assert.equal(client({ type: 'split', strategy: 'alphabetical' }), false, 'unknown strategy');
  assert.equal(server({ type: 'peer_left', id: 3, reason: 'vanished' }), false, 'unknown reason');
  assert.equal(server({ type: 'chat', id: 1, seq: 1, room: 'main', text: 'x', ts: 1 }), false, 'chat without from');
  assert.equal(server({ type: 'welcome', protocol: 1 }), false, 'welcome without the rest');
});

test('frames the SDK builds are valid client frames', () => {
  const { validate } = validator('client');
  const frames = [
    splitFrame({ strategy: 'even', count: 2, topic: 'A small win', durationSecs: 600 }),
    splitFrame({ strategy: 'manual', rooms: [{ name: 'Pair 1', topic: 't', members: [1, 2] }, { name: 'Pair 2', members: [3] }] }),
    splitFrame({ strategy: 'choose', count: 3, spreadMentors: false }),
    mergeFrame(),
    mergeFrame({ countdownSecs: 15 }),
    mergeFrame({ rooms: ['b1', 'b2'] }),
    { type: 'hello', protocol: 1, token: 'x.y.z', meeting: 'demo' },
    { type: 'signal', id: 4, to: 7, data: { candidate: { candidate: 'candidate:1', sdpMid: '0' } } },
    { type: 'chat', id: 5, text: 'hi', to: 7 },
    { type: 'data', id: 6, payload: { exercise: 'breathing', step: 3 } },
    { type: 'media_state', audio: false, video: true },
    { type: 'ping' },
    { type: 'extend_timer', id: 7, secs: 120 },
    { type: 'reopen', id: 8, duration_secs: 300 },
    { type: 'extend_session', id: 9, secs: 600 },
  ];
  for (const f of frames) assert.ok(validate(f), `${JSON.stringify(f)}: ${JSON.stringify(validate.errors)}`);
  assert.equal(splitFrame({ strategy: 'manual', rooms: [{ name: 'A', members: [1] }] }).rooms[0].members[0], 1);
  assert.equal(mergeFrame({ countdownSecs: 0 }).countdown_secs, undefined, 'zero countdown means now');
});

test('gen-types --check: sdk/protocol.d.ts matches proto/schema', () => {
  const r = spawnSync(process.execPath, [join(root, 'web-client', 'tools', 'gen-types.mjs'), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('constants.js says what proto/schema/constants.json says', async () => {
  const json = JSON.parse(readFileSync(join(root, 'proto', 'schema', 'constants.json'), 'utf8'));
  const c = await import('../../sdk/constants.js');
  assert.equal(c.PROTOCOL_VERSION, json.protocol_version);
  for (const { code, reason, kind } of json.close_codes) {
    assert.equal(c.CLOSE_REASONS[code], reason, String(code));
    assert.equal(c.closeKind(code), kind, String(code));
  }
  const byReason = (r) => json.close_codes.find((e) => e.reason === r).code;
  assert.equal(c.RESUME_EXPIRED, byReason('resume_expired'));
  assert.equal(c.CLIENT_RECONNECTING, byReason('reconnecting'));
  assert.deepEqual([...c.REPLAYED_NOTICES].sort(), [...json.replayed_notices].sort());
  // Every replayed notice is a server message (tsc checks the same through REPLAYED_NOTICES' type).
  const serverTypes = typesOf(validator('server').schema);
  for (const t of c.REPLAYED_NOTICES) assert.ok(serverTypes.includes(t), t);
});

test('gen-types refuses a constants.json it does not understand', async () => {
  const { generateConstants } = await import('../../tools/gen-types.mjs');
  const json = JSON.parse(readFileSync(join(root, 'proto', 'schema', 'constants.json'), 'utf8'));
  const ok = generateConstants(json);
  // Key order inside objects is not part of the format.
  const sorted = { ...json, close_codes: json.close_codes.map(({ reason, kind, code }) => ({ code, kind, reason })).reverse() };
  assert.equal(generateConstants(sorted), ok);
  const bad = [
    { ...json, extra: 1 },
    { ...json, protocol_version: '1' },
    { ...json, close_codes: [...json.close_codes, { code: 4200, reason: 'new', kind: 'maybe' }] },
    { ...json, close_codes: [...json.close_codes, json.close_codes[0]] },
    { ...json, close_codes: json.close_codes.filter((e) => e.reason !== 'resume_expired') },
    { ...json, replayed_notices: ['broadcast', 7] },
  ];
  for (const b of bad) assert.throws(() => generateConstants(b), /gen-types/, JSON.stringify(b).slice(0, 80));
});

test('protocol.d.ts declares every message of both directions', () => {
  const dts = readFileSync(join(root, 'web-client', 'sdk', 'protocol.d.ts'), 'utf8');
  const pascal = (s) => s.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  for (const [direction, prefix] of [['client', 'Client'], ['server', 'Server']]) {
    for (const type of typesOf(validator(direction).schema)) {
      assert.match(dts, new RegExp(`export interface ${prefix}${pascal(type)}\\b`));
      assert.match(dts, new RegExp(`^  ${type}: ${prefix}${pascal(type)};$`, 'm'));
    }
  }
});

test('the moderation methods send valid client frames', async () => {
  const { validate } = validator('client');
  // A Meeting on an open fake socket, never connected: just enough to capture what the methods send.
  globalThis.WebSocket ??= FakeSocket;
  const { Meeting } = await import('../../sdk/huddle.js');
  const m = new Meeting({ token: 'x.y.z' });
  const ws = new FakeSocket('');
  ws.readyState = FakeSocket.OPEN;
  m.ws = ws;
  m.joined = true;
  const sent = ws.sent;
  const calls = [
    () => m.remove(9), () => m.remove(9, { ban: true }), () => m.endMeeting(),
    () => m.requestMute(9), () => m.requestMute(9, { audio: false, video: true }),
    () => m.lock(), () => m.lock(false), () => m.setLobby(true), () => m.admit(), () => m.admit(12),
    () => m.deny(12), () => m.setRole(8, 'cohost'), () => m.transferHost(8), () => m.pullAside(9),
    () => m.endAside(), () => m.raiseHand(), () => m.raiseHand(false), () => m.lowerHand(1795000000009),
  ];
  for (const call of calls) call().catch(() => {});
  const types = sent.map((f) => f.type);
  assert.deepEqual(types, ['remove', 'remove', 'end_meeting', 'request_mute', 'request_mute', 'lock', 'lock',
    'set_lobby', 'admit', 'admit', 'deny', 'set_role', 'transfer_host', 'pull_aside', 'end_aside', 'raise_hand', 'raise_hand',
    'raise_hand']);
  for (const f of sent) assert.ok(validate(f), `${JSON.stringify(f)}: ${JSON.stringify(validate.errors)}`);
  assert.equal(sent[1].ban, true);
  assert.equal(sent[8].peer, undefined, 'admit without a peer admits everyone');
  assert.deepEqual([sent[4].audio, sent[4].video], [false, true]);
  assert.equal(m.handRaised, false, 'raised, then lowered');
  assert.deepEqual([sent.at(-1).raised, sent.at(-1).peer], [false, 1795000000009], 'lowering someone else\'s hand');
  m.requests.failAll('done');
});
