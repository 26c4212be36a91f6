// The reference therapy-room page: reads a join token from the URL fragment (`#token=...`, as in
// the hub's dev-mode links) or from the join form, joins with the SDK, and wires the views. It
// owns the screens: join, the group's agreement when the hub asks first (agreement.js draws it),
// the waiting room, the meeting, and the ended screen with why it ended.
// The fragment never reaches the server; it is removed from the address bar once read. The token
// is kept in sessionStorage while it may be used (a reload during the meeting rejoins) and
// forgotten when the session ends, however it ends: on a shared computer the next person must
// not join as the last one. Before joining, a pre-join check (precheck.js) shows the camera, the
// microphone's level and the devices; leaving asks first (hosts choose who looks after the group,
// or end it for all); the ended screen offers the next steps the partner configured (a link and a
// support line: `?next=`, `?next_label=`, `?support=`, or `window.huddleConfig`) instead of
// "Join again". Words for people never mention tokens.

import { Meeting, tokenRole } from '../sdk/huddle.js';
import { tokenExpiry } from '../sdk/token.js';
import { AgreementPrompt } from './agreement.js';
import { byId, describe, on, setOptions } from './dom.js';
import { HostPanel } from './host.js';
import { PreCheck } from './precheck.js';
import { MeetingView } from './view.js';

/** @typedef {import('../sdk/huddle.js').MeetingEventMap} MeetingEventMap */
/** @typedef {import('../sdk/huddle.js').ClosedDetail} ClosedDetail */

const TOKEN_KEY = 'huddle.token';
/**
 * Test mode (`?test=1`, which the e2e test asks for): the read-only test hook `window.huddleTest`
 * and test-only options (`?heartbeat=`). Nothing of it in a normal page.
 */
const TEST_MODE = new URLSearchParams(location.search).get('test') === '1';

const joinScreen = byId('join-screen', HTMLElement);
const waitingScreen = byId('waiting-screen', HTMLElement);
const waitingPreview = byId('waiting-preview', HTMLVideoElement);
const agreementScreen = byId('agreement-screen', HTMLElement);
const meetingEl = byId('meeting', HTMLDivElement);
const endedScreen = byId('ended-screen', HTMLElement);
const tokenInput = byId('join-token', HTMLTextAreaElement);
const joinButton = byId('join-button', HTMLButtonElement);
const joinError = byId('join-error', HTMLParagraphElement);

/** @type {{meeting: Meeting, view: MeetingView, host: HostPanel, agreement: AgreementPrompt} | null} */
let session = null;
/** `breakout_closing` notices received (for the test hook). */
let closingNotices = 0;
/** The last `reconnected` event's `resumed` (for the test hook). @type {boolean | null} */
let lastResumed = null;
/** Close codes that made us reconnect, oldest first (for the test hook; 4100: our heartbeat). @type {number[]} */
const reconnectCodes = [];
/** Whose `stream` events came, oldest first, by name (for the test hook). @type {string[]} */
const streamLog = [];
/** How many `staff-chat` events this page's SDK emitted, whatever the role (for the test hook). */
let staffReceived = 0;

const precheck = new PreCheck();

/** A pasted join link or its token: the token. @param {string} text */
function tokenFrom(text) {
  const t = text.trim();
  const m = /[#&?]token=([^&\s]+)/.exec(t);
  return m ? decodeURIComponent(m[1]) : t;
}

function readToken() {
  const params = new URLSearchParams(location.hash.slice(1));
  const fromLink = params.get('token');
  if (fromLink) {
    sessionStorage.setItem(TOKEN_KEY, fromLink);
    history.replaceState(null, '', location.pathname + location.search);
    return fromLink;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? '';
}

/** Who the token says we are, for the join screen only (the hub decides). @param {string} token */
function describeToken(token) {
  try {
    const claims = JSON.parse(atob((token.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/')));
    if (typeof claims.name === 'string') {
      return `Join “${claims.meeting ?? ''}” as ${claims.name} (${ROLE_WORDS[tokenRole(token) ?? 'participant'] ?? 'participant'}).`;
    }
  } catch {
    // not a JWT we can read: the hub will say so
  }
  return '';
}

const ROLE_WORDS = /** @type {Record<string, string>} */ ({ host: 'host', cohost: 'co-host', mentor: 'mentor', participant: 'participant', observer: 'observer, listening only' });

/** Said when a link has expired (checked before joining, and when the hub says so). */
const EXPIRED = 'Your link has expired — ask your clinic for a new one.';
/** Said when someone comes before a scheduled session opens (`not_started`, close 4012). */
const NOT_STARTED = 'This session has not started yet. Open your link again closer to the start time.';
/** Said when the hub refuses a link. */
const REFUSED = 'This link was refused: it may be for another session, or mistyped. Ask your clinic for a new one.';

/** Why joining failed, in words for people (never "token"). @param {unknown} err */
function joinErrorText(err) {
  const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
  if (code === 'unauthorized') return REFUSED;
  if (code === 'insecure_transport') return 'This page is not on a secure connection, so it cannot join. Open your link again from your invitation.';
  if (code === 'meeting_locked') return 'This session is locked, so no one new can join. Ask the therapist to unlock it.';
  if (code === 'meeting_ended') return 'This session has ended.';
  if (code === 'not_started') return NOT_STARTED;
  if (code === 'closed') return 'The connection closed before you joined. Check your network and try again.';
  return `Could not join: ${describe(err)}`;
}

/**
 * The SDK's heartbeat: in test mode, `?heartbeat=1000,4000` pings every second and gives up on a
 * connection silent for 4 s; default: the SDK's (10 s, 25 s).
 * @returns {{pingEveryMs: number, deadAfterMs: number} | undefined}
 */
function heartbeatOption() {
  if (!TEST_MODE) return undefined;
  const m = /^(\d+),(\d+)$/.exec(new URLSearchParams(location.search).get('heartbeat') ?? '');
  return m && Number(m[1]) > 0 && Number(m[1]) < Number(m[2]) ? { pingEveryMs: Number(m[1]), deadAfterMs: Number(m[2]) } : undefined;
}

/** Camera size: `?video=320x240` (tests, weak machines); default 640x360. */
function videoConstraints() {
  const m = /^(\d+)x(\d+)$/.exec(new URLSearchParams(location.search).get('video') ?? '');
  const [width, height] = m ? [Number(m[1]), Number(m[2])] : [640, 360];
  return { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: 15, max: 30 } };
}

function showJoin() {
  const token = readToken();
  tokenInput.value = token;
  byId('join-who', HTMLParagraphElement).textContent = describeToken(token);
  // A token from the link is not shown (it is a credential); it can be replaced.
  byId('join-token-field', HTMLDivElement).hidden = !!token;
  byId('join-other-token', HTMLButtonElement).hidden = !token;
  showScreen(joinScreen);
  (token ? joinButton : tokenInput).focus();
  joinError.textContent = expired(token) ? EXPIRED : '';
  // Observers send nothing: no camera check for them.
  if (token && tokenRole(token) === 'observer') precheck.hide();
  else precheck.start(videoConstraints());
}

/** Whether the link's expiry (read, not verified: the hub decides) has passed. @param {string} token */
function expired(token) {
  const exp = token ? tokenExpiry(token) : null;
  return exp != null && exp * 1000 < Date.now();
}

/** Shows one of the page's screens and hides the others. @param {HTMLElement} screen */
function showScreen(screen) {
  for (const el of [joinScreen, agreementScreen, waitingScreen, meetingEl, endedScreen]) el.hidden = el !== screen;
  if (screen !== waitingScreen) waitingPreview.srcObject = null;
  if (screen !== joinScreen) precheck.stop();
}

/**
 * The waiting room holds us: `join()` stays pending until a host lets us in, so the page
 * says so instead of sitting on the join screen.
 * @param {Meeting} meeting @param {MeetingEventMap['waiting']} d
 */
function showWaiting(meeting, d) {
  byId('waiting-who', HTMLParagraphElement).textContent = `You are in the waiting room of “${d.meeting}” as ${d.you.name}.`;
  waitingPreview.srcObject = meeting.localStream;
  waitingPreview.closest('figure')?.toggleAttribute('hidden', !meeting.localStream?.getVideoTracks().length);
  showScreen(waitingScreen);
  byId('waiting-heading', HTMLHeadingElement).focus();
}

byId('join-other-token', HTMLButtonElement).addEventListener('click', () => {
  tokenInput.value = '';
  byId('join-token-field', HTMLDivElement).hidden = false;
  byId('join-other-token', HTMLButtonElement).hidden = true;
  byId('join-who', HTMLParagraphElement).textContent = '';
  tokenInput.focus();
});

tokenInput.addEventListener('input', () => {
  byId('join-who', HTMLParagraphElement).textContent = describeToken(tokenFrom(tokenInput.value));
});

byId('join-form', HTMLFormElement).addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = tokenFrom(tokenInput.value);
  if (!token) {
    joinError.textContent = 'Paste the link from your invitation first.';
    return;
  }
  if (expired(token)) {
    joinError.textContent = EXPIRED;
    return;
  }
  joinButton.disabled = true;
  joinError.textContent = '';
  const audio = byId('join-audio', HTMLInputElement).checked;
  const video = byId('join-video', HTMLInputElement).checked;
  const devices = precheck.chosen();
  precheck.stop();
  const meeting = new Meeting({ token, heartbeat: heartbeatOption(), media: {
    audio: devices.audioDeviceId ? { deviceId: { ideal: devices.audioDeviceId } } : true,
    video: { ...videoConstraints(), ...(devices.videoDeviceId ? { deviceId: { ideal: devices.videoDeviceId } } : {}) },
  } });
  const view = new MeetingView(meeting);
  const host = new HostPanel(meeting, view);
  view.onLeave = () => askLeave(meeting);
  // The group's agreement, if the hub asks before letting us in: connect() waits meanwhile.
  // Declining is leaving (before joining there is nobody to hand over to).
  const agreement = new AgreementPrompt(meeting, { show: showScreen, onLeave: () => meeting.leave() });
  session = { meeting, view, host, agreement };
  on(meeting, 'waiting', (d) => showWaiting(meeting, d));
  // Let in after waiting: at the first join `connect()` resolves and shows the meeting, but after
  // a reconnect (a restarted hub, where participants wait until the host is back) only this does.
  on(meeting, 'welcome', () => { if (!waitingScreen.hidden || !agreementScreen.hidden) showScreen(meetingEl); });
  on(meeting, 'breakout-closing', () => { closingNotices += 1; });
  on(meeting, 'reconnected', (d) => { lastResumed = d.resumed; });
  on(meeting, 'reconnecting', (d) => { reconnectCodes.push(d.code); });
  if (TEST_MODE) on(meeting, 'stream', (d) => { streamLog.push(meeting.nameOf(d.peerId)); });
  if (TEST_MODE) on(meeting, 'staff-chat', () => { staffReceived += 1; });
  /** How the hub closed us, if it did while joining: 4006 is an expired link, not a refused one. */
  let closedWith = 0;
  on(meeting, 'closed', (d) => { closedWith = d.code; ended(d); });
  on(meeting, 'media-error', () => view.showStatus('Camera or microphone unavailable; you can still see, hear and chat.'));
  try {
    await meeting.connect();
    sessionStorage.setItem(TOKEN_KEY, token);
    if (!audio) meeting.setAudioEnabled(false);
    if (!video) meeting.setVideoEnabled(false);
    view.renderSelf();
    showScreen(meetingEl);
  } catch (err) {
    // The hub checks expiry with its own clock (ours may be wrong): close 4006 at hello.
    joinError.textContent = closedWith === 4006 ? EXPIRED : joinErrorText(err);
    view.destroy();
    host.destroy();
    agreement.destroy();
    if (session?.meeting === meeting) session = null;
  } finally {
    joinButton.disabled = false;
  }
});

byId('waiting-leave', HTMLButtonElement).addEventListener('click', () => session?.meeting.leave());
byId('rejoin-button', HTMLButtonElement).addEventListener('click', showJoin);

/**
 * Leave, after asking. A host also chooses who looks after the group first (a host or co-host,
 * with the hub's `transfer_host` / `set_role`), or ends the session for everyone.
 * @param {Meeting} meeting
 */
async function askLeave(meeting) {
  const dialog = byId('leave-dialog', HTMLDialogElement);
  if (dialog.open) return;
  const me = meeting.you;
  const isHost = me?.role === 'host';
  const successor = byId('leave-successor', HTMLSelectElement);
  const warning = byId('leave-warning', HTMLParagraphElement);
  byId('leave-host', HTMLDivElement).hidden = !isHost;
  byId('leave-end', HTMLButtonElement).hidden = !isHost;
  byId('leave-text', HTMLParagraphElement).textContent = isHost
    ? 'The group can go on without you, with someone you choose to look after it, or you can end the session for everyone.'
    : 'To come back, open your invitation link again.';
  if (isHost && me) {
    const everyone = meeting.rooms.rooms.flatMap((r) => r.members).filter((id) => id !== me.id);
    const people = everyone.map((id) => meeting.person(id)).filter((p) => p != null && p.role !== 'observer');
    const cohosts = people.filter((p) => p?.role === 'cohost');
    setOptions(successor, [
      { value: '', label: cohosts.length > 0 ? `Nobody new (${cohosts.map((p) => p?.name).join(', ')} stays co-host)` : 'Nobody' },
      ...people.flatMap((p) => p ? [{ value: `host:${p.id}`, label: `${p.name}, as host` }, ...(p.role === 'cohost' ? [] : [{ value: `cohost:${p.id}`, label: `${p.name}, as co-host` }])] : []),
    ]);
    successor.value = cohosts[0] ? `host:${cohosts[0].id}` : '';
    const renderWarning = () => {
      warning.hidden = successor.value !== '' || cohosts.length > 0;
      warning.textContent = 'Nobody will be host or co-host: the group can talk, but no one can run breakouts, let people in or help.';
    };
    successor.onchange = renderWarning;
    renderWarning();
  }
  dialog.returnValue = '';
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener('close', resolve, { once: true }));
  const choice = dialog.returnValue;
  if (choice === 'end') {
    meeting.endMeeting().catch(() => meeting.leave());
    return;
  }
  if (choice !== 'leave') return;
  const [role, id] = isHost ? successor.value.split(':') : [];
  if (role && id) {
    try {
      await (role === 'host' ? meeting.transferHost(Number(id)) : meeting.setRole(Number(id), 'cohost'));
    } catch (err) {
      session?.view.showStatus(`Could not hand over before leaving: ${describe(err)}. You are still here.`);
      return;
    }
  }
  meeting.leave();
}

/**
 * What the ended screen offers next, as the partner configured it: a link (https, or a path on
 * this site) and a support line. URL parameters win over `window.huddleConfig`.
 */
function nextSteps() {
  const params = new URLSearchParams(location.search);
  const config = /** @type {{nextLink?: {href?: string, label?: string}, support?: string} | undefined} */ (
    /** @type {any} */ (window).huddleConfig);
  const href = params.get('next') ?? config?.nextLink?.href ?? '';
  let link = null;
  try {
    const url = new URL(href, location.origin);
    if (href && (url.protocol === 'https:' || url.origin === location.origin)) link = url.href;
  } catch {
    // not a link: none shown
  }
  return {
    link, label: params.get('next_label') ?? config?.nextLink?.label ?? 'What happens next',
    support: params.get('support') ?? config?.support ?? '',
  };
}

/** @param {ClosedDetail} d */
function ended(d) {
  if (!session) return;
  const wasWaiting = session.meeting.waiting;
  const wasReading = !session.meeting.joined && session.meeting.agreement != null;
  session.view.destroy();
  session.host.destroy();
  session.agreement.destroy();
  session = null;
  byId('ended-reason', HTMLParagraphElement).textContent = wasReading && d.code === 1000
    ? 'You left before joining the group. To join later, open your invitation link again.'
    : endedReason(d, wasWaiting);
  byId('leave-dialog', HTMLDialogElement).close();
  const next = nextSteps();
  const nextLink = byId('next-link', HTMLAnchorElement);
  nextLink.hidden = !next.link;
  if (next.link) {
    nextLink.href = next.link;
    nextLink.textContent = next.label;
  }
  const support = byId('support-line', HTMLParagraphElement);
  support.hidden = !next.support;
  support.textContent = next.support;
  // Every end is final for this token on this page (left, removed, banned, denied, ended,
  // replaced, refused): joining again takes the link again.
  sessionStorage.removeItem(TOKEN_KEY);
  showScreen(endedScreen);
}

/**
 * Why the meeting ended for us, in words (close codes: proto/PROTOCOL.md).
 * @param {ClosedDetail} d @param {boolean} wasWaiting
 */
function endedReason(d, wasWaiting) {
  if (d.code === 1000) return wasWaiting ? 'You left the waiting room.' : 'You left the meeting.';
  if (d.code === 4006) return EXPIRED;
  if (d.error?.code === 'unauthorized' || d.code === 4001) return REFUSED;
  switch (d.code) {
    case 4007: return 'You joined from another tab or device, so this page was disconnected.';
    case 4008: return d.error?.code === 'forbidden'
      ? 'You cannot join this meeting: a host removed you.' : 'A host removed you from the meeting.';
    // Refused at the door (`meeting_ended`): a host ended it, and only a host can start it again.
    case 4009: return d.error?.code === 'meeting_ended'
      ? 'This session has ended. You can join again once a host starts the next one.'
      : 'This session has ended. Thank you for being here.';
    case 4010: return 'This meeting is locked, so no one new can join. Ask the host to unlock it.';
    case 4011: return 'The host did not let you in this time.';
    // Terminal for now (PROTOCOL.md): the page does not wait for the opening, the person comes back.
    case 4012: return NOT_STARTED;
    default: return `The connection to the session ended (${d.reason || d.code}). Open your link again to rejoin.`;
  }
}

// Read-only state for automated tests (plain data, nothing that changes the meeting); test mode only.
const huddleTest = {
  joined: () => !!session && session.meeting.joined,
  /** Whether the waiting-room screen is shown. */
  waiting: () => !waitingScreen.hidden,
  /** The group's agreement as asked: on the screen before joining, or in the dialog when seated ('' when neither). */
  agreement: () => {
    const dialog = byId('agreement-dialog', HTMLDialogElement);
    const where = !agreementScreen.hidden ? 'screen' : dialog.open ? 'dialog' : '';
    const text = where ? byId(where === 'screen' ? 'agreement-text' : 'agreement-dialog-text', HTMLDivElement) : null;
    return { where, paragraphs: text ? [...text.querySelectorAll('p')].map((p) => p.textContent ?? '') : [],
      error: where ? byId(where === 'screen' ? 'agreement-error' : 'agreement-dialog-error', HTMLParagraphElement).textContent ?? '' : '' };
  },
  /** Host tab: the agreement's status line and the names in its lists. */
  agreementAdmin: () => ({
    status: byId('agreement-status', HTMLParagraphElement).textContent ?? '',
    accepted: [...document.querySelectorAll('#agreement-accepted li')].map((n) => n.textContent ?? ''),
    pending: [...document.querySelectorAll('#agreement-pending li')].map((n) => n.textContent ?? ''),
    reading: [...document.querySelectorAll('#agreement-reading li')].map((n) => n.textContent ?? ''),
  }),
  /** The ended screen's message ('' while it is hidden). */
  ended: () => (endedScreen.hidden ? '' : byId('ended-reason', HTMLParagraphElement).textContent ?? ''),
  me: () => session?.meeting.you ?? null,
  room: () => session?.meeting.room ?? null,
  /** The topic as shown on the page. */
  topic: () => {
    const el = byId('room-topic', HTMLParagraphElement);
    return el.hidden ? '' : (el.textContent ?? '');
  },
  roomName: () => byId('room-name', HTMLHeadingElement).textContent ?? '',
  peers: () => session?.meeting.peers.map((p) => ({ id: p.id, name: p.name, role: p.role })) ?? [],
  rooms: () => session?.meeting.rooms ?? null,
  /** `mesh` or `sfu` (null before the welcome). */
  mediaMode: () => session?.meeting.mediaMode ?? null,
  /** SFU meetings: the hub's slot table as last applied (`[{mid, kind, peer}]`), and who each peer id is. */
  sfuSlots: () => {
    const hub = /** @type {{slots?: {mid: string, kind: string, peer?: number | null}[]} | undefined} */ (session?.meeting.negotiationState().hub);
    return (hub?.slots ?? []).map((s) => ({ ...s, name: s.peer == null ? null : session?.meeting.nameOf(s.peer) ?? null }));
  },
  /** Whose `stream` events came, oldest first, by name. */
  streamNames: () => [...streamLog],
  /** Names on the highlighted (speaking) and pinned tiles. */
  speaking: () => [...document.querySelectorAll('#grid .tile.speaking .name')].map((n) => n.textContent ?? ''),
  pinned: () => [...document.querySelectorAll('#grid .tile.pinned .name')].map((n) => n.textContent ?? ''),
  /** Per remote peer: `{name, connectionState, framesDecoded, bytesReceived}`. */
  stats: async () => (session ? session.meeting.stats() : {}),
  negotiation: () => session?.meeting.negotiationState() ?? {},
  signalRefusals: () => ({ ...session?.meeting.signalRefusals }),
  /** Names on the video tiles shown (not counting yourself). */
  tiles: () => [...document.querySelectorAll('#grid .tile:not(.self):not(.away):not(.screen) .name')].map((n) => n.textContent ?? ''),
  /** Shared screens on the stage: their label, whether featured (large), and the stage's size share. */
  screens: () => [...document.querySelectorAll('#grid .tile.screen')].map((t) => {
    const r = t.getBoundingClientRect();
    const stage = byId('stage', HTMLElement).getBoundingClientRect();
    return { label: t.querySelector('.name')?.textContent ?? '', featured: t.classList.contains('featured'),
      share: Math.round((r.width * r.height * 100) / Math.max(1, stage.width * stage.height)) };
  }),
  /** The Share screen control (toolbar on wide screens, More on phones): label, unavailable, hidden. */
  screenButton: () => {
    const b = [byId('screen-toggle', HTMLButtonElement), byId('screen-more', HTMLButtonElement)].find((x) => x.checkVisibility()) ?? byId('screen-toggle', HTMLButtonElement);
    return { label: b.textContent?.trim() ?? '', unavailable: b.getAttribute('aria-disabled') === 'true', hidden: b.hidden, hint: byId('screen-hint', HTMLParagraphElement).textContent ?? '' };
  },
  /** The kinds of our own live tracks (camera, microphone): none for an observer. */
  localTracks: () => session?.meeting.localStream?.getTracks().filter((t) => t.readyState === 'live').map((t) => t.kind).sort() ?? [],
  /** The one neutral line shown while the therapist stepped out ('' when none). */
  awayLine: () => {
    const el = byId('away-line', HTMLParagraphElement);
    return el.hidden ? '' : (el.textContent ?? '');
  },
  /** Alerts above the stage, by kind and text. */
  alertItems: () => [...document.querySelectorAll('#alerts .alert')].map((a) => ({ kind: [...a.classList].find((c) => c !== 'alert') ?? '', text: a.querySelector('.text')?.textContent ?? '' })),
  /** The page title, and the unread count on the chat tab. */
  title: () => document.title,
  /** Gallery or speaker view, and the featured tile's name. */
  view: () => ({
    speaker: byId('grid', HTMLDivElement).classList.contains('speaker'),
    featured: document.querySelector('#grid .tile.featured .name')?.textContent ?? null,
  }),
  /** Tile names in the order shown (CSS order), yourself included. */
  tileOrder: () => [...document.querySelectorAll('#grid .tile:not(.screen)')].map((t) => ({ name: t.querySelector('.name')?.textContent ?? '', order: Number(/** @type {HTMLElement} */ (t).style.order || 0) }))
    .sort((a, b) => a.order - b.order).map((t) => t.name),
  /** Each remote tile: the name and badges shown (Host, Muted, Camera off). */
  tileState: () => [...document.querySelectorAll('#grid .tile:not(.self):not(.away):not(.screen)')].map((t) => ({
    name: t.querySelector('.name')?.textContent ?? '',
    badges: [...t.querySelectorAll('.badge')].map((b) => b.textContent ?? ''),
  })),
  /** The line above the chat while the meeting keeps no chat ('' while it is hidden). */
  chatNotKept: () => {
    const el = byId('chat-not-kept', HTMLParagraphElement);
    return el.hidden ? '' : (el.textContent ?? '');
  },
  /** The host's "Round N of rotating pairs" ('' while it is hidden). */
  breakoutRound: () => {
    const el = byId('breakout-round', HTMLParagraphElement);
    return el.hidden ? '' : (el.textContent ?? '');
  },
  chatLog: () => session?.view.chat.entries().map((e) => ({ from: e.fromName, text: e.text, private: e.private, to: e.toName })) ?? [],
  /** The Staff tab: whether it is shown, its unread count, its messages as listed, and how many staff messages reached this page at all. */
  staff: () => {
    const tab = byId('tab-staff', HTMLButtonElement);
    return {
      tab: !tab.hidden, count: Number(tab.querySelector('.count')?.textContent || 0),
      log: [...document.querySelectorAll('#staff-log li')].map((li) => ({ from: li.querySelector('.from')?.firstChild?.textContent ?? '', text: li.querySelector('.text')?.textContent ?? '' })),
      received: staffReceived,
    };
  },
  /** Reactions on tiles now: whose tile (name), ours or not, which, and the text the tile shows. */
  reactions: () => [...document.querySelectorAll('#grid .tile .reaction')].map((r) => {
    const tile = /** @type {HTMLElement} */ (r.closest('.tile'));
    return { name: tile.querySelector('.name')?.textContent ?? '', self: tile.classList.contains('self'), reaction: /** @type {HTMLElement} */ (r).dataset.reaction ?? '', text: r.textContent ?? '' };
  }),
  /** The React button: hidden, marked unavailable, and why. */
  reactButton: () => {
    const b = byId('react-toggle', HTMLButtonElement);
    return { hidden: b.hidden, unavailable: b.getAttribute('aria-disabled') === 'true', hint: byId('react-hint', HTMLParagraphElement).textContent ?? '' };
  },
  alerts: () => [...document.querySelectorAll('#alerts .alert .text')].map((n) => n.textContent ?? ''),
  closingNotices: () => closingNotices,
  /** After a reconnect: whether the hub gave the seat back (null before any reconnect). */
  lastResumed: () => lastResumed,
  /** Why the page reconnected, by close code, oldest first (4100: the heartbeat gave up on a silent socket). */
  reconnectCodes: () => [...reconnectCodes],
  banners: () => [...document.querySelectorAll('#countdown:not([hidden]), #banners .banner:not([hidden])')].map((n) => n.textContent ?? ''),
  /** Host panel: who is waiting, the hand queue, the activity feed (as shown). */
  lobby: () => [...document.querySelectorAll('#lobby-list .name')].map((n) => n.textContent ?? ''),
  hands: () => [...document.querySelectorAll('#hand-queue li .name')].map((n) => n.textContent ?? ''),
  /** The Raise / Lower hand button: its label and whether it is pressed. */
  handButton: () => {
    const b = byId('hand-toggle', HTMLButtonElement);
    return { label: b.textContent?.trim() ?? '', pressed: b.getAttribute('aria-pressed') === 'true', hidden: b.hidden };
  },
  activity: () => [...document.querySelectorAll('#audit-log li')].map((n) => n.textContent ?? ''),
  /** Roster entries: name and badges, by room id. */
  roster: () => Object.fromEntries([...document.querySelectorAll('#roster .room')].map((r) => [
    /** @type {HTMLElement} */ (r).dataset.room ?? '',
    [...r.querySelectorAll('li.person')].map((li) => ({
      name: li.querySelector('.name')?.textContent ?? '',
      badges: [...li.querySelectorAll('.badge')].map((b) => b.textContent ?? ''),
    })),
  ])),
};
if (TEST_MODE) Object.assign(window, { huddleTest });

showJoin();
