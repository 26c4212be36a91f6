// SFU meetings (`welcome.media == "sfu"`): one RTCPeerConnection to the hub carries everyone.
//
// The hub tells which receive slot (a transceiver `mid`) carries whom in `sfu_tracks`; slots are
// reused as rooms change, so stream ids and msid mean nothing. `SlotTable` keeps that table and
// `diffShown` says which peers' streams must be made anew or dropped: both are pure, so Node's
// test runner drives them without a browser. `HubLink` is the driver around the one connection:
// it publishes (our only offer: 16 `recvonly` receive slot pairs, then at most one microphone, one
// camera in simulcast and one screen, `sendonly`), answers the hub's offers one after another on
// a single chain, and turns the slot table into the same `track` / `stream` / `connection-state`
// events a page gets from a mesh, for the people in our room only. A roommate's shared screen
// (a video slot the table marks `screen`) is a stream of its own (`screen-started` /
// `screen-stopped`), never taken for their camera.
//
// Screen sharing needs no renegotiation: the screen's section is in the first offer without a
// track (so the hub knows its mid: the second sending video section is the screen), and sharing
// puts the display track on it with `replaceTrack` (PROTOCOL.md, `media_state`).
//
// The flow (PROTOCOL.md, SFU): `sfu_publish {sdp}`, always with our offer (observers and people
// without devices offer the receive slots only) → `sfu_publish_answer {sdp}` (+ `ack`): the
// answer fills the receive slots, so usually nothing more is negotiated. Only when the hub needs
// more slots than we offered: `sfu_offer {rev, sdp}` → `sfu_answer {rev, sdp}`. After every
// change, `sfu_tracks {rev, slots}` says whom each slot (by mid) carries. The hub is ICE-lite and
// learns our address from our connectivity checks: no candidates are sent anywhere.

/** @typedef {import('./protocol').PeerId} PeerId */
/** @typedef {import('./protocol').SfuSlot} SfuSlot */
/** @typedef {import('./protocol').ClientFrame} ClientFrame */
/** @typedef {import('./types').MeetingEventMap} MeetingEventMap */

/** Receive slot pairs offered with the first offer (the hub's cap, `SFU_MAX_SLOT_PAIRS`). */
const RECEIVE_SLOT_PAIRS = 16;

/**
 * The camera's simulcast layers: a half-size one for thumbnails and the full one for the
 * speaker. The hub forwards one of them per subscriber (`sfu_subscribe`).
 * @type {RTCRtpEncodingParameters[]}
 */
export const SIMULCAST_LAYERS = [
  { rid: 'l', scaleResolutionDownBy: 2, maxBitrate: 150_000 },
  { rid: 'h', maxBitrate: 900_000 },
];

/**
 * The screen's one encoding: no simulcast (everyone gets the one quality, as the hub forwards it),
 * a higher cap than the camera's, since text on slides must stay legible.
 * @type {RTCRtpEncodingParameters[]}
 */
export const SCREEN_ENCODING = [{ maxBitrate: 1_500_000 }];

/** Diagnostic trace entries kept (event kinds only, never SDP). */
const TRACE_KEEP = 60;

/**
 * The receive slots a peer has: at most one of each kind (the first the table lists).
 * @typedef {{audio: string | null, video: string | null}} PeerSlots
 */

/** Whom each receive slot carries, as the hub's latest `sfu_tracks` says. */
export class SlotTable {
  constructor() {
    /** The `rev` of the table applied (null before the first). @type {number | null} */
    this.rev = null;
    /** @type {SfuSlot[]} */
    this.slots = [];
  }

  /**
   * Applies a table. The socket delivers them in order and each is complete, so the latest wins
   * (a hub that starts counting again after a new publish is not mistaken for a stale one).
   * @param {number} rev @param {SfuSlot[]} slots
   */
  set(rev, slots) {
    this.rev = rev;
    this.slots = slots.map((s) => ({ ...s }));
  }

  /** Who slot `mid` carries now (null: nobody). @param {string} mid */
  peerOf(mid) {
    return this.slots.find((s) => s.mid === mid)?.peer ?? null;
  }

  /**
   * The slots of each peer in `present` (our roommates), in the table's order. A slot naming
   * someone else is left out: media from outside our room is never shown, whatever the table says
   * while a move is on its way.
   * @param {ReadonlySet<PeerId>} present
   * @returns {Map<PeerId, PeerSlots>}
   */
  byPeer(present) {
    /** @type {Map<PeerId, PeerSlots>} */
    const out = new Map();
    for (const s of this.slots) {
      // A screen's slot is not the person's camera (screens come first in the table).
      if (s.peer == null || !present.has(s.peer) || s.screen) continue;
      let entry = out.get(s.peer);
      if (!entry) {
        entry = { audio: null, video: null };
        out.set(s.peer, entry);
      }
      if (s.kind === 'audio' && entry.audio == null) entry.audio = s.mid;
      if (s.kind === 'video' && entry.video == null) entry.video = s.mid;
    }
    return out;
  }

  /**
   * The video slot carrying each roommate's shared screen (the first the table lists), for the
   * peers in `present` only.
   * @param {ReadonlySet<PeerId>} present
   * @returns {Map<PeerId, string>}
   */
  screens(present) {
    /** @type {Map<PeerId, string>} */
    const out = new Map();
    for (const s of this.slots) {
      if (s.screen && s.kind === 'video' && s.peer != null && present.has(s.peer) && !out.has(s.peer)) out.set(s.peer, s.mid);
    }
    return out;
  }
}

/**
 * What changes between the streams shown (peer → which receivers they are made of, as a key) and
 * the ones wanted. `open`: a new MediaStream for each (new, or now on other receivers); `drop`:
 * no stream any more.
 * @param {ReadonlyMap<PeerId, string>} shown
 * @param {ReadonlyMap<PeerId, string>} wanted
 * @returns {{open: PeerId[], drop: PeerId[]}}
 */
export function diffShown(shown, wanted) {
  const open = [];
  const drop = [];
  for (const id of shown.keys()) if (!wanted.has(id)) drop.push(id);
  for (const [id, key] of wanted) if (shown.get(id) !== key) open.push(id);
  return { open, drop };
}

/**
 * What a stream is made of: the mids that carry it. @param {string | null} audio @param {string | null} video
 */
export function slotKey(audio, video) {
  return `${audio ?? '-'}|${video ?? '-'}`;
}

/**
 * What the Meeting gives the link: the socket, our room, and its events.
 * @typedef {object} HubLinkHost
 * @property {(frame: ClientFrame) => Promise<void>} request sends with an id; settles on ack/error
 * @property {() => ReadonlySet<PeerId>} roommates everyone else in our room now
 * @property {<K extends keyof MeetingEventMap>(name: K, detail: MeetingEventMap[K]) => void} emit
 * @property {() => void} onPublished the hub accepted our `sfu_publish`
 * @property {(state: RTCPeerConnectionState) => void} onConnectionState
 */

/**
 * A peer's stream as shown to the app.
 * @typedef {object} Shown
 * @property {string} key slotKey of the receivers it is made of
 * @property {MediaStream} stream
 * @property {string | null} videoMid
 * @property {string | null} audioMid
 * @property {Promise<Map<string, {frames: number, bytes: number}>>} baseline per mid, the
 *   receive counters when this peer got the slot (the slot may have carried someone else before)
 */

export class HubLink {
  /**
   * @param {HubLinkHost} host
   * @param {RTCConfiguration} config
   */
  constructor(host, config) {
    this.host = host;
    this.pc = new RTCPeerConnection(config);
    /**
     * The hub's media engine this connection was made for (`welcome.sfu_instance`); set by
     * whoever made it. @type {string | null}
     */
    this.instance = null;
    this.slots = new SlotTable();
    /** @type {Map<PeerId, Shown>} */
    this.shown = new Map();
    /**
     * Roommates' shared screens shown: the slot (mid) and the stream made of its track.
     * @type {Map<PeerId, {mid: string, stream: MediaStream, baseline: Promise<Map<string, {frames: number, bytes: number}>>}>}
     */
    this.screensShown = new Map();
    /**
     * The sender of our screen's section (offered from the start, without a track); null when
     * we send nothing (observers). @type {RTCRtpSender | null}
     */
    this.screenSender = null;
    /** Every step on the connection, one after another. @type {Promise<void>} */
    this.chain = Promise.resolve();
    /** Our senders by kind (what `replaceTrack` switches). @type {Map<'audio' | 'video', RTCRtpSender>} */
    this.senders = new Map();
    /** The hub accepted our `sfu_publish` (its `ack`). */
    this.published = false;
    /**
     * The hub and we may no longer agree on the connection: our publish or an answer was lost or
     * refused. Only a new `sfu_publish` mends that.
     */
    this.broken = false;
    this.closed = false;
    /** Offers answered. */
    this.answered = 0;
    /** Event kinds and failures, oldest first, for diagnosis (no SDP). @type {string[]} */
    this.trace = [];
    const pc = this.pc;
    // Tracks are looked at when a description has been applied (every transceiver exists then).
    pc.ontrack = () => this.note('track');
    pc.onconnectionstatechange = () => {
      if (this.closed) return;
      this.note(`connection ${pc.connectionState}`);
      for (const id of this.shown.keys()) this.host.emit('connection-state', { peerId: id, state: pc.connectionState });
      this.host.onConnectionState(pc.connectionState);
    };
  }

  /** @param {string} what */
  note(what) {
    this.trace.push(`${this.pc.signalingState}: ${what}`);
    if (this.trace.length > TRACE_KEEP) this.trace.shift();
  }

  /**
   * Whether the link can go on after a resumed welcome: connected or getting there, and the hub
   * and we agree on it.
   */
  healthy() {
    const state = this.pc.connectionState;
    return !this.closed && !this.broken && state !== 'failed' && state !== 'closed';
  }

  /**
   * Our one offer: RECEIVE_SLOT_PAIRS receive slot pairs, then the microphone and the camera of
   * `stream`, then the screen's section, then `sfu_publish` with it. `sends` false (observers):
   * the offer only receives. Without a camera the camera's section is offered anyway, empty: the
   * hub takes the second sending video section for the screen, and a camera switched on later
   * takes the section with `replaceTrack`.
   * @param {MediaStream | null} stream
   * @param {{sends?: boolean, screen?: MediaStreamTrack | null}} [opts] `screen`: a display
   *   track already shared (a new publish after a failed connection keeps sharing)
   */
  publish(stream, { sends = stream != null, screen = null } = {}) {
    return this.enqueue('publish', async () => {
      const pc = this.pc;
      const audio = stream?.getAudioTracks()[0];
      const video = stream?.getVideoTracks()[0];
      const streams = stream ? [stream] : [];
      // Receive slots first, in audio+video pairs: the hub fills them in its answer, so a room
      // of up to RECEIVE_SLOT_PAIRS + 1 never renegotiates (the hub offers more past that).
      for (let i = 0; i < RECEIVE_SLOT_PAIRS; i += 1) {
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
      }
      if (audio) this.senders.set('audio', pc.addTransceiver(audio, { direction: 'sendonly', streams }).sender);
      if (video || sends) {
        this.senders.set('video', pc.addTransceiver(video ?? 'video', {
          direction: 'sendonly', streams, sendEncodings: SIMULCAST_LAYERS.map((l) => ({ ...l })),
        }).sender);
      }
      if (sends) {
        // The screen: the second sending video section, one encoding, no track until shared.
        this.screenSender = pc.addTransceiver(screen ?? 'video', {
          direction: 'sendonly', sendEncodings: SCREEN_ENCODING.map((e) => ({ ...e })),
        }).sender;
      }
      /** @type {import('./protocol').ClientSfuPublish} */
      const frame = { type: 'sfu_publish' };
      await pc.setLocalDescription();
      if (this.closed) return;
      frame.sdp = pc.localDescription?.sdp ?? '';
      this.note(sends ? 'send publish (offer)' : 'send publish (receive only)');
      // Not awaited on the chain: the answer comes before the ack and is queued behind this step.
      this.host.request(frame).then(() => {
        if (this.closed) return;
        this.published = true;
        this.note('publish accepted');
        this.host.onPublished();
      }, (err) => {
        if (this.closed) return;
        this.broken = true;
        this.note(`publish refused: ${errorCode(err)}`);
      });
    });
  }

  /** The hub's answer to our publish. @param {string} sdp */
  publishAnswer(sdp) {
    return this.enqueue('publish answer', async () => {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
      // The answer fills our receive slots.
      this.reconcile();
    });
  }

  /**
   * The hub offers (more) receive slots: apply, answer, and look at the slots again (new
   * transceivers may complete someone's pair).
   * @param {number} rev @param {string} sdp
   */
  offer(rev, sdp) {
    return this.enqueue(`offer ${rev}`, async () => {
      const pc = this.pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      this.reconcile();
      await pc.setLocalDescription();
      if (this.closed) return;
      this.answered += 1;
      this.reconcile();
      this.host.request({ type: 'sfu_answer', rev, sdp: pc.localDescription?.sdp ?? '' }).catch((err) => {
        if (this.closed) return;
        // Lost with the socket, or refused: the hub waits for an answer we will not send again.
        this.broken = true;
        this.note(`answer ${rev} not taken: ${errorCode(err)}`);
      });
    });
  }

  /** The hub's slot table. @param {number} rev @param {SfuSlot[]} slots */
  tracks(rev, slots) {
    this.slots.set(rev, slots);
    this.note(`tracks ${rev}`);
    this.reconcile();
  }

  /**
   * Runs `step` after every step queued before it. A failure is noted and leaves the link as it
   * is (a hub whose SDP we cannot apply would fail again on a new publish).
   * @param {string} what @param {() => Promise<void>} step
   */
  enqueue(what, step) {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      this.note(what);
      try {
        await step();
      } catch (err) {
        if (this.closed) return;
        this.broken = true;
        this.note(`${what} failed: ${err instanceof Error ? err.name : String(err)}`);
        console.debug(`huddle: SFU ${what} failed: ${err instanceof Error ? err.name : String(err)}`);
      }
    });
    return this.chain;
  }

  /**
   * Makes the streams shown match the slot table, for our roommates only: a new MediaStream for a
   * peer who got slots (or other ones), none for one who lost them. A stream that stops being a
   * peer's loses its tracks, so a tile still holding it cannot show whoever the slot carries next.
   */
  reconcile() {
    if (this.closed) return;
    const pc = this.pc;
    /** @type {Map<string, RTCRtpTransceiver>} */
    const byMid = new Map();
    for (const t of pc.getTransceivers()) if (t.mid != null) byMid.set(t.mid, t);
    const trackOf = (/** @type {string | null} */ mid) => (mid == null ? null : byMid.get(mid)?.receiver.track ?? null);
    /** @type {Map<PeerId, {key: string, audio: string | null, video: string | null}>} */
    const wanted = new Map();
    for (const [id, s] of this.slots.byPeer(this.host.roommates())) {
      // Only slots the connection has already (an offer adding them may still be on its way).
      const audio = trackOf(s.audio) ? s.audio : null;
      const video = trackOf(s.video) ? s.video : null;
      if (audio != null || video != null) wanted.set(id, { key: slotKey(audio, video), audio, video });
    }
    const { open, drop } = diffShown(new Map([...this.shown].map(([id, s]) => [id, s.key])), new Map([...wanted].map(([id, w]) => [id, w.key])));
    for (const id of drop) {
      const old = this.shown.get(id);
      this.shown.delete(id);
      if (old) emptyStream(old.stream);
      this.host.emit('connection-state', { peerId: id, state: 'closed' });
    }
    for (const id of open) {
      const w = /** @type {{key: string, audio: string | null, video: string | null}} */ (wanted.get(id));
      const old = this.shown.get(id);
      if (old) emptyStream(old.stream);
      const tracks = /** @type {MediaStreamTrack[]} */ ([trackOf(w.audio), trackOf(w.video)].filter(Boolean));
      const stream = new MediaStream(tracks);
      this.shown.set(id, { key: w.key, stream, audioMid: w.audio, videoMid: w.video, baseline: this.counters() });
      for (const track of tracks) this.host.emit('track', { peerId: id, track, stream });
      this.host.emit('stream', { peerId: id, stream });
      this.host.emit('connection-state', { peerId: id, state: pc.connectionState });
    }
    this.reconcileScreens(trackOf);
  }

  /**
   * Roommates' shared screens: a stream for each screen slot that has its track, gone when the
   * table no longer marks it (they stopped, were stopped, or left the room).
   * @param {(mid: string | null) => MediaStreamTrack | null} trackOf
   */
  reconcileScreens(trackOf) {
    const wanted = new Map([...this.slots.screens(this.host.roommates())].filter(([, mid]) => trackOf(mid)));
    for (const [id, shown] of [...this.screensShown]) {
      if (wanted.get(id) === shown.mid) continue;
      this.screensShown.delete(id);
      emptyStream(shown.stream);
      this.host.emit('screen-stopped', { peerId: id });
    }
    for (const [id, mid] of wanted) {
      if (this.screensShown.has(id)) continue;
      const track = /** @type {MediaStreamTrack} */ (trackOf(mid));
      const stream = new MediaStream([track]);
      this.screensShown.set(id, { mid, stream, baseline: this.counters() });
      this.host.emit('screen-started', { peerId: id, stream, track });
    }
  }

  /** A roommate's shared screen (null: they share none we receive). @param {PeerId} id */
  screenOf(id) {
    return this.screensShown.get(id)?.stream ?? null;
  }

  /**
   * Puts `track` (a display track) on our screen's section, or takes it off (null). No
   * renegotiation. False when we have no such section (observers, or closed).
   * @param {MediaStreamTrack | null} track
   */
  async shareScreen(track) {
    // The section is made by the publish step, which may still be queued.
    await this.chain;
    const sender = this.screenSender;
    if (!sender || this.closed) return false;
    await sender.replaceTrack(track);
    this.note(track ? 'screen on' : 'screen off');
    return true;
  }

  /** A peer's stream (null: no slot carries them now). @param {PeerId} id */
  streamOf(id) {
    return this.shown.get(id)?.stream ?? null;
  }

  /**
   * Switches the track we send of `track.kind` without renegotiating. False when we send no
   * track of that kind: only a new publish can add one.
   * @param {MediaStreamTrack} track
   */
  async replaceTrack(track) {
    const sender = this.senders.get(/** @type {'audio' | 'video'} */ (track.kind));
    if (!sender || this.closed) return false;
    await sender.replaceTrack(track);
    return true;
  }

  /** Receive counters per mid (inbound-rtp), now. */
  async counters() {
    /** @type {Map<string, {frames: number, bytes: number}>} */
    const out = new Map();
    /** @type {Map<string, string>} receiver track id → mid, where a stat has no mid */
    const midOfTrack = new Map();
    for (const t of this.pc.getTransceivers()) if (t.mid != null && t.receiver.track) midOfTrack.set(t.receiver.track.id, t.mid);
    try {
      const report = await this.pc.getStats();
      report.forEach((s) => {
        if (s.type !== 'inbound-rtp') return;
        const mid = s.mid ?? midOfTrack.get(s.trackIdentifier);
        if (mid == null) return;
        out.set(mid, { frames: s.framesDecoded ?? 0, bytes: s.bytesReceived ?? 0 });
      });
    } catch {
      // closed while asking
    }
    return out;
  }

  /**
   * Per peer shown: the hub connection's state, and the video frames decoded and bytes received
   * since that peer got their slots.
   * @param {(id: PeerId) => string} nameOf
   */
  async stats(nameOf) {
    const now = await this.counters();
    /** @type {Record<string, import('./huddle').PeerStats>} */
    const result = {};
    for (const [id, s] of this.shown) {
      const before = await s.baseline;
      const delta = (/** @type {string | null} */ mid, /** @type {'frames' | 'bytes'} */ what) => (mid == null ? 0
        : Math.max(0, (now.get(mid)?.[what] ?? 0) - (before.get(mid)?.[what] ?? 0)));
      result[id] = {
        name: nameOf(id), connectionState: this.pc.connectionState,
        framesDecoded: delta(s.videoMid, 'frames'), bytesReceived: delta(s.audioMid, 'bytes') + delta(s.videoMid, 'bytes'),
      };
    }
    for (const [id, s] of this.screensShown) {
      const before = await s.baseline;
      const frames = Math.max(0, (now.get(s.mid)?.frames ?? 0) - (before.get(s.mid)?.frames ?? 0));
      result[id] ??= { name: nameOf(id), connectionState: this.pc.connectionState, framesDecoded: 0, bytesReceived: 0 };
      result[id].screenFramesDecoded = frames;
    }
    return result;
  }

  /** State for diagnosing a link that carries nothing (no SDP). */
  diagnostics() {
    const pc = this.pc;
    return {
      signalingState: pc.signalingState, connectionState: pc.connectionState, iceConnectionState: pc.iceConnectionState,
      published: this.published, broken: this.broken, answered: this.answered, slotsRev: this.slots.rev,
      slots: this.slots.slots.map((s) => ({ ...s })),
      transceivers: pc.getTransceivers().map((t) => ({ mid: t.mid, direction: t.direction, currentDirection: t.currentDirection })),
      shown: Object.fromEntries([...this.shown].map(([id, s]) => [id, s.key])),
      screens: Object.fromEntries([...this.screensShown].map(([id, s]) => [id, s.mid])),
      trace: [...this.trace],
    };
  }

  /** Closes the connection; the peers shown lose their streams (`connection-state` closed). */
  close() {
    if (this.closed) return;
    for (const [id, s] of this.shown) {
      emptyStream(s.stream);
      this.host.emit('connection-state', { peerId: id, state: 'closed' });
    }
    this.shown.clear();
    for (const [id, s] of this.screensShown) {
      emptyStream(s.stream);
      this.host.emit('screen-stopped', { peerId: id });
    }
    this.screensShown.clear();
    this.closed = true;
    const pc = this.pc;
    pc.ontrack = null;
    pc.onconnectionstatechange = null;
    pc.close();
  }
}

/** @param {MediaStream} stream */
function emptyStream(stream) {
  for (const t of stream.getTracks()) stream.removeTrack(t);
}

/** @param {unknown} err */
function errorCode(err) {
  return err && typeof err === 'object' && 'code' in err ? String(err.code) : err instanceof Error ? err.name : String(err);
}
