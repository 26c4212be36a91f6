// Screen sharing in a mesh (PROTOCOL.md, `media_state`): the screen is a second video track to
// every peer, in a stream of its own whose id every signal names while we share
// (`{"screen": "<stream id>"}`), so the other side tells it from the camera when the track
// arrives; a signal without it means the sharing stopped. The SFU's side is in sfu.test.mjs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeStream, fakeMedia, fakeNetwork, joinedMeeting } from './helpers.mjs';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const welcome = (you, peers, extra = {}) => ({
  type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main', peers, chat: [], ice_servers: [],
  rooms: [{ id: 'main', name: 'Main room', members: [you.id, ...peers.map((p) => p.id)] }], choosing: false,
  resume_token: 'tok-1', ...extra,
});
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

async function meshMeeting(t, you, peers, listen = []) {
  fakeNetwork(t);
  const media = fakeMedia(t);
  const joined = await joinedMeeting(t, welcome(you, peers), { options: { media: { audio: true, video: true } }, listen });
  const pcOf = (id) => joined.m.links.get(id)?.pc;
  const sent = (type) => joined.ws.sent.filter((f) => f.type === type);
  return { ...joined, ...media, pcOf, sent };
}

test('mesh: sharing adds the display track to every peer connection, and every signal names its stream until it stops', async (t) => {
  const { m, ws, screens, pcOf, sent } = await meshMeeting(t, host, [alex]);
  const pc = pcOf(8);
  const sharing = m.startScreenShare();
  await settle();
  const [display] = screens;
  const track = display.getVideoTracks()[0];
  assert.ok(pc.sending().includes(track), 'a second video track');
  assert.equal(pc.sending().filter((x) => x.kind === 'video').length, 2);
  const state = sent('media_state').find((f) => f.screen === true);
  assert.ok(state, 'media_state {screen: true}');
  ws.receive({ type: 'ack', ref: state.id });
  await sharing;
  pc.onicecandidate({ candidate: { candidate: 'c1' } });
  assert.equal(sent('signal').at(-1).data.screen, display.id);
  await m.stopScreenShare();
  assert.ok(!pc.sending().includes(track), 'taken off');
  assert.equal(track.readyState, 'ended');
  assert.equal(sent('media_state').at(-1).screen, false);
  pc.onicecandidate({ candidate: { candidate: 'c2' } });
  assert.equal(sent('signal').at(-1).data.screen, undefined);
});

test('mesh: the track in the stream their signals name is their screen (screen-started), not their camera; a signal without it stops it', async (t) => {
  const { m, ws, events, pcOf } = await meshMeeting(t, alex, [host], ['stream', 'screen-started', 'screen-stopped']);
  const pc = pcOf(7);
  const cameraStream = new FakeStream();
  const screenStream = new FakeStream();
  ws.receive({ type: 'signal', from: 7, data: { candidate: { candidate: 'c' }, screen: screenStream.id } });
  await settle();
  pc.remoteTrack('video', cameraStream);
  const screenTrack = pc.remoteTrack('video', screenStream);
  assert.equal(events.filter(([n]) => n === 'stream').length, 1, 'the camera only');
  const started = events.filter(([n]) => n === 'screen-started');
  assert.equal(started.length, 1);
  assert.equal(started[0][1].track, screenTrack);
  assert.equal(m.remoteScreen(7), started[0][1].stream);
  assert.ok(!m.remoteStream(7).getTracks().includes(screenTrack));
  ws.receive({ type: 'peer_media', id: 7, audio: true, video: true, screen: true });
  assert.equal(m.peerMedia(7).screen, true);
  ws.receive({ type: 'signal', from: 7, data: { candidate: { candidate: 'c2' } } });
  await settle();
  assert.deepEqual(events.filter(([n]) => n === 'screen-stopped').map(([, d]) => d), [{ peerId: 7 }]);
  assert.equal(m.remoteScreen(7), null);
});

test('broadcast to one room sends its id; a broadcast for one room says which', async (t) => {
  const { m, ws, events, sent } = await meshMeeting(t, host, [alex], ['broadcast']);
  void m.broadcast('Five minutes left', 'b1').catch(() => {});
  void m.broadcast('Hello all').catch(() => {});
  assert.deepEqual(sent('broadcast').map(({ id, ...f }) => f), [
    { type: 'broadcast', text: 'Five minutes left', room: 'b1' }, { type: 'broadcast', text: 'Hello all' },
  ]);
  ws.receive({ type: 'rooms', rooms: [{ id: 'main', name: 'Main room', members: [7] }, { id: 'b1', name: 'Circle A', members: [8] }], choosing: false });
  ws.receive({ type: 'broadcast', from: 7, text: 'Five minutes left', ts: 5, room: 'b1' });
  assert.deepEqual(events.map(([, d]) => [d.room, d.roomName]), [['b1', 'Circle A']]);
});

