// The SDK talks to the hub over TLS only (wss:), except on loopback, where a developer's hub has
// no certificate: `join()` refuses an insecure hub URL before opening anything.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeSocket, fakeMedia, fakeNetwork } from './helpers.mjs';
import { HuddleError, join } from '../../sdk/huddle.js';

/** Settles with `promise`, or with 'pending' when it is still pending once the microtasks ran. */
const settled = (promise) => Promise.race([promise, new Promise((resolve) => setImmediate(() => resolve('pending')))]);

test('join() refuses ws: and http: hubs that are not on loopback, before opening anything', async (t) => {
  fakeNetwork(t);
  const { asked } = fakeMedia(t);
  for (const url of ['http://hub.example', 'ws://hub.example/v1/ws', 'http://10.0.0.5:8090/', 'ws://[2001:db8::1]/',
    'http://localhost.evil.example/', 'http://127.0.0.1.nip.io/', 'ftp://hub.example/']) {
    await assert.rejects(settled(join({ url, token: 'a.b.c', heartbeat: false })), (err) => {
      assert.ok(err instanceof HuddleError, `${url}: a HuddleError`);
      assert.equal(err.code, 'insecure_transport', url);
      assert.match(err.message, /wss:|https:/, `${url}: the message says what is needed`);
      return true;
    });
  }
  assert.equal(FakeSocket.all.length, 0, 'no socket was opened');
  assert.deepEqual(asked, [], 'no camera or microphone was asked for');
});

test('loopback hubs may use ws: and http:; anything may use wss: and https:', async (t) => {
  fakeNetwork(t);
  const { Meeting } = await import('../../sdk/huddle.js');
  const urls = ['http://localhost:8090', 'ws://127.0.0.1:8090/v1/ws', 'http://127.3.4.5/', 'http://[::1]:8090/',
    'wss://hub.example/v1/ws', 'https://hub.example/huddle/'];
  for (const url of urls) {
    const m = new Meeting({ url, token: 'a.b.c', media: null, heartbeat: false });
    const joining = m.connect();
    joining.catch(() => {});
    await Promise.resolve();
    assert.equal(FakeSocket.all.at(-1)?.url.replace(/^(wss?):.*/, '$1'), url.startsWith('https') || url.startsWith('wss') ? 'wss' : 'ws', url);
    m.leave();
  }
  assert.equal(FakeSocket.all.length, urls.length);
});
