// The Huddle SDK's data types: options, event details and the event map (event name -> detail).
// Defined once, here: huddle.d.ts re-exports them as the public contract, and the SDK's modules
// use them from JSDoc (`import('./types').JoinOptions`), so the state module's events and the
// Meeting's `emit` are checked against the same map the app listens with.

import type {
  ChatMessage, ErrorCode, Peer, PeerId, PeerLeftReason, Role, RoomId, RoomInfo, SplitStrategy,
} from './protocol';

/**
 * The heartbeat: the SDK sends `ping` every `pingEveryMs` (default 10 s); when no frame at all
 * has come for `deadAfterMs` (default 25 s) although it asked, it closes the socket with 4100 (the
 * hub holds the seat) and resumes on a new one.
 */
export interface HeartbeatOptions {
  pingEveryMs?: number;
  deadAfterMs?: number;
}

export interface JoinOptions {
  /** A JWT minted by your backend. Sent only in the `hello` frame, never in a URL. */
  token: string;
  /**
   * A fresh token from your backend (same person and meeting). Without it the hub ends the
   * session when the token expires (close 4006). With it the SDK reads the token's `exp`
   * (unverified) and asks 60 s before (after 80 % of what is left, for tokens with under 5
   * minutes), sends the answer to the hub (`refresh`), and asks again before every reconnect.
   * A failure is a `token-refresh-failed` event and is tried again 10 s later.
   */
  getToken?: () => Promise<string>;
  /**
   * The hub: `https://hub.example`, `wss://hub.example/v1/ws`. Default: the page's origin. Must be
   * TLS (`https:`/`wss:`); `http:`/`ws:` only to loopback (`localhost`, 127.0.0.0/8, `[::1]`),
   * otherwise `join()` rejects with a HuddleError `insecure_transport` before opening anything
   * (every entry of a list is checked first).
   *
   * A cluster: a non-empty list of its nodes' URLs. The first socket goes to one picked at random
   * (clients given the same list spread over the nodes); after every reconnectable close (the
   * socket did not open, the connection dropped, or the node sent us away: 1001, 4108) the next
   * attempt goes to the next entry, round robin, and resumes the seat as on one hub. A welcome
   * keeps the node that gave it.
   */
  url?: string | readonly string[];
  /** The meeting this page means to join; a token for another meeting is then refused. */
  meeting?: string;
  /**
   * What to send: getUserMedia constraints (default `{audio: true, video: true}`; falls back to
   * audio only, then to receive only), a stream the app owns (not stopped on leave), or null to
   * only receive. Observers never send.
   */
  media?: { audio?: boolean | MediaTrackConstraints; video?: boolean | MediaTrackConstraints } | MediaStream | null;
  /** Instead of the hub's `welcome.ice_servers`. */
  iceServers?: RTCIceServer[];
  /** The heartbeat's timing; `false` turns it off (the hub's own keepalive still ends a dead connection, after 45 s). */
  heartbeat?: HeartbeatOptions | false;
  /** Listeners to add before connecting, by event name. */
  on?: { [K in MeetingEventName]?: (event: CustomEvent<MeetingEventMap[K]>) => void };
}

export interface CurrentRoom {
  id: RoomId;
  name: string;
  topic: string | null;
}

export interface RoomsDetail {
  /** Every room, main first, with member ids. */
  rooms: RoomInfo[];
  /** When breakouts close (ms since the epoch), while a timer runs. */
  closesAt: number | null;
  /** Participants may pick a room (`chooseRoom`). */
  choosing: boolean;
  /** After a `rotate` split (rotating pairs): which round is open (1, 2, 3…); null otherwise. */
  round: number | null;
}

export interface SplitOptions {
  /**
   * `rotate`: rotating pairs (icebreakers): the hub pairs the main room's participants and
   * mentors so that, round after round, nobody meets the same person twice until everyone has
   * met; an odd one out rests in the main room. `count` and `rooms` are not used.
   */
  strategy: SplitStrategy;
  /** Rooms, for `even`, `random` and `choose`. */
  count?: number;
  /** Per room: name, topic, and for `manual` its members. */
  rooms?: { name?: string; topic?: string; members?: PeerId[] }[];
  /** Topic for rooms without their own. */
  topic?: string;
  /** Start the breakout timer. */
  durationSecs?: number;
  /** Mentors one per room first (default true). */
  spreadMentors?: boolean;
  /**
   * `even` and `random` never leave anyone alone: the hub opens at most one room per two people
   * dealt (3 into 2 rooms: one room of 3). `true` asks for rooms of one anyway (solo reflection).
   */
  allowSolo?: boolean;
}

/** Options of `Meeting.merge`: close all breakouts (optionally after a countdown), or some. */
export interface MergeOptions {
  /** Seconds before the rooms close (0 or absent: now). */
  countdownSecs?: number;
  /** Merge only these rooms back. */
  rooms?: RoomId[];
}

/** Options of `Meeting.reopen`. */
export interface ReopenOptions {
  /** Start the breakout timer again. */
  durationSecs?: number;
}

/** Options of `Meeting.remove`. */
export interface RemoveOptions {
  /** Keep them out of this meeting, even with a new token. */
  ban?: boolean;
}

/** What `Meeting.requestMute` asks to turn off (default: the microphone only). */
export interface MuteRequest {
  audio?: boolean;
  video?: boolean;
}

/** Devices for `Meeting.selectDevices` (ids from `enumerateDevices`). */
export interface DeviceSelection {
  audioDeviceId?: string;
  videoDeviceId?: string;
}

/** Microphone and camera as someone last said (on until they say otherwise), and whether they share their screen. */
export interface MediaState {
  audio: boolean;
  video: boolean;
  screen: boolean;
}

/**
 * SFU meetings: whether a host stops the hub forwarding someone's microphone and camera
 * (`blockMedia`), whatever their device does.
 */
export interface BlockState {
  audio: boolean;
  video: boolean;
}

/**
 * What `Meeting.blockMedia` changes: `true` stops the hub forwarding that device, `false` allows
 * it again; absent: unchanged.
 */
export interface BlockRequest {
  audio?: boolean;
  video?: boolean;
}

export interface ClosedDetail {
  code: number;
  reason: string;
  /** The hub's last `error` before closing (e.g. `unauthorized`). */
  error: { code: string; message: string } | null;
  reconnectable: boolean;
}

/** One moderator action (ids only; never chat text). */
export interface AuditEntry {
  by: PeerId;
  /** The client message type of the action: `remove`, `lock`, `pull_aside`, `split`, … */
  action: string;
  /** The person it was done to, when there is one (`admit`/`deny` without one: everyone waiting). */
  subject: PeerId | null;
  /**
   * A word on how: `on`/`off` (`lock`, `set_lobby`), `ban` (`remove`), the new role
   * (`set_role`), `lowered` (`raise_hand` on someone else), `all` (`admit`/`deny` of everyone),
   * the strategy (`split`); null when the action needs none.
   */
  detail: string | null;
  /** The second person of a `swap`; null otherwise. */
  other: PeerId | null;
  ts: number;
}

export interface MeetingEventMap {
  /**
   * Joined, or back after a drop. `resumed`: the hub gave our seat back (same `you.id`); the
   * messages missed meanwhile then follow as `chat` events (each message reaches the app once),
   * and `chat` here is the room's group log including them. Not resumed: `chat` is the room's
   * history; replace the log with it.
   */
  welcome: { you: Peer; meeting: string; room: CurrentRoom; peers: Peer[]; chat: ChatMessage[]; resumed: boolean };
  /** Everyone else in our room, after any change (`reconnecting: true` while someone's seat is held). */
  peers: { peers: Peer[] };
  'peer-joined': { peer: Peer };
  'peer-left': { id: PeerId; reason: PeerLeftReason; peer: Peer | null };
  /** Their connection dropped; the hub holds their seat. Still on the roster, with `reconnecting: true`. */
  'peer-reconnecting': { id: PeerId; peer: Peer };
  /** Back with the same id; the SDK connects to them again. */
  'peer-reconnected': { id: PeerId; peer: Peer };
  'room-changed': { room: CurrentRoom; peers: Peer[]; chat: ChatMessage[] };
  rooms: RoomsDetail;
  chat: { message: ChatMessage; private: boolean };
  data: { from: PeerId; payload: unknown; private: boolean };
  /**
   * `replayed` (here and on `breakout-closing`, `help-requested`, `mute-requested`): it was sent
   * while our seat was held and replayed after the resumed `welcome` (which counts them in
   * `replayed`).
   */
  broadcast: {
    from: PeerId; text: string; ts: number; replayed: boolean;
    /** Sent to this one room only (its members, and every host and cohost); null: to every room. */
    room: RoomId | null;
    /** That room's name, as the room list says (null with `room` null). */
    roomName: string | null;
  };
  /**
   * The breakout timer runs out soon: `seconds` left when the hub sent it (use it against clock
   * skew), at `closesAt` on the hub's clock. The hub replays a warning only while its timer
   * still runs, with `seconds` counted from the resume.
   */
  'breakout-closing': { closesAt: number; seconds: number; replayed: boolean };
  /**
   * The scheduled session ends for everyone at `at` (the hub's clock, ms since the epoch; the hub
   * then closes every connection with 4009). `seconds` were left when the hub sent it: count down
   * from it, against clock skew. Sent once per end time (by default 5 minutes before), and at once
   * when you arrive or resume later than that. `Meeting.endsAt` is `at` from then on.
   */
  'session-ending': { at: number; seconds: number };
  /**
   * The scheduled end moved (a host's `extendSession`, or the partner's server API), or a welcome
   * after a reconnect says another end than before: `endsAt` is the new end, null when the session
   * no longer has one. A `session-ending` shown before no longer holds (if the new end is near,
   * a fresh one follows).
   */
  'session-rescheduled': { endsAt: number | null };
  'help-requested': { from: PeerId; name: string; room: RoomId; roomName: string; ts: number; replayed: boolean };
  /**
   * Someone's role or hand changed (promotion, demotion, host handover, a hand raised or
   * lowered) — possibly yours. `previous`: how we knew them before (null if we did not).
   */
  'peer-updated': { peer: Peer; previous: Peer | null };
  /** A host asked you to mute; the SDK has already turned those devices off (you may turn them on again). */
  'mute-requested': { by: PeerId; name: string; audio: boolean; video: boolean; replayed: boolean };
  /** Hosts and cohosts: raised hands, first raised first. */
  hands: { queue: PeerId[] };
  locked: { locked: boolean; by: PeerId };
  /** The meeting's waiting room holds us; `welcome` (and `join()` resolving) follows on admission. */
  waiting: { you: Peer; meeting: string };
  /** Hosts and cohosts: who is in the waiting room. */
  lobby: { enabled: boolean; waiting: Peer[] };
  /** Hosts and cohosts: a moderator action (who, what, to whom). */
  audit: AuditEntry;
  /**
   * Your own hand went up or down: `raiseHand` (and back when the hub refused it), or the hub
   * says so. `byHost`: a host or cohost lowered it.
   */
  hand: { raised: boolean; byHost: boolean };
  /** A remote track arrived (its stream is the peer's one MediaStream). */
  track: { peerId: PeerId; track: MediaStreamTrack; stream: MediaStream };
  /**
   * A peer's media stream gained a track: attach it to a <video>. In SFU meetings a peer gets a
   * new MediaStream whenever the hub's receive slots carrying them change (the old one is emptied),
   * so always attach the latest.
   */
  stream: { peerId: PeerId; stream: MediaStream };
  /** SFU meetings: who in your room speaks now, loudest first (may include you; empty: nobody). */
  'active-speaker': { peers: PeerId[] };
  /**
   * SFU meetings: a host stopped (or allowed again) the hub forwarding your microphone and/or
   * camera. What is `true` reaches no one, whatever your own buttons say.
   */
  'media-blocked': { audio: boolean; video: boolean };
  /**
   * A peer in your room turned their microphone or camera on or off. What people said before you
   * arrived comes with them (`Peer.audio`, `Peer.video`); `peerMedia(id)` has both.
   */
  'peer-media': { id: PeerId; audio: boolean; video: boolean; screen: boolean };
  /**
   * Whether participants and mentors may share their screen now (a host's `allowScreenShare`).
   * When it becomes false, whoever of them shares has stopped (the SDK stops your own sharing).
   */
  'screen-share-allowed': { allowed: boolean };
  /** Hosts and cohosts: a message on the staff back channel (`staffChat`). */
  'staff-chat': { message: ChatMessage & { channel: 'staff' } };
  /** Someone in your room (you included) reacted: show it on their tile for a few seconds. */
  reaction: { from: PeerId; name: string; reaction: 'heart' | 'clap' | 'thumbs_up' | 'me_too' | 'tissue' };
  /** A host turned reactions on or off. */
  'reactions-enabled': { enabled: boolean };
  /** Read and accept the group's agreement (`acceptAgreement(version)`) before you enter. */
  'agreement-required': { text: string; version: string };
  /** Hosts and cohosts: who has accepted the agreement in force, and who is reading it. */
  agreements: { version: string | null; accepted: PeerId[]; reading: PeerId[] };
  /** A host changed whether chat is kept (`kept: false`: say "messages are not saved"). */
  'chat-history': { kept: boolean };
  /**
   * A roommate's shared screen arrived: a stream of its own (one video track), apart from their
   * camera's `stream`. Show it large: it is what everyone is looking at.
   */
  'screen-started': { peerId: PeerId; stream: MediaStream; track: MediaStreamTrack };
  /** Their screen is no longer received (they stopped, were stopped, or left the room). */
  'screen-stopped': { peerId: PeerId };
  /**
   * Your own screen sharing started (the stream shared) or stopped (null): `stopScreenShare()`,
   * the browser's own "Stop sharing", a host forbidding it, or the end of the session.
   */
  'local-screen': { stream: MediaStream | null };
  /**
   * A peer's connection: in a mesh their own; in SFU meetings the one to the hub (for every peer
   * it carries), and `closed` when no receive slot carries them any more.
   */
  'connection-state': { peerId: PeerId; state: RTCPeerConnectionState };
  /**
   * Our own media changed: other devices (`selectDevices`), or our role — null once we are an
   * observer (the SDK stopped the camera and microphone it opened), and media again when we stop
   * being one.
   */
  'local-stream': { stream: MediaStream | null };
  'media-error': { constraints: MediaStreamConstraints; name: string; message: string };
  /** A refusal not tied to a request of ours. */
  error: { code: ErrorCode; message: string };
  /**
   * The socket dropped (or closed with a reconnectable code, or went silent: code 4100 from the
   * heartbeat); the SDK connects again after `delayMs`, asking for its held seat back when
   * `resuming`. Peer connections are closed meanwhile; `peers` stays as it was until the hub's
   * answer. `delayMs` is a backoff, except after 4106 (0: a fresh hello) and after 1001 or 4108
   * (the hub node went away or no longer serves the meeting: under 250 ms of jitter, for one turn
   * round the `url` list since the last welcome). `url`: the hub socket URL the attempt goes to
   * (scheme, host and path only), the next entry of a list.
   */
  reconnecting: ClosedDetail & { attempt: number; delayMs: number; resuming: boolean; url: string };
  /**
   * Welcomed again. `resumed`: same seat and peer id, nothing missed. Otherwise a new seat (the
   * grace period was over, or the hub restarted): a new peer id and the room's history.
   */
  reconnected: { you: Peer; resumed: boolean };
  /** For good: `leave()`, or a terminal close code (40xx, 1009). */
  closed: ClosedDetail;
  /**
   * A fresh token (`getToken`, `refresh()`) names another role than the session's. The session
   * keeps its role (`role`): the hub never changes a seat's role on a refresh; only a host does
   * (`peer-updated`). Worth telling your backend, which may be minting from stale data.
   */
  'token-role-mismatch': { tokenRole: string; role: Role };
  /**
   * A fresh token could not be had (`get_token_failed`: `getToken` threw or gave none) or the
   * hub refused it (its ErrorCode, e.g. `unauthorized`; `closed`: the socket closed first). The
   * session goes on with the token it has; the SDK tries again (10 s later, or at the next
   * reconnect). If that token expires first, the hub ends the session (`closed`, 4006).
   */
  'token-refresh-failed': { code: ErrorCode | 'closed' | 'get_token_failed'; message: string };
}

/** The name of an event of `Meeting`. */
export type MeetingEventName = keyof MeetingEventMap;

/** An event as the SDK's state module produces it: its name and its detail, as the map says. */
export type MeetingEvent = { [K in MeetingEventName]: [name: K, detail: MeetingEventMap[K]] }[MeetingEventName];
