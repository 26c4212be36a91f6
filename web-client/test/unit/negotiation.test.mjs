// Perfect negotiation without a browser: the state machine on its own, then two Negotiators
// driving simulated peer connections that follow JSEP's signaling states strictly (no implicit
// rollback, candidates refused before a remote description, candidates of a stale ICE session
// refused), with messages delivered in many orders.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Negotiation, Negotiator, isPolite } from '../../sdk/negotiation.js';

const offer = { type: 'offer', sdp: 'o' };
const answer = { type: 'answer', sdp: 'a' };
const cand = (n) => ({ candidate: `candidate:${n} 1 udp 1 127.0.0.1 ${5000 + n} typ host`, sdpMid: '0' });

test('politeness: exactly one side of a pair is polite', () => {
  assert.equal(isPolite(7, 8), false);
  assert.equal(isPolite(8, 7), true);
});

test('negotiationneeded makes one offer at a time', () => {
  const m = new Negotiation({ polite: false });
  assert.deepEqual(m.negotiationNeeded(), [{ type: 'setLocal' }]);
  assert.deepEqual(m.negotiationNeeded(), [], 'no second offer while one is being made');
  assert.deepEqual(m.localDescriptionSet(offer), [{ type: 'send', data: { description: offer } }]);
  assert.equal(m.makingOffer, false);
});

test('receive-only peers (observers) never offer but answer', () => {
  const m = new Negotiation({ polite: false, canOffer: false });
  assert.deepEqual(m.negotiationNeeded(), []);
  assert.deepEqual(m.signal({ description: offer }, 'stable'), [{ type: 'setRemote', description: offer }]);
  assert.deepEqual(m.remoteDescriptionSet('offer'), [{ type: 'setLocal' }]);
});

test('candidates are queued until a remote description is set, then added in order', () => {
  const m = new Negotiation({ polite: true });
  assert.deepEqual(m.signal({ candidate: cand(1) }, 'stable'), []);
  assert.deepEqual(m.signal({ candidate: cand(2) }, 'stable'), []);
  assert.deepEqual(m.signal({ description: offer }, 'stable'), [{ type: 'setRemote', description: offer }]);
  assert.deepEqual(m.remoteDescriptionSet('offer'), [
    { type: 'setLocal' },
    { type: 'addCandidate', candidate: cand(1) },
    { type: 'addCandidate', candidate: cand(2) },
  ]);
  assert.deepEqual(m.signal({ candidate: cand(3) }, 'stable'), [{ type: 'addCandidate', candidate: cand(3) }]);
});

test('glare: the impolite side ignores the colliding offer', () => {
  const m = new Negotiation({ polite: false });
  m.negotiationNeeded();
  m.localDescriptionSet(offer);
  assert.deepEqual(m.signal({ description: offer }, 'have-local-offer'), []);
  assert.equal(m.ignoreOffer, true);
  // Then the polite side's answer to our offer is applied.
  assert.deepEqual(m.signal({ description: answer }, 'have-local-offer'), [{ type: 'setRemote', description: answer }]);
  assert.equal(m.ignoreOffer, false);
});

test('glare: the polite side rolls back, applies the offer and answers', () => {
  const m = new Negotiation({ polite: true });
  m.negotiationNeeded();
  m.localDescriptionSet(offer);
  assert.deepEqual(m.signal({ description: offer }, 'have-local-offer'), [
    { type: 'rollback' },
    { type: 'setRemote', description: offer },
  ]);
  assert.deepEqual(m.remoteDescriptionSet('offer'), [{ type: 'setLocal' }]);
});

test('glare while our own offer is still being made counts as a collision', () => {
  const m = new Negotiation({ polite: false });
  m.negotiationNeeded(); // makingOffer, signaling state still stable
  assert.deepEqual(m.signal({ description: offer }, 'stable'), []);
});

test('an offer arriving while an answer is being applied is not a collision', () => {
  const m = new Negotiation({ polite: false });
  m.negotiationNeeded();
  m.localDescriptionSet(offer);
  m.signal({ description: answer }, 'have-local-offer'); // settingRemoteAnswer
  assert.deepEqual(m.signal({ description: offer }, 'have-local-offer'), [{ type: 'setRemote', description: offer }]);
});

test('stray answers and malformed signals are ignored', () => {
  const m = new Negotiation({ polite: true });
  assert.deepEqual(m.signal({ description: answer }, 'stable'), []);
  assert.deepEqual(m.signal(null, 'stable'), []);
  assert.deepEqual(m.signal({ description: { type: 'bogus' } }, 'stable'), []);
  assert.deepEqual(m.signal({ candidate: 5 }, 'stable'), []);
});

// ---- two drivers over simulated connections ----

/** A seeded PRNG (mulberry32) so every interleaving can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A peer connection reduced to JSEP signaling, tracks and ICE credentials. */
class FakePeerConnection {
  constructor(name) {
    this.name = name;
    this.signalingState = 'stable';
    this.localDescription = null;
    this.remoteDescription = null;
    this.stableLocal = null;
    this.tracks = [];
    /** tracks the other side has agreed to receive */
    this.sentTracks = new Set();
    this.remoteTracks = new Set();
    this.added = [];
    this.errors = [];
    this.serial = 0;
    this.onnegotiationneeded = null;
    this.onicecandidate = null;
    this.negotiationScheduled = false;
  }

  addTrack(track) {
    this.tracks.push(track);
    this.maybeNeedNegotiation();
  }

  maybeNeedNegotiation() {
    if (this.negotiationScheduled) return;
    this.negotiationScheduled = true;
    setImmediate(() => {
      this.negotiationScheduled = false;
      if (this.signalingState === 'stable' && this.tracks.some((t) => !this.sentTracks.has(t))) {
        this.onnegotiationneeded?.();
      }
    });
  }

  sdp(type) {
    this.serial += 1;
    return { type, sdp: JSON.stringify({ from: this.name, n: this.serial, ufrag: `${this.name}${this.serial}`, tracks: [...this.tracks] }) };
  }

  gather(description) {
    const { ufrag } = JSON.parse(description.sdp);
    setImmediate(() => {
      for (let k = 1; k <= 2; k++) {
        this.onicecandidate?.({ candidate: { candidate: `candidate:${k} ${ufrag}`, sdpMid: '0', usernameFragment: ufrag } });
      }
      this.onicecandidate?.({ candidate: null });
    });
  }

  async setLocalDescription(description) {
    await tick();
    if (description?.type === 'rollback') {
      if (this.signalingState !== 'have-local-offer') throw new Error('InvalidStateError: nothing to roll back');
      this.signalingState = 'stable';
      this.localDescription = this.stableLocal;
      this.maybeNeedNegotiation();
      return;
    }
    if (description) throw new Error('test uses implicit descriptions only');
    if (this.signalingState === 'stable' || this.signalingState === 'have-local-offer') {
      this.localDescription = this.sdp('offer');
      this.signalingState = 'have-local-offer';
    } else if (this.signalingState === 'have-remote-offer') {
      this.localDescription = this.sdp('answer');
      this.stableLocal = this.localDescription;
      this.signalingState = 'stable';
      for (const t of JSON.parse(this.remoteDescription.sdp).tracks) this.remoteTracks.add(t);
      for (const t of this.tracks) this.sentTracks.add(t);
      this.maybeNeedNegotiation();
    } else {
      throw new Error(`InvalidStateError: setLocalDescription in ${this.signalingState}`);
    }
    this.gather(this.localDescription);
  }

  async setRemoteDescription(description) {
    await tick();
    if (description.type === 'offer') {
      // Strict JSEP: no implicit rollback, so the polite side must roll back itself.
      if (this.signalingState !== 'stable') throw new Error(`InvalidStateError: offer in ${this.signalingState}`);
      this.remoteDescription = description;
      this.signalingState = 'have-remote-offer';
    } else if (description.type === 'answer') {
      if (this.signalingState !== 'have-local-offer') throw new Error(`InvalidStateError: answer in ${this.signalingState}`);
      this.remoteDescription = description;
      this.stableLocal = this.localDescription;
      this.signalingState = 'stable';
      const mine = JSON.parse(this.localDescription.sdp).tracks;
      for (const t of mine) this.sentTracks.add(t);
      for (const t of JSON.parse(description.sdp).tracks) this.remoteTracks.add(t);
      this.maybeNeedNegotiation();
    }
  }

  async addIceCandidate(candidate) {
    await tick();
    if (!this.remoteDescription) {
      this.errors.push('no-remote-description');
      throw new Error('InvalidStateError: remote description is null');
    }
    if (candidate.usernameFragment !== JSON.parse(this.remoteDescription.sdp).ufrag) {
      this.errors.push('stale-ufrag');
      throw new Error('OperationError: unknown ufrag');
    }
    this.added.push(candidate);
  }
}

/**
 * Two peers joined by two FIFO queues (the hub keeps order per direction); `random` picks which
 * queue delivers next and how long to wait, so every seed is one interleaving.
 */
function pair({ politeA, random, observerB = false, beforeAnswerB }) {
  const a = new FakePeerConnection('A');
  const b = new FakePeerConnection('B');
  const toA = [];
  const toB = [];
  const opErrors = [];
  const na = new Negotiator(a, { polite: politeA, send: (d) => toB.push(JSON.parse(JSON.stringify(d))), onError: (w, e) => opErrors.push(`A ${w}: ${e.message}`) });
  const nb = new Negotiator(b, { polite: !politeA, canOffer: !observerB, beforeAnswer: beforeAnswerB && (() => beforeAnswerB(b)), send: (d) => toA.push(JSON.parse(JSON.stringify(d))), onError: (w, e) => opErrors.push(`B ${w}: ${e.message}`) });
  for (const [pc, n] of [[a, na], [b, nb]]) {
    pc.onnegotiationneeded = () => n.negotiationNeeded();
    pc.onicecandidate = (e) => n.localCandidate(e.candidate);
  }
  async function settle() {
    let quiet = 0;
    for (let step = 0; step < 2000; step++) {
      const waits = 1 + Math.floor(random() * 3);
      for (let i = 0; i < waits; i++) await tick();
      const ready = [toA.length > 0 && 'A', toB.length > 0 && 'B'].filter(Boolean);
      if (ready.length === 0) {
        await Promise.all([na.chain, nb.chain]);
        quiet += 1;
        if (quiet > 5 && toA.length === 0 && toB.length === 0) return;
        continue;
      }
      quiet = 0;
      const which = ready[Math.floor(random() * ready.length)];
      if (which === 'A') na.signal(toA.shift());
      else nb.signal(toB.shift());
    }
    throw new Error('did not settle');
  }
  return { a, b, na, nb, settle, opErrors };
}

function assertConverged({ a, b }, tracksA, tracksB) {
  assert.equal(a.signalingState, 'stable');
  assert.equal(b.signalingState, 'stable');
  assert.equal(a.remoteDescription.sdp, b.localDescription.sdp, "A applied B's latest description");
  assert.equal(b.remoteDescription.sdp, a.localDescription.sdp, "B applied A's latest description");
  assert.deepEqual([...a.remoteTracks].sort(), tracksB);
  assert.deepEqual([...b.remoteTracks].sort(), tracksA);
  // Both ends hold candidates of the other's current ICE session.
  const ufrag = (d) => JSON.parse(d.sdp).ufrag;
  assert.ok(a.added.some((c) => c.usernameFragment === ufrag(b.localDescription)), 'A has B\'s current candidates');
  assert.ok(b.added.some((c) => c.usernameFragment === ufrag(a.localDescription)), 'B has A\'s current candidates');
  // Candidates were never added before a remote description (they were queued).
  assert.ok(!a.errors.includes('no-remote-description'), a.errors.join());
  assert.ok(!b.errors.includes('no-remote-description'), b.errors.join());
}

test('one side offers: connects with no candidate errors', async () => {
  const p = pair({ politeA: false, random: rng(1) });
  p.a.addTrack('a-audio');
  p.a.addTrack('a-video');
  await p.settle();
  assertConverged(p, ['a-audio', 'a-video'], []);
  assert.deepEqual([...p.a.errors, ...p.b.errors], []);
  assert.deepEqual(p.opErrors, []);
});

for (const politeA of [true, false]) {
  test(`glare from both sides resolves (A ${politeA ? 'polite' : 'impolite'}), 60 interleavings`, async () => {
    let collisions = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const p = pair({ politeA, random: rng(seed) });
      // Both add tracks at once: both fire negotiationneeded and offer (a newcomer and the room).
      p.a.addTrack('a-video');
      p.b.addTrack('b-video');
      await p.settle();
      try {
        assertConverged(p, ['a-video'], ['b-video']);
      } catch (err) {
        err.message = `seed ${seed}: ${err.message}`;
        throw err;
      }
      // Only the strict-JSEP refusals the pattern expects, never rollback or SDP failures.
      assert.deepEqual(p.opErrors, [], `seed ${seed}`);
      const impolite = politeA ? p.nb : p.na;
      if (impolite.machine.ignoreOffer || impolite.candidateErrors > 0) collisions += 1;
    }
    assert.ok(collisions > 0, 'some interleavings really collided');
  });
}

test('a later track renegotiates on the existing connection', async () => {
  const p = pair({ politeA: true, random: rng(7) });
  p.a.addTrack('a-audio');
  await p.settle();
  p.b.addTrack('b-audio');
  p.a.addTrack('a-video');
  await p.settle();
  assertConverged(p, ['a-audio', 'a-video'], ['b-audio']);
  assert.deepEqual(p.opErrors, []);
});

test('an observer answers but never offers', async () => {
  const p = pair({ politeA: true, random: rng(3), observerB: true });
  p.b.addTrack('b-video'); // would offer, but may not
  p.a.addTrack('a-video');
  await p.settle();
  assert.equal(p.a.signalingState, 'stable');
  assert.deepEqual([...p.b.remoteTracks], ['a-video']);
  assert.equal(JSON.parse(p.a.remoteDescription.sdp).from, 'B');
  assert.equal(p.a.localDescription.type, 'offer', 'every offer came from A');
});

test('a closed negotiator sends nothing more', async () => {
  const sent = [];
  const pc = new FakePeerConnection('A');
  const n = new Negotiator(pc, { polite: false, send: (d) => sent.push(d) });
  n.close();
  await n.negotiationNeeded();
  n.localCandidate({ candidate: 'candidate:1', sdpMid: '0' });
  assert.deepEqual(sent, []);
});

test('first offer from one side: the answerer adds its tracks before answering, one round trip, no glare', async () => {
  for (let seed = 1; seed <= 20; seed++) {
    const offersByB = [];
    const p = pair({ politeA: false, random: rng(seed), beforeAnswerB: (pc) => { if (!pc.tracks.includes('b-video')) pc.addTrack('b-video'); } });
    const send = p.nb.send;
    p.nb.send = (d) => { if (d.description?.type === 'offer') offersByB.push(d); send(d); };
    p.a.addTrack('a-video'); // the initiator; B holds its tracks until A's offer arrives
    await p.settle();
    assertConverged(p, ['a-video'], ['b-video']);
    assert.deepEqual(offersByB, [], `seed ${seed}: B's tracks rode on the answer, no offer of its own`);
    assert.equal(p.na.machine.ignoreOffer, false);
    assert.deepEqual([...p.a.errors, ...p.b.errors], [], `seed ${seed}`);
  }
});
