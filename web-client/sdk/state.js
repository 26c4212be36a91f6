// What a client knows about its meeting, updated from hub messages, without I/O.
//
// `MeetingState.handle(message)` applies one server message and says what follows from it: the
// events to give the app, and which peer connections to open or close (the WebRTC mesh always
// matches the people in our current room). It also keeps what moderation shows (the waiting
// room, raised hands, the lock, the audit feed, who stepped out; microphone, camera and hand are
// on each person as the hub's rosters and updates say) and what resuming after a drop needs: the
// resume token, the last chat id, the rule that a resumed welcome appends the missed chat or
// replaces the log (so each message reaches the app once), and which notices right after it are
// replays of what was sent while our seat was held. In SFU meetings (`welcome.media`) it keeps
// the active speakers and a host's hard mute of us; the hub's `sfu_*` messages go to sfu.js. It
// keeps whether participants may share their screen (`screen_share_allowed`) and who shares
// (`peer_media.screen`, on each person). For a
// scheduled session it keeps when the session ends (`welcome.ends_at`, moved by
// `session_rescheduled`).
// `Requests` pairs request ids with `ack` / `error`.

import { REPLAYED_NOTICES } from './constants.js';

/** @typedef {import('./protocol').ServerMessage} ServerMessage */
/** @typedef {import('./protocol').Peer} Peer */
/** @typedef {import('./protocol').PeerId} PeerId */
/** @typedef {import('./protocol').RoomId} RoomId */
/** @typedef {import('./protocol').RoomInfo} RoomInfo */
/** @typedef {import('./protocol').ChatMessage} ChatMessage */
/** @typedef {import('./protocol').IceServer} IceServer */
/** @typedef {import('./protocol').ErrorCode} ErrorCode */

/** @typedef {import('./types').CurrentRoom} CurrentRoom */
/** @typedef {import('./types').AuditEntry} AuditEntry */
/** @typedef {import('./types').MeetingEvent} MeetingEvent */

/**
 * Rosters leave out the default role (`participant`, PROTOCOL.md: `Peer`): put it back once, as a
 * message comes in, so everything after sees every person's role.
 * @param {any} msg
 */
export function withRoles(msg) {
  /** @param {any} p */
  const fill = (p) => { if (p != null && typeof p === 'object' && p.role == null) p.role = 'participant'; };
  fill(msg.you);
  fill(msg.peer);
  for (const list of [msg.peers, msg.waiting]) if (Array.isArray(list)) list.forEach(fill);
}

/** @param {string | undefined} role */
function isModerator(role) {
  return role === 'host' || role === 'cohost';
}

/** Observers only receive (PROTOCOL.md, Roles). @param {string | undefined} role */
export function isObserver(role) {
  return role === 'observer';
}

/**
 * Audit entries kept for the app (the newest): a feed to glance at, not a record — the hub's
 * audit log is the record.
 */
export const AUDIT_KEEP = 200;

/**
 * Chat ids remembered to drop repeats. The hub repeats none on resume; this is the SDK's own
 * guarantee to the app, and a repeat could only be recent.
 */
const SEEN_CHAT_KEEP = 2000;

/**
 * What `hello.resume` says.
 * @typedef {{token: string, room: RoomId, last_chat: number, last_private: number}} ResumeRequest
 */

/**
 * What one message means for the app and for the mesh.
 * @typedef {object} Outcome
 * @property {MeetingEvent[]} events app events, in order: [name, detail]
 * @property {Peer[]} connect open a peer connection to each
 * @property {PeerId[]} disconnect close the peer connection to each
 * @property {{from: PeerId, data: unknown}} [signal] a signal for the connection to `from`
 * @property {import('./protocol').ServerSfuPublishAnswer | import('./protocol').ServerSfuOffer | import('./protocol').ServerSfuTracks} [media]
 *   SFU meetings: a message for the connection to the hub (sfu.js)
 * @property {{ref: number, error?: {code: ErrorCode, message: string}}} [answer] ack or error to a request
 * @property {true} [pong] the answer to our heartbeat `ping` (every frame counts as a sign of
 *   life; this one says nothing else)
 */

export class MeetingState {
  constructor() {
    /** @type {Peer | null} */
    this.you = null;
    this.meeting = '';
    /** @type {CurrentRoom} */
    this.room = { id: 'main', name: '', topic: null };
    /** Everyone else in our room, by id. @type {Map<PeerId, Peer>} */
    this.peers = new Map();
    /**
     * Everyone seen since joining, by id, including people now in other rooms (the hub's `rooms`
     * lists ids only; names are learnt when someone shares our room).
     * @type {Map<PeerId, Peer>}
     */
    this.directory = new Map();
    /** @type {RoomInfo[]} */
    this.rooms = [];
    /** @type {number | null} */
    this.closesAt = null;
    this.choosing = false;
    /**
     * After a `rotate` split, which round of the rotating pairs is open (1, 2, 3…); null
     * otherwise. Only `rooms` tells it (the welcome does not), so a page that joins or reloads
     * mid-round learns it with the next room list.
     * @type {number | null}
     */
    this.round = null;
    /**
     * When the scheduled session ends for everyone (ms since the epoch, the hub's clock): from
     * the welcome, moved by `session_rescheduled`. Null: it has no set end.
     * @type {number | null}
     */
    this.endsAt = null;
    /** Group chat of the current room, oldest first. @type {ChatMessage[]} */
    this.chat = [];
    /** @type {IceServer[]} */
    this.iceServers = [];
    /**
     * How media travels (`welcome.media`; a hub too old to say meshes): one connection per peer,
     * or one to the hub. Null before the first welcome.
     * @type {import('./protocol').MediaMode | null}
     */
    this.mediaMode = null;
    /** SFU meetings: who in our room speaks now, loudest first (`active_speaker`). @type {PeerId[]} */
    this.activeSpeakers = [];
    /** SFU meetings: whether a host stops the hub forwarding our microphone / camera (`block_media`). */
    this.blocked = { audio: false, video: false };
    /**
     * Whether participants and mentors may share their screen (`welcome.screen_share_allowed`,
     * `screen_share_allowed`); hosts and cohosts always may.
     */
    this.screenShareAllowed = false;
    /** A host turned reactions off. */
    this.reactionsOff = false;
    /** Whether the meeting keeps its chat (false: "messages are not saved"). */
    this.chatKept = true;
    /** The group's agreement to accept, while asked (`agreement-required`). @type {{text: string, version: string} | null} */
    this.agreement = null;
    /** `session` (a clinician's) or `drop_in` (a peer support room run by mentors). @type {'session' | 'drop_in'} */
    this.kind = 'session';
    /**
     * The hub's `ice_transport_policy`: `relay` keeps every connection on the TURN servers, so
     * no participant learns another's IP address. @type {RTCIceTransportPolicy}
     */
    this.iceTransportPolicy = 'all';
    /** While the waiting room holds us: who the hub says we are. @type {Peer | null} */
    this.waitingAs = null;
    /** Hosts and cohosts: the waiting room. @type {{enabled: boolean, waiting: Peer[]}} */
    this.lobby = { enabled: false, waiting: [] };
    /** Hosts and cohosts: raised hands, first raised first. @type {PeerId[]} */
    this.hands = [];
    /**
     * Our own hand, as the hub last said (`welcome.you.hand`, `peer_updated` about us), or as
     * we just asked until it answers.
     */
    this.handRaised = false;
    /** Our `raise_hand` requests not yet answered: a change meanwhile may be our own echo. */
    this.handRequests = 0;
    this.locked = false;
    /** Hosts and cohosts: recent moderator actions, oldest first. @type {AuditEntry[]} */
    this.audit = [];
    /**
     * People who left our room for a private conversation with a host (`stepped_out`), until
     * they come back, leave for good, or we change rooms.
     * @type {Map<PeerId, Peer>}
     */
    this.steppedOut = new Map();
    /** Whether our room is a host's private (pull-aside) conversation. */
    this.privateRoom = false;
    /** Replayed notices still to come after a resumed welcome (`welcome.replayed`). */
    this.replayLeft = 0;
    /**
     * Display labels for ids we never learnt a name for (people in other rooms): small numbers
     * in order of asking (a peer id means nothing to people, and may be large).
     * @type {Map<PeerId, string>}
     */
    this.unnamed = new Map();
    /**
     * The latest welcome's `resume_token`. A secret: in memory only, never stored or logged.
     * @type {string | null}
     */
    this.resumeToken = null;
    /** The highest group chat id received (`hello.resume.last_chat`). */
    this.lastChat = 0;
    /**
     * The highest private message id received (`hello.resume.last_private`). Private messages
     * are numbered in our own series, apart from group ids.
     */
    this.lastPrivate = 0;
    /**
     * Chat messages the app has had, oldest first (bounded), keyed by series and id
     * (`g12`, `p3`): group and private ids are separate series. @type {Set<string>}
     */
    this.seenChat = new Set();
    /** The room our pending `hello.resume` named, until its answer. @type {RoomId | null} */
    this.resumeRoom = null;
    /**
     * The hub's last `error` without `ref` since the last welcome (e.g. `unauthorized` just
     * before close 4001): why the connection is about to close.
     * @type {{code: ErrorCode, message: string} | null}
     */
    this.lastError = null;
  }

  /**
   * What to put in `hello.resume` now (null: nothing to resume, send a plain hello), and note
   * the room it names: the answer's chat is appended only if it names the same room.
   * @returns {ResumeRequest | null}
   */
  resumeRequest() {
    if (this.resumeToken == null || this.you == null) {
      this.resumeRoom = null;
      return null;
    }
    this.resumeRoom = this.room.id;
    return {
      token: this.resumeToken, room: this.room.id, last_chat: this.lastChat, last_private: this.lastPrivate,
    };
  }

  /** The hub refused our resume (or we will not ask): the next hello joins afresh. */
  forgetResume() {
    this.resumeToken = null;
    this.resumeRoom = null;
  }

  /**
   * The connection closed for good (a terminal close code): nothing to resume, and no one is in
   * our room any more.
   * @returns {MeetingEvent[]}
   */
  closed() {
    this.forgetResume();
    this.peers.clear();
    return [['peers', { peers: [] }]];
  }

  /**
   * We ask the hub to raise or lower our hand: it shows at once, and the request is counted
   * until answered (a change the hub tells meanwhile may be our own echo: see setOwnHand).
   * @param {boolean} raised
   * @returns {{before: boolean, events: MeetingEvent[]}} `before`: our hand before we asked
   */
  askHand(raised) {
    const before = this.handRaised;
    this.handRaised = raised;
    this.handRequests += 1;
    return { before, events: [['hand', { raised, byHost: false }]] };
  }

  /**
   * The hub answered our `askHand(raised)`. Refused: the hand goes back to `before`, unless it
   * changed since we asked.
   * @param {boolean} raised @param {boolean} before @param {boolean} refused
   * @returns {MeetingEvent[]}
   */
  handAnswered(raised, before, refused) {
    this.handRequests -= 1;
    if (!refused || this.handRaised !== raised) return [];
    this.handRaised = before;
    return [['hand', { raised: before, byHost: false }]];
  }

  /**
   * @param {ChatMessage} msg
   * @param {boolean} [isPrivate] which series its id is in (default: whether it has `to`)
   * @returns {boolean} false when the app already had it
   */
  noteChat(msg, isPrivate = msg.to != null) {
    const key = `${isPrivate ? 'p' : 'g'}${msg.id}`;
    if (this.seenChat.has(key)) return false;
    this.seenChat.add(key);
    if (this.seenChat.size > SEEN_CHAT_KEEP) {
      const oldest = this.seenChat.values().next().value;
      if (oldest !== undefined) this.seenChat.delete(oldest);
    }
    if (isPrivate) this.lastPrivate = Math.max(this.lastPrivate, msg.id);
    else this.lastChat = Math.max(this.lastChat, msg.id);
    return true;
  }

  /** Everyone else in our room, in id order. */
  peerList() {
    return [...this.peers.values()].sort((a, b) => a.id - b.id);
  }

  /** A display name for a peer id, also for people in other rooms. @param {PeerId} id */
  nameOf(id) {
    if (this.you && id === this.you.id) return this.you.name;
    const known = this.directory.get(id)?.name;
    if (known != null) return known;
    let label = this.unnamed.get(id);
    if (label == null) {
      label = `Person ${this.unnamed.size + 1}`;
      this.unnamed.set(id, label);
    }
    return label;
  }

  /** The room `id` is in, per the last room list. @param {PeerId} id */
  roomOf(id) {
    return this.rooms.find((r) => r.members.includes(id))?.id ?? null;
  }

  /** Everyone we know of by id: their name and current role, also in other rooms. @param {PeerId} id */
  person(id) {
    if (this.you && id === this.you.id) return this.you;
    return this.directory.get(id) ?? null;
  }

  /** True in a host's pull-aside room. */
  inPrivateRoom() {
    return this.privateRoom;
  }

  /**
   * What `id` last said about their microphone and camera (on until they say otherwise). Exact
   * for our room (`peer_media`); for other rooms as of the last roster or `peer_updated`.
   * @param {PeerId} id
   */
  mediaOf(id) {
    const p = this.peers.get(id) ?? this.directory.get(id);
    return { audio: p?.audio !== false, video: p?.video !== false, screen: p?.screen === true };
  }

  /**
   * SFU meetings: whether a host stops the hub forwarding `id`'s microphone / camera, as the
   * hub's rosters and `peer_updated` say.
   * @param {PeerId} id
   */
  blockedOf(id) {
    const p = this.person(id);
    return { audio: p?.audio_blocked === true, video: p?.video_blocked === true };
  }

  /** People who stepped out of our room, in id order. */
  steppedOutList() {
    return [...this.steppedOut.values()].sort((a, b) => a.id - b.id);
  }

  /** @param {Peer} p */
  remember(p) {
    this.directory.set(p.id, p);
  }

  /**
   * Applies one server message.
   * @param {ServerMessage} msg
   * @returns {Outcome}
   */
  handle(msg) {
    withRoles(msg);
    /** @type {Outcome} */
    const out = { events: [], connect: [], disconnect: [] };
    // The first `welcome.replayed` notices after a resumed welcome were sent while we were away.
    const replayed = this.replayLeft > 0 && REPLAYED_NOTICES.has(msg.type);
    if (replayed) this.replayLeft -= 1;
    switch (msg.type) {
      case 'welcome': {
        // A resumed welcome keeps our seat (same id, role, hand); its chat is what we missed if
        // it names the room our resume named, else the room's history (we were moved meanwhile).
        const resumed = msg.resumed === true && this.you != null && msg.you.id === this.you.id;
        const appendChat = resumed && msg.room === this.resumeRoom;
        const movedMeanwhile = resumed && msg.room !== this.room.id;
        const welcomedBefore = this.you != null;
        this.resumeRoom = null;
        this.resumeToken = msg.resume_token ?? null;
        this.lastError = null;
        this.you = msg.you;
        this.meeting = msg.meeting;
        this.iceServers = msg.ice_servers;
        this.mediaMode = msg.media === 'sfu' ? 'sfu' : 'mesh';
        this.activeSpeakers = [];
        this.iceTransportPolicy = msg.ice_transport_policy === 'relay' ? 'relay' : 'all';
        this.waitingAs = null;
        // In at last: an agreement that held us apart was accepted (or removed). A resumed seat
        // still owes an answer to one asked while seated.
        if (!resumed) this.agreement = null;
        // The welcome carries no round: a resume while the same breakouts are open keeps the one
        // we knew; a fresh seat learns it with the next `rooms`.
        this.setRooms(msg.rooms, msg.closes_at ?? null, msg.choosing, resumed && msg.rooms.length > 1 ? this.round : null);
        // The end may have moved while we were away (or a fresh seat came with another); the
        // first welcome only says what it is.
        const endsAt = msg.ends_at ?? null;
        const endMoved = welcomedBefore && endsAt !== this.endsAt;
        this.endsAt = endsAt;
        const info = this.rooms.find((r) => r.id === msg.room);
        this.privateRoom = msg.private === true;
        this.room = { id: msg.room, name: info?.name ?? (msg.room === 'main' ? 'Main room' : 'Private conversation'), topic: info?.topic ?? null };
        this.locked = msg.locked === true;
        this.screenShareAllowed = msg.screen_share_allowed === true;
        this.reactionsOff = msg.reactions_off === true;
        this.chatKept = msg.chat_history !== 'none';
        this.kind = msg.kind === 'drop_in' ? 'drop_in' : 'session';
        this.setOwnHand(!!msg.you.hand, resumed, out);
        this.replayLeft = resumed ? (msg.replayed ?? 0) : 0;
        // Moderators get `lobby` and `hands` right after this; anyone else is told neither.
        if (!isModerator(msg.you.role)) this.forgetModeratorState();
        // Every peer connection is made anew (after a drop they are all gone anyway).
        this.disconnectAll(out);
        if (!resumed) {
          // A fresh seat may be in a new id space (a restarted hub counts peer and chat ids
          // from 1 again): forget everything keyed by an old id.
          this.seenChat.clear();
          this.lastChat = 0;
          this.lastPrivate = 0;
          this.directory.clear();
          this.unnamed.clear();
          this.audit = [];
        }
        this.steppedOut.clear();
        for (const p of msg.peers) {
          this.peers.set(p.id, p);
          this.remember(p);
          // Someone whose seat is held has no connection to negotiate with: `peer_reconnected`.
          if (!p.reconnecting) out.connect.push(p);
        }
        /** @type {ChatMessage[]} missed messages to give the app as `chat` events */
        const missed = [];
        if (appendChat) {
          for (const m of msg.chat) {
            if (!this.noteChat(m)) continue;
            if (m.to == null) this.chat.push(m);
            missed.push(m);
          }
        } else {
          this.chat = msg.chat.filter((m) => m.to == null);
          for (const m of msg.chat) {
            // The history replaces the log. Private messages come as `chat` events: in a resumed
            // welcome we missed them; in a fresh one (a second tab) they are our private
            // conversation so far.
            if (this.noteChat(m) && m.to != null) missed.push(m);
          }
        }
        this.setOwnBlocked(msg.you, out);
        out.events.push(['welcome', {
          you: msg.you, meeting: msg.meeting, room: { ...this.room }, peers: this.peerList(),
          chat: [...this.chat], resumed,
        }]);
        if (movedMeanwhile || (resumed && !appendChat)) {
          out.events.push(['room-changed', { room: { ...this.room }, peers: this.peerList(), chat: [...this.chat] }]);
        }
        out.events.push(['rooms', this.roomsDetail()]);
        out.events.push(['peers', { peers: this.peerList() }]);
        // A `session_ending` shown before no longer holds; if the new end is near, the hub
        // sends a fresh one right after this welcome.
        if (endMoved) out.events.push(['session-rescheduled', { endsAt }]);
        for (const m of missed) out.events.push(['chat', { message: m, private: m.to != null }]);
        break;
      }
      case 'room_changed': {
        // Newer hubs list everyone in the room, us included (one frame shared by everyone
        // moved in together); older ones everyone else. Either way: not ourselves.
        const me = this.you?.id;
        const others = msg.peers.filter((p) => p.id !== me);
        const next = new Map(others.map((p) => [p.id, p]));
        for (const id of this.peers.keys()) {
          if (!next.has(id)) out.disconnect.push(id);
        }
        for (const p of others) {
          this.remember(p);
          if (p.reconnecting) {
            if (this.peers.has(p.id)) out.disconnect.push(p.id);
          } else if (!this.peers.has(p.id)) {
            out.connect.push(p);
          }
        }
        this.peers = next;
        this.steppedOut.clear();
        this.room = { id: msg.room, name: msg.name, topic: msg.topic ?? null };
        this.privateRoom = msg.private === true;
        this.chat = [...msg.chat];
        for (const m of msg.chat) this.noteChat(m);
        // The speakers were the old room's; the hub tells the new room's.
        if (this.activeSpeakers.length > 0) {
          this.activeSpeakers = [];
          out.events.push(['active-speaker', { peers: [] }]);
        }
        out.events.push(['room-changed', {
          room: { ...this.room }, peers: this.peerList(), chat: [...this.chat],
        }]);
        out.events.push(['peers', { peers: this.peerList() }]);
        break;
      }
      case 'rooms': {
        this.setRooms(msg.rooms, msg.closes_at ?? null, msg.choosing, msg.round ?? null);
        const info = this.rooms.find((r) => r.id === this.room.id);
        if (info) this.room = { id: info.id, name: info.name, topic: info.topic ?? null };
        out.events.push(['rooms', this.roomsDetail()]);
        break;
      }
      case 'peer_joined': {
        // Microphone, camera and hand come with the person (the hub keeps the last state).
        this.peers.set(msg.peer.id, msg.peer);
        this.remember(msg.peer);
        this.steppedOut.delete(msg.peer.id);
        if (!msg.peer.reconnecting) out.connect.push(msg.peer);
        out.events.push(['peer-joined', { peer: msg.peer }]);
        out.events.push(['peers', { peers: this.peerList() }]);
        this.syncOwnRoom(out);
        break;
      }
      case 'peer_left': {
        const peer = this.peers.get(msg.id) ?? this.directory.get(msg.id) ?? null;
        this.peers.delete(msg.id);
        // Someone who stepped out and then left (or whose held seat timed out) is told to the
        // room they stepped out of: the placeholder goes.
        if (msg.reason === 'stepped_out' && peer) this.steppedOut.set(msg.id, peer);
        else this.steppedOut.delete(msg.id);
        out.disconnect.push(msg.id);
        out.events.push(['peer-left', { id: msg.id, reason: msg.reason, peer }]);
        out.events.push(['peers', { peers: this.peerList() }]);
        if (msg.reason !== 'moved') this.syncOwnRoom(out);
        break;
      }
      case 'chat': {
        if (msg.channel === 'staff') {
          // The hosts' back channel: numbered apart, kept in no room history, never counted.
          if (this.seenChat.has(`s${msg.id}`)) break;
          this.seenChat.add(`s${msg.id}`);
          out.events.push(['staff-chat', {
            message: { id: msg.id, seq: 0, room: msg.room, from: msg.from, text: msg.text, ts: msg.ts, channel: 'staff' },
          }]);
          break;
        }
        const isPrivate = msg.to != null;
        /** @type {ChatMessage} */
        const message = {
          id: msg.id, seq: msg.seq, room: msg.room, from: msg.from, text: msg.text, ts: msg.ts,
        };
        if (!this.noteChat(message, isPrivate)) break;
        if (isPrivate) message.to = msg.to;
        else if (msg.room === this.room.id) this.chat.push(message);
        out.events.push(['chat', { message, private: isPrivate }]);
        break;
      }
      case 'broadcast':
        // `room`: sent to one room only (ours, or as a host we get every room's).
        out.events.push(['broadcast', {
          from: msg.from, text: msg.text, ts: msg.ts, replayed, room: msg.room ?? null,
          roomName: msg.room == null ? null : this.rooms.find((r) => r.id === msg.room)?.name ?? (msg.room === 'main' ? 'Main room' : msg.room),
        }]);
        break;
      case 'breakout_closing':
        // A replayed warning is stale unless the welcome's timer is still the one it warned
        // of (the rooms may have closed, or the timer been extended, meanwhile); its `seconds`
        // were counted when it was sent, so then `closesAt` is what holds.
        if (replayed && msg.closes_at !== this.closesAt) break;
        this.closesAt = msg.closes_at;
        out.events.push(['breakout-closing', { closesAt: msg.closes_at, seconds: msg.seconds, replayed }]);
        break;
      case 'session_ending':
        // Sent once per end time, and at once to whoever arrives or resumes within the warning
        // window (never replayed: `seconds` are always counted as it is sent). Its `at` is the
        // end the hub holds now.
        this.endsAt = msg.at;
        out.events.push(['session-ending', { at: msg.at, seconds: msg.seconds }]);
        break;
      case 'session_rescheduled':
        this.endsAt = msg.ends_at ?? null;
        out.events.push(['session-rescheduled', { endsAt: this.endsAt }]);
        break;
      case 'help_requested':
        out.events.push(['help-requested', {
          from: msg.from, name: this.nameOf(msg.from), room: msg.room,
          roomName: this.rooms.find((r) => r.id === msg.room)?.name ?? msg.room, ts: msg.ts,
          replayed,
        }]);
        break;
      case 'signal':
        out.signal = { from: msg.from, data: msg.data };
        break;
      case 'sfu_publish_answer':
      case 'sfu_offer':
      case 'sfu_tracks':
        out.media = msg;
        break;
      case 'active_speaker':
        this.activeSpeakers = [...msg.peers];
        out.events.push(['active-speaker', { peers: [...msg.peers] }]);
        break;
      case 'peer_reconnecting': {
        // Their connection dropped; the hub holds their seat. They stay on the roster, marked,
        // and the peer connection goes (it would only fail).
        const peer = this.peers.get(msg.id);
        if (!peer) break;
        const held = { ...peer, reconnecting: true };
        this.peers.set(msg.id, held);
        this.remember(held);
        out.disconnect.push(msg.id);
        out.events.push(['peer-reconnecting', { id: msg.id, peer: held }]);
        out.events.push(['peers', { peers: this.peerList() }]);
        break;
      }
      case 'peer_reconnected': {
        // Back with the same id on a new connection: a fresh peer connection, as for a join.
        const peer = this.peers.get(msg.id);
        if (!peer) break;
        const back = { ...peer };
        delete back.reconnecting;
        this.peers.set(msg.id, back);
        this.remember(back);
        out.disconnect.push(msg.id);
        out.connect.push(back);
        out.events.push(['peer-reconnected', { id: msg.id, peer: back }]);
        out.events.push(['peers', { peers: this.peerList() }]);
        break;
      }
      case 'peer_updated': {
        // A role or hand change (the whole meeting hears of both), possibly our own.
        const previous = this.person(msg.peer.id);
        const mine = this.you?.id === msg.peer.id;
        this.remember(msg.peer);
        if (this.peers.has(msg.peer.id)) this.peers.set(msg.peer.id, msg.peer);
        if (this.steppedOut.has(msg.peer.id)) this.steppedOut.set(msg.peer.id, msg.peer);
        if (mine) {
          this.you = msg.peer;
          // No longer told about the waiting room and hands (a promotion brings both anew).
          if (!isModerator(msg.peer.role)) this.forgetModeratorState();
        }
        // Someone starts or stops being an observer: both ends make their connection anew, so
        // that media flows as the role says (an observer sends nothing and, as the hub refuses
        // its offers, is offered to). When it is us, that is every connection we have.
        if (previous && isObserver(previous.role) !== isObserver(msg.peer.role)) {
          for (const p of mine ? this.peers.values() : [this.peers.get(msg.peer.id)]) {
            if (!p) continue;
            out.disconnect.push(p.id);
            if (!p.reconnecting) out.connect.push(p);
          }
        }
        out.events.push(['peer-updated', { peer: msg.peer, previous: previous ? { ...previous } : null }]);
        if (this.you?.id === msg.peer.id) {
          this.setOwnHand(!!msg.peer.hand, true, out);
          this.setOwnBlocked(msg.peer, out);
        }
        out.events.push(['peers', { peers: this.peerList() }]);
        break;
      }
      case 'people':
        // To hosts and cohosts: everyone in every room, so ids elsewhere have names.
        for (const p of msg.peers) this.remember(p);
        out.events.push(['rooms', this.roomsDetail()]);
        break;
      case 'waiting':
        // The waiting room: `welcome` follows when a host lets us in.
        this.waitingAs = msg.you;
        out.events.push(['waiting', { you: msg.you, meeting: msg.meeting }]);
        break;
      case 'lobby':
        this.lobby = { enabled: msg.enabled, waiting: [...msg.waiting] };
        for (const p of msg.waiting) this.remember(p);
        out.events.push(['lobby', { enabled: msg.enabled, waiting: [...msg.waiting] }]);
        break;
      case 'peer_media': {
        const peer = this.peers.get(msg.id);
        const screen = msg.screen === true;
        if (peer) {
          const updated = { ...peer, audio: msg.audio, video: msg.video, screen };
          this.peers.set(msg.id, updated);
          this.remember(updated);
        }
        // About us: the hub stopped our screen (a host forbade sharing); the Meeting follows.
        if (msg.id === this.you?.id) break;
        out.events.push(['peer-media', { id: msg.id, audio: msg.audio, video: msg.video, screen }]);
        break;
      }
      case 'screen_share_allowed':
        this.screenShareAllowed = msg.allowed;
        out.events.push(['screen-share-allowed', { allowed: msg.allowed }]);
        break;
      case 'reaction':
        // Shown on the sender's tile for a few seconds; never kept.
        out.events.push(['reaction', { from: msg.from, name: this.nameOf(msg.from), reaction: msg.reaction }]);
        break;
      case 'reactions_enabled':
        this.reactionsOff = !msg.enabled;
        out.events.push(['reactions-enabled', { enabled: msg.enabled }]);
        break;
      case 'agreement_required':
        // Instead of a welcome (or, seated, after a change): read and accept first.
        this.agreement = { text: msg.text, version: msg.version };
        out.events.push(['agreement-required', { text: msg.text, version: msg.version }]);
        break;
      case 'agreements':
        out.events.push(['agreements', {
          version: msg.version ?? null, accepted: msg.accepted, reading: msg.reading,
        }]);
        break;
      case 'chat_history':
        this.chatKept = msg.mode !== 'none';
        out.events.push(['chat-history', { kept: this.chatKept }]);
        break;
      case 'mute_requested':
        out.events.push(['mute-requested', {
          by: msg.by, name: this.nameOf(msg.by), audio: msg.audio, video: msg.video, replayed,
        }]);
        break;
      case 'hands':
        this.hands = [...msg.queue];
        out.events.push(['hands', { queue: [...msg.queue] }]);
        break;
      case 'locked':
        this.locked = msg.locked;
        out.events.push(['locked', { locked: msg.locked, by: msg.by }]);
        break;
      case 'audit': {
        /** @type {AuditEntry} */
        const entry = {
          by: msg.by, action: msg.action, subject: msg.subject ?? null, detail: msg.detail ?? null,
          other: msg.other ?? null, ts: msg.ts,
        };
        this.audit.push(entry);
        if (this.audit.length > AUDIT_KEEP) this.audit.splice(0, this.audit.length - AUDIT_KEEP);
        out.events.push(['audit', { ...entry }]);
        break;
      }
      case 'data':
        out.events.push(['data', { from: msg.from, payload: msg.payload, private: msg.to != null }]);
        break;
      case 'ack':
        out.answer = { ref: msg.ref };
        break;
      case 'pong':
        out.pong = true;
        break;
      case 'error':
        if (msg.ref == null) this.lastError = { code: msg.code, message: msg.message };
        if (msg.code === 'resume_expired' && msg.ref == null) {
          // The SDK's own business: close 4106 follows and it joins afresh at once.
          this.forgetResume();
        } else if (msg.ref != null) {
          out.answer = { ref: msg.ref, error: { code: msg.code, message: msg.message } };
        } else {
          out.events.push(['error', { code: msg.code, message: msg.message }]);
        }
        break;
      default:
        // A newer hub may send messages this SDK does not know yet: ignore them.
        break;
    }
    return out;
  }

  /**
   * Our hand as the hub says it. `byHub`: not our own optimistic change; when it lowers a hand we
   * had up and none of our requests is pending, a host lowered it.
   * @param {boolean} raised @param {boolean} byHub @param {Outcome} out
   */
  setOwnHand(raised, byHub, out) {
    if (raised === this.handRaised) return;
    this.handRaised = raised;
    if (byHub) out.events.push(['hand', { raised, byHost: !raised && this.handRequests === 0 }]);
  }

  /**
   * A host's hard mute of us, as the hub says (`welcome.you`, `peer_updated` about us):
   * `media-blocked` when it changes.
   * @param {Peer} you @param {Outcome} out
   */
  setOwnBlocked(you, out) {
    const audio = you.audio_blocked === true;
    const video = you.video_blocked === true;
    if (audio === this.blocked.audio && video === this.blocked.video) return;
    this.blocked = { audio, video };
    out.events.push(['media-blocked', { audio, video }]);
  }

  /** Moderators' lists, when we stop being told about them. */
  forgetModeratorState() {
    this.hands = [];
    this.lobby = { enabled: false, waiting: [] };
  }

  /**
   * @param {RoomInfo[]} rooms @param {number | null} closesAt @param {boolean} choosing
   * @param {number | null} round
   */
  setRooms(rooms, closesAt, choosing, round) {
    this.rooms = rooms;
    this.closesAt = closesAt;
    this.choosing = choosing;
    this.round = round;
  }

  roomsDetail() {
    return {
      rooms: this.rooms.map((r) => ({ ...r, members: [...r.members] })),
      closesAt: this.closesAt,
      choosing: this.choosing,
      round: this.round,
    };
  }

  /**
   * Keeps our own room's entry in the room list equal to who we know is here. The hub sends
   * `rooms` on joins and leaves only while breakouts are open, so without this a host's roster
   * of the main room would miss everyone who joined after the host. Moves always come with a
   * fresh `rooms`, so `peer_left {moved}` is left to it.
   * @param {Outcome} out
   */
  syncOwnRoom(out) {
    const me = this.you?.id;
    const own = this.rooms.find((r) => r.id === this.room.id);
    if (me == null || !own) return;
    const here = new Set([me, ...this.peers.keys()]);
    const members = [...own.members.filter((id) => here.has(id)),
      ...[...here].filter((id) => !own.members.includes(id))];
    if (members.length === own.members.length && members.every((id, i) => id === own.members[i])) return;
    this.rooms = this.rooms.map((r) => (r === own ? { ...r, members }
      : { ...r, members: r.members.filter((id) => !here.has(id)) }));
    out.events.push(['rooms', this.roomsDetail()]);
  }

  /** Forget the room's people (before a fresh welcome). @param {Outcome} out */
  disconnectAll(out) {
    out.disconnect.push(...this.peers.keys());
    this.peers.clear();
  }
}

/** An error answered by the hub to a request, or a request that could not be answered. */
export class HuddleError extends Error {
  /**
   * @param {string} code an ErrorCode from the hub, `closed` when the socket closed first, or
   *   `insecure_transport` (a hub URL without TLS, refused by `join()`)
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = 'HuddleError';
    this.code = code;
  }
}

/** Request ids and their pending promises. */
export class Requests {
  constructor() {
    this.nextId = 1;
    /** @type {Map<number, {resolve: () => void, reject: (e: HuddleError) => void}>} */
    this.pending = new Map();
  }

  /**
   * A fresh id and the promise its answer settles.
   * @returns {{id: number, promise: Promise<void>}}
   */
  create() {
    const id = this.nextId++;
    /** @type {Promise<void>} */
    const promise = new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    return { id, promise };
  }

  /**
   * Settles the request an `ack` or `error` refers to. Returns false for an unknown ref.
   * @param {{ref: number, error?: {code: string, message: string}}} answer
   */
  settle(answer) {
    const p = this.pending.get(answer.ref);
    if (!p) return false;
    this.pending.delete(answer.ref);
    if (answer.error) p.reject(new HuddleError(answer.error.code, answer.error.message));
    else p.resolve();
    return true;
  }

  /** Rejects every pending request (the socket closed before they were answered). @param {string} why */
  failAll(why) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new HuddleError('closed', why));
  }
}
