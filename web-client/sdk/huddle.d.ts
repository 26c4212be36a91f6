// Public types of the Huddle browser SDK (sdk/huddle.js). Options, event details and the event map
// are in types.d.ts (re-exported here); wire message types are generated into protocol.d.ts from
// proto/schema/. The reference UI (app/) is type-checked against this file.

import type { ChatMessage, ErrorCode, MediaMode, Peer, PeerId, Role, RoomId, VideoQuality } from './protocol';
import type {
  AuditEntry, BlockRequest, BlockState, ClosedDetail, CurrentRoom, DeviceSelection, JoinOptions, MediaState, MeetingEventMap,
  MergeOptions, RemoveOptions, ReopenOptions, RoomsDetail, MuteRequest, SplitOptions,
} from './types';

export type { ChatMessage, ErrorCode, MediaMode, Peer, PeerId, Role, RoomId, RoomInfo, SplitStrategy, VideoQuality } from './protocol';
export type * from './types';

/**
 * A request the hub refused (`code` is its ErrorCode), `closed` when the socket closed first, or
 * `insecure_transport` when `join()` refused a hub URL without TLS (http:/ws: other than loopback).
 */
export class HuddleError extends Error {
  constructor(code: string, message: string);
  code: ErrorCode | 'closed' | 'insecure_transport';
}

export interface PeerStats {
  name: string;
  connectionState: RTCPeerConnectionState;
  /** Inbound video frames decoded so far (their camera). */
  framesDecoded: number;
  bytesReceived: number;
  /** While their shared screen is received: its frames decoded (SFU meetings: since it started). */
  screenFramesDecoded?: number;
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
  /** After a `rotate` split, the round of rotating pairs open now (1, 2, 3…); null otherwise. */
  readonly round: number | null;
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
  /**
   * When the scheduled session ends for everyone (ms since the epoch, the hub's clock), as the
   * welcome, `session-ending` and `session-rescheduled` said; null when it has no set end.
   */
  readonly endsAt: number | null;
  remoteStream(id: PeerId): MediaStream | null;
  /** Microphone and camera as the person last said (on until they say otherwise). */
  peerMedia(id: PeerId): MediaState;
  /** SFU meetings: whether a host stops the hub forwarding their microphone / camera (`blockMedia`). */
  peerBlocked(id: PeerId): BlockState;
  /**
   * How media travels in this meeting (the hub's `welcome`): `mesh`, a connection per peer, or
   * `sfu`, one connection to the hub. Null before the first welcome.
   */
  readonly mediaMode: MediaMode | null;
  /** SFU meetings: who in your room speaks now, loudest first (`active-speaker`). */
  readonly activeSpeakers: PeerId[];
  /** SFU meetings: whether a host stops the hub forwarding your microphone (`media-blocked`). */
  readonly audioBlocked: boolean;
  /** Likewise for your camera. */
  readonly videoBlocked: boolean;
  /** Whether participants and mentors may share their screen now (hosts and cohosts always may). */
  readonly screenShareAllowed: boolean;
  /** Whether your role lets you share your screen now (the hub decides). */
  readonly mayShareScreen: boolean;
  /** Whether you share your screen now. */
  readonly sharingScreen: boolean;
  /** Your shared screen while you share. */
  readonly screenStream: MediaStream | null;
  /** A roommate's shared screen as received (null: none). `peerMedia(id).screen` says whether they share. */
  remoteScreen(id: PeerId): MediaStream | null;
  /**
   * Shares your screen (the browser asks which): SFU meetings put it on the screen's section
   * offered with the first publish (no renegotiation), a mesh adds a second video track to every
   * peer. Rejects with a HuddleError `forbidden` when your role may not share now (or the hub
   * refuses: nothing stays shared), or with the browser's error (`NotAllowedError`) when the
   * person cancels. Resolves with the stream shared.
   */
  startScreenShare(): Promise<MediaStream>;
  /** Stops sharing your screen (also what the browser's own "Stop sharing" does). */
  stopScreenShare(): Promise<void>;
  /** Hosts and cohosts: let participants and mentors share their screen, or stop them. */
  allowScreenShare(allowed: boolean): Promise<void>;
  /** Hosts and cohosts: a message to every host and cohost (the staff back channel, `staff-chat`). */
  staffChat(text: string): Promise<void>;
  /** A reaction shown on your tile to your room for a few seconds (`reaction`). */
  react(reaction: 'heart' | 'clap' | 'thumbs_up' | 'me_too' | 'tissue'): Promise<void>;
  /** Hosts and cohosts: reactions on or off for the meeting (`reactions-enabled`). */
  setReactions(enabled: boolean): Promise<void>;
  /** Whether a host turned reactions off. */
  readonly reactionsOff: boolean;
  /** Whether the meeting keeps its chat for late joiners (false: "messages are not saved"). */
  readonly chatKept: boolean;
  /** `session` (a clinician's) or `drop_in` (peer support run by mentors: never ended for all). */
  readonly kind: 'session' | 'drop_in';
  /** The group's agreement while you are asked to accept it (`agreement-required`), else null. */
  readonly agreement: { text: string; version: string } | null;
  /**
   * Accepts the group's agreement in that version; before the welcome the join then goes on
   * (`welcome`), seated you stay. `conflict`: it changed meanwhile (`agreement` is the new one,
   * also given as `agreement-required`) or was removed (`agreement` is null).
   */
  acceptAgreement(version: string): Promise<void>;
  /** Hosts and cohosts: the group's agreement (plain text, at most 8 KiB; empty removes it). */
  setAgreement(text: string): Promise<void>;
  /** Hosts and cohosts: keep the meeting's chat, or deliver it without keeping it (`chat-history`). */
  setChatKept(keep: boolean): Promise<void>;
  /**
   * SFU meetings: which quality of a peer's camera to receive — `low` (the default; thumbnails),
   * `high` (the speaker, a pinned tile) or `off`. Resolves at once when nothing changes, and in a
   * mesh (where every peer sends one quality).
   */
  subscribe(peer: PeerId, video: VideoQuality): Promise<void>;
  /**
   * Hosts and cohosts, SFU meetings: stop (`true`) or allow again (`false`) the hub forwarding
   * someone's microphone and/or camera (a hard mute they cannot undo). The hub refuses it in a
   * mesh (`conflict`).
   */
  blockMedia(peer: PeerId, what: BlockRequest): Promise<void>;

  /**
   * Hands the hub a fresher token for this session (same person and meeting); it then also serves
   * reconnects. Resolves on `ack`; rejects with a HuddleError (`unauthorized`: refused, the session
   * goes on with the old token; `closed`: not connected). `JoinOptions.getToken` does this by
   * itself before the token expires. The session's role never changes with it
   * (`token-role-mismatch`).
   */
  refresh(token: string): Promise<void>;

  /** Each request resolves on the hub's `ack` and rejects with a HuddleError. */
  chat(text: string): Promise<void>;
  privateChat(peerId: PeerId, text: string): Promise<void>;
  sendData(payload: unknown, to?: PeerId): Promise<void>;
  split(options: SplitOptions): Promise<void>;
  move(peer: PeerId, room: RoomId): Promise<void>;
  swap(a: PeerId, b: PeerId): Promise<void>;
  visit(room: RoomId): Promise<void>;
  /** A notice to every room; with `room`, to that room only (and to every host and cohost). */
  broadcast(text: string, room?: RoomId): Promise<void>;
  merge(options?: MergeOptions): Promise<void>;
  extendTimer(secs: number): Promise<void>;
  reopen(options?: ReopenOptions): Promise<void>;
  chooseRoom(room: RoomId): Promise<void>;
  askHelp(): Promise<void>;
  /** Anyone but observers: raise or lower your hand (hosts and cohosts see the queue; everyone sees the hand). */
  raiseHand(raised?: boolean): Promise<void>;

  /**
   * Hosts and cohosts: move the scheduled session's end `secs` later (1 to 14400; counted from now
   * if it has passed). Everyone gets `session-rescheduled`. Rejects with `conflict` when the
   * session has no set end (`endsAt` null).
   */
  extendSession(secs: number): Promise<void>;

  /** Moderation: hosts and cohosts (`setRole`, `transferHost`: the host only). */
  remove(peer: PeerId, options?: RemoveOptions): Promise<void>;
  endMeeting(): Promise<void>;
  /** Ask someone to turn off their microphone (default) and/or camera. */
  requestMute(peer: PeerId, what?: MuteRequest): Promise<void>;
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
  /** End your private conversation, or (with `peer`) the one that person is in. */
  endAside(peer?: number): Promise<void>;
  /** Lower someone else's raised hand (they see it go down). */
  lowerHand(peer: PeerId): Promise<void>;

  setAudioEnabled(on: boolean): void;
  setVideoEnabled(on: boolean): void;
  selectDevices(devices: DeviceSelection): Promise<void>;

  /**
   * Per remote peer id: connection state and decoded video frames (SFU meetings: the hub
   * connection's state, and what arrived since the peer got their receive slots).
   */
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

/**
 * Joins a meeting; resolves once the hub has welcomed us. Stays pending while the waiting room
 * holds us (`waiting`) or while the group's agreement is asked (`agreement-required`, listened
 * to with `options.on`): show it, call `acceptAgreement(version)`, and the welcome follows.
 */
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
