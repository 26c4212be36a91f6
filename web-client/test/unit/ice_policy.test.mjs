// The hub's `ice_transport_policy` (PROTOCOL.md, `welcome`): with `relay`, every peer connection
// the SDK makes uses only the TURN servers, so no participant's browser learns another's address.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakePeerConnection, fakeMedia, fakeNetwork, joinedMeeting } from './helpers.mjs';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const welcome = (policy) => ({
  type: 'welcome', protocol: 1, you: alex, meeting: 'demo', room: 'main', peers: [host], chat: [],
  ice_servers: [{ urls: ['turn:turn.example.org:3478'], username: 'u', credential: 'c' }],
  ...(policy ? { ice_transport_policy: policy } : {}),
  rooms: [{ id: 'main', name: 'Main room', members: [7, 8] }], choosing: false, resume_token: 'tok-1',
});

for (const [policy, expected] of [['relay', 'relay'], [undefined, 'all']]) {
  test(`peer connections follow the hub's ice_transport_policy (${policy ?? 'absent'})`, async (t) => {
    fakeNetwork(t);
    fakeMedia(t);
    const { m } = await joinedMeeting(t, welcome(policy), {});
    const pc = m.links.get(7)?.pc;
    assert.ok(pc instanceof FakePeerConnection, 'a connection to the host');
    assert.equal(pc.config.iceTransportPolicy, expected);
    assert.deepEqual(pc.config.iceServers.map((s) => s.urls), [['turn:turn.example.org:3478']]);
  });
}
