// WebRTC "perfect negotiation" for one pair of peers, without I/O.
//
// `Negotiation` is a state machine: it is fed events (negotiation needed, a signal from the other
// peer, the result of an operation it asked for) and answers with actions to carry out
// (set a local or remote description, roll back, add an ICE candidate, send a signal). It never
// touches an RTCPeerConnection, so Node's test runner can drive it with a simulated one.
//
// `Negotiator` is the thin driver that carries the actions out on a real (or fake)
// RTCPeerConnection. It runs every event and its follow-up actions one after another on a single
// chain, so the state machine always sees the connection's current `signalingState`.
//
// The pattern (https://w3c.github.io/webrtc-pc/#perfect-negotiation-example):
// - both sides may offer whenever `negotiationneeded` fires;
// - on an offer collision (glare) the impolite peer ignores the incoming offer and the polite
//   peer rolls its own offer back and answers;
// - ICE candidates that arrive before a remote description is set are queued, and added once it
//   is; failures to add candidates that belonged to an ignored offer are expected and dropped.
// Which side is polite is decided by comparing hub-assigned peer ids (see `isPolite`).

/**
 * What travels in a `signal` frame's `data` between two SDK peers. `screen`: the id of the
 * sender's shared screen's stream, in every signal while they share (huddle.js).
 * @typedef {({description: RTCSessionDescriptionInit} | {candidate: RTCIceCandidateInit}) & {screen?: string}} SignalData
 */

/**
 * An operation the driver must carry out, in order.
 * @typedef {{type: 'setLocal'}
 *   | {type: 'rollback'}
 *   | {type: 'setRemote', description: RTCSessionDescriptionInit}
 *   | {type: 'addCandidate', candidate: RTCIceCandidateInit}
 *   | {type: 'send', data: SignalData}} Action
 */

/**
 * Politeness by peer id: the peer with the higher id (the later joiner) is polite, so people
 * already in a room keep their offers when a newcomer's offer collides with theirs.
 * @param {number} selfId
 * @param {number} peerId
 */
export function isPolite(selfId, peerId) {
  return selfId > peerId;
}

export class Negotiation {
  /**
   * @param {{polite: boolean, canOffer?: boolean}} options `canOffer: false` for receive-only
   *   peers (observers): they answer but never offer, and the hub refuses their offers.
   */
  constructor({ polite, canOffer = true }) {
    this.polite = polite;
    this.canOffer = canOffer;
    /** A local offer is being made (set between `setLocal` and its result). */
    this.makingOffer = false;
    /** The last remote offer was ignored (impolite side of a collision). */
    this.ignoreOffer = false;
    /** A remote answer is being applied; an offer arriving now is not a collision. */
    this.settingRemoteAnswer = false;
    /** A remote description has been applied at least once; candidates can be added. */
    this.hasRemoteDescription = false;
    /** @type {RTCIceCandidateInit[]} candidates waiting for a remote description */
    this.pendingCandidates = [];
  }

  /**
   * The connection fired `negotiationneeded`.
   * @returns {Action[]}
   */
  negotiationNeeded() {
    if (!this.canOffer || this.makingOffer) return [];
    this.makingOffer = true;
    return [{ type: 'setLocal' }];
  }

  /**
   * A `setLocal` succeeded; `description` is the connection's new local description.
   * @param {RTCSessionDescriptionInit} description
   * @returns {Action[]}
   */
  localDescriptionSet(description) {
    this.makingOffer = false;
    return [{ type: 'send', data: { description } }];
  }

  /** A `setLocal` failed. @returns {Action[]} */
  localDescriptionFailed() {
    this.makingOffer = false;
    return [];
  }

  /**
   * A signal arrived from the other peer.
   * @param {unknown} data the `signal` frame's `data`, untrusted
   * @param {RTCSignalingState} signalingState the connection's state right now
   * @returns {Action[]}
   */
  signal(data, signalingState) {
    if (typeof data !== 'object' || data === null) return [];
    const d = /** @type {{description?: unknown, candidate?: unknown}} */ (data);
    if (isDescription(d.description)) {
      const description = d.description;
      const readyForOffer =
        !this.makingOffer && (signalingState === 'stable' || this.settingRemoteAnswer);
      const collision = description.type === 'offer' && !readyForOffer;
      this.ignoreOffer = !this.polite && collision;
      if (this.ignoreOffer) return [];
      if (description.type === 'answer' && signalingState !== 'have-local-offer') {
        // An answer to an offer we no longer have (rolled back): nothing to apply it to.
        return [];
      }
      /** @type {Action[]} */
      const actions = [];
      if (collision) actions.push({ type: 'rollback' });
      this.settingRemoteAnswer = description.type === 'answer';
      actions.push({ type: 'setRemote', description });
      return actions;
    }
    if (isCandidate(d.candidate)) {
      if (!this.hasRemoteDescription) {
        this.pendingCandidates.push(d.candidate);
        return [];
      }
      return [{ type: 'addCandidate', candidate: d.candidate }];
    }
    return [];
  }

  /**
   * A `setRemote` succeeded.
   * @param {RTCSdpType} type the type of the description that was applied
   * @returns {Action[]}
   */
  remoteDescriptionSet(type) {
    this.settingRemoteAnswer = false;
    this.hasRemoteDescription = true;
    /** @type {Action[]} */
    const actions = this.pendingCandidates.map((candidate) => ({
      type: /** @type {const} */ ('addCandidate'),
      candidate,
    }));
    this.pendingCandidates = [];
    // An offer is answered: setLocalDescription() without arguments creates the answer.
    if (type === 'offer') actions.unshift({ type: 'setLocal' });
    return actions;
  }

  /** A `setRemote` failed. @returns {Action[]} */
  remoteDescriptionFailed() {
    this.settingRemoteAnswer = false;
    return [];
  }
}

/** @param {unknown} v @returns {v is RTCSessionDescriptionInit} */
function isDescription(v) {
  if (typeof v !== 'object' || v === null) return false;
  const t = /** @type {{type?: unknown}} */ (v).type;
  return t === 'offer' || t === 'answer' || t === 'pranswer';
}

/** @param {unknown} v @returns {v is RTCIceCandidateInit} */
function isCandidate(v) {
  return typeof v === 'object' && v !== null &&
    typeof /** @type {{candidate?: unknown}} */ (v).candidate === 'string';
}

/**
 * The subset of RTCPeerConnection the driver uses (a fake in unit tests).
 * @typedef {object} NegotiablePeerConnection
 * @property {RTCSignalingState} signalingState
 * @property {RTCSessionDescription | RTCSessionDescriptionInit | null} localDescription
 * @property {(description?: RTCSessionDescriptionInit) => Promise<void>} setLocalDescription
 * @property {(description: RTCSessionDescriptionInit) => Promise<void>} setRemoteDescription
 * @property {(candidate: RTCIceCandidateInit) => Promise<void>} addIceCandidate
 */

/** Carries a `Negotiation`'s actions out on one peer connection, one event at a time. */
export class Negotiator {
  /**
   * @param {NegotiablePeerConnection} pc
   * @param {{polite: boolean, canOffer?: boolean, send: (data: SignalData) => void,
   *   onError?: (what: string, err: unknown) => void,
   *   beforeAnswer?: () => void | Promise<void>}} options `beforeAnswer` runs after a remote
   *   offer is applied and before the answer is made (e.g. to add local tracks, which then ride
   *   on the offered transceivers)
   */
  constructor(pc, { polite, canOffer = true, send, onError = () => {}, beforeAnswer }) {
    this.pc = pc;
    this.beforeAnswer = beforeAnswer;
    this.machine = new Negotiation({ polite, canOffer });
    this.send = send;
    this.onError = onError;
    /** Candidates that could not be added (expected after an ignored offer). */
    this.candidateErrors = 0;
    this.closed = false;
    /** @type {Promise<void>} */
    this.chain = Promise.resolve();
    /** The last events and actions, by kind only (never SDP), for diagnosing a stuck peer. */
    this.trace = /** @type {string[]} */ ([]);
  }

  /** @param {string} what */
  note(what) {
    this.trace.push(`${this.pc.signalingState}: ${what}`);
    if (this.trace.length > 60) this.trace.shift();
  }

  /** Call from `pc.onnegotiationneeded`. */
  negotiationNeeded() {
    return this.enqueue(() => {
      this.note('negotiationneeded');
      return this.machine.negotiationNeeded();
    });
  }

  /** Call with the `data` of every `signal` from this peer. @param {unknown} data */
  signal(data) {
    return this.enqueue(() => {
      this.note(`recv ${signalKind(data)}`);
      return this.machine.signal(data, this.pc.signalingState);
    });
  }

  /** Call from `pc.onicecandidate`. @param {RTCIceCandidate | RTCIceCandidateInit | null} candidate */
  localCandidate(candidate) {
    if (!candidate || this.closed) return;
    const init = 'toJSON' in candidate && typeof candidate.toJSON === 'function'
      ? candidate.toJSON() : /** @type {RTCIceCandidateInit} */ (candidate);
    this.note('send candidate');
    this.send({ candidate: init });
  }

  /** Stops acting on events (the connection is being closed). */
  close() {
    this.closed = true;
  }

  /**
   * Runs `step` (a state machine call) after everything queued before it, then its actions.
   * @param {() => Action[]} step
   * @returns {Promise<void>}
   */
  enqueue(step) {
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      await this.run(step());
    });
    return this.chain;
  }

  /** @param {Action[]} actions */
  async run(actions) {
    const queue = [...actions];
    while (queue.length > 0 && !this.closed) {
      const action = /** @type {Action} */ (queue.shift());
      queue.unshift(...(await this.perform(action)));
    }
  }

  /**
   * @param {Action} action
   * @returns {Promise<Action[]>} follow-up actions
   */
  async perform(action) {
    const { pc, machine } = this;
    this.note(action.type === 'send' ? `send ${signalKind(action.data)}` : action.type);
    switch (action.type) {
      case 'setLocal':
        try {
          await pc.setLocalDescription();
        } catch (err) {
          this.onError('setLocalDescription', err);
          return machine.localDescriptionFailed();
        }
        if (this.closed || !pc.localDescription) return [];
        return machine.localDescriptionSet(descriptionInit(pc.localDescription));
      case 'rollback':
        try {
          await pc.setLocalDescription({ type: 'rollback' });
        } catch (err) {
          this.onError('rollback', err);
        }
        return [];
      case 'setRemote':
        try {
          await pc.setRemoteDescription(action.description);
          if (action.description.type === 'offer') await this.beforeAnswer?.();
        } catch (err) {
          this.onError('setRemoteDescription', err);
          return machine.remoteDescriptionFailed();
        }
        return machine.remoteDescriptionSet(action.description.type ?? 'offer');
      case 'addCandidate':
        try {
          await pc.addIceCandidate(action.candidate);
        } catch {
          // Expected for candidates of an offer that was ignored or rolled back.
          this.candidateErrors += 1;
        }
        return [];
      case 'send':
        if (!this.closed) this.send(action.data);
        return [];
    }
  }
}

/** @param {RTCSessionDescription | RTCSessionDescriptionInit} d @returns {RTCSessionDescriptionInit} */
function descriptionInit(d) {
  return { type: d.type, sdp: d.sdp };
}

/** What a signal is, without its content. @param {unknown} data */
function signalKind(data) {
  const d = /** @type {{description?: {type?: string}, candidate?: unknown}} */ (data ?? {});
  if (d.description) return String(d.description.type);
  if (d.candidate) return 'candidate';
  return 'unknown';
}
