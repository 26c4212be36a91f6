// Huddle browser SDK: join a meeting through the hub, see and hear everyone in the current room
// (a WebRTC mesh, or in SFU meetings one connection to the hub), chat, and (for hosts and
// cohosts) run breakout rooms and moderate.
//
//   import { join } from '/sdk/huddle.js';
//   const meeting = await join({ token, media: { audio: true, video: true },
//                                on: { stream: (e) => show(e.detail.peerId, e.detail.stream) } });
//
// Layout: wire.js (frames, backoff), constants.js (version, close codes; generated), state.js
// (what a message means: events, mesh changes, request answers), negotiation.js (perfect
// negotiation per peer), sfu.js (SFU meetings: the slot table, and the one connection to the
// hub), heartbeat.js (when a silent connection counts as dead), token.js (the
// token's claims, when to refresh it). This file is the
// I/O: the WebSocket and its timers, getUserMedia, getDisplayMedia (screen sharing) and the
// RTCPeerConnections. Public types:
// huddle.d.ts, with options, event details and the event map in types.d.ts.

import { Heartbeat } from './heartbeat.js';
import { Negotiator, isPolite } from './negotiation.js';
import { HubLink } from './sfu.js';
import { HuddleError, MeetingState, Requests, isObserver } from './state.js';
import { REFRESH_RETRY_MS, refreshDelayMs, tokenExpiry, tokenRole } from './token.js';
import {
  CLIENT_RECONNECTING, CLOSE_REASONS, PROTOCOL_VERSION, RESUME_EXPIRED, WS_PATH, backoffMs,
  closeKind, isLoopback, mergeFrame, reconnectDelayMs, splitFrame,
} from './wire.js';

export { HuddleError } from './state.js';
export { closeKind } from './wire.js';
export { tokenRole } from './token.js';

/** @typedef {import('./protocol').Peer} Peer */
/** @typedef {import('./protocol').PeerId} PeerId */
/** @typedef {import('./protocol').RoomId} RoomId */
/** @typedef {import('./protocol').ClientFrame} ClientFrame */
/** @typedef {import('./protocol').ServerMessage} ServerMessage */
/** @typedef {import('./types').JoinOptions} JoinOptions */
/** @typedef {import('./types').SplitOptions} SplitOptions */
/** @typedef {import('./types').MergeOptions} MergeOptions */
/** @typedef {import('./types').ReopenOptions} ReopenOptions */
/** @typedef {import('./types').RemoveOptions} RemoveOptions */
/** @typedef {import('./types').MuteRequest} MuteRequest */
/** @typedef {import('./types').DeviceSelection} DeviceSelection */
/** @typedef {import('./types').MeetingEventMap} MeetingEventMap */
/** @typedef {import('./types').MeetingEvent} MeetingEvent */
/** @typedef {import('./negotiation.js').SignalData} SignalData */

/**
 * One remote person's connection.
 * @typedef {object} PeerLink
 * @property {Peer} peer
 * @property {RTCPeerConnection} pc
 * @property {Negotiator} negotiator
 * @property {MediaStream} stream their media
 * @property {string | null} screenId the stream id their signals name as their screen
 *   (`{"screen": id}` in the signal data), null while they share none
 * @property {MediaStream | null} screen their shared screen's stream as received, while shown
 * @property {boolean} waitsForOffer we send, but the other side makes the first offer: our
 *   tracks go with our answer to it (adding them before would make a colliding offer of ours)
 */

/**
 * Joins a meeting; resolves once the hub has welcomed us. Stays pending (no timeout) while the
 * waiting room holds us (`waiting`) or while the group's agreement is asked (`agreement-required`,
 * passed in `options.on`): the app shows it and calls `acceptAgreement`, and the welcome follows.
 * @param {JoinOptions} options
 */
export async function join(options) {
  const meeting = new Meeting(options);
  await meeting.connect();
  return meeting;
}

/**
 * The public contract (huddle.d.ts) without the typed event listener overloads, which EventTarget
 * provides untyped; `@implements` makes tsc check this class against the rest of it.
 * @typedef {Omit<import('./huddle').Meeting, 'addEventListener' | 'removeEventListener'>} MeetingContract
 */

/** @implements {MeetingContract} */
export class Meeting extends EventTarget {
  /** @param {JoinOptions} options */
  constructor(options) {
    super();
    if (!options || typeof options.token !== 'string' || options.token.trim() === '') {
      throw new TypeError('join: a token is required');
    }
    this.options = options;
    /** The token the next `hello` carries: the app's, or the latest fresh one (`refresh`). */
    this.token = options.token;
    /** The hub's socket URLs: one, or one per node of a cluster when the app gave a list. */
    this.wsUrls = hubSocketUrls(options.url);
    /**
     * Which of them the next socket goes to. With a list, a random one first, so that clients
     * given the same list spread over the nodes; then round robin, one step on after each
     * reconnectable close (a node that is down, draining or no longer ours is left behind); a
     * welcome keeps the node that gave it.
     */
    this.urlIndex = this.wsUrls.length > 1 ? Math.floor(Math.random() * this.wsUrls.length) : 0;
    this.state = new MeetingState();
    this.requests = new Requests();
    /** Mesh meetings: a connection per peer in our room. @type {Map<PeerId, PeerLink>} */
    this.links = new Map();
    /**
     * SFU meetings: the one connection to the hub. It outlives room changes and a resumed
     * socket; made anew only when it failed, or for a new seat. @type {HubLink | null}
     */
    this.hub = null;
    /**
     * SFU meetings: the hub's media engine the last welcome named (`sfu_instance`). A resumed
     * seat whose meeting moved to another hub node (a cluster failover) names another one: the
     * connection to the old engine leads nowhere any more. @type {string | null}
     */
    this.sfuInstance = null;
    /**
     * SFU meetings: the camera quality last asked of each roommate (`sfu_subscribe`); a roommate
     * not in it gets the hub's default, `low`. @type {Map<PeerId, import('./protocol').VideoQuality>}
     */
    this.subscriptions = new Map();
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {MediaStream | null} */
    this.localStream = null;
    /** Whether we made `localStream` (and so stop its tracks on leave). */
    this.ownsStream = false;
    /**
     * Whether our role lets us send media: not as an observer. The token's role until the hub
     * says (`welcome`, `peer_updated`).
     */
    this.sending = !isObserver(tokenRole(this.token) ?? undefined);
    this.audioEnabled = true;
    this.videoEnabled = true;
    /** Our shared screen (getDisplayMedia) while we share. @type {MediaStream | null} */
    this.screenStream = null;
    this.joined = false;
    this.left = false;
    this.reconnectAttempt = 0;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.reconnectTimer = null;
    /** Null when turned off. */
    this.heartbeat = options.heartbeat === false ? null : new Heartbeat(options.heartbeat ?? {});
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.heartbeatTimer = null;
    /** When to ask `getToken` for a fresh token. @type {ReturnType<typeof setTimeout> | null} */
    this.refreshTimer = null;
    /** @type {{resolve: () => void, reject: (e: Error) => void} | null} */
    this.connecting = null;
    /** Signals the hub refused, by error code (expected: a few `not_found` around moves). */
    this.signalRefusals = /** @type {Record<string, number>} */ ({});
    for (const [name, fn] of Object.entries(options.on ?? {})) {
      this.addEventListener(name, /** @type {EventListener} */ (fn));
    }
    this.onOnline = () => this.retryNow();
    if (typeof addEventListener === 'function') addEventListener('online', this.onOnline);
  }

  // ---- state ----

  /** Who we are (after `welcome`). */
  get you() { return this.state.you; }
  /** Our current room: `{id, name, topic}`. */
  get room() { return { ...this.state.room }; }
  /** Everyone else in our room. */
  get peers() { return this.state.peerList(); }
  /** Every room of the meeting with its members' ids, main first. */
  get rooms() { return this.state.roomsDetail(); }
  /** The round of rotating pairs open now (`split {strategy: 'rotate'}`), or null. */
  get round() { return this.state.round; }
  /** Group chat history of our room, oldest first. */
  get chatHistory() { return [...this.state.chat]; }
  /** True for host and cohost. */
  get isHost() {
    const role = this.state.you?.role;
    return role === 'host' || role === 'cohost';
  }
  /** A display name for anyone seen in the meeting. @param {PeerId} id */
  nameOf(id) { return this.state.nameOf(id); }
  /** Name and current role of anyone seen in the meeting (null if never seen). @param {PeerId} id */
  person(id) {
    const p = this.state.person(id);
    return p ? { ...p } : null;
  }
  /** True while the waiting room holds us (`join()` resolves when a host lets us in). */
  get waiting() { return this.state.waitingAs != null; }
  /** Hosts and cohosts: the waiting room (on/off and who is waiting), as last told. */
  get lobby() { return { enabled: this.state.lobby.enabled, waiting: [...this.state.lobby.waiting] }; }
  /** Hosts and cohosts: raised hands, first raised first. */
  get hands() { return [...this.state.hands]; }
  /** Whether our own hand is up (as we asked). */
  get handRaised() { return this.state.handRaised; }
  /** Whether the meeting is locked (as last told; the hub says so when it changes). */
  get locked() { return this.state.locked; }
  /** Hosts and cohosts: recent moderator actions, oldest first (ids, never chat text). */
  get auditLog() { return this.state.audit.map((e) => ({ ...e })); }
  /** People who stepped out of our room for a private conversation with a host. */
  get steppedOut() { return this.state.steppedOutList(); }
  /** True while we are in a host's private (pull-aside) conversation. */
  get inPrivateRoom() { return this.state.inPrivateRoom(); }
  /** When the scheduled session ends (ms since the epoch, the hub's clock); null: no set end. */
  get endsAt() { return this.state.endsAt; }
  /** The remote media of one peer (null before their first track). @param {PeerId} id */
  remoteStream(id) {
    if (this.state.mediaMode === 'sfu') return this.hub?.streamOf(id) ?? null;
    const link = this.links.get(id);
    return link && link.stream.getTracks().length > 0 ? link.stream : null;
  }
  /** What a peer said about their microphone and camera. @param {PeerId} id */
  peerMedia(id) { return this.state.mediaOf(id); }
  /** SFU meetings: whether a host stops the hub forwarding their microphone / camera. @param {PeerId} id */
  peerBlocked(id) { return this.state.blockedOf(id); }
  /** `mesh` or `sfu`, as the hub's welcome said (null before it). */
  get mediaMode() { return this.state.mediaMode; }
  /** SFU meetings: who in our room speaks now, loudest first. */
  get activeSpeakers() { return [...this.state.activeSpeakers]; }
  /** SFU meetings: whether a host stops the hub forwarding our microphone. */
  get audioBlocked() { return this.state.blocked.audio; }
  /** SFU meetings: whether a host stops the hub forwarding our camera. */
  get videoBlocked() { return this.state.blocked.video; }
  /** Whether participants and mentors may share their screen now (hosts and cohosts always may). */
  get screenShareAllowed() { return this.state.screenShareAllowed; }
  /** Whether our role lets us share our screen now (the hub decides). */
  get mayShareScreen() {
    const role = this.state.you?.role;
    return this.isHost || ((role === 'participant' || role === 'mentor') && this.state.screenShareAllowed);
  }
  /** Whether we share our screen now. */
  get sharingScreen() { return this.screenStream != null; }
  /**
   * A roommate's shared screen as received (null: they share none, or it has not arrived yet).
   * @param {PeerId} id
   */
  remoteScreen(id) {
    if (this.state.mediaMode === 'sfu') return this.hub?.screenOf(id) ?? null;
    return this.links.get(id)?.screen ?? null;
  }

  // ---- connection ----

  /** The socket URL the next (or current) connection uses. */
  get wsUrl() { return this.wsUrls[this.urlIndex]; }

  /**
   * Gets local media, opens the socket and resolves on `welcome`. Refuses a hub without TLS
   * (`insecure_transport`) before either.
   */
  async connect() {
    if (this.left) throw new HuddleError('closed', 'this meeting was left');
    // Every node of the list, before anything opens: a reconnect must not be the first to find one.
    for (const url of this.wsUrls) requireSecureTransport(url);
    await this.acquireMedia();
    this.scheduleRefresh();
    return new Promise((resolve, reject) => {
      this.connecting = { resolve: () => resolve(undefined), reject };
      this.openSocket();
    });
  }

  async acquireMedia() {
    const media = this.options.media;
    if (media === null || !this.sending) return;
    if (typeof MediaStream !== 'undefined' && media instanceof MediaStream) {
      this.localStream = media;
      return;
    }
    const wanted = /** @type {MediaStreamConstraints} */ (media ?? { audio: true, video: true });
    // Fall back to less when a device is missing or refused: audio only, then receive only.
    const attempts = [wanted];
    if (wanted.video && wanted.audio) attempts.push({ audio: wanted.audio, video: false });
    for (const constraints of attempts) {
      try {
        this.localStream = await navigator.mediaDevices.getUserMedia(constraints);
        this.ownsStream = true;
        return;
      } catch (err) {
        this.emit('media-error', { constraints, name: errorName(err), message: errorMessage(err) });
      }
    }
  }

  openSocket() {
    this.reconnectTimer = null;
    const ws = new WebSocket(this.wsUrl);
    this.ws = ws;
    this.startHeartbeat(ws);
    ws.onopen = () => {
      /** @type {import('./protocol').ClientHello} */
      const hello = { type: 'hello', protocol: PROTOCOL_VERSION, token: this.token };
      if (this.options.meeting) hello.meeting = this.options.meeting;
      // After a drop: ask for our held seat back (same id, the chat we missed).
      const resume = this.state.resumeRequest();
      if (resume) hello.resume = resume;
      ws.send(JSON.stringify(hello));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws || typeof ev.data !== 'string') return;
      this.heartbeat?.heard(Date.now());
      /** @type {ServerMessage} */
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg && typeof msg === 'object') this.onMessage(msg);
    };
    ws.onclose = (ev) => {
      if (ws === this.ws) this.onSocketClosed(ev.code, ev.reason);
    };
  }

  /**
   * Pings the hub and watches for silence on `ws`; when the connection looks dead, gives it up
   * (close 4100: the hub holds our seat) and resumes on a new socket.
   * @param {WebSocket} ws
   */
  startHeartbeat(ws) {
    this.stopHeartbeat();
    const heartbeat = this.heartbeat;
    if (!heartbeat) return;
    heartbeat.start(Date.now());
    const step = () => {
      this.heartbeatTimer = null;
      if (ws !== this.ws) return;
      const now = Date.now();
      const { ping, dead, next } = heartbeat.check(now);
      if (dead) {
        this.abandonSocket(ws);
        return;
      }
      if (ping && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping' }));
      this.heartbeatTimer = setTimeout(step, next - now);
    };
    step();
  }

  stopHeartbeat() {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /**
   * Gives up on a socket that looks dead. Its close event could take a minute to come (the
   * closing handshake waits on the same dead connection), so we do not wait for it.
   * @param {WebSocket} ws
   */
  abandonSocket(ws) {
    this.ws = null;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    const reason = CLOSE_REASONS[CLIENT_RECONNECTING];
    try {
      ws.close(CLIENT_RECONNECTING, reason);
    } catch {
      // already closing
    }
    this.onSocketClosed(CLIENT_RECONNECTING, reason);
  }

  /** @param {ServerMessage} msg */
  onMessage(msg) {
    const out = this.state.handle(msg);
    const sfu = this.state.mediaMode === 'sfu';
    if (sfu) {
      // The hub's one connection carries everyone: no connection per peer (a hub restarted in
      // another mode may leave some).
      for (const id of [...this.links.keys()]) this.closeLink(id);
    } else {
      this.closeHub();
      for (const id of out.disconnect) this.closeLink(id);
      for (const peer of out.connect) this.openLink(peer);
    }
    if (out.signal && !sfu) {
      // A signal from someone in our room we have no connection to yet: make one (safety net;
      // the hub's ordering normally tells us about a peer before it can signal us).
      const peer = this.state.peers.get(out.signal.from);
      if (peer && !this.links.has(peer.id)) this.openLink(peer);
      const link = this.links.get(out.signal.from);
      if (link) {
        // Which of their streams is their screen: named in every signal they send while they
        // share (before the description whose tracks it names is applied).
        this.noteScreenId(link, out.signal.data);
        link.negotiator.signal(out.signal.data);
      }
    }
    if (out.answer) this.requests.settle(out.answer);
    if (msg.type === 'welcome') {
      this.joined = true;
      this.sfuInstance = msg.sfu_instance ?? null;
      if (sfu) this.keepOrOpenHub(out.events.some(([name, d]) => name === 'welcome' && /** @type {{resumed: boolean}} */ (d).resumed));
    }
    if (sfu) this.followSlots(out.media);
    this.followRole();
    if (this.screenStream && this.joined && this.mustStopScreen(msg)) void this.stopScreenShare();
    if (msg.type === 'mute_requested' && this.joined) {
      // A host's mute request is honoured at once, before the app hears of it
      // ('mute-requested'), so what the app then reads is already off.
      if (msg.audio) this.setAudioEnabled(false);
      if (msg.video) this.setVideoEnabled(false);
    }
    this.emitAll(out.events);
    if (msg.type === 'welcome') {
      if (this.reconnectAttempt > 0) this.emit('reconnected', { you: msg.you, resumed: msg.resumed === true });
      this.reconnectAttempt = 0;
      this.announceMedia();
      this.connecting?.resolve();
      this.connecting = null;
    }
  }

  /** @param {number} code @param {string} reason */
  onSocketClosed(code, reason) {
    this.ws = null;
    this.stopHeartbeat();
    this.requests.failAll('the connection closed');
    // Every peer connection goes, simple and robust: the welcome that answers our resume (or
    // fresh hello) lists the room as it is now, and the mesh is rebuilt from it. The connection
    // to an SFU hub stays (media may still flow): a resumed welcome keeps it if it is healthy.
    for (const id of [...this.links.keys()]) this.closeLink(id);
    this.joined = false;
    if (this.left) {
      this.closeHub();
      return;
    }
    const kind = closeKind(code);
    const error = this.state.lastError;
    const detail = {
      code, reason: reason || CLOSE_REASONS[code] || '', error,
      reconnectable: kind === 'reconnectable',
    };
    if (kind !== 'reconnectable') {
      this.left = true;
      this.closeHub();
      this.stopWatchingNetwork();
      this.stopRefresh();
      this.emitAll(this.state.closed());
      this.stopLocalMedia();
      this.emit('closed', detail);
      this.connecting?.reject(new HuddleError(error?.code ?? 'closed',
        error?.message ?? `the hub closed the connection (${code} ${detail.reason})`));
      this.connecting = null;
      return;
    }
    // The hub holds our seat for a while: the roster stays (the app can show it as it was)
    // until the welcome says who is there now.
    this.reconnectAttempt += 1;
    // Any node can take our resume: the next one of the app's list, in case this one is the
    // trouble (it did not open, is draining or going down, or no longer serves the meeting).
    this.urlIndex = (this.urlIndex + 1) % this.wsUrls.length;
    // 4106: the resume came too late (or the hub restarted); join afresh at once.
    if (code === RESUME_EXPIRED) this.state.forgetResume();
    // 4108 (the node sent us away), and 1001 with other URLs to try: at once, with a little jitter; otherwise backoff.
    const delayMs = reconnectDelayMs(code, this.reconnectAttempt, this.wsUrls.length);
    this.emit('reconnecting', {
      ...detail, attempt: this.reconnectAttempt, delayMs, resuming: this.state.resumeToken != null,
      url: shownUrl(this.wsUrl),
    });
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delayMs);
  }

  /**
   * A reconnect attempt: with `getToken`, a fresh token first (the one we have may have expired
   * while we were away). If the app cannot give one and ours has expired, a hello would only be
   * refused for good (4001): wait and try again instead, as for a hub that cannot be reached.
   */
  async reconnect() {
    this.reconnectTimer = null;
    if (this.options.getToken) {
      try {
        this.adoptToken(await this.fetchToken());
      } catch (err) {
        if (this.left) return;
        this.refreshFailed(err);
        const exp = tokenExpiry(this.token);
        if (exp != null && exp * 1000 <= Date.now()) {
          this.reconnectAttempt += 1;
          this.reconnectTimer = setTimeout(() => void this.reconnect(), backoffMs(this.reconnectAttempt));
          return;
        }
      }
      if (this.left || this.ws) return;
    }
    this.openSocket();
  }

  stopWatchingNetwork() {
    if (typeof removeEventListener === 'function') removeEventListener('online', this.onOnline);
  }

  /** Back online (a phone found a network): try now instead of waiting out the backoff. */
  retryNow() {
    if (this.left || this.ws || !this.reconnectTimer) return;
    clearTimeout(this.reconnectTimer);
    void this.reconnect();
  }

  // ---- the token ----

  /**
   * Sends the hub a fresher token for this session (same person and meeting), which then also
   * serves every later reconnect. Resolves on the hub's `ack`; rejects with a HuddleError
   * (`unauthorized`: the hub refused it and the session goes on with the token it had; `closed`:
   * not connected). A token whose `role` is not the session's is used all the same (the hub
   * keeps the seat's role), and reported as `token-role-mismatch`.
   * @param {string} token
   */
  async refresh(token) {
    if (typeof token !== 'string' || token.trim() === '') throw new TypeError('refresh: a token is required');
    await this.request({ type: 'refresh', token });
    this.adoptToken(token);
  }

  /** The app's `getToken`, checked. */
  async fetchToken() {
    const token = await this.options.getToken?.();
    if (typeof token !== 'string' || token.trim() === '') throw new TypeError('getToken gave no token');
    return token;
  }

  /**
   * From now on `token` is ours: for the next hello, and to time the next refresh. Its role is
   * only compared: the session's role is the hub's to say.
   * @param {string} token
   */
  adoptToken(token) {
    this.token = token;
    const claimed = tokenRole(token);
    const role = this.state.you?.role ?? this.state.waitingAs?.role;
    if (claimed && role && claimed !== role) this.emit('token-role-mismatch', { tokenRole: claimed, role });
    this.scheduleRefresh();
  }

  /** With `getToken`: a timer to ask for a fresh token before ours expires (token.js). */
  scheduleRefresh(delayMs = refreshDelayOf(this.token)) {
    this.stopRefresh();
    if (!this.options.getToken || this.left || delayMs == null) return;
    this.refreshTimer = setTimeout(() => void this.autoRefresh(), delayMs);
  }

  stopRefresh() {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  /** Gets a fresh token and hands it to the hub now (or, while reconnecting, to the next hello). */
  async autoRefresh() {
    this.refreshTimer = null;
    try {
      const token = await this.fetchToken();
      if (this.left) return;
      if (this.ws?.readyState === WebSocket.OPEN) await this.refresh(token);
      else this.adoptToken(token);
    } catch (err) {
      if (this.left) return;
      this.refreshFailed(err);
      this.scheduleRefresh(REFRESH_RETRY_MS);
    }
  }

  /** @param {unknown} err from `getToken` or from the hub */
  refreshFailed(err) {
    // A HuddleError here is the hub's answer to `refresh`: its ErrorCode, or `closed`.
    const code = err instanceof HuddleError ? /** @type {import('./protocol').ErrorCode | 'closed'} */ (err.code) : 'get_token_failed';
    this.emit('token-refresh-failed', { code, message: errorMessage(err) });
  }

  /** Leaves the meeting: closes the socket and every peer connection. */
  leave() {
    if (this.left) return;
    this.left = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.stopHeartbeat();
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000, 'left');
    this.stopRefresh();
    this.requests.failAll('left the meeting');
    for (const id of [...this.links.keys()]) this.closeLink(id);
    this.closeHub();
    this.stopLocalMedia();
    this.connecting?.reject(new HuddleError('closed', 'left the meeting'));
    this.connecting = null;
    this.state.forgetResume();
    this.stopWatchingNetwork();
    this.emit('closed', { code: 1000, reason: 'left', error: null, reconnectable: false });
  }

  stopLocalMedia() {
    if (this.ownsStream) this.localStream?.getTracks().forEach((t) => t.stop());
    this.endScreen();
  }

  // ---- what our role lets us send ----

  /**
   * After the hub said our role (`welcome`, `peer_updated`): an observer sends nothing, and
   * whoever stops being one sends again. The peer connections were just made anew for the new
   * role (state.js), so only our media has to follow.
   */
  followRole() {
    if (!this.state.you || this.mayOffer() === this.sending) return;
    this.sending = this.mayOffer();
    if (this.sending) void this.startSending();
    else this.stopSending();
  }

  /**
   * We became an observer: camera and microphone off, and the room is told. (In SFU meetings the
   * connection to the hub stays: its senders have nothing left to send, and the hub forwards
   * nothing from an observer anyway.)
   */
  stopSending() {
    if (!this.localStream) return;
    this.stopLocalMedia();
    this.localStream = null;
    this.ownsStream = false;
    this.send({ type: 'media_state', audio: false, video: false });
    this.emit('local-stream', { stream: null });
  }

  /** We are no longer an observer: media as `join()` would have got it, on every connection. */
  async startSending() {
    await this.acquireMedia();
    const stream = this.localStream;
    if (!stream) return;
    if (this.left || !this.sending) {
      // Left, or made an observer again, while the browser was asking for the devices.
      this.stopLocalMedia();
      this.localStream = null;
      return;
    }
    // As muted as before (the app's buttons still say so).
    for (const t of stream.getTracks()) t.enabled = t.kind === 'audio' ? this.audioEnabled : this.videoEnabled;
    for (const link of this.links.values()) if (!link.waitsForOffer) this.addLocalTracks(link.pc);
    // Our one offer to the hub is made: publishing the devices takes a new one.
    if (this.state.mediaMode === 'sfu' && this.joined) this.openHub();
    this.emit('local-stream', { stream });
    this.announceMedia();
  }

  // ---- sending ----

  /**
   * Sends on the open socket once we are welcomed; `refresh` as soon as the hello is out (the hub
   * answers it in the waiting room too).
   * @param {ClientFrame} frame @returns {boolean} sent
   */
  send(frame) {
    const ws = this.ws;
    // Before the welcome only what the hub answers there: `refresh`, and `accept_agreement` while
    // the group's agreement holds us apart (it is what lets us in).
    const beforeWelcome = frame.type === 'refresh' || (frame.type === 'accept_agreement' && this.state.agreement != null);
    if (!ws || ws.readyState !== WebSocket.OPEN || (!this.joined && !beforeWelcome)) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Sends a frame with a fresh `id`; resolves on `ack`, rejects with a HuddleError (`.code`) on
   * `error`, or with code `closed` when the socket closes first.
   * @param {ClientFrame} frame
   * @returns {Promise<void>}
   */
  request(frame) {
    const { id, promise } = this.requests.create();
    if (!this.send({ ...frame, id })) {
      this.requests.settle({ ref: id, error: { code: 'closed', message: 'not connected' } });
    }
    return promise;
  }

  /** Group chat to our room. @param {string} text */
  chat(text) { return this.request({ type: 'chat', text }); }
  /** A private message (echoed back to us as a `chat` event). @param {PeerId} peerId @param {string} text */
  privateChat(peerId, text) { return this.request({ type: 'chat', text, to: peerId }); }
  /** App data to our room, or to one peer in it. @param {unknown} payload @param {PeerId} [to] */
  sendData(payload, to) {
    return this.request(to == null ? { type: 'data', payload } : { type: 'data', payload, to });
  }
  /** Host: split into breakout rooms. @param {SplitOptions} options */
  split(options) { return this.request(splitFrame(options)); }
  /** Host: move someone to a room (`"main"` included). @param {PeerId} peer @param {RoomId} room */
  move(peer, room) { return this.request({ type: 'move', peer, room }); }
  /** Host: swap two people's rooms. @param {PeerId} a @param {PeerId} b */
  swap(a, b) { return this.request({ type: 'swap', a, b }); }
  /** Host: go to a room yourself (`"main"` to come back). @param {RoomId} room */
  visit(room) { return this.request({ type: 'visit', room }); }
  /**
   * Host: a notice to every room, or with `room` to that room only (its members and every host
   * and cohost get it).
   * @param {string} text @param {RoomId} [room]
   */
  broadcast(text, room) { return this.request(room == null ? { type: 'broadcast', text } : { type: 'broadcast', text, room }); }
  /** Host: close breakouts (all, optionally after a countdown; or merge some). @param {MergeOptions} [options] */
  merge(options) { return this.request(mergeFrame(options)); }
  /** Host: add time to the breakout timer. @param {number} secs */
  extendTimer(secs) { return this.request({ type: 'extend_timer', secs }); }
  /** Host: re-open the rooms the last merge closed. @param {ReopenOptions} [options] */
  reopen(options = {}) {
    return this.request(options.durationSecs != null
      ? { type: 'reopen', duration_secs: options.durationSecs } : { type: 'reopen' });
  }
  /** Host: move the scheduled session's end `secs` later (1–14400). @param {number} secs */
  extendSession(secs) { return this.request({ type: 'extend_session', secs }); }
  /** Participant: pick a room while `rooms.choosing`. @param {RoomId} room */
  chooseRoom(room) { return this.request({ type: 'choose_room', room }); }
  /** In a breakout: ask the hosts for help. */
  askHelp() { return this.request({ type: 'ask_help' }); }

  // ---- moderation (hosts and cohosts unless said otherwise; the hub checks every one) ----

  /** Remove someone; with `ban` they cannot come back to this meeting. @param {PeerId} peer @param {RemoveOptions} [options] */
  remove(peer, { ban = false } = {}) { return this.request({ type: 'remove', peer, ban }); }
  /** End the meeting for everyone (close 4009). */
  endMeeting() { return this.request({ type: 'end_meeting' }); }
  /**
   * Ask someone to turn off their microphone and/or camera (default: the microphone). Only they
   * can turn them on again.
   * @param {PeerId} peer @param {MuteRequest} [what]
   */
  requestMute(peer, { audio = true, video = false } = {}) {
    return this.request({ type: 'request_mute', peer, audio, video });
  }
  /** Lock (no one new may join but hosts and cohosts) or unlock. @param {boolean} [locked] */
  lock(locked = true) { return this.request({ type: 'lock', locked }); }
  /** Turn the waiting room on or off (off lets everyone waiting in). @param {boolean} enabled */
  setLobby(enabled) { return this.request({ type: 'set_lobby', enabled }); }
  /** Let one person in from the waiting room, or everyone waiting. @param {PeerId} [peer] */
  admit(peer) { return this.request(peer == null ? { type: 'admit' } : { type: 'admit', peer }); }
  /** Turn one person away from the waiting room (close 4011), or everyone waiting. @param {PeerId} [peer] */
  deny(peer) { return this.request(peer == null ? { type: 'deny' } : { type: 'deny', peer }); }
  /** Host only: make someone a cohost, mentor, participant or observer. @param {PeerId} peer @param {import('./protocol').Role} role */
  setRole(peer, role) { return this.request({ type: 'set_role', peer, role }); }
  /** Host only: hand the host role to someone (you become a cohost). @param {PeerId} peer */
  transferHost(peer) { return this.request({ type: 'transfer_host', peer }); }
  /** Take someone into a private 1:1 conversation with you. @param {PeerId} peer */
  pullAside(peer) { return this.request({ type: 'pull_aside', peer }); }
  /** End the private conversation you are in: both go back where they came from. */
  /** @param {number} [peer] end the conversation this person is in (default: your own) */
  endAside(peer) { return this.request(peer == null ? { type: 'end_aside' } : { type: 'end_aside', peer }); }
  /**
   * Anyone but observers: raise (or lower) your hand. Hosts and cohosts see the queue; everyone
   * sees the hand on you.
   * @param {boolean} [raised]
   */
  async raiseHand(raised = true) {
    const wanted = !!raised;
    const { before, events } = this.state.askHand(wanted);
    this.emitAll(events);
    try {
      await this.request({ type: 'raise_hand', raised: wanted });
    } catch (err) {
      this.emitAll(this.state.handAnswered(wanted, before, true));
      throw err;
    }
    this.state.handAnswered(wanted, before, false);
  }
  /** Lower someone else's raised hand. @param {PeerId} peer */
  lowerHand(peer) { return this.request({ type: 'raise_hand', raised: false, peer }); }

  // ---- screen sharing ----

  /**
   * Shares our screen (the browser asks which one): in SFU meetings on the screen's section of
   * our publish (`replaceTrack`, no renegotiation), in a mesh as a second video track to every
   * peer; then `media_state {screen: true}`. Rejects with a HuddleError `forbidden` (and shares
   * nothing) when our role may not share now, and with the browser's error when the person
   * cancels the picker. The browser's own "Stop sharing" ends it like `stopScreenShare()`.
   * Resolves with the stream shared (also `local-screen`).
   */
  async startScreenShare() {
    if (this.screenStream) return this.screenStream;
    if (!this.joined || !this.mayShareScreen) {
      throw new HuddleError('forbidden', this.state.you?.role === 'observer'
        ? 'observers do not share their screen' : 'a host has not allowed participants to share their screen');
    }
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track || this.left || this.screenStream) {
      stream.getTracks().forEach((t) => t.stop());
      if (this.screenStream) return this.screenStream;
      throw new HuddleError('closed', this.left ? 'left the meeting' : 'no screen was chosen');
    }
    // Text and lines stay sharp rather than smooth (the encoder's hint).
    if ('contentHint' in track) track.contentHint = 'detail';
    this.screenStream = stream;
    // The browser's "Stop sharing" bar ends the track.
    track.addEventListener('ended', () => { if (this.screenStream === stream) void this.stopScreenShare(); });
    try {
      if (this.state.mediaMode === 'sfu') {
        if (!this.hub || !(await this.hub.shareScreen(track))) throw new HuddleError('closed', 'not connected to the hub');
      } else {
        for (const link of this.links.values()) if (!link.waitsForOffer) this.addScreenTrack(link.pc);
      }
      if (this.screenStream !== stream) throw new HuddleError('closed', 'stopped while starting');
      await this.request(this.mediaFrame(true));
    } catch (err) {
      // Refused (`forbidden`), or the connection went: nothing stays shared.
      if (this.screenStream === stream) await this.takeScreenOff();
      stream.getTracks().forEach((t) => t.stop());
      throw err;
    }
    this.emit('local-screen', { stream });
    return stream;
  }

  /** Stops sharing our screen (the browser's picker is asked again to share anew). */
  async stopScreenShare() {
    if (!this.screenStream) return;
    await this.takeScreenOff();
    if (this.joined && this.mayOffer()) this.request(this.mediaFrame(false)).catch(() => {});
  }

  /** Takes our screen off every connection and stops it. */
  async takeScreenOff() {
    const stream = this.screenStream;
    if (!stream) return;
    this.screenStream = null;
    const track = stream.getVideoTracks()[0];
    try {
      if (this.hub) await this.hub.shareScreen(null);
    } catch {
      // closed meanwhile
    }
    for (const link of this.links.values()) {
      const sender = link.pc.getSenders().find((x) => x.track === track);
      if (sender && link.pc.signalingState !== 'closed') link.pc.removeTrack(sender);
    }
    stream.getTracks().forEach((t) => t.stop());
    this.emit('local-screen', { stream: null });
  }

  /** The session ended for us: the screen stops, nothing is sent. */
  endScreen() {
    const stream = this.screenStream;
    if (!stream) return;
    this.screenStream = null;
    stream.getTracks().forEach((t) => t.stop());
    this.emit('local-screen', { stream: null });
  }

  /**
   * Whether `msg` stops our sharing: a host forbade it (`screen_share_allowed` false, or the
   * hub's `peer_media` about us without `screen`), or our role no longer allows it.
   * @param {ServerMessage} msg
   */
  mustStopScreen(msg) {
    const me = this.state.you?.id;
    if (msg.type === 'peer_media' && msg.id === me && msg.screen !== true) return true;
    return (msg.type === 'screen_share_allowed' || msg.type === 'peer_updated' || msg.type === 'welcome') && !this.mayShareScreen;
  }

  /**
   * Hosts and cohosts: let participants and mentors share their screen, or stop them (whoever
   * of them shares stops at once). Everyone gets `screen-share-allowed`.
   * @param {boolean} allowed
   */
  allowScreenShare(allowed) { return this.request({ type: 'allow_screen_share', allowed: !!allowed }); }

  /**
   * Hosts and cohosts: a message on the staff back channel, to every host and cohost wherever
   * they are; no participant ever sees it. Arrives as `staff-chat`.
   * @param {string} text
   */
  staffChat(text) { return this.request({ type: 'chat', text, channel: 'staff' }); }

  /**
   * A reaction shown on your tile to your room for a few seconds (`reaction` events).
   * @param {'heart' | 'clap' | 'thumbs_up' | 'me_too' | 'tissue'} reaction
   */
  react(reaction) { return this.request({ type: 'react', reaction }); }

  /** Hosts and cohosts: reactions on or off for the meeting. @param {boolean} enabled */
  setReactions(enabled) { return this.request({ type: 'set_reactions', enabled: !!enabled }); }

  /** Whether a host turned reactions off. */
  get reactionsOff() { return this.state.reactionsOff; }

  /** Whether the meeting keeps its chat for late joiners (false: say "messages are not saved"). */
  get chatKept() { return this.state.chatKept; }

  /** `session` (a clinician's) or `drop_in` (peer support run by mentors: no "end for all"). */
  get kind() { return this.state.kind; }

  /** The group's agreement while you are asked to accept it (`agreement-required`), else null. */
  get agreement() { return this.state.agreement; }

  /**
   * Accepts the group's agreement in that version. Before the welcome the join then goes on (the
   * hub acks after the `welcome` or `waiting`); seated, we stay. `conflict`: it changed meanwhile
   * (the new text came as `agreement-required` first, so `agreement` is the one to show) or was
   * removed (then `agreement` is null: nothing is asked any more).
   * @param {string} version
   */
  async acceptAgreement(version) {
    try {
      await this.request({ type: 'accept_agreement', version });
    } catch (err) {
      // Still the version we answered: the hub has no agreement any more (a changed one would
      // have come before this refusal).
      if (err instanceof HuddleError && err.code === 'conflict' && this.state.agreement?.version === version) {
        this.state.agreement = null;
      }
      throw err;
    }
    if (this.state.agreement?.version === version) this.state.agreement = null;
  }

  /** Hosts and cohosts: the group's agreement (plain text, at most 8 KiB; empty removes it). @param {string} text */
  setAgreement(text) { return this.request({ type: 'set_agreement', text }); }

  /** Hosts and cohosts: keep the meeting's chat, or deliver it without keeping it. @param {boolean} keep */
  setChatKept(keep) { return this.request({ type: 'set_chat_history', mode: keep ? 'keep' : 'none' }); }

  /**
   * Mesh: sends our screen on `pc` (a track of its own stream, whose id our signals name).
   * @param {RTCPeerConnection} pc
   */
  addScreenTrack(pc) {
    const stream = this.screenStream;
    const track = stream?.getVideoTracks()[0];
    if (!stream || !track || pc.getSenders().some((x) => x.track === track)) return;
    pc.addTrack(track, stream);
  }

  /**
   * Mesh: a signal from `link`'s peer names their screen's stream while they share; one without
   * it means they stopped.
   * @param {PeerLink} link @param {unknown} data
   */
  noteScreenId(link, data) {
    const named = data && typeof data === 'object' && typeof (/** @type {{screen?: unknown}} */ (data)).screen === 'string'
      ? /** @type {string} */ (/** @type {{screen: string}} */ (data).screen) : null;
    if (named === link.screenId) return;
    link.screenId = named;
    if (link.screen && link.screen.id !== named) this.dropRemoteScreen(link);
  }

  /** Mesh: their screen is no longer shown. @param {PeerLink} link */
  dropRemoteScreen(link) {
    if (!link.screen) return;
    const stream = link.screen;
    link.screen = null;
    for (const t of stream.getTracks()) link.stream.removeTrack(t);
    if (this.links.get(link.peer.id) === link) this.emit('screen-stopped', { peerId: link.peer.id });
  }

  // ---- local media ----

  /** @param {boolean} on */
  setAudioEnabled(on) {
    this.audioEnabled = !!on;
    this.localStream?.getAudioTracks().forEach((t) => { t.enabled = this.audioEnabled; });
    this.announceMedia();
  }

  /** @param {boolean} on */
  setVideoEnabled(on) {
    this.videoEnabled = !!on;
    this.localStream?.getVideoTracks().forEach((t) => { t.enabled = this.videoEnabled; });
    this.announceMedia();
  }

  /**
   * Switches microphone and/or camera; peers get the new tracks without renegotiation where a
   * track of that kind was already sent.
   * @param {DeviceSelection} devices
   */
  async selectDevices({ audioDeviceId, videoDeviceId }) {
    if (!this.mayOffer()) throw new HuddleError('forbidden', 'observers do not send media');
    const fresh = await navigator.mediaDevices.getUserMedia({
      audio: audioDeviceId ? { deviceId: { exact: audioDeviceId } } : false,
      video: videoDeviceId ? { ...videoConstraintsOf(this.options.media), deviceId: { exact: videoDeviceId } } : false,
    });
    if (!this.localStream) {
      this.localStream = new MediaStream();
      this.ownsStream = true;
    }
    const stream = this.localStream;
    /** SFU meetings: a device we did not send before needs a new publish. */
    let republish = false;
    for (const track of fresh.getTracks()) {
      track.enabled = track.kind === 'audio' ? this.audioEnabled : this.videoEnabled;
      const old = stream.getTracks().find((t) => t.kind === track.kind);
      if (old) {
        stream.removeTrack(old);
        if (this.ownsStream) old.stop();
      }
      stream.addTrack(track);
      if (this.hub && !(await this.hub.replaceTrack(track))) republish = true;
      for (const link of this.links.values()) {
        const sender = link.pc.getSenders().find((s) => s.track?.kind === track.kind ||
          (old && s.track === old));
        if (sender) await sender.replaceTrack(track);
        else if (this.mayOffer()) link.pc.addTrack(track, stream);
      }
    }
    if (republish && this.state.mediaMode === 'sfu' && this.joined) this.openHub();
    this.emit('local-stream', { stream });
    // A device that was missing may be there now.
    this.announceMedia();
  }

  /**
   * Per remote peer: connection state and decoded video frames (from `getStats`). SFU meetings:
   * the hub connection's state, and what arrived since the peer got their receive slots.
   */
  async stats() {
    if (this.state.mediaMode === 'sfu') return this.hub ? this.hub.stats((id) => this.nameOf(id)) : {};
    /** @type {Record<string, import('./huddle').PeerStats>} */
    const result = {};
    for (const [id, link] of this.links) {
      let framesDecoded = 0;
      let bytesReceived = 0;
      /** Their screen's frames, apart from their camera's. @type {number | undefined} */
      let screenFramesDecoded;
      const screenTrack = link.screen?.getVideoTracks()[0]?.id;
      try {
        const report = await link.pc.getStats();
        report.forEach((s) => {
          if (s.type === 'inbound-rtp') {
            bytesReceived += s.bytesReceived ?? 0;
            if (s.kind !== 'video') return;
            if (screenTrack != null && s.trackIdentifier === screenTrack) screenFramesDecoded = s.framesDecoded ?? 0;
            else framesDecoded += s.framesDecoded ?? 0;
          }
        });
      } catch {
        // closed while asking
      }
      result[id] = { name: link.peer.name, connectionState: link.pc.connectionState, framesDecoded, bytesReceived };
      if (link.screen) result[id].screenFramesDecoded = screenFramesDecoded ?? 0;
    }
    return result;
  }

  /**
   * Negotiation state per remote peer, for diagnosing a stuck connection (no SDP); SFU meetings:
   * the hub connection's, as `hub`.
   */
  negotiationState() {
    /** @type {Record<string, object>} */
    const result = {};
    if (this.hub) result.hub = this.hub.diagnostics();
    for (const [id, { pc, negotiator }] of this.links) {
      const m = negotiator.machine;
      result[id] = {
        signalingState: pc.signalingState, iceConnectionState: pc.iceConnectionState,
        iceGatheringState: pc.iceGatheringState, polite: m.polite, makingOffer: m.makingOffer,
        ignoreOffer: m.ignoreOffer, hasRemoteDescription: m.hasRemoteDescription,
        queuedCandidates: m.pendingCandidates.length, candidateErrors: negotiator.candidateErrors,
        trace: [...negotiator.trace],
      };
    }
    return result;
  }

  // ---- the mesh ----

  mayOffer() {
    return !isObserver(this.state.you?.role);
  }

  /** @param {Peer} peer */
  openLink(peer) {
    const you = this.state.you;
    if (!you || this.links.has(peer.id)) return;
    const pc = new RTCPeerConnection(this.rtcConfig());
    const canOffer = this.mayOffer();
    const polite = isPolite(you.id, peer.id);
    // One side makes the first offer, so a new pair normally negotiates without glare: the
    // impolite side, unless it is an observer (observers never offer). The other side adds its
    // tracks when that offer arrives. Perfect negotiation still settles any later collision
    // (renegotiation, ICE restart) — but glare on the very first offer is worth avoiding: in
    // Chromium (seen with 156), the polite side's rollback of its first offer could leave its
    // ICE gathering stuck with no candidates, and the pair never connected.
    const initiator = canOffer && (!polite || isObserver(peer.role));
    const negotiator = new Negotiator(pc, {
      polite,
      canOffer,
      beforeAnswer: () => {
        if (!link.waitsForOffer) return;
        link.waitsForOffer = false;
        this.addLocalTracks(pc);
      },
      send: (data) => this.sendSignal(peer.id, data),
      onError: (what, err) => {
        // No SDP in logs: the operation and the error's name only.
        console.debug(`huddle: ${what} failed for peer ${peer.id}: ${errorName(err)}`);
      },
    });
    /** @type {PeerLink} */
    const link = { peer, pc, negotiator, stream: new MediaStream(), waitsForOffer: canOffer && !initiator, screenId: null, screen: null };
    this.links.set(peer.id, link);
    pc.onnegotiationneeded = () => { void negotiator.negotiationNeeded(); };
    pc.onicecandidate = (e) => negotiator.localCandidate(e.candidate);
    pc.ontrack = (e) => {
      if (this.links.get(peer.id) !== link) return;
      // Observers only receive. The hub cannot stop media in a mesh, only an observer's offers:
      // what one sends anyway (a modified client) is not shown.
      if (isObserver((this.state.peers.get(peer.id) ?? peer).role)) return;
      const track = e.track;
      const from = e.streams[0];
      if (track.kind === 'video' && from && link.screenId != null && from.id === link.screenId) {
        // Their screen: a stream of its own, not part of their camera's.
        if (link.screen?.getTracks().includes(track)) return;
        if (link.screen) this.dropRemoteScreen(link);
        const screen = new MediaStream([track]);
        link.screen = screen;
        const gone = () => { if (link.screen === screen) this.dropRemoteScreen(link); };
        track.addEventListener('ended', gone);
        from.addEventListener('removetrack', (ev) => { if (ev.track === track) gone(); });
        this.emit('screen-started', { peerId: peer.id, stream: screen, track });
        return;
      }
      if (!link.stream.getTracks().includes(track)) link.stream.addTrack(track);
      track.addEventListener('ended', () => link.stream.removeTrack(track));
      this.emit('track', { peerId: peer.id, track, stream: link.stream });
      this.emit('stream', { peerId: peer.id, stream: link.stream });
    };
    pc.onconnectionstatechange = () => {
      if (this.links.get(peer.id) !== link) return;
      this.emit('connection-state', { peerId: peer.id, state: pc.connectionState });
      // Both sides see `failed`; the impolite one restarts ICE (a new offer) to avoid a race.
      if (pc.connectionState === 'failed' && canOffer && !negotiator.machine.polite) pc.restartIce();
    };
    if (initiator) {
      this.addLocalTracks(pc);
      // Offer to receive what we do not send, so the other side can send it.
      const sending = new Set(this.localStream?.getTracks().map((t) => t.kind) ?? []);
      for (const kind of ['audio', 'video']) {
        if (!sending.has(kind)) pc.addTransceiver(kind, { direction: 'recvonly' });
      }
    }
  }

  /** The peer connections' configuration: the hub's ICE servers (or the app's) and policy. */
  rtcConfig() {
    const iceServers = this.options.iceServers ?? this.state.iceServers.map((s) => {
      /** @type {RTCIceServer} */
      const server = { urls: s.urls };
      if (s.username != null) server.username = s.username;
      if (s.credential != null) server.credential = s.credential;
      return server;
    });
    return /** @type {RTCConfiguration} */ ({
      iceServers, bundlePolicy: 'max-bundle', iceTransportPolicy: this.state.iceTransportPolicy,
    });
  }

  /** Sends our tracks on `pc`, reusing transceivers a remote offer created. @param {RTCPeerConnection} pc */
  addLocalTracks(pc) {
    const stream = this.localStream;
    const sent = new Set(pc.getSenders().map((s) => s.track));
    if (stream) for (const track of stream.getTracks()) if (!sent.has(track)) pc.addTrack(track, stream);
    this.addScreenTrack(pc);
  }

  /** @param {PeerId} id */
  closeLink(id) {
    const link = this.links.get(id);
    if (!link) return;
    this.links.delete(id);
    if (link.screen) {
      link.screen = null;
      this.emit('screen-stopped', { peerId: id });
    }
    link.negotiator.close();
    link.pc.onnegotiationneeded = null;
    link.pc.onicecandidate = null;
    link.pc.ontrack = null;
    link.pc.onconnectionstatechange = null;
    link.pc.close();
    this.emit('connection-state', { peerId: id, state: 'closed' });
  }

  // ---- SFU meetings: the one connection to the hub ----

  /**
   * After a welcome: a resumed seat keeps a healthy connection (it survived the drop) to the
   * engine that still serves it; a new seat, a connection that failed or lost its negotiation,
   * or one to an engine that no longer serves the meeting (it moved to another hub node) is
   * made anew.
   * @param {boolean} resumed
   */
  keepOrOpenHub(resumed) {
    if (!resumed) this.subscriptions.clear(); // a new seat: peer ids may mean other people now
    if (resumed && this.hub?.healthy() && this.hub.instance === this.sfuInstance) return;
    this.openHub();
  }

  /** A new connection to the hub (the hub replaces the old one on our `sfu_publish`). */
  openHub() {
    this.closeHub();
    const hub = new HubLink({
      request: (frame) => this.request(frame),
      roommates: () => new Set(this.state.peers.keys()),
      emit: (name, detail) => this.emit(name, detail),
      onPublished: () => this.resubscribe(),
      onConnectionState: (state) => {
        // A failed connection does not come back by itself (the hub does not restart ICE): a new
        // publish, now if we are connected to the hub, else after the next welcome.
        if (state === 'failed' && this.hub === hub && this.joined && !this.left) this.openHub();
      },
    }, this.rtcConfig());
    hub.instance = this.sfuInstance;
    this.hub = hub;
    void hub.publish(this.mayOffer() ? this.localStream : null, {
      sends: this.mayOffer(), screen: this.screenStream?.getVideoTracks()[0] ?? null,
    });
  }

  closeHub() {
    const hub = this.hub;
    this.hub = null;
    hub?.close();
  }

  /**
   * Passes a `sfu_*` message to the hub connection, and keeps the streams shown to our current
   * roommates (after any message: `room_changed`, `peer_left` and `sfu_tracks` all change them).
   * @param {import('./state.js').Outcome['media']} msg
   */
  followSlots(msg) {
    const hub = this.hub;
    if (msg?.type === 'sfu_publish_answer') void hub?.publishAnswer(msg.sdp);
    else if (msg?.type === 'sfu_offer') void hub?.offer(msg.rev, msg.sdp);
    else if (msg?.type === 'sfu_tracks') hub?.tracks(msg.rev, msg.slots);
    hub?.reconcile();
    // Someone who left our room starts at the hub's default when they are back.
    for (const id of [...this.subscriptions.keys()]) if (!this.state.peers.has(id)) this.subscriptions.delete(id);
  }

  /** A new connection to the hub starts from its defaults: ask again for what we asked before. */
  resubscribe() {
    for (const [peer, video] of this.subscriptions) {
      if (video !== SUBSCRIBE_DEFAULT) this.request({ type: 'sfu_subscribe', peer, video }).catch(() => {});
    }
  }

  /**
   * SFU meetings: which quality of `peer`'s camera to receive. Resolves at once when it is what we
   * asked last (or the hub's default, `low`, that we never changed), and in a mesh.
   * @param {PeerId} peer @param {import('./protocol').VideoQuality} video
   */
  async subscribe(peer, video) {
    if (this.state.mediaMode !== 'sfu' || (this.subscriptions.get(peer) ?? SUBSCRIBE_DEFAULT) === video) return;
    const before = this.subscriptions.get(peer);
    this.subscriptions.set(peer, video);
    try {
      await this.request({ type: 'sfu_subscribe', peer, video });
    } catch (err) {
      // Refused (or lost with the socket): the hub still has what it had, unless asked again since.
      if (this.subscriptions.get(peer) === video) {
        if (before == null) this.subscriptions.delete(peer);
        else this.subscriptions.set(peer, before);
      }
      throw err;
    }
  }

  /**
   * Hosts and cohosts, SFU meetings: stop (`true`) or allow again (`false`) the hub forwarding
   * someone's microphone and/or camera.
   * @param {PeerId} peer @param {import('./types').BlockRequest} what
   */
  blockMedia(peer, { audio, video } = {}) {
    /** @type {import('./protocol').ClientBlockMedia} */
    const frame = { type: 'block_media', peer };
    if (audio != null) frame.audio = !!audio;
    if (video != null) frame.video = !!video;
    return this.request(frame);
  }

  /** @param {PeerId} to @param {SignalData} data */
  sendSignal(to, data) {
    // While we share, every signal names our screen's stream (PROTOCOL.md, `media_state`): the
    // other side tells it from our camera when the track arrives.
    if (this.screenStream) data = { ...data, screen: this.screenStream.id };
    // With an id so that a refusal (typically `not_found`: the peer just moved away) comes back
    // as the answer to this request instead of as a general `error` event.
    this.request({ type: 'signal', to, data }).catch((err) => {
      const code = err instanceof HuddleError ? err.code : 'unknown';
      this.signalRefusals[code] = (this.signalRefusals[code] ?? 0) + 1;
    });
  }

  /**
   * Tells the hub whether our microphone and camera are on (a device we do not have is off):
   * our room gets `peer_media`, and the hub keeps it for the rosters of people who arrive or
   * move in later. Sent after every welcome too, so a resumed seat catches up with a toggle made
   * while we were away, and even when we are alone in the room.
   */
  announceMedia() {
    if (!this.joined || !this.mayOffer()) return;
    // Our screen goes with it while we share (a new seat after a drop starts without).
    this.send(this.mediaFrame(this.screenStream ? true : undefined));
  }

  /**
   * `media_state` as things are, with `screen` when given (absent: unchanged at the hub).
   * @param {boolean} [screen]
   * @returns {import('./protocol').ClientMediaState}
   */
  mediaFrame(screen) {
    const has = (/** @type {'audio' | 'video'} */ kind) => !!this.localStream?.getTracks().some((t) => t.kind === kind);
    /** @type {import('./protocol').ClientMediaState} */
    const frame = { type: 'media_state', audio: this.audioEnabled && has('audio'), video: this.videoEnabled && has('video') };
    if (screen != null) frame.screen = screen;
    return frame;
  }

  /**
   * Gives the app one event; its name and detail are checked against the event map (types.d.ts).
   * @template {keyof MeetingEventMap} K
   * @param {K} name @param {MeetingEventMap[K]} detail
   */
  emit(name, detail) {
    this.dispatchEvent(new CustomEvent(name, { detail }));
  }

  /** Gives the app the events the state module produced, in order. @param {MeetingEvent[]} events */
  emitAll(events) {
    for (const [name, detail] of events) this.emit(name, detail);
  }
}

/** The camera quality the hub sends a subscriber until asked otherwise (`sfu_subscribe`). */
const SUBSCRIBE_DEFAULT = 'low';

/**
 * The hub's WebSocket URL from what the app gave (or the page's origin).
 * @param {string} [url]
 */
export function hubSocketUrl(url) {
  const base = typeof location !== 'undefined' ? location.href : 'http://localhost/';
  const u = new URL(url ?? '/', base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (!u.pathname.endsWith(WS_PATH)) u.pathname = u.pathname.replace(/\/$/, '') + WS_PATH;
  u.hash = '';
  return u.toString();
}

/**
 * The hubs' WebSocket URLs: one for a URL (or none: the page's origin), one per entry of a list
 * (the nodes of a cluster), in its order.
 * @param {string | readonly string[]} [url]
 */
function hubSocketUrls(url) {
  if (url == null || typeof url === 'string') return [hubSocketUrl(url)];
  if (!Array.isArray(url) || url.length === 0 || !url.every((u) => typeof u === 'string')) {
    throw new TypeError('join: url must be a string or a non-empty list of strings');
  }
  return url.map((u) => hubSocketUrl(u));
}

/**
 * A socket URL as events show it: scheme, host and path, without any credentials or query the
 * app's URL may have carried (the token is never in it: it goes in the `hello` only).
 * @param {string} wsUrl from hubSocketUrl
 */
function shownUrl(wsUrl) {
  const u = new URL(wsUrl);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * Throws `insecure_transport` unless the hub's socket URL is `wss:`, or `ws:` to loopback (a
 * developer's hub): the token and everything said in the session would otherwise cross the
 * network in the clear.
 * @param {string} wsUrl from hubSocketUrl
 */
function requireSecureTransport(wsUrl) {
  const u = new URL(wsUrl);
  if (u.protocol === 'wss:' || (u.protocol === 'ws:' && isLoopback(u.hostname))) return;
  throw new HuddleError('insecure_transport', `the hub must be reached over TLS (https: or wss: URL); ` +
    `${u.protocol}//${u.host} is not (http: and ws: only on localhost, 127.0.0.0/8 or [::1])`);
}

/**
 * When to refresh `token` (null: it has no `exp`).
 * @param {string} token
 */
function refreshDelayOf(token) {
  const exp = tokenExpiry(token);
  return exp == null ? null : refreshDelayMs(exp, Date.now());
}

/** @param {JoinOptions['media']} media */
function videoConstraintsOf(media) {
  if (media && typeof media === 'object' && !(typeof MediaStream !== 'undefined' && media instanceof MediaStream)) {
    const v = /** @type {{video?: unknown}} */ (media).video;
    if (v && typeof v === 'object') return /** @type {MediaTrackConstraints} */ (v);
  }
  return {};
}

/** @param {unknown} err */
function errorName(err) {
  return err instanceof Error ? err.name : String(err);
}

/** @param {unknown} err */
function errorMessage(err) {
  return err instanceof Error ? err.message : String(err);
}
