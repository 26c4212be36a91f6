// Public types of the Huddle browser SDK (sdk/huddle.js). Wire message types are generated into
// protocol.d.ts from proto/schema/. The reference UI (app/) is type-checked against this file.

import type {
  ChatMessage, ErrorCode, Peer, PeerId, PeerLeftReason, Role, RoomId, RoomInfo, SplitStrategy,
} from './protocol';

export type { ChatMessage, ErrorCode, Peer, PeerId, Role, RoomId, RoomInfo, SplitStrategy } from './protocol';

export interface JoinOptions {
  /** A JWT minted by your backend. Sent only in the `hello` frame, never in a URL. */
  token: string;
  /** The hub: `https://hub.example`, `wss://hub.example/v1/ws`. Default: the page's origin. */
  url?: string;
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
  /**
   * The SDK sends `ping` every `pingEveryMs` (default 10 s); when no frame at all has come for
   * `deadAfterMs` (default 25 s) although it asked, it closes the socket with 4100 (the hub holds
   * the seat) and resumes on a new one. `false` turns it off (the hub's own keepalive still ends
   * a dead connection, after 45 s).
   */
  heartbeat?: { pingEveryMs?: number; deadAfterMs?: number } | false;
  /** Listeners to add before connecting, by event name. */
  on?: { [K in keyof MeetingEventMap]?: (event: CustomEvent<MeetingEventMap[K]>) => void };
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
}

export interface SplitOptions {
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
  broadcast: { from: PeerId; text: string; ts: number; replayed: boolean };
  /**
   * The breakout timer runs out soon: `seconds` left when the hub sent it (use it against clock
   * skew), at `closesAt` on the hub's clock. The hub replays a warning only while its timer
   * still runs, with `seconds` counted from the resume.
   */
  'breakout-closing': { closesAt: number; seconds: number; replayed: boolean };
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
  /** A peer's media stream gained a track: attach it to a <video>. */
  stream: { peerId: PeerId; stream: MediaStream };
  /**
   * A peer in your room turned their microphone or camera on or off. What people said before you
   * arrived comes with them (`Peer.audio`, `Peer.video`); `peerMedia(id)` has both.
   */
  'peer-media': { id: PeerId; audio: boolean; video: boolean };
  'connection-state': { peerId: PeerId; state: RTCPeerConnectionState };
  'local-stream': { stream: MediaStream };
  'media-error': { constraints: MediaStreamConstraints; name: string; message: string };
  /** A refusal not tied to a request of ours. */
  error: { code: ErrorCode; message: string };
  /**
   * The socket dropped (or closed with a reconnectable code, or went silent: code 4100 from the
   * heartbeat); the SDK connects again after `delayMs`, asking for its held seat back when
   * `resuming`. Peer connections are closed meanwhile; `peers` stays as it was until the hub's
   * answer.
   */
  reconnecting: ClosedDetail & { attempt: number; delayMs: number; resuming: boolean };
  /**
   * Welcomed again. `resumed`: same seat and peer id, nothing missed. Otherwise a new seat (the
   * grace period was over, or the hub restarted): a new peer id and the room's history.
   */
  reconnected: { you: Peer; resumed: boolean };
  /** For good: `leave()`, or a terminal close code (40xx, 1009). */
  closed: ClosedDetail;
}

/** A request the hub refused (`code` is its ErrorCode), or `closed` when the socket closed first. */
export class HuddleError extends Error {
  constructor(code: string, message: string);
  code: ErrorCode | 'closed';
}

export interface PeerStats {
  name: string;
  connectionState: RTCPeerConnectionState;
  /** Inbound video frames decoded so far. */
  framesDecoded: number;
  bytesReceived: number;
}

export class Meeting extends EventTarget {
  constructor(options: JoinOptions);
  /** Gets local media, opens the socket, resolves on `welcome`. */
  connect(): Promise<void>;
  /** Closes the socket and every peer connection; stops media the SDK acquired. */
  leave(): void;

  readonly you: Peer | null;
  readonly room: CurrentRoom;
  readonly peers: Peer[];
  readonly rooms: RoomsDetail;
  readonly chatHistory: ChatMessage[];
  readonly isHost: boolean;
  readonly joined: boolean;
  readonly localStream: MediaStream | null;
  readonly audioEnabled: boolean;
  readonly videoEnabled: boolean;
  /**
   * A display name for anyone seen in the meeting; for an id whose name we never learnt (someone
   * only ever in another room), "Person 1", "Person 2", … numbered in this page.
   */
  nameOf(id: PeerId): string;
  /** Name and current role of anyone seen in the meeting; null if never seen. */
  person(id: PeerId): Peer | null;
  /** True while the waiting room holds you (before `welcome`). */
  readonly waiting: boolean;
  /** Hosts and cohosts: the waiting room as last told (`lobby` events). */
  readonly lobby: { enabled: boolean; waiting: Peer[] };
  /** Hosts and cohosts: raised hands, first raised first. */
  readonly hands: PeerId[];
  /** Whether your own hand is up (as the hub last said, or as you just asked). */
  readonly handRaised: boolean;
  /** Whether the meeting is locked, as last told. */
  readonly locked: boolean;
  /** Hosts and cohosts: recent moderator actions, oldest first. */
  readonly auditLog: AuditEntry[];
  /** People who stepped out of your room for a private conversation with a host. */
  readonly steppedOut: Peer[];
  /** True while you are in a host's private (pull-aside) conversation. */
  readonly inPrivateRoom: boolean;
  remoteStream(id: PeerId): MediaStream | null;
  /** Microphone and camera as the person last said (on until they say otherwise). */
  peerMedia(id: PeerId): { audio: boolean; video: boolean };

  /** Each request resolves on the hub's `ack` and rejects with a HuddleError. */
  chat(text: string): Promise<void>;
  privateChat(peerId: PeerId, text: string): Promise<void>;
  sendData(payload: unknown, to?: PeerId): Promise<void>;
  split(options: SplitOptions): Promise<void>;
  move(peer: PeerId, room: RoomId): Promise<void>;
  swap(a: PeerId, b: PeerId): Promise<void>;
  visit(room: RoomId): Promise<void>;
  broadcast(text: string): Promise<void>;
  merge(options?: { countdownSecs?: number; rooms?: RoomId[] }): Promise<void>;
  extendTimer(secs: number): Promise<void>;
  reopen(options?: { durationSecs?: number }): Promise<void>;
  chooseRoom(room: RoomId): Promise<void>;
  askHelp(): Promise<void>;
  /** Anyone but observers: raise or lower your hand (hosts and cohosts see the queue; everyone sees the hand). */
  raiseHand(raised?: boolean): Promise<void>;

  /** Moderation: hosts and cohosts (`setRole`, `transferHost`: the host only). */
  remove(peer: PeerId, options?: { ban?: boolean }): Promise<void>;
  endMeeting(): Promise<void>;
  /** Ask someone to turn off their microphone (default) and/or camera. */
  requestMute(peer: PeerId, what?: { audio?: boolean; video?: boolean }): Promise<void>;
  lock(locked?: boolean): Promise<void>;
  /** The waiting room on or off (off lets everyone waiting in). */
  setLobby(enabled: boolean): Promise<void>;
  /** Let someone in from the waiting room; without `peer`, everyone waiting. */
  admit(peer?: PeerId): Promise<void>;
  /** Turn someone away from the waiting room (close 4011); without `peer`, everyone waiting. */
  deny(peer?: PeerId): Promise<void>;
  setRole(peer: PeerId, role: Role): Promise<void>;
  /** Hand the host role over; you become a cohost. */
  transferHost(peer: PeerId): Promise<void>;
  /** A private 1:1 conversation with someone; their room sees that you both stepped out. */
  pullAside(peer: PeerId): Promise<void>;
  /** End the private conversation you are in. */
  endAside(): Promise<void>;
  /** Lower someone else's raised hand (they see it go down). */
  lowerHand(peer: PeerId): Promise<void>;

  setAudioEnabled(on: boolean): void;
  setVideoEnabled(on: boolean): void;
  selectDevices(devices: { audioDeviceId?: string; videoDeviceId?: string }): Promise<void>;

  /** Per remote peer id: connection state and decoded video frames. */
  stats(): Promise<Record<string, PeerStats>>;
  /** Per remote peer id: negotiation state and a trace of event kinds (no SDP), for diagnosis. */
  negotiationState(): Record<string, object>;
  /** Signals the hub refused, by error code. */
  readonly signalRefusals: Record<string, number>;

  addEventListener<K extends keyof MeetingEventMap>(type: K, listener: (event: CustomEvent<MeetingEventMap[K]>) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof MeetingEventMap>(type: K, listener: (event: CustomEvent<MeetingEventMap[K]>) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/** Joins a meeting; resolves once the hub has welcomed us. */
export function join(options: JoinOptions): Promise<Meeting>;

/**
 * What a close code means (the hub's table, proto/schema/constants.json): e.g. 40xx, 1002, 1007
 * and 1009 terminal; 41xx, 1001 and codes the hub never sends (1006) reconnectable.
 */
export function closeKind(code: number): 'normal' | 'terminal' | 'reconnectable';
/** The hub's WebSocket URL for a hub URL (or the page's origin). */
export function hubSocketUrl(url?: string): string;
/** The token's `role` claim, unverified: a hint only. */
export function tokenRole(token: string): string | null;
