// Observers only receive (PROTOCOL.md, Roles). In a mesh the hub cannot stop media, only an
// observer's offers, so the SDK enforces the role: it shows nothing an observer sends, and when it
// is itself an observer (told by `welcome` or `peer_updated`) it sends nothing: camera and
// microphone off, the connections made anew without its tracks (the other side offers). Both ends
// rebuild the connection when someone starts or stops being an observer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fakeMedia, fakeNetwork, joinedMeeting } from './helpers.mjs';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const sam = { id: 9, name: 'Sam', role: 'participant' };
const olive = { id: 10, name: 'Olive', role: 'observer' };
const welcome = (you, peers) => ({
  type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main', peers, chat: [], ice_servers: [],
  rooms: [{ id: 'main', name: 'Main room', members: [you.id, ...peers.map((p) => p.id)] }], choosing: false,
  resume_token: 'tok-1',
});
const camera = { media: { audio: true, video: true } };
const settle = () => new Promise((resolve) => setImmediate(resolve));
const kinds = (pc) => pc.sending().map((t) => t.kind).sort();
const lastMediaState = (ws) => ws.sent.filter((f) => f.type === 'media_state').at(-1);

/** Alex in the main room with `peers`, over fake socket and media. */
async function alexWith(t, peers, { you = alex, options = {}, listen = ['track', 'stream'] } = {}) {
  fakeNetwork(t);
  const media = fakeMedia(t);
  const joined = await joinedMeeting(t, welcome(you, peers), { options, listen });
  const pcOf = (id) => joined.m.links.get(id)?.pc;
  return { ...joined, ...media, pcOf };
}

test('media from an observer is refused: not attached, no track or stream event', async (t) => {
  const { m, events, pcOf } = await alexWith(t, [host, olive]);
  pcOf(10).remoteTrack('video');
  pcOf(10).remoteTrack('audio');
  assert.deepEqual(events, [], 'whatever its client sends');
  assert.equal(m.remoteStream(10), null);
  pcOf(7).remoteTrack('video');
  assert.deepEqual(events.map(([n]) => n), ['track', 'stream'], 'the host\'s is shown');
});

test('someone made an observer: the connection to them is made anew and what they send is refused; made a participant again, it is shown', async (t) => {
  const { m, ws, events, pcOf } = await alexWith(t, [host, sam]);
  const before = pcOf(9);
  before.remoteTrack('video');
  assert.ok(m.remoteStream(9));
  ws.receive({ type: 'peer_updated', peer: { ...sam, role: 'observer' } });
  assert.equal(before.closed, true);
  const during = pcOf(9);
  assert.notEqual(during, before);
  assert.equal(m.remoteStream(9), null);
  during.remoteTrack('video');
  assert.equal(m.remoteStream(9), null);
  assert.equal(events.filter(([n]) => n === 'stream').length, 1, 'only the one from before');
  // Changes that do not make or unmake an observer leave the connections alone.
  const toHost = pcOf(7);
  ws.receive({ type: 'peer_updated', peer: { ...host, role: 'cohost' } });
  ws.receive({ type: 'peer_updated', peer: { ...sam, role: 'observer', hand: false } });
  assert.equal(pcOf(7), toHost);
  assert.equal(pcOf(9), during);
  ws.receive({ type: 'peer_updated', peer: sam });
  assert.equal(during.closed, true);
  pcOf(9).remoteTrack('video');
  assert.ok(m.remoteStream(9));
});

test('made an observer ourselves: camera and microphone stop, the connections are made anew without our tracks, and we make no offer', async (t) => {
  const { m, ws, events, pcOf, given } = await alexWith(t, [host, sam], { options: camera, listen: ['local-stream'] });
  const toSam = pcOf(9); // we are the impolite side (8 < 9): we offered, with our tracks
  assert.deepEqual(kinds(toSam), ['audio', 'video']);
  ws.receive({ type: 'peer_updated', peer: { ...alex, role: 'observer' } });
  assert.ok(given[0].getTracks().every((track) => track.readyState === 'ended'), 'camera and microphone off');
  assert.equal(m.localStream, null);
  assert.equal(toSam.closed, true);
  for (const id of [7, 9]) {
    assert.deepEqual(kinds(pcOf(id)), [], `nothing sent to ${id}`);
    assert.deepEqual(pcOf(id).transceivers, [], `no offer to ${id}: the other side makes it`);
  }
  assert.deepEqual(lastMediaState(ws), { type: 'media_state', audio: false, video: false });
  assert.deepEqual(events, [['local-stream', { stream: null }]]);
  await assert.rejects(m.selectDevices({ videoDeviceId: 'cam2' }), { code: 'forbidden' });
});

test('a welcome that says observer (whatever the token said) drops the media got for the token', async (t) => {
  const { m, asked, given, pcOf } = await alexWith(t, [host, sam], { you: { ...alex, role: 'observer' }, options: camera });
  assert.equal(asked.length, 1, 'the token did not say observer');
  assert.equal(m.localStream, null);
  assert.ok(given[0].getTracks().every((track) => track.readyState === 'ended'));
  for (const id of [7, 9]) assert.deepEqual(kinds(pcOf(id)), []);
});

test('made a participant again: camera and microphone are asked for again and sent', async (t) => {
  const { m, ws, asked, given, pcOf } = await alexWith(t, [host, sam], { options: camera });
  m.setAudioEnabled(false);
  ws.receive({ type: 'peer_updated', peer: { ...alex, role: 'observer' } });
  ws.receive({ type: 'peer_updated', peer: alex });
  await settle();
  assert.equal(asked.length, 2);
  assert.equal(m.localStream, given[1]);
  assert.deepEqual(given[1].getTracks().map((track) => [track.kind, track.enabled]), [['audio', false], ['video', true]],
    'the microphone stays muted as it was');
  assert.deepEqual(kinds(pcOf(9)), ['audio', 'video'], 'we offer to Sam: with them');
  // The host offers to us (we are the polite side): our tracks go with the answer, not in an
  // offer of ours that would collide with theirs.
  assert.deepEqual(kinds(pcOf(7)), []);
  ws.receive({ type: 'signal', from: 7, data: { description: { type: 'offer', sdp: 'o' } } });
  await settle();
  assert.deepEqual(kinds(pcOf(7)), ['audio', 'video']);
  assert.deepEqual(lastMediaState(ws), { type: 'media_state', audio: false, video: true });
});
