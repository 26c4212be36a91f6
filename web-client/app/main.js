// The reference therapy-room page: reads a join token from the URL fragment (`#token=...`, as in
// the hub's dev-mode links) or from the join form, joins with the SDK, and wires the views.
// The fragment never reaches the server; it is removed from the address bar once read.

import { Meeting, tokenRole } from '../sdk/huddle.js';
import { byId } from './dom.js';
import { HostPanel } from './host.js';
import { MeetingView, describe } from './view.js';

const TOKEN_KEY = 'huddle.token';

const joinScreen = byId('join-screen', HTMLElement);
const meetingEl = byId('meeting', HTMLDivElement);
const endedScreen = byId('ended-screen', HTMLElement);
const tokenInput = byId('join-token', HTMLTextAreaElement);
const joinButton = byId('join-button', HTMLButtonElement);
const joinError = byId('join-error', HTMLParagraphElement);

/** @type {{meeting: Meeting, view: MeetingView, host: HostPanel} | null} */
let session = null;
/** `breakout_closing` notices received (for the test hook). */
let closingNotices = 0;

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
      return `Join “${claims.meeting ?? ''}” as ${claims.name} (${tokenRole(token) ?? 'participant'}).`;
    }
  } catch {
    // not a JWT we can read: the hub will say so
  }
  return '';
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
  joinScreen.hidden = false;
  meetingEl.hidden = true;
  endedScreen.hidden = true;
  (token ? joinButton : tokenInput).focus();
}

byId('join-other-token', HTMLButtonElement).addEventListener('click', () => {
  tokenInput.value = '';
  byId('join-token-field', HTMLDivElement).hidden = false;
  byId('join-other-token', HTMLButtonElement).hidden = true;
  byId('join-who', HTMLParagraphElement).textContent = '';
  tokenInput.focus();
});

tokenInput.addEventListener('input', () => {
  byId('join-who', HTMLParagraphElement).textContent = describeToken(tokenInput.value.trim());
});

byId('join-form', HTMLFormElement).addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) {
    joinError.textContent = 'Paste the token from your invitation first.';
    return;
  }
  joinButton.disabled = true;
  joinError.textContent = '';
  const audio = byId('join-audio', HTMLInputElement).checked;
  const video = byId('join-video', HTMLInputElement).checked;
  const meeting = new Meeting({ token, media: { audio: true, video: videoConstraints() } });
  const view = new MeetingView(meeting);
  const host = new HostPanel(meeting);
  session = { meeting, view, host };
  meeting.addEventListener('breakout-closing', () => { closingNotices += 1; });
  meeting.addEventListener('closed', (ev) => ended(/** @type {CustomEvent} */ (ev).detail));
  meeting.addEventListener('media-error', () => view.showStatus('Camera or microphone unavailable; you can still see, hear and chat.'));
  try {
    await meeting.connect();
    sessionStorage.setItem(TOKEN_KEY, token);
    if (!audio) meeting.setAudioEnabled(false);
    if (!video) meeting.setVideoEnabled(false);
    view.renderSelf();
    joinScreen.hidden = true;
    meetingEl.hidden = false;
  } catch (err) {
    joinError.textContent = `Could not join: ${describe(err)}`;
    view.destroy();
    session = null;
  } finally {
    joinButton.disabled = false;
  }
});

byId('leave-button', HTMLButtonElement).addEventListener('click', () => session?.meeting.leave());
byId('rejoin-button', HTMLButtonElement).addEventListener('click', showJoin);

/** @param {{code: number, reason: string, error: {code: string, message: string} | null}} d */
function ended(d) {
  if (!session) return;
  session.view.destroy();
  session = null;
  const why = d.code === 1000 ? 'You left the meeting.'
    : d.error?.code === 'unauthorized' ? 'Your join link was refused (expired or not for this meeting).'
      : `The meeting connection ended (${d.reason || d.code}).`;
  byId('ended-reason', HTMLParagraphElement).textContent = why;
  if (d.error?.code === 'unauthorized') sessionStorage.removeItem(TOKEN_KEY);
  meetingEl.hidden = true;
  joinScreen.hidden = true;
  endedScreen.hidden = false;
}

// Read-only state for automated tests (plain data, nothing that changes the meeting).
const huddleTest = {
  joined: () => !!session && session.meeting.joined,
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
  /** Per remote peer: `{name, connectionState, framesDecoded, bytesReceived}`. */
  stats: async () => (session ? session.meeting.stats() : {}),
  negotiation: () => session?.meeting.negotiationState() ?? {},
  signalRefusals: () => ({ ...session?.meeting.signalRefusals }),
  /** Names on the video tiles shown (not counting yourself). */
  tiles: () => [...document.querySelectorAll('#grid .tile:not(.self) .name')].map((n) => n.textContent ?? ''),
  /** Each remote tile: the name and badges shown (Host, Muted, Camera off). */
  tileState: () => [...document.querySelectorAll('#grid .tile:not(.self)')].map((t) => ({
    name: t.querySelector('.name')?.textContent ?? '',
    badges: [...t.querySelectorAll('.badge')].map((b) => b.textContent ?? ''),
  })),
  chatLog: () => session?.view.chatEntries().map((e) => ({ from: e.fromName, text: e.text, private: e.private, to: e.toName })) ?? [],
  alerts: () => [...document.querySelectorAll('#alerts .alert .text')].map((n) => n.textContent ?? ''),
  closingNotices: () => closingNotices,
  banners: () => [...document.querySelectorAll('#banners .banner:not([hidden])')].map((n) => n.textContent ?? ''),
};
Object.assign(window, { huddleTest });

showJoin();
