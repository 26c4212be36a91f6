// Test doubles shared by the SDK's unit tests (not a test file itself: not *.test.mjs): a fake
// WebSocket the test drives by hand, fake timers, and a Meeting joined over the fake socket.

import { mock } from 'node:test';

/** A WebSocket whose far end is the test: it opens, receives and drops when told to. */
export class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  /** Every socket made since the last `fakeNetwork`, oldest first. @type {FakeSocket[]} */
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = FakeSocket.CONNECTING;
    /** Frames sent, parsed. */
    this.sent = [];
    /** Our own close: `{code, reason}`, or null. */
    this.closedWith = null;
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = FakeSocket.OPEN;
    this.onopen?.();
  }
  send(text) { this.sent.push(JSON.parse(text)); }
  /** As on a stalled connection: the close frame goes nowhere and no close event comes. */
  close(code, reason) {
    this.closedWith = { code, reason };
    this.readyState = 2;
  }
  /** A frame from the hub. */
  receive(msg) { this.onmessage?.({ data: JSON.stringify(msg) }); }
  /** The connection ends with `code` (1006: dropped without a close frame). */
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  pings() { return this.sent.filter((f) => f.type === 'ping').length; }
}

/**
 * Makes FakeSocket the WebSocket and fakes the timers in `apis` until test `t` ends; called again
 * in the same test, it only forgets the sockets made so far.
 * @param {import('node:test').TestContext} t
 * @param {{apis?: ('setTimeout' | 'setInterval' | 'Date')[], now?: number}} [options]
 */
export function fakeNetwork(t, { apis = ['setTimeout', 'Date'], now = 1_000_000 } = {}) {
  FakeSocket.all = [];
  if (globalThis.WebSocket === FakeSocket) return;
  const saved = globalThis.WebSocket;
  globalThis.WebSocket = FakeSocket;
  t.after(() => { globalThis.WebSocket = saved; });
  mock.timers.enable({ apis, now });
  t.after(() => mock.timers.reset());
}

/**
 * Moves the fake clock in small steps: a single `tick` runs every due callback at the end time
 * (Date included), which is not how time passes.
 */
export function advance(ms, step = 100) {
  for (let left = ms; left > 0; left -= step) mock.timers.tick(Math.min(step, left));
}

/**
 * A Meeting (no media) that connected over a FakeSocket and got `welcome` (call `fakeNetwork`
 * first). `events` records the events named in `listen` as [name, detail]; `ws` is the socket.
 * @param {import('node:test').TestContext} t
 * @param {object} welcome the hub's answer to the hello
 * @param {{options?: object, listen?: string[]}} [how] more join options; events to record
 */
export async function joinedMeeting(t, welcome, { options = {}, listen = ['reconnecting', 'reconnected', 'closed'] } = {}) {
  const { Meeting } = await import('../../sdk/huddle.js');
  const m = new Meeting({ token: 'a.b.c', media: null, ...options });
  const events = [];
  for (const name of listen) m.addEventListener(name, (e) => events.push([name, e.detail]));
  const joined = m.connect();
  await new Promise((resolve) => setImmediate(resolve)); // getUserMedia first, when asked
  const ws = FakeSocket.all.at(-1);
  ws.open();
  ws.receive(welcome);
  await joined;
  t.after(() => m.leave());
  return { m, ws, events };
}

/** An unsigned-looking JWT with these claims (the SDK reads claims, never checks signatures). */
export function jwt(claims) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.c2ln`;
}

let trackIds = 0;

/** A MediaStreamTrack: a kind, on/off, and stop(). */
export class FakeTrack extends EventTarget {
  constructor(kind) {
    super();
    this.kind = kind;
    this.id = `track-${++trackIds}`;
    this.enabled = true;
    this.readyState = 'live';
  }
  stop() { this.readyState = 'ended'; }
}

let streamIds = 0;

/** A MediaStream holding tracks. */
export class FakeStream extends EventTarget {
  constructor(tracks = []) {
    super();
    this.id = `stream-${++streamIds}`;
    this.tracks = [...tracks];
  }
  getTracks() { return [...this.tracks]; }
  getAudioTracks() { return this.tracks.filter((t) => t.kind === 'audio'); }
  getVideoTracks() { return this.tracks.filter((t) => t.kind === 'video'); }
  addTrack(t) { if (!this.tracks.includes(t)) this.tracks.push(t); }
  removeTrack(t) { this.tracks = this.tracks.filter((x) => x !== t); }
}

/**
 * An RTCPeerConnection that records what the SDK puts on it and negotiates nothing by itself: the
 * test plays the far end (`remoteTrack`). Every one made since `fakeMedia` is in `all`.
 */
export class FakePeerConnection {
  /** @type {FakePeerConnection[]} */
  static all = [];
  constructor(config) {
    this.config = config;
    this.senders = [];
    /** `addTransceiver` calls: [kind, init]. */
    this.transceivers = [];
    this.signalingState = 'stable';
    this.connectionState = 'new';
    this.localDescription = null;
    this.closed = false;
    FakePeerConnection.all.push(this);
  }
  addTrack(track) {
    const sender = { track, replaceTrack: async (t) => { sender.track = t; } };
    this.senders.push(sender);
    return sender;
  }
  removeTrack(sender) { sender.track = null; }
  getSenders() { return [...this.senders]; }
  addTransceiver(kind, init) { this.transceivers.push([kind, init]); }
  /** The tracks this connection would send. */
  sending() { return this.senders.map((s) => s.track).filter(Boolean); }
  async setLocalDescription() { this.localDescription = { type: 'offer', sdp: 'fake' }; }
  async setRemoteDescription() {}
  async addIceCandidate() {}
  restartIce() {}
  async getStats() { return new Map(); }
  close() {
    this.closed = true;
    this.connectionState = 'closed';
  }
  /** A track arrives from the far end (in `stream`, as its msid says, when given). */
  remoteTrack(kind, stream = null) {
    const track = new FakeTrack(kind);
    this.ontrack?.({ track, streams: stream ? [stream] : [] });
    return track;
  }
}

/**
 * Makes the fakes above the browser's RTCPeerConnection and MediaStream, and getUserMedia hand
 * out fresh audio and video tracks (the constraints in `asked`, the streams in `given`), until
 * test `t` ends.
 * @param {import('node:test').TestContext} t
 */
export function fakeMedia(t) {
  FakePeerConnection.all = [];
  const asked = [];
  /** The streams getUserMedia gave, in order. */
  const given = [];
  /** The streams getDisplayMedia gave (screens shared), in order. */
  const screens = [];
  const saved = {};
  const fakes = {
    RTCPeerConnection: FakePeerConnection,
    MediaStream: FakeStream,
    navigator: {
      mediaDevices: {
        getUserMedia: async (constraints) => {
          asked.push(constraints);
          const stream = new FakeStream(['audio', 'video'].filter((k) => constraints[k]).map((k) => new FakeTrack(k)));
          given.push(stream);
          return stream;
        },
        getDisplayMedia: async () => {
          const stream = new FakeStream([new FakeTrack('video')]);
          screens.push(stream);
          return stream;
        },
      },
    },
  };
  for (const [name, value] of Object.entries(fakes)) {
    saved[name] = Object.getOwnPropertyDescriptor(globalThis, name);
    Object.defineProperty(globalThis, name, { configurable: true, writable: true, value });
  }
  t.after(() => {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(globalThis, name, descriptor);
      else delete globalThis[name];
    }
  });
  return { asked, given, screens };
}
