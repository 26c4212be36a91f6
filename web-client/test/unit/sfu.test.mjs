// SFU meetings (`welcome.media == "sfu"`): one RTCPeerConnection to the hub, our one offer
// (`sfu_publish`: 16 receive slot pairs, then microphone and camera in simulcast, whoever we
// are), the hub's answer filling the receive slots, any further offers of the hub answered in
// turn, and the slot table (`sfu_tracks`) turned into the same `stream` / `connection-state`
// events a mesh gives, for roommates only. The connection outlives room changes and a resumed
// socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { FakeSocket, FakeTrack, fakeMedia, fakeNetwork, joinedMeeting } from './helpers.mjs';
import { SlotTable, diffShown, slotKey } from '../../sdk/sfu.js';

const host = { id: 7, name: 'Dr. Rivera', role: 'host' };
const alex = { id: 8, name: 'Alex', role: 'participant' };
const sam = { id: 9, name: 'Sam', role: 'participant' };
const jordan = { id: 10, name: 'Jordan', role: 'participant' };
const olive = { id: 11, name: 'Olive', role: 'observer' };

const welcome = (you, peers, extra = {}) => ({
  type: 'welcome', protocol: 1, you, meeting: 'demo', room: 'main', peers, chat: [], ice_servers: [],
  rooms: [{ id: 'main', name: 'Main room', members: [you.id, ...peers.map((p) => p.id)] }], choosing: false,
  resume_token: 'tok-1', media: 'sfu', ...extra,
});
const camera = { media: { audio: true, video: true } };
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

/**
 * The browser's side of a connection to the hub. Our offer's "SDP" lists each transceiver as
 * `mid:kind:direction` (see `offerOf`); the hub's answer is any text; the hub's offers are JSON,
 * the receive slots offered (`[{mid, kind}]`), and applying one adds a receiving transceiver per
 * new mid. Mids are given when our offer is applied, as in a browser; descriptions applied in the
 * wrong signaling state throw, as in a browser.
 */
class FakeHubConnection {
  static all = [];
  constructor(config) {
    this.config = config;
    this.list = [];
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.iceConnectionState = 'new';
    this.localDescription = null;
    this.remoteDescription = null;
    this.nextMid = 0;
    this.closed = false;
    /** inbound-rtp counters by mid, as getStats gives them. */
    this.inbound = new Map();
    /** Descriptions applied, in order: ['local'|'remote', type]. */
    this.applied = [];
    FakeHubConnection.all.push(this);
  }
  /** A kind (a receive slot: the sender has no track) or a track to send. */
  addTransceiver(trackOrKind, init = {}) {
    const byKind = typeof trackOrKind === 'string';
    const kind = byKind ? trackOrKind : trackOrKind.kind;
    const t = {
      mid: null, kind, byKind, direction: init.direction ?? 'sendrecv', currentDirection: null, init,
      sender: { track: byKind ? null : trackOrKind, replaceTrack: async (x) => { t.sender.track = x; } },
      receiver: { track: new FakeTrack(kind) },
    };
    this.list.push(t);
    return t;
  }
  getTransceivers() { return [...this.list]; }
  async setLocalDescription() {
    if (this.closed) throw new DOMException('closed', 'InvalidStateError');
    if (this.signalingState === 'have-remote-offer') {
      this.localDescription = { type: 'answer', sdp: `answer for ${this.remoteDescription.sdp}` };
      this.signalingState = 'stable';
      this.negotiated();
    } else if (this.signalingState === 'stable') {
      for (const t of this.list) if (t.mid == null) t.mid = String(this.nextMid++);
      this.localDescription = { type: 'offer', sdp: offerOf(this.list) };
      this.signalingState = 'have-local-offer';
    } else {
      throw new DOMException(`offer in ${this.signalingState}`, 'InvalidStateError');
    }
    this.applied.push(['local', this.localDescription.type]);
  }
  async setRemoteDescription(d) {
    if (this.closed) throw new DOMException('closed', 'InvalidStateError');
    const expected = d.type === 'answer' ? 'have-local-offer' : 'stable';
    if (this.signalingState !== expected) throw new DOMException(`${d.type} in ${this.signalingState}`, 'InvalidStateError');
    this.applied.push(['remote', d.type]);
    this.remoteDescription = d;
    if (d.type === 'answer') {
      this.signalingState = 'stable';
      this.negotiated();
      return;
    }
    this.signalingState = 'have-remote-offer';
    for (const { mid, kind } of JSON.parse(d.sdp)) {
      if (this.list.some((t) => t.mid === mid)) continue;
      const t = {
        mid, kind, direction: 'recvonly', currentDirection: null, sender: { track: null }, receiver: { track: new FakeTrack(kind) },
      };
      this.list.push(t);
      this.ontrack?.({ track: t.receiver.track, transceiver: t, streams: [] });
    }
  }
  /** An offer/answer exchange completed: every transceiver with a mid is negotiated. */
  negotiated() {
    for (const t of this.list) {
      if (t.mid == null || t.currentDirection != null) continue;
      t.currentDirection = t.direction;
      // Our own receive slots get their track when the hub's answer says it sends on them.
      if (t.byKind && t.direction === 'recvonly') this.ontrack?.({ track: t.receiver.track, transceiver: t, streams: [] });
    }
  }
  async getStats() {
    return new Map([...this.inbound].map(([mid, c]) => [`in-${mid}`, { type: 'inbound-rtp', mid, kind: 'video', ...c }]));
  }
  close() {
    this.closed = true;
    this.connectionState = 'closed';
  }
  setState(state) {
    this.connectionState = state;
    this.onconnectionstatechange?.();
  }
  sendEncodings(kind) {
    return this.list.find((t) => t.sender.track?.kind === kind)?.init.sendEncodings;
  }
  /** The transceivers that send: [mid, kind, track sent]. */
  sending() {
    return this.list.filter((t) => t.direction === 'sendonly').map((t) => [t.mid, t.kind, t.sender.track]);
  }
  /** The receiver track of slot `mid`. */
  recv(mid) {
    return this.list.find((t) => t.mid === mid).receiver.track;
  }
}

/** The fake's offer text: each transceiver as `mid:kind:direction`, in order. */
const offerOf = (list) => `offer ${list.map((t) => `${t.mid}:${t.kind}:${t.direction}`).join(' ')}`;

/**
 * The 16 receive slot pairs every publish offers first, as [mid, kind, direction]: audio on the
 * even mids 0…30, video on the odd ones 1…31.
 */
const RECEIVE_SLOTS = Array.from({ length: 16 }, (_, k) => [
  [String(2 * k), 'audio', 'recvonly'], [String(2 * k + 1), 'video', 'recvonly'],
]).flat();
/** Our offer with the receive slots and then `sending` ([mid, kind] each, sendonly). */
const offerWith = (sending) => offerOf([...RECEIVE_SLOTS, ...sending.map(([mid, kind]) => [mid, kind, 'sendonly'])]
  .map(([mid, kind, direction]) => ({ mid, kind, direction })));

/** `you` joined an SFU meeting with `peers` over a fake socket and fake media. */
async function sfuMeeting(t, { you = alex, peers = [host, sam], options = camera, extra = {}, listen = ['stream', 'track', 'connection-state', 'active-speaker', 'media-blocked'] } = {}) {
  fakeNetwork(t);
  const media = fakeMedia(t);
  FakeHubConnection.all = [];
  globalThis.RTCPeerConnection = FakeHubConnection; // restored by fakeMedia's cleanup
  const joined = await joinedMeeting(t, welcome(you, peers, extra), { options, listen });
  await settle();
  const pcs = FakeHubConnection.all;
  const sentOf = (type) => joined.ws.sent.filter((f) => f.type === type);
  /** The hub answers our publish (the answer fills our 16 receive slot pairs). */
  const answer = async (ws = joined.ws) => {
    ws.receive({ type: 'sfu_publish_answer', sdp: 'hub answer' });
    await settle();
  };
  /** The hub offers (more) slot pairs `[[audioMid, videoMid], …]`. */
  const hubOffers = async (rev, pairs, ws = joined.ws) => {
    ws.receive({ type: 'sfu_offer', rev, sdp: JSON.stringify(pairs.flatMap(([a, v]) => [{ mid: a, kind: 'audio' }, { mid: v, kind: 'video' }])) });
    await settle();
  };
  const tracks = (rev, assign, ws = joined.ws) => ws.receive({
    type: 'sfu_tracks', rev, slots: Object.entries(assign).flatMap(([pair, peer]) => {
      const [a, v] = pair.split('/');
      return [{ mid: a, kind: 'audio', ...(peer == null ? {} : { peer }) }, { mid: v, kind: 'video', ...(peer == null ? {} : { peer }) }];
    }),
  });
  const ack = (frame, ws = joined.ws) => ws.receive({ type: 'ack', ref: frame.id });
  return { ...joined, ...media, pcs, sentOf, answer, hubOffers, tracks, ack };
}

const streamsOf = (events, id) => events.filter(([n, d]) => n === 'stream' && d.peerId === id).map(([, d]) => d.stream);
const closedOf = (events, id) => events.filter(([n, d]) => n === 'connection-state' && d.peerId === id && d.state === 'closed').length;

// ---- the pure parts ----

test('the slot table gives each roommate their first audio and video slot, and nobody outside the room', () => {
  const table = new SlotTable();
  table.set(3, [
    { mid: '2', kind: 'audio', peer: 7 }, { mid: '3', kind: 'video', peer: 7 },
    { mid: '4', kind: 'audio', peer: 9 }, { mid: '5', kind: 'video', peer: 9 },
    { mid: '6', kind: 'audio' }, { mid: '7', kind: 'video', peer: null },
    { mid: '8', kind: 'video', peer: 7 },
  ]);
  assert.deepEqual([...table.byPeer(new Set([7, 9]))], [[7, { audio: '2', video: '3' }], [9, { audio: '4', video: '5' }]]);
  assert.deepEqual([...table.byPeer(new Set([7]))], [[7, { audio: '2', video: '3' }]], 'Sam is not in our room (any more)');
  assert.equal(table.peerOf('5'), 9);
  assert.equal(table.peerOf('6'), null);
  table.set(1, [{ mid: '2', kind: 'audio', peer: 9 }]);
  assert.equal(table.rev, 1, 'the latest table wins, whatever its rev (a new publish may count again)');
  assert.deepEqual([...table.byPeer(new Set([7, 9]))], [[9, { audio: '2', video: null }]]);
});

test('diffShown: new or moved streams open, gone ones drop, unchanged ones stay', () => {
  const shown = new Map([[7, slotKey('2', '3')], [9, slotKey('4', '5')], [10, slotKey('6', '7')]]);
  const wanted = new Map([[7, slotKey('2', '3')], [9, slotKey('6', '7')], [12, slotKey('4', '5')]]);
  assert.deepEqual(diffShown(shown, wanted), { open: [9, 12], drop: [10] });
  assert.deepEqual(diffShown(wanted, wanted), { open: [], drop: [] });
  assert.notEqual(slotKey('1', null), slotKey(null, '1'));
});

// ---- publishing ----

test('an SFU welcome makes one connection to the hub and publishes 16 receive slot pairs, then microphone and camera (simulcast l/h), with no signal and no connection per peer', async (t) => {
  const { m, pcs, sentOf } = await sfuMeeting(t);
  assert.equal(m.mediaMode, 'sfu');
  assert.equal(pcs.length, 1, 'one RTCPeerConnection');
  assert.equal(m.links.size, 0, 'no mesh');
  const pc = pcs[0];
  // The receive slots first (the hub wants them before the sending sections), audio and video in
  // turn, each added by kind with nothing to send; then the microphone, then the camera.
  assert.deepEqual(pc.list.map((x) => [x.mid, x.kind, x.direction]), [
    ...RECEIVE_SLOTS, ['32', 'audio', 'sendonly'], ['33', 'video', 'sendonly'], ['34', 'video', 'sendonly'],
  ]);
  for (const x of pc.list.slice(0, 32)) {
    assert.equal(x.byKind, true, `slot ${x.mid}: added by kind`);
    assert.equal(x.sender.track, null);
    assert.deepEqual(x.init, { direction: 'recvonly' });
  }
  const [mic, cam, screen] = pc.list.slice(32);
  // The screen's section: offered from the start without a track (sharing is a replaceTrack),
  // one encoding.
  assert.equal(screen.byKind, true);
  assert.equal(screen.sender.track, null);
  assert.deepEqual(screen.init, { direction: 'sendonly', sendEncodings: [{ maxBitrate: 1500000 }] });
  assert.equal(mic.sender.track, m.localStream.getAudioTracks()[0]);
  assert.equal(cam.sender.track, m.localStream.getVideoTracks()[0]);
  assert.deepEqual(mic.init.streams, [m.localStream]);
  assert.deepEqual(cam.init.streams, [m.localStream]);
  assert.deepEqual(pc.sendEncodings('video'), [
    { rid: 'l', scaleResolutionDownBy: 2, maxBitrate: 150000 }, { rid: 'h', maxBitrate: 900000 },
  ]);
  assert.equal(pc.sendEncodings('audio'), undefined);
  assert.equal(pc.config.iceTransportPolicy, 'all');
  const [publish] = sentOf('sfu_publish');
  assert.equal(sentOf('sfu_publish').length, 1);
  assert.equal(typeof publish.id, 'number', 'a request: the hub acks or refuses it');
  assert.equal(publish.sdp, offerWith([['32', 'audio'], ['33', 'video'], ['34', 'video']]), 'our local offer');
  assert.equal(publish.sdp, pc.localDescription.sdp);
  assert.deepEqual(pc.applied, [['local', 'offer']], 'the answer is the hub\'s');
  assert.equal(sentOf('signal').length, 0);
});

test('someone without devices offers the camera\'s and the screen\'s sections empty (the screen must be the second sending video)', async (t) => {
  const { pcs, sentOf } = await sfuMeeting(t, { options: { media: null } });
  const pc = pcs[0];
  assert.deepEqual(pc.list.slice(32).map((x) => [x.mid, x.kind, x.direction, x.sender.track]), [['32', 'video', 'sendonly', null], ['33', 'video', 'sendonly', null]]);
  assert.equal(sentOf('sfu_publish')[0].sdp, offerWith([['32', 'video'], ['33', 'video']]));
});

test('an observer sends an offer that only receives: the 16 slot pairs, sfu_publish with its sdp, and the answer\'s slots are shown without any sfu_offer', async (t) => {
  for (const [you, options] of [[olive, camera]]) {
    await t.test(`${you.name}${options.media ? '' : ' (no devices)'}`, async (t2) => {
      const { events, pcs, sentOf, ack, answer, tracks } = await sfuMeeting(t2, { you, options, peers: [host, sam] });
      assert.equal(pcs.length, 1);
      const pc = pcs[0];
      assert.deepEqual(pc.list.map((x) => [x.mid, x.kind, x.direction]), RECEIVE_SLOTS);
      assert.ok(pc.list.every((x) => x.byKind && x.sender.track === null), 'nothing sent');
      const [publish] = sentOf('sfu_publish');
      assert.equal(sentOf('sfu_publish').length, 1);
      assert.equal(publish.sdp, offerWith([]));
      assert.equal(publish.sdp, pc.localDescription.sdp);
      assert.ok(!publish.sdp.includes('sendonly'));
      assert.deepEqual(pc.applied, [['local', 'offer']]);
      ack(publish);
      await answer();
      tracks(1, { '0/1': 7, '2/3': 9 });
      assert.deepEqual(streamsOf(events, 7).map((s) => s.getTracks()), [[pc.recv('0'), pc.recv('1')]]);
      assert.deepEqual(streamsOf(events, 9).map((s) => s.getTracks()), [[pc.recv('2'), pc.recv('3')]]);
      assert.deepEqual(pc.applied, [['local', 'offer'], ['remote', 'answer']]);
      assert.equal(sentOf('sfu_answer').length, 0);
    });
  }
});

test('the hub\'s answer fills our receive slots: sfu_tracks naming their mids makes streams, with no sfu_offer and no sfu_answer', async (t) => {
  const { m, events, ws, pcs, sentOf, ack, answer, tracks } = await sfuMeeting(t, { peers: [host, sam] });
  const pc = pcs[0];
  ack(sentOf('sfu_publish')[0]);
  await answer();
  assert.deepEqual(pc.applied, [['local', 'offer'], ['remote', 'answer']]);
  assert.deepEqual(pc.list.map((x) => x.currentDirection), [...RECEIVE_SLOTS.map(() => 'recvonly'), 'sendonly', 'sendonly', 'sendonly']);
  assert.equal(streamsOf(events, 7).length, 0, 'nobody before the table says so');
  tracks(1, { '0/1': 7, '30/31': 9, '2/3': null });
  const [hostStream] = streamsOf(events, 7);
  const [samStream] = streamsOf(events, 9);
  assert.deepEqual(hostStream.getTracks(), [pc.recv('0'), pc.recv('1')]);
  assert.deepEqual(samStream.getTracks(), [pc.recv('30'), pc.recv('31')], 'the last pair too');
  assert.equal(m.remoteStream(7), hostStream);
  assert.deepEqual(events.filter(([n, d]) => n === 'track' && d.peerId === 9).map(([, d]) => d.track), [pc.recv('30'), pc.recv('31')]);
  // A roommate the table does not name gets no stream (a free slot is not theirs).
  ws.receive({ type: 'peer_joined', peer: jordan });
  assert.equal(streamsOf(events, 10).length, 0);
  assert.equal(sentOf('sfu_answer').length, 0);
  assert.equal(pc.list.length, 35, 'no slot added');
  assert.equal(m.negotiationState().hub.published, true);
  assert.equal(m.negotiationState().hub.broken, false);
});

test('a table that arrives with the answer, before it is applied, is shown too (the slots exist since our offer)', async (t) => {
  const { events, ws, pcs, tracks } = await sfuMeeting(t, { peers: [host] });
  ws.receive({ type: 'sfu_publish_answer', sdp: 'hub answer' });
  tracks(1, { '4/5': 7 });
  assert.deepEqual(streamsOf(events, 7).map((s) => s.getTracks()), [[pcs[0].recv('4'), pcs[0].recv('5')]]);
  await settle();
  assert.deepEqual(pcs[0].applied, [['local', 'offer'], ['remote', 'answer']]);
  assert.equal(streamsOf(events, 7).length, 1, 'the answer changes nothing shown');
});

test('after the hub\'s answer, each of its offers (more slots) is applied and answered with its rev, in order', async (t) => {
  const { ws, pcs, sentOf, hubOffers } = await sfuMeeting(t);
  const pc = pcs[0];
  ws.receive({ type: 'sfu_publish_answer', sdp: 'hub answer' });
  // Both offers at once: the second waits for the first to be answered.
  ws.receive({ type: 'sfu_offer', rev: 1, sdp: JSON.stringify([{ mid: '40', kind: 'audio' }, { mid: '41', kind: 'video' }]) });
  await hubOffers(2, [['40', '41'], ['42', '43']]);
  assert.deepEqual(pc.applied, [['local', 'offer'], ['remote', 'answer'], ['remote', 'offer'], ['local', 'answer'], ['remote', 'offer'], ['local', 'answer']]);
  assert.deepEqual(pc.list.slice(35).map((x) => [x.mid, x.kind, x.direction]), [
    ['40', 'audio', 'recvonly'], ['41', 'video', 'recvonly'], ['42', 'audio', 'recvonly'], ['43', 'video', 'recvonly'],
  ]);
  const answers = sentOf('sfu_answer');
  assert.deepEqual(answers.map((a) => a.rev), [1, 2]);
  assert.ok(answers.every((a) => a.sdp.startsWith('answer for') && typeof a.id === 'number'));
  assert.equal(sentOf('sfu_publish').length, 1, 'the client never offers again');
});

// ---- the slot table, as events ----

test('sfu_tracks: a stream per roommate from their slot pair; a slot that passes from one peer to another gives the new one a new stream of the same tracks', async (t) => {
  const { m, ws, events, pcs, answer, tracks } = await sfuMeeting(t, { peers: [host, sam] });
  await answer();
  tracks(1, { '2/3': 7, '4/5': 9 });
  const [hostStream] = streamsOf(events, 7);
  const [samStream] = streamsOf(events, 9);
  assert.ok(hostStream && samStream);
  const recv = (mid) => pcs[0].recv(mid);
  assert.deepEqual(hostStream.getTracks(), [recv('2'), recv('3')]);
  assert.equal(m.remoteStream(7), hostStream);
  assert.equal(events.filter(([n, d]) => n === 'track' && d.peerId === 7).length, 2);
  // The same table again changes nothing.
  const before = events.length;
  tracks(2, { '2/3': 7, '4/5': 9 });
  assert.equal(events.length, before);
  // Sam leaves the room; Jordan arrives and the hub gives Jordan Sam's old slot pair.
  ws.receive({ type: 'peer_left', id: 9, reason: 'left' });
  assert.equal(closedOf(events, 9), 1, 'what a mesh says when a connection goes');
  assert.deepEqual(samStream.getTracks(), [], 'Sam\'s old stream no longer carries the slot');
  ws.receive({ type: 'peer_joined', peer: jordan });
  assert.equal(streamsOf(events, 10).length, 0, 'no slot for Jordan yet');
  tracks(3, { '2/3': 7, '4/5': 10 });
  const [jordanStream] = streamsOf(events, 10);
  assert.notEqual(jordanStream, samStream, 'a new MediaStream object');
  assert.deepEqual(jordanStream.getTracks(), [recv('4'), recv('5')], 'wrapping the same receiver tracks');
  assert.equal(streamsOf(events, 7).length, 1, 'the host\'s stream is untouched');
  assert.equal(pcs.length, 1);
});

test('a slot reassigned while both are in the room: the old peer\'s stream is emptied and closed, the new one gets a new stream', async (t) => {
  const { events, answer, tracks } = await sfuMeeting(t, { peers: [host, sam] });
  await answer();
  tracks(1, { '2/3': 7 });
  const [hostStream] = streamsOf(events, 7);
  tracks(2, { '2/3': 9 });
  assert.deepEqual(hostStream.getTracks(), []);
  assert.equal(closedOf(events, 7), 1);
  assert.equal(streamsOf(events, 9).length, 1);
  assert.notEqual(streamsOf(events, 9)[0], hostStream);
});

test('a table that names a slot the connection does not have yet (past our 16 pairs): the stream comes when the hub\'s offer adding it is applied', async (t) => {
  const { events, pcs, answer, hubOffers, tracks } = await sfuMeeting(t, { peers: [host, sam] });
  await answer();
  tracks(1, { '0/1': 9, '40/41': 7 });
  assert.equal(streamsOf(events, 9).length, 1, 'a slot of the answer: at once');
  assert.equal(streamsOf(events, 7).length, 0);
  await hubOffers(1, [['40', '41']]);
  assert.deepEqual(streamsOf(events, 7).map((s) => s.getTracks()), [[pcs[0].recv('40'), pcs[0].recv('41')]]);
  assert.equal(streamsOf(events, 9).length, 1, 'Sam\'s stream is untouched');
});

test('nobody outside our room is shown, whatever the table says; they are once they join us', async (t) => {
  const { events, ws, answer, tracks } = await sfuMeeting(t, { peers: [host] });
  await answer();
  tracks(1, { '2/3': 7, '4/5': 10 });
  assert.equal(streamsOf(events, 10).length, 0, 'Jordan is in another room');
  ws.receive({ type: 'peer_joined', peer: jordan });
  assert.equal(streamsOf(events, 10).length, 1);
});

test('room_changed keeps the one connection: old roommates lose their streams, new ones get them from the next table', async (t) => {
  const { events, ws, pcs, answer, tracks, sentOf } = await sfuMeeting(t, { peers: [host, sam] });
  await answer();
  tracks(1, { '2/3': 7, '4/5': 9 });
  ws.receive({
    type: 'room_changed', room: 'b1', name: 'Circle B', topic: null, chat: [], private: false,
    peers: [alex, jordan],
  });
  assert.equal(closedOf(events, 7), 1);
  assert.equal(closedOf(events, 9), 1);
  tracks(2, { '2/3': 10, '4/5': null });
  assert.equal(streamsOf(events, 10).length, 1);
  assert.equal(pcs.length, 1, 'no new RTCPeerConnection');
  assert.equal(pcs[0].closed, false);
  assert.equal(sentOf('sfu_publish').length, 1, 'no new publish');
});

test('a resumed welcome keeps a healthy connection; a fresh one (new seat) and a failed connection publish anew', async (t) => {
  const { m, ws, events, pcs, hubOffers, tracks, ack, sentOf } = await sfuMeeting(t, { peers: [host] });
  ack(sentOf('sfu_publish')[0]);
  ws.receive({ type: 'sfu_publish_answer', sdp: 'hub answer' });
  await hubOffers(1, [['40', '41']]); // more slots than the answer's: answered and acked
  ack(sentOf('sfu_answer')[0]);
  tracks(1, { '2/3': 7, '40/41': null });
  await settle();
  ws.drop();
  assert.equal(pcs[0].closed, false, 'media may still flow while the socket is down');
  assert.ok(m.remoteStream(7));
  await reconnect(ws, welcome(alex, [host], { resumed: true }));
  assert.equal(pcs.length, 1, 'kept');
  let publishes = FakeSocket.all.flatMap((s) => s.sent).filter((f) => f.type === 'sfu_publish');
  assert.equal(publishes.length, 1);
  assert.ok(m.remoteStream(7), 'still shown');

  // The connection fails: a new one, published at once.
  pcs[0].setState('failed');
  await settle();
  assert.equal(pcs.length, 2);
  assert.equal(pcs[0].closed, true);
  assert.equal(closedOf(events, 7) >= 1, true);
  publishes = FakeSocket.all.flatMap((s) => s.sent).filter((f) => f.type === 'sfu_publish');
  assert.equal(publishes.length, 2);
  assert.equal(publishes[1].sdp, offerWith([['32', 'audio'], ['33', 'video'], ['34', 'video']]), 'the whole offer again, receive slots first');
  assert.equal(publishes[1].sdp, pcs[1].localDescription.sdp);

  // A fresh welcome (the hub forgot our seat): a new connection again.
  const sock = FakeSocket.all.at(-1);
  sock.drop();
  await reconnect(sock, welcome({ ...alex, id: 21 }, [{ ...host, id: 20 }], { resume_token: 'tok-2' }));
  assert.equal(pcs.length, 3);
  assert.equal(pcs[1].closed, true);
});

test('a resumed welcome from another media engine (the meeting moved to another hub node) publishes anew at once, though the old connection looks healthy', async (t) => {
  const { ws, pcs, ack, sentOf } = await sfuMeeting(t, { peers: [host], extra: { sfu_instance: 'engine-a' } });
  ack(sentOf('sfu_publish')[0]);
  ws.receive({ type: 'sfu_publish_answer', sdp: 'hub answer' });
  await settle();
  ws.drop();
  // The same engine (a network drop): kept.
  const again = await reconnect(ws, welcome(alex, [host], { resumed: true, sfu_instance: 'engine-a' }));
  assert.equal(pcs.length, 1, 'kept');
  again.drop();
  // Another engine (the owner died; a survivor restored the seat): a new connection, published.
  await reconnect(again, welcome(alex, [host], { resumed: true, sfu_instance: 'engine-b' }));
  assert.equal(pcs.length, 2, 'a connection to the new engine');
  assert.equal(pcs[0].closed, true, 'the one to the old engine is closed');
  const publishes = FakeSocket.all.flatMap((s) => s.sent).filter((f) => f.type === 'sfu_publish');
  assert.equal(publishes.length, 2);
});

test('a resumed welcome after the socket lost our answer publishes anew (the hub would wait for it forever)', async (t) => {
  const { ws, pcs, hubOffers, ack, sentOf } = await sfuMeeting(t, { peers: [host] });
  ack(sentOf('sfu_publish')[0]);
  ws.receive({ type: 'sfu_publish_answer', sdp: 'hub answer' });
  await hubOffers(1, [['40', '41']]);
  ws.drop(); // before the answer's ack
  await settle();
  await reconnect(ws, welcome(alex, [host], { resumed: true }));
  assert.equal(pcs.length, 2);
});

/** The socket dropped: the SDK reconnects after its backoff and gets `w`. */
async function reconnect(oldWs, w) {
  const { mock } = await import('node:test');
  mock.timers.tick(2000); // the first attempt's backoff: at most 1.2 s
  await settle();
  const ws = FakeSocket.all.at(-1);
  assert.notEqual(ws, oldWs);
  ws.open();
  ws.receive(w);
  await settle();
  return ws;
}

// ---- devices, roles ----

test('switching the camera replaces the sent track without a new publish; a camera we did not send takes the section offered empty', async (t) => {
  const { m, pcs, sentOf } = await sfuMeeting(t, { options: { media: { audio: true, video: false } } });
  assert.deepEqual(pcs[0].list.map((x) => [x.mid, x.kind, x.direction]), [...RECEIVE_SLOTS, ['32', 'audio', 'sendonly'], ['33', 'video', 'sendonly'], ['34', 'video', 'sendonly']]);
  const [[, , oldMic]] = pcs[0].sending();
  assert.equal(oldMic, m.localStream.getAudioTracks()[0]);
  await m.selectDevices({ audioDeviceId: 'mic-2' });
  await settle();
  const [[mid, , newMic]] = pcs[0].sending();
  assert.equal(mid, '32');
  assert.notEqual(newMic, oldMic);
  assert.equal(newMic, m.localStream.getAudioTracks()[0], 'the new microphone is sent');
  assert.ok(pcs[0].list.slice(0, 32).every((x) => x.sender.track === null), 'the receive slots still send nothing');
  assert.equal(pcs.length, 1);
  assert.equal(sentOf('sfu_publish').length, 1);
  await m.selectDevices({ videoDeviceId: 'cam-2' });
  await settle();
  assert.equal(pcs.length, 1, 'a camera we did not send goes on the camera\'s empty section: no new publish');
  assert.deepEqual(pcs[0].sending().map(([, , track]) => track), [newMic, m.localStream.getVideoTracks()[0], null]);
  assert.equal(sentOf('sfu_publish').length, 1);
});

test('made a participant after being an observer: a new publish with our devices', async (t) => {
  const { m, ws, pcs, sentOf } = await sfuMeeting(t, { you: olive, peers: [host] });
  assert.equal(sentOf('sfu_publish')[0].sdp, offerWith([]), 'receive slots only');
  ws.receive({ type: 'peer_updated', peer: { ...olive, role: 'participant' } });
  await settle();
  assert.equal(pcs.length, 2);
  assert.equal(pcs[0].closed, true);
  assert.equal(sentOf('sfu_publish').length, 2);
  assert.equal(sentOf('sfu_publish')[1].sdp, offerWith([['32', 'audio'], ['33', 'video'], ['34', 'video']]));
  assert.deepEqual(pcs[1].sending().map(([, , track]) => track), [m.localStream.getAudioTracks()[0], m.localStream.getVideoTracks()[0], null]);
});

// ---- subscribe, active speaker, hard mute ----

test('subscribe sends sfu_subscribe once per change (low is the hub\'s default); it is asked again on a new connection', async (t) => {
  const { m, ws, pcs, sentOf, ack } = await sfuMeeting(t, { peers: [host, sam] });
  await m.subscribe(9, 'low'); // the default: nothing to send
  const first = m.subscribe(7, 'high');
  await m.subscribe(7, 'high'); // resolves at once: asked already
  m.subscribe(9, 'off').catch(() => {});
  assert.deepEqual(sentOf('sfu_subscribe').map((f) => [f.peer, f.video]), [[7, 'high'], [9, 'off']]);
  ack(sentOf('sfu_subscribe')[0]);
  await first;
  ws.receive({ type: 'peer_left', id: 9, reason: 'moved' });
  pcs[0].setState('failed');
  await settle();
  ack(sentOf('sfu_publish')[1]);
  await settle();
  assert.deepEqual(sentOf('sfu_subscribe').map((f) => [f.peer, f.video]), [[7, 'high'], [9, 'off'], [7, 'high']],
    'the host again; Sam left the room');
});

test('a refused subscribe leaves what the hub had: asking for it again sends nothing', async (t) => {
  const { m, ws, sentOf, ack } = await sfuMeeting(t, { peers: [host] });
  const high = m.subscribe(7, 'high');
  ack(sentOf('sfu_subscribe')[0]);
  await high;
  const low = m.subscribe(7, 'low');
  ws.receive({ type: 'error', ref: sentOf('sfu_subscribe')[1].id, code: 'not_found', message: 'not in your room' });
  await assert.rejects(low, { code: 'not_found' });
  await m.subscribe(7, 'high');
  assert.equal(sentOf('sfu_subscribe').length, 2);
});

test('subscribe in a mesh meeting sends nothing', async (t) => {
  fakeNetwork(t);
  fakeMedia(t);
  const { m, ws } = await joinedMeeting(t, welcome(alex, [host], { media: 'mesh' }));
  await m.subscribe(7, 'high');
  assert.equal(ws.sent.filter((f) => f.type === 'sfu_subscribe').length, 0);
  assert.equal(m.mediaMode, 'mesh');
  assert.ok(m.links.has(7), 'a mesh connection as before');
});

test('active_speaker becomes an event and state; a room change clears it', async (t) => {
  const { m, ws, events } = await sfuMeeting(t, { peers: [host, sam] });
  ws.receive({ type: 'active_speaker', peers: [9, 7] });
  assert.deepEqual(m.activeSpeakers, [9, 7]);
  assert.deepEqual(events.filter(([n]) => n === 'active-speaker').map(([, d]) => d.peers), [[9, 7]]);
  ws.receive({ type: 'room_changed', room: 'b1', name: 'Circle B', topic: null, chat: [], peers: [alex] });
  assert.deepEqual(m.activeSpeakers, []);
  assert.deepEqual(events.filter(([n]) => n === 'active-speaker').at(-1)[1].peers, []);
});

test('blockMedia sends block_media with what changes only; a host\'s block shows in peer state and, for us, as media-blocked', async (t) => {
  const { m, ws, events, sentOf } = await sfuMeeting(t, { peers: [host, sam] });
  void m.blockMedia(9, { audio: true }).catch(() => {});
  void m.blockMedia(9, { audio: false, video: true }).catch(() => {});
  assert.deepEqual(sentOf('block_media').map(({ id, ...f }) => f), [
    { type: 'block_media', peer: 9, audio: true }, { type: 'block_media', peer: 9, audio: false, video: true },
  ]);
  ws.receive({ type: 'peer_updated', peer: { ...sam, audio_blocked: true } });
  assert.deepEqual(m.peerBlocked(9), { audio: true, video: false });
  assert.equal(m.peers.find((p) => p.id === 9).audio_blocked, true, 'on the roster');
  ws.receive({ type: 'peer_media', id: 9, audio: false, video: true });
  assert.deepEqual(m.peerBlocked(9), { audio: true, video: false }, 'kept when they say what their devices do');
  assert.deepEqual(m.peerMedia(9), { audio: false, video: true, screen: false });
  assert.equal(m.audioBlocked, false);
  ws.receive({ type: 'peer_updated', peer: { ...alex, audio_blocked: true } });
  assert.equal(m.audioBlocked, true);
  ws.receive({ type: 'peer_updated', peer: { ...alex, audio_blocked: true, hand: true } });
  ws.receive({ type: 'peer_updated', peer: { ...alex } });
  assert.deepEqual(events.filter(([n]) => n === 'media-blocked').map(([, d]) => d), [
    { audio: true, video: false }, { audio: false, video: false },
  ]);
});

test('stats per roommate count what arrived since they got the slot, not what it carried before', async (t) => {
  const { m, pcs, answer, tracks } = await sfuMeeting(t, { peers: [host, sam] });
  await answer();
  const pc = pcs[0];
  pc.inbound.set('3', { framesDecoded: 100, bytesReceived: 5000 });
  tracks(1, { '2/3': 7 });
  pc.inbound.set('3', { framesDecoded: 130, bytesReceived: 6000 });
  let s = await m.stats();
  assert.deepEqual(Object.keys(s), ['7']);
  assert.equal(s[7].framesDecoded, 30);
  assert.equal(s[7].name, 'Dr. Rivera');
  tracks(2, { '2/3': 9 });
  s = await m.stats();
  assert.deepEqual(Object.keys(s), ['9']);
  assert.equal(s[9].framesDecoded, 0, 'Sam\'s frames start from the reassignment');
  pc.inbound.set('3', { framesDecoded: 135, bytesReceived: 6100 });
  s = await m.stats();
  assert.equal(s[9].framesDecoded, 5);
  assert.equal(typeof m.negotiationState().hub, 'object');
});

test('leaving closes the connection to the hub', async (t) => {
  const { m, pcs } = await sfuMeeting(t);
  m.leave();
  assert.equal(pcs[0].closed, true);
});

test('the SFU frames the SDK sends are valid client frames', async (t) => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addFormat('uint32', { type: 'number', validate: (n) => Number.isInteger(n) && n <= 0xffffffff });
  ajv.addFormat('uint64', { type: 'number', validate: (n) => Number.isInteger(n) && n <= Number.MAX_SAFE_INTEGER });
  const validate = ajv.compile(JSON.parse(readFileSync(join(root, 'proto', 'schema', 'client.schema.json'), 'utf8')));
  const { m, sentOf, answer, hubOffers } = await sfuMeeting(t, { peers: [host] });
  await answer();
  await hubOffers(1, [['40', '41']]);
  void m.subscribe(7, 'off').catch(() => {});
  void m.blockMedia(7, { video: true }).catch(() => {});
  const frames = ['sfu_publish', 'sfu_answer', 'sfu_subscribe', 'block_media'].flatMap(sentOf);
  assert.equal(frames.length, 4);
  for (const f of frames) assert.ok(validate(f), `${f.type}: ${JSON.stringify(validate.errors)}`);
  await t.test('an observer\'s sfu_publish (an offer that only receives)', async (t2) => {
    const [observer] = (await sfuMeeting(t2, { you: olive })).sentOf('sfu_publish');
    assert.equal(typeof observer.sdp, 'string');
    assert.ok(validate(observer), JSON.stringify(validate.errors));
  });
});

// ---- screen sharing ----

/** The screen's section of our publish: the second sending video (mid 34 with a camera). */
const screenSection = (pc) => pc.list.filter((x) => x.direction === 'sendonly' && x.kind === 'video')[1];

test('sharing the screen puts the display track on the screen\'s section (no new publish), then media_state {screen: true}; stopping takes it off and says screen: false', async (t) => {
  const { m, pcs, sentOf, ack, screens, events } = await sfuMeeting(t, { you: host, peers: [alex], listen: ['local-screen'] });
  ack(sentOf('sfu_publish')[0]);
  const sharing = m.startScreenShare();
  await settle();
  const [display] = screens;
  assert.equal(screenSection(pcs[0]).sender.track, display.getVideoTracks()[0], 'on the screen\'s section, by replaceTrack');
  assert.equal(screenSection(pcs[0]).mid, '34');
  const [state] = sentOf('media_state').filter((f) => f.screen === true);
  assert.deepEqual({ ...state, id: 0 }, { type: 'media_state', id: 0, audio: true, video: true, screen: true });
  ack(state);
  assert.equal(await sharing, display);
  assert.equal(m.sharingScreen, true);
  assert.equal(pcs.length, 1);
  assert.equal(sentOf('sfu_publish').length, 1, 'no new publish');
  await m.stopScreenShare();
  assert.equal(screenSection(pcs[0]).sender.track, null);
  assert.equal(display.getVideoTracks()[0].readyState, 'ended');
  assert.equal(sentOf('media_state').at(-1).screen, false);
  assert.equal(m.sharingScreen, false);
  assert.deepEqual(events.map(([, d]) => d.stream), [display, null]);
});

test('a refused share (error forbidden) stops the display track and shares nothing; a participant is refused before the picker until a host allows it', async (t) => {
  const { m, ws, pcs, sentOf, ack, screens, events } = await sfuMeeting(t, { listen: ['screen-share-allowed'] });
  ack(sentOf('sfu_publish')[0]);
  assert.equal(m.screenShareAllowed, false);
  await assert.rejects(m.startScreenShare(), { code: 'forbidden' });
  assert.equal(screens.length, 0, 'the browser\'s picker is not even asked');
  ws.receive({ type: 'screen_share_allowed', allowed: true });
  assert.deepEqual(events, [['screen-share-allowed', { allowed: true }]]);
  assert.equal(m.mayShareScreen, true);
  const sharing = m.startScreenShare();
  await settle();
  const state = sentOf('media_state').find((f) => f.screen === true);
  ws.receive({ type: 'error', ref: state.id, code: 'forbidden', message: 'no' });
  await assert.rejects(sharing, { code: 'forbidden' });
  assert.equal(screens[0].getVideoTracks()[0].readyState, 'ended');
  assert.equal(screenSection(pcs[0]).sender.track, null);
  assert.equal(m.sharingScreen, false);
});

test('the browser\'s own "Stop sharing" and a host forbidding sharing both stop ours', async (t) => {
  const { m, ws, pcs, sentOf, ack, screens } = await sfuMeeting(t, { extra: { screen_share_allowed: true } });
  ack(sentOf('sfu_publish')[0]);
  assert.equal(m.screenShareAllowed, true, 'from the welcome');
  let sharing = m.startScreenShare();
  await settle();
  ack(sentOf('media_state').at(-1));
  await sharing;
  screens[0].getVideoTracks()[0].dispatchEvent(new Event('ended'));
  await settle();
  assert.equal(m.sharingScreen, false);
  assert.equal(screenSection(pcs[0]).sender.track, null);
  assert.equal(sentOf('media_state').at(-1).screen, false);
  sharing = m.startScreenShare();
  await settle();
  ack(sentOf('media_state').at(-1));
  await sharing;
  ws.receive({ type: 'peer_media', id: alex.id, audio: true, video: true, screen: false });
  ws.receive({ type: 'screen_share_allowed', allowed: false });
  await settle();
  assert.equal(m.sharingScreen, false);
  assert.equal(screens[1].getVideoTracks()[0].readyState, 'ended');
  assert.equal(screenSection(pcs[0]).sender.track, null);
});

test('a roommate\'s screen (a video slot marked screen) is a stream of its own, never their camera; it goes when the table drops it', async (t) => {
  const { m, ws, pcs, sentOf, ack, answer, events } = await sfuMeeting(t, { listen: ['stream', 'screen-started', 'screen-stopped'] });
  const pc = pcs[0];
  ack(sentOf('sfu_publish')[0]);
  await answer();
  // Screens come first in the hub's table: the screen's pair, its audio silent, then cameras.
  ws.receive({ type: 'sfu_tracks', rev: 1, slots: [
    { mid: '0', kind: 'audio' }, { mid: '1', kind: 'video', peer: 7, screen: true },
    { mid: '2', kind: 'audio', peer: 7 }, { mid: '3', kind: 'video', peer: 7 },
  ] });
  const [camera] = streamsOf(events, 7);
  assert.deepEqual(camera.getTracks(), [pc.recv('2'), pc.recv('3')], 'the camera is not the screen');
  const started = events.filter(([n]) => n === 'screen-started');
  assert.equal(started.length, 1);
  assert.equal(started[0][1].peerId, 7);
  assert.deepEqual(started[0][1].stream.getTracks(), [pc.recv('1')]);
  assert.equal(m.remoteScreen(7), started[0][1].stream);
  ws.receive({ type: 'sfu_tracks', rev: 2, slots: [
    { mid: '0', kind: 'audio' }, { mid: '1', kind: 'video' },
    { mid: '2', kind: 'audio', peer: 7 }, { mid: '3', kind: 'video', peer: 7 },
  ] });
  assert.deepEqual(events.filter(([n]) => n === 'screen-stopped').map(([, d]) => d), [{ peerId: 7 }]);
  assert.equal(m.remoteScreen(7), null);
  assert.equal(started[0][1].stream.getTracks().length, 0, 'emptied');
  assert.equal(streamsOf(events, 7).length, 1, 'the camera\'s stream stays');
});

test('stats count a shared screen\'s frames apart from the camera\'s', async (t) => {
  const { m, ws, pcs, sentOf, ack, answer } = await sfuMeeting(t);
  ack(sentOf('sfu_publish')[0]);
  await answer();
  ws.receive({ type: 'sfu_tracks', rev: 1, slots: [
    { mid: '0', kind: 'audio' }, { mid: '1', kind: 'video', peer: 7, screen: true },
    { mid: '2', kind: 'audio', peer: 7 }, { mid: '3', kind: 'video', peer: 7 },
  ] });
  pcs[0].inbound.set('1', { framesDecoded: 40, bytesReceived: 1000 });
  pcs[0].inbound.set('3', { framesDecoded: 5, bytesReceived: 100 });
  const s = await m.stats();
  assert.equal(s[7].screenFramesDecoded, 40);
  assert.equal(s[7].framesDecoded, 5);
});
