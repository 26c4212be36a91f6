#!/usr/bin/env node
// End-to-end: the real hub binary, Debian's Chromium (headless, fake camera and microphone), real
// WebRTC between four pages (and a few more for a while), driven through the reference UI, in two
// scenarios, each with a hub of its own. First a mesh meeting (HUDDLE_MEDIA_MODE=mesh):
// joining, media, chat, breakouts, a hub restart, an observer, then moderation (waiting room,
// muted state from the roster for a late joiner, hands and a host lowering one, mute requests,
// pull aside (and leaving during one), lock, remove, deny, end, and joining an ended session),
// and two network failures that one page resumes from, through a TCP proxy: a stalled
// connection its heartbeat gives up on, and a cut. Also: a token refreshed by the SDK outlives
// its expiry, an observer's page sends nothing, and the UI forgets the token when a session ends.
// Peer support (#15): a reaction shown on the sender's tile on every page, reactions turned off,
// and the Staff tab (a promoted co-host gets the host's staff message; participants never do);
// chat that is not kept (every page says so, a late joiner gets no history), two rounds of
// rotating pairs (other pairs in round 2, one of three resting each round), and the group's
// agreement (set in the Host tab; seated people asked again in a dialog; a newcomer on a phone
// reads it on its own screen, sees nobody until agreeing, then joins).
// Scheduled sessions, set with the server API as a partner would: a participant who comes before
// the session opens is turned away in plain words (4012), and an end 2 minutes ahead shows on
// every page at once, until the host extends it.
// Then an SFU meeting (HUDDLE_MEDIA_MODE=sfu: media through the hub) with four pages and a
// 640x480 fake camera: each page has one RTCPeerConnection and sends two simulcast layers, every
// page decodes everyone else, every remote ICE candidate is the hub's one UDP address, and after a
// split and a move no page made a new connection, the new roommates' video decodes (the time it
// took is printed), and nobody gets video from outside their room.
// The UI is opened in test mode (`?test=1`) for its read-only hook `window.huddleTest`; a page
// without it must have none.
//
//   HUDDLE_BIN=/path/to/huddle node web-client/test/e2e.mjs
//   E2E_ONLY=sfu (or mesh) runs one scenario.
//
// Meant to run inside a loopback-only network namespace (see scripts/test-web) so that every
// packet stays on 127.0.0.1. Screenshots go to test-artifacts/ at the repo root. Tokens, chat
// text and SDP are never printed.

import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const webRoot = join(here, '..');
const repo = join(webRoot, '..');
const artifacts = join(repo, 'test-artifacts');
const hubBin = process.env.HUDDLE_BIN ||
  join(process.env.CARGO_TARGET_DIR || '/var/tmp/huddle-target', 'debug', 'huddle');
const chromiumBin = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
// A fixed test-only key: tokens made with it are valid for this run's throwaway hub only.
const JWT_SECRET = 'a1'.repeat(32);
const DEADLINE_MS = 60_000; // for each wait on the slow, CPU-saturated machine
const TOTAL_MS = 9 * 60_000; // the whole run (both scenarios), as a last resort
/** SFU scenario: how long the new roommates' video may take to decode after a split or a move. */
const MOVE_DEADLINE_MS = 20_000;

let passed = 0;
let failed = 0;
const cleanups = [];
/** True while a test has the hub down on purpose (its restart check). */
let hubDown = false;
/** What Chromium logs for each refused WebSocket connection. */
const REFUSED = /^WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/;

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

/**
 * Runs one check and prints its result. A failure ends the scenario, unless `soft`: then the
 * checks after it still run (for one whose failure leaves the meeting as the next ones need it).
 */
async function check(name, fn, { soft = false } = {}) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (err) {
    failed += 1;
    log(`not ok - ${name}\n  ${String(err?.stack || err).split('\n').slice(0, 6).join('\n  ')}`);
    if (!soft) throw new Abort();
  }
}
class Abort extends Error {}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `read` (which returns plain data) until `ok(value)` holds, or fails at the deadline with
 * the last value (described by `show`).
 */
async function until(what, read, ok, { timeout = DEADLINE_MS, show = (v) => JSON.stringify(v), every = 300 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      last = `error: ${err.message}`;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}; last: ${typeof last === 'string' ? last : show(last)}`);
    await sleep(every);
  }
}

// ---- the hub ----

/**
 * Starts the hub (on `port`, or a free one) with media mode `media`; returns its base URL, demo
 * links, the UDP address its log says the SFU listens on (if it says), and a stop().
 */
async function startHub(port = 0, logName = 'hub.log', media = 'mesh') {
  mkdirSync(artifacts, { recursive: true });
  const hubLog = createWriteStream(join(artifacts, logName));
  const hub = spawn(hubBin, ['serve', '--dev', '--listen', `127.0.0.1:${port}`, '--web-root', webRoot], {
    env: {
      ...process.env, HUDDLE_JWT_SECRET: JWT_SECRET, HUDDLE_LOG: process.env.HUDDLE_LOG || 'info',
      HUDDLE_MEDIA_MODE: media, HUDDLE_RTC_LISTEN: '127.0.0.1:0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const exited = new Promise((resolve) => hub.once('exit', resolve));
    hub.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    await new Promise((resolve) => hubLog.end(resolve));
  };
  cleanups.push(stop);
  hub.stderr.pipe(hubLog, { end: false });
  let out = '';
  let errText = '';
  hub.stderr.on('data', (chunk) => { if (errText.length < 100_000) errText += chunk; });
  const links = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the hub printed no join links within 20 s')), 20_000);
    hub.on('exit', (code) => reject(new Error(`the hub exited early (${code}); see test-artifacts/${logName}`)));
    hub.stdout.on('data', (chunk) => {
      // The hub logs to stdout too, next to the dev links: keep the log, never the tokens.
      hubLog.write(String(chunk).replace(/#token=[^\s]+/g, '#token=<redacted>'));
      out += chunk;
      if (!out.includes('WebSocket endpoint')) return;
      clearTimeout(timer);
      // "  Dr. Rivera (host):\n    http://127.0.0.1:PORT/#token=..."
      const found = [...out.matchAll(/^ {2}(.+) \((\w+)\):\n {4}(http:\/\/\S+)$/gm)]
        .map(([, name, role, url]) => ({ name, role, url }));
      resolve(found);
    });
  });
  if (links.length !== 4) throw new Error(`expected 4 demo links, got ${links.length}`);
  const base = new URL(links[0].url).origin;
  if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(base)) throw new Error(`the hub is not on loopback: ${base}`);
  // "SFU media listening udp=127.0.0.1:PORT" (a log line, so only a cross-check).
  const udp = /SFU media listening\s+udp=(\S+)/.exec(`${errText}${out}`.replace(/\x1b\[[0-9;]*m/g, ''))?.[1] ?? null;
  return { base, links, stop, udp };
}

/**
 * A TCP proxy on 127.0.0.1 in front of the hub, for one page: `cut()` is its network going away
 * (open connections die without a goodbye; new ones hang, as packets would), `restore()` brings
 * it back and lets the waiting connections through. `stall()` is a half-open connection: the
 * open ones stay open but nothing moves either way any more, while new connections work.
 */
async function startProxy(targetPort) {
  const open = new Set();
  let pending = [];
  let down = false;
  const relay = (client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const pair = [client, upstream];
    for (const s of pair) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => { for (const t of pair) { open.delete(t); t.destroy(); } });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  };
  // Paused on connect: while the network is down, what the page sends waits unread.
  const server = createServer({ pauseOnConnect: true }, (client) => {
    if (down) {
      client.on('error', () => {});
      pending.push(client);
    } else relay(client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    for (const s of [...open, ...pending]) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    cut() {
      down = true;
      for (const s of open) s.destroy();
    },
    stall() {
      for (const s of open) {
        s.unpipe();
        s.pause();
      }
    },
    restore() {
      down = false;
      for (const client of pending.splice(0)) if (!client.destroyed) relay(client);
      pending = [];
    },
  };
}

/** A token from `huddle token`, signed with this run's key (printed nowhere). */
function mintToken({ role, sub, name, meeting = 'demo', ttl = '30m' }) {
  return huddleToken(['--meeting', meeting, '--role', role, '--sub', sub, '--name', name, '--ttl', ttl]);
}

/** A server API token (`huddle token --api`) for the calling system `e2e` with `scope`. */
function mintApiToken(scope) {
  return huddleToken(['--api', '--sub', 'e2e', '--scope', scope, '--ttl', '30m']);
}

/** Runs `huddle token` with `args` and this run's key; resolves with the token. */
function huddleToken(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(hubBin, ['token', ...args], {
      env: { ...process.env, HUDDLE_JWT_SECRET: JWT_SECRET }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { err += c; });
    p.on('close', (code) => { // 'close': after stdout has been read ('exit' may come first)
      const token = out.trim();
      if (code === 0 && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) resolve(token);
      else reject(new Error(`huddle token failed (${code}): ${err.trim().slice(0, 200)}`));
    });
  });
}

/**
 * Sets a meeting's settings with the server API (`PUT /v1/meetings/{meeting}`, scope
 * `meetings:write`), as a partner's backend would: e.g. `{ends_at}` (RFC 3339) for a scheduled end.
 */
async function putMeeting(base, apiToken, meeting, settings) {
  const res = await fetch(`${base}/v1/meetings/${encodeURIComponent(meeting)}`, {
    method: 'PUT', headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(settings),
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`PUT /v1/meetings/${meeting}: ${res.status} ${(await res.text()).slice(0, 200)}`);
}

// ---- PNG check (screenshots must not be blank) ----

/** Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) into {width, height, pixels(RGBA)}. */
function decodePng(buf) {
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      colorType = data[9];
      if (depth !== 8 || (colorType !== 2 && colorType !== 6) || data[12] !== 0) {
        throw new Error(`unsupported PNG (depth ${depth}, colour type ${colorType}, interlace ${data[12]})`);
      }
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let add = 0;
      if (filter === 1) add = a;
      else if (filter === 2) add = b;
      else if (filter === 3) add = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      line[i] = (line[i] + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out[(y * width + x) * 4] = line[x * bpp];
      out[(y * width + x) * 4 + 1] = line[x * bpp + 1];
      out[(y * width + x) * 4 + 2] = line[x * bpp + 2];
      out[(y * width + x) * 4 + 3] = bpp === 4 ? line[x * bpp + 3] : 255;
    }
    prev = line;
  }
  return { width, height, pixels: out };
}

/** How varied a picture is: distinct colours and the share of the most common one. */
function variety(png) {
  const counts = new Map();
  const n = png.width * png.height;
  for (let i = 0; i < n; i++) {
    const key = png.pixels.readUInt32BE(i * 4);
    counts.set(key, (counts.get(key) || 0) + 1);
  }
  return { colours: counts.size, top: Math.max(...counts.values()) / n };
}

function assertNotBlank(label, buf, { minColours = 50, maxTop = 0.95 } = {}) {
  const png = decodePng(buf);
  const v = variety(png);
  if (png.width < 16 || png.height < 16 || v.colours < minColours || v.top > maxTop) {
    throw new Error(`${label} looks blank: ${png.width}x${png.height}, ${v.colours} colours, most common ${(v.top * 100).toFixed(1)} %`);
  }
  return v;
}

async function screenshot(page, name) {
  const buf = await page.screenshot({ fullPage: true });
  writeFileSync(join(artifacts, name), buf);
  assertNotBlank(name, buf);
  // The first remote video tile must show a picture (the fake camera), not a black box.
  const tile = page.locator('#grid .tile:not(.self) video').first();
  const tileBuf = await tile.screenshot();
  assertNotBlank(`${name} (remote video tile)`, tileBuf, { minColours: 20, maxTop: 0.9 });
}

/** A full-page screenshot that must not be blank (for pages without a remote video tile). */
async function snap(page, name) {
  const buf = await page.screenshot({ fullPage: true });
  writeFileSync(join(artifacts, name), buf);
  assertNotBlank(name, buf);
}

// ---- pages ----

/** Runs in a page: every control without an accessible name (label, aria-label or text). */
function unlabelledControls() {
  const named = (el) => (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') ||
    el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim() !== '');
  return [...document.querySelectorAll('button, input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !named(el))
    .map((el) => `${el.tagName.toLowerCase()}#${el.id || '?'}`);
}

async function stats(page) {
  return page.evaluate(() => window.huddleTest.stats());
}

/** Waits until the page has live video from exactly `names` (and nobody else). */
async function expectVideoFrom(person, names) {
  const want = [...names].sort();
  const byName = (s) => Object.fromEntries(Object.values(s).map((v) => [v.name, v]));
  const first = await until(`${person.name} to connect to ${want.join(', ')}`, () => stats(person.page), (s) => {
    const got = byName(s);
    return Object.keys(got).sort().join() === want.join() &&
      want.every((n) => got[n].connectionState === 'connected' && got[n].framesDecoded > 0);
  }, { show: (s) => JSON.stringify(Object.values(s).map((v) => [v.name, v.connectionState, v.framesDecoded])) });
  // Frames keep coming: the video is live, not one stale frame.
  const before = byName(first);
  await until(`${person.name}'s video from ${want.join(', ')} to keep decoding`, () => stats(person.page), (s) => {
    const got = byName(s);
    return want.every((n) => got[n] && got[n].framesDecoded > before[n].framesDecoded);
  });
  await until(`${person.name}'s page to show tiles for ${want.join(', ')}`,
    () => person.page.evaluate(() => window.huddleTest.tiles()), (t) => [...t].sort().join() === want.join());
}

/**
 * Waits until `p`'s stage shows `who`'s shared screen large (featured, most of the stage),
 * labelled, and its frames keep decoding on the screen's own receiver (SFU: its slot; mesh: its
 * track); returns the frames decoded.
 */
async function expectScreenFrom(p, who) {
  const label = `${who} is sharing their screen`;
  await until(`${p.name}'s stage to show "${label}" large`, () => hook(p.page, () => window.huddleTest.screens()),
    (v) => v.length === 1 && v[0].label === label && v[0].featured && v[0].share >= 40, { timeout: DEADLINE_MS });
  const frames = async () => Object.values(await stats(p.page)).find((v) => v.name === who)?.screenFramesDecoded ?? 0;
  const first = await until(`${p.name} to decode ${who}'s screen`, frames, (n) => n > 0, { timeout: MOVE_DEADLINE_MS, every: 100 });
  return until(`${p.name}'s frames of ${who}'s screen to keep coming`, frames, (n) => n >= first + 5, { timeout: MOVE_DEADLINE_MS, every: 200 });
}

/** Waits until `p`'s stage shows no shared screen. */
function noScreens(p) {
  return until(`${p.name}'s stage to show no shared screen`, () => hook(p.page, () => window.huddleTest.screens()),
    (v) => v.length === 0, { timeout: MOVE_DEADLINE_MS });
}

const hook = (page, fn, arg) => page.evaluate(fn, arg);

/** Shows one of the side panels' tabs (Chat, People, Host, Activity) on a wide page. */
async function tab(page, name) {
  await page.getByRole('tab', { name }).click();
}

/** Opens the "More" menu (devices, views; on phones also Leave) unless it is open. */
async function openMore(page) {
  if ((await page.locator('#more-toggle').getAttribute('aria-expanded')) !== 'true') await page.locator('#more-toggle').click();
}

/**
 * Runs in a page: where an element is, whether it is wholly in the viewport, and whether the page
 * itself scrolls (it must not: panels scroll on their own).
 */
function whereIs(selector) {
  const el = document.querySelector(selector);
  const pageScrolls = document.scrollingElement.scrollHeight > innerHeight + 1 || scrollY > 0;
  // What sticks out, when the page scrolls (for the failure message).
  const tooLow = pageScrolls ? [...document.querySelectorAll('body *')].filter((e) => e.checkVisibility() && e.getBoundingClientRect().bottom > innerHeight + 1)
    .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join('.')}`) : [];
  if (!el || !el.checkVisibility()) return { found: !!el, visible: false, inView: false, pageScrolls, tooLow };
  const r = el.getBoundingClientRect();
  const inView = r.width > 0 && r.height > 0 && r.top >= -1 && r.left >= -1 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1;
  return { found: true, visible: true, inView, pageScrolls, tooLow, top: Math.round(r.top), bottom: Math.round(r.bottom), height: Math.round(r.height), vh: innerHeight };
}

/** Waits until `selector` is wholly in `page`'s viewport and the page does not scroll. */
async function expectInView(page, selector, what, { minHeight = 1 } = {}) {
  return until(`${what} to be in view without scrolling`, () => page.evaluate(whereIs, selector),
    (w) => w.inView && !w.pageScrolls && w.height >= minHeight);
}

/** Clicks Leave (on phones it is in "More"), and in the confirmation picks `choice` (a button's name). */
async function leaveVia(page, choice = 'Leave') {
  if (!(await page.locator('#leave-button').isVisible())) await openMore(page);
  await page.getByRole('button', { name: 'Leave', exact: true }).click();
  const dialog = page.locator('#leave-dialog');
  await dialog.getByRole('heading', { name: 'Leave the session?' }).waitFor();
  await dialog.getByRole('button', { name: choice, exact: true }).click();
}

// The page's CSP allows no inline script: axe goes in through the DevTools protocol (evaluate).
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** axe-core in the page: fails on any serious or critical violation (WCAG 2 A/AA rules and best practices). */
async function expectAccessible(page, what) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')})`);
  });
  if (found.length > 0) throw new Error(`axe on ${what}:\n  ${found.join('\n  ')}`);
  log(`# axe: no serious or critical violation on ${what}`);
}

/** The hub's welcome said `mode` (`welcome.media`), as the hub was started with. */
async function expectMediaMode(person, mode) {
  const got = await hook(person.page, () => window.huddleTest.mediaMode());
  if (got !== mode) throw new Error(`${person.name}: the hub's welcome says media "${got}", not "${mode}" (HUDDLE_MEDIA_MODE=${mode} not taken?)`);
}

/**
 * The reference UI in test mode (`?test=1`: the page exposes `window.huddleTest`), joining with
 * `token` ("#token=..."), or asking for one.
 */
const uiUrl = (origin, token = '', extra = '', video = '320x240') => `${origin}/?test=1&video=${video}${extra}${token}`;

/** Fails unless the page has forgotten its token (sessionStorage), as every end of a session must. */
async function expectTokenForgotten(p, after) {
  // Whether one is stored, never the token itself (it would be printed on failure).
  await until(`${p.name}'s page to forget the token after ${after}`, () => p.page.evaluate(() => sessionStorage.getItem('huddle.token') !== null),
    (stored) => !stored, { timeout: 10_000 });
}

/**
 * From the ended screen, "Join again" asks for a token: the page forgot it, so the next person at
 * a shared computer cannot join as this one.
 */
async function expectJoinAgainAsksForToken(p) {
  // The ended screen offers the partner's next steps first; joining again is the secondary button.
  await p.page.getByRole('button', { name: 'Join with a link' }).click();
  const field = p.page.getByLabel('Your join link', { exact: true });
  if (!(await field.isVisible()) || (await field.inputValue()) !== '') throw new Error(`${p.name}: "Join again" did not ask for a token`);
}

/** After the session ended: "Join again" asks for a token, so the person opens their link again and joins. */
async function joinAgainWithLink(p, url) {
  await expectJoinAgainAsksForToken(p);
  await p.page.goto('about:blank');
  await p.page.goto(url);
  await p.page.getByRole('button', { name: 'Join' }).click();
}

async function launchBrowser() {
  const browser = await chromium.launch({
    executablePath: chromiumBin,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
      // getDisplayMedia picks the (fake) entire screen without a picker: screen sharing goes
      // through the browser's real capture path, not a canvas.
      '--auto-select-desktop-capture-source=Entire screen',
    ],
  });
  cleanups.unshift(() => browser.close());
  return browser;
}

async function meshScenario() {
  const hub = await startHub(0, 'hub.log', 'mesh');
  const { base, links } = hub;
  log(`e2e: mesh scenario; hub at ${base}; Chromium ${chromiumBin}`);
  const browser = await launchBrowser();

  const viewports = [
    { width: 1280, height: 800 }, // host: a laptop; the screenshots
    { width: 900, height: 700 },
    { width: 900, height: 700 },
    { width: 390, height: 844 }, // a phone
  ];
  const people = [];
  for (const [i, link] of links.entries()) {
    const context = await browser.newContext({ viewport: viewports[i] });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      // While the test has the hub down on purpose, the browser logs each refused reconnect.
      if (msg.type() === 'error' && !(hubDown && REFUSED.test(msg.text()))) errors.push(msg.text());
    });
    const token = new URL(link.url).hash; // "#token=..." never printed
    people.push({ ...link, page, errors, token });
  }
  const [host, alex, sam, jordan] = people;
  if (host.role !== 'host' || alex.name !== 'Alex' || sam.name !== 'Sam' || jordan.name !== 'Jordan') {
    throw new Error(`unexpected demo people: ${people.map((p) => `${p.name}/${p.role}`).join(', ')}`);
  }
  const everyone = people;
  const others = (p) => everyone.filter((q) => q !== p).map((q) => q.name);

  // The partner's next steps for the ended screen (the host's page is opened with them).
  // A link that expires at once, used a few checks later (after the hub's 5 s clock leeway).
  const expiredToken = await mintToken({ role: 'participant', sub: 'late1', name: 'Lee', ttl: '1s' });
  const expiredMintedAt = Date.now();
  const nextSteps = `&next=${encodeURIComponent('https://clinic.example/after-your-session')}&next_label=${encodeURIComponent('Book your next session')}&support=${encodeURIComponent('Need to talk to someone now? Call 0800 123 456')}`;
  await check('the join screen opens from a dev link, the token is taken out of the address bar', async () => {
    for (const p of everyone) {
      await p.page.goto(uiUrl(base, p.token, p === host ? nextSteps : ''));
      await p.page.getByRole('button', { name: 'Join' }).waitFor();
      const url = p.page.url();
      if (url.includes('token')) throw new Error(`${p.name}: the token is still in the URL`);
      const who = await p.page.locator('#join-who').textContent();
      if (!who.includes(p.name)) throw new Error(`${p.name}: join screen says ${JSON.stringify(who)}`);
      if (await p.page.getByLabel('Your join link', { exact: true }).isVisible()) throw new Error(`${p.name}: the token is shown on screen`);
    }
  });

  await check('the pre-join check shows the camera, a microphone level meter and device pickers; axe finds nothing serious on the join page', async () => {
    const page = host.page;
    await until('the camera preview to play', () => page.evaluate(() => {
      const v = document.getElementById('precheck-video');
      return { width: v.videoWidth, cameras: document.getElementById('precheck-camera').options.length, mics: document.getElementById('precheck-mic').options.length };
    }), (s) => s.width > 0 && s.cameras > 0 && s.mics > 0);
    await page.getByRole('meter', { name: 'Microphone level' }).waitFor();
    await page.locator('#precheck').getByLabel('Camera', { exact: true }).waitFor();
    await page.locator('#precheck').getByLabel('Microphone', { exact: true }).waitFor();
    const words = await page.locator('#join-screen').innerText();
    if (/token/i.test(words)) throw new Error(`the join screen talks about tokens: ${JSON.stringify(words.slice(0, 200))}`);
    await snap(page, '00-pre-join.png');
    await expectAccessible(page, 'the join page');
  });

  await check('an expired link says so in plain words before joining; with a clock that is behind (the page cannot tell), the hub closes with 4006 and the ended screen says the same', async () => {
    await sleep(Math.max(0, expiredMintedAt + 2100 - Date.now()));
    let context = await browser.newContext();
    let page = await context.newPage();
    await page.goto(uiUrl(base, `#token=${expiredToken}`));
    await until('the expiry to be explained', () => page.locator('#join-error').textContent(),
      (t) => t.includes('Your link has expired — ask your clinic for a new one'));
    await context.close();
    // The hub allows 5 s of clock skew: past that, it closes a hello with 4006 token_expired.
    await sleep(Math.max(0, expiredMintedAt + 7000 - Date.now()));
    context = await browser.newContext();
    await context.clock.install({ time: Date.now() - 10 * 60_000 });
    page = await context.newPage();
    await page.goto(uiUrl(base, `#token=${expiredToken}`));
    await page.getByRole('button', { name: 'Join' }).click();
    await until('the ended screen to explain the expiry', () => page.evaluate(() => window.huddleTest.ended()),
      (t) => t === 'Your link has expired — ask your clinic for a new one.');
    await context.close();
  });

  await check('a refused token gets a clear message, not a meeting', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const forged = jordan.token.slice('#token='.length, -2) + (jordan.token.endsWith('AA') ? 'BB' : 'AA');
    await page.goto(`${base}/?video=320x240`);
    // No link: the join screen asks for a token.
    await page.getByLabel('Your join link', { exact: true }).fill(forged);
    await page.getByRole('button', { name: 'Join' }).click();
    await until('the refusal to be shown', () => page.evaluate(() => [
      document.getElementById('ended-reason')?.checkVisibility() ? document.getElementById('ended-reason').textContent : '',
      document.getElementById('join-error')?.textContent ?? '',
    ].join(' ')), (t) => t.includes('refused'));
    await context.close();
  });

  // The partner's backend schedules sessions with the server API (PROTOCOL.md "Scheduled sessions").
  const apiToken = await mintApiToken('meetings:write');
  await check('before a scheduled session opens, a participant is turned away (close 4012) with plain words on the ended screen', async () => {
    await putMeeting(base, apiToken, 'later-today', { starts_at: new Date(Date.now() + 3600_000).toISOString() });
    const token = await mintToken({ role: 'participant', sub: 'early1', name: 'Eli', meeting: 'later-today' });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    await page.goto(uiUrl(base, `#token=${token}`));
    await page.getByRole('button', { name: 'Join' }).click();
    await until('the page to say the session has not started', () => hook(page, () => window.huddleTest.ended()),
      (t) => t === 'This session has not started yet. Open your link again closer to the start time.');
    await expectInView(page, '#ended-reason', 'the reason on a phone');
    await expectTokenForgotten({ name: 'Eli', page }, 'not_started (4012)');
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    await context.close();
  });

  await check('a page opened without ?test=1 exposes no test hook', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/?video=320x240`);
    await page.getByRole('button', { name: 'Join' }).waitFor();
    const exposed = await page.evaluate(() => Object.keys(window).filter((k) => /huddle|test/i.test(k)));
    if (exposed.length > 0) throw new Error(`test hooks in a normal page: ${exposed.join(', ')}`);
    await context.close();
  });

  // A page of its own, in a meeting of its own, joins with a token that expires in 12 s (the hub
  // would close it with 4006 at 17 s, counting its 5 s leeway) and a `getToken`; checked later.
  const refresher = { name: 'Riley (refresh)', errors: [], startedAt: 0, page: null };
  await check('a page joins with a 12 s token and a getToken (the SDK alone, no UI)', async () => {
    const context = await browser.newContext();
    refresher.page = await context.newPage();
    refresher.page.on('pageerror', (err) => refresher.errors.push(err.message));
    const [first, fresh] = await Promise.all(['12s', '30m'].map((ttl) =>
      // A host: alone in its meeting, a participant would wait for one (wait_for_host).
      mintToken({ role: 'host', sub: 'riley1', name: 'Riley', meeting: 'refresh-check', ttl })));
    await refresher.page.goto(`${base}/sdk/huddle.js`); // any page of the hub: the SDK is imported below
    refresher.startedAt = Date.now();
    await refresher.page.evaluate(async ({ first, fresh }) => {
      const { join } = await import('/sdk/huddle.js');
      const log = { asked: 0, closed: null, failed: [] };
      Object.assign(window, { refreshLog: log });
      const meeting = await join({ token: first, media: null, getToken: async () => { log.asked += 1; return fresh; }, on: {
        closed: (e) => { log.closed = e.detail.code; },
        'token-refresh-failed': (e) => { log.failed.push(e.detail.code); },
      } });
      Object.assign(window, { refreshMeeting: meeting });
    }, { first, fresh });
  });

  await check('all four join by clicking Join and see each other\'s video (full mesh)', async () => {
    for (const p of everyone) await p.page.getByRole('button', { name: 'Join' }).click();
    for (const p of everyone) {
      await until(`${p.name} to be welcomed`, () => hook(p.page, () => window.huddleTest.joined()), Boolean);
      await expectMediaMode(p, 'mesh');
    }
    for (const p of everyone) await expectVideoFrom(p, others(p));
    await screenshot(host.page, '01-main-room.png');
  });

  await check('the laptop page fits the window: the stage is in view and the page does not scroll; tiles are in a stable order, host first; the phone shows a speaker, its own video as an overlay and the controls at the bottom (44 px targets)', async () => {
    await expectInView(host.page, '#stage', 'the host\'s stage', { minHeight: 400 });
    await expectInView(host.page, '.controls', 'the host\'s controls');
    for (const p of [alex, sam, jordan]) {
      const order = await hook(p.page, () => window.huddleTest.tileOrder());
      if (order[0] !== 'Dr. Rivera') throw new Error(`${p.name}'s tiles start with ${order[0]}, not the host: ${order.join(', ')}`);
    }
    const phone = await until('the phone to show the speaker view', () => hook(jordan.page, () => window.huddleTest.view()), (v) => v.speaker && v.featured === 'Dr. Rivera');
    await expectInView(jordan.page, '.controls', 'the phone\'s control bar');
    await expectInView(jordan.page, '#grid .tile.self', 'the phone\'s own video overlay');
    const small = await jordan.page.evaluate(() => [...document.querySelectorAll('.controls > button')].filter((b) => b.checkVisibility())
      .map((b) => [b.id, b.getBoundingClientRect()]).filter(([, r]) => r.height < 44 || r.width < 44).map(([id, r]) => `${id} ${Math.round(r.width)}x${Math.round(r.height)}`));
    if (small.length > 0) throw new Error(`phone controls under 44 px: ${small.join(', ')}`);
    const labels = await jordan.page.evaluate(() => [...document.querySelectorAll('.controls > button')].filter((b) => b.checkVisibility()).map((b) => b.id));
    for (const want of ['mic-toggle', 'cam-toggle', 'chat-toggle', 'hand-toggle', 'more-toggle']) {
      if (!labels.includes(want)) throw new Error(`the phone's control bar lacks ${want}: ${labels.join(', ')} (${JSON.stringify(phone)})`);
    }
  });

  await check('the laptop can switch to speaker view (one large tile over a strip) and back, and hide its own video', async () => {
    const page = host.page;
    await openMore(page);
    await page.getByRole('button', { name: 'Speaker view' }).click();
    await until('the speaker view', () => hook(page, () => window.huddleTest.view()), (v) => v.speaker && v.featured === 'Alex');
    await expectInView(page, '#grid .tile.featured', 'the large tile', { minHeight: 300 });
    await page.getByRole('button', { name: 'Hide my video' }).click();
    await until('our own tile to be hidden', () => page.evaluate(() => document.querySelector('#grid .tile.self').checkVisibility()), (v) => v === false);
    await page.getByRole('button', { name: 'Hide my video' }).click();
    await page.getByRole('button', { name: 'Speaker view' }).click();
    await until('the gallery again', () => hook(page, () => window.huddleTest.view()), (v) => !v.speaker);
    await page.locator('#more-toggle').click();
  });

  await check('axe finds no serious or critical violation on a participant\'s view and the host\'s view', async () => {
    await expectAccessible(alex.page, 'the participant view');
    await expectAccessible(jordan.page, 'the phone participant view');
    await expectAccessible(host.page, 'the host view');
    await tab(host.page, 'People');
    await expectAccessible(host.page, 'the host view (People)');
    await tab(host.page, 'Host');
    await expectAccessible(host.page, 'the host view (Host)');
    await tab(host.page, 'Chat');
    // What axe cannot judge: landmarks, the activity log reachable by keyboard, a skip link to the
    // chat, the countdown not read every second (a polite announcer says its milestones), no emoji.
    const a11y = await host.page.evaluate(() => ({
      main: [...document.querySelectorAll('main')].filter((m) => m.checkVisibility()).length,
      aside: !!document.querySelector('aside#side'),
      activity: document.getElementById('audit-log').tabIndex,
      skip: document.getElementById('skip-chat').getAttribute('href'),
      countdown: document.getElementById('countdown').getAttribute('aria-live'),
      announcer: document.getElementById('announcer').getAttribute('aria-live'),
      assertive: [...document.querySelectorAll('[aria-live="assertive"]')].map((e) => e.id),
      emoji: /[\u{1F300}-\u{1FAFF}\u{2600}-\u{27BF}]/u.test(document.body.innerText),
    }));
    if (a11y.main !== 1 || !a11y.aside || a11y.activity !== 0 || a11y.skip !== '#chat-input' || a11y.countdown !== 'off' ||
      a11y.announcer !== 'polite' || a11y.assertive.length > 0 || a11y.emoji) throw new Error(`accessibility basics: ${JSON.stringify(a11y)}`);
    const first = await host.page.evaluate(() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
      .find((e) => e.tabIndex >= 0 && !e.closest('[hidden]') && !e.hidden)?.id);
    if (first !== 'skip-chat') throw new Error(`the first thing to Tab to is #${first}, not the skip link`);
    await host.page.locator('#skip-chat').focus();
    await expectInView(host.page, '#skip-chat', 'the focused skip link');
    await host.page.keyboard.press('Enter');
    await until('the skip link to put the focus in the chat box', () => host.page.evaluate(() => document.activeElement?.id), (id) => id === 'chat-input');
  });

  await check('muting is shown on the others\' tiles, and unmuting clears it', async () => {
    const badgesOfAlex = (p) => hook(p.page, () => window.huddleTest.tileState()).then((t) => t.find((x) => x.name === 'Alex')?.badges ?? null);
    await alex.page.getByRole('button', { name: 'Mute microphone' }).click();
    for (const p of [host, sam, jordan]) await until(`${p.name} to show Alex muted`, () => badgesOfAlex(p), (b) => b && b.includes('Muted'));
    await alex.page.getByRole('button', { name: 'Unmute microphone' }).click();
    for (const p of [host, sam, jordan]) await until(`${p.name} to show Alex unmuted`, () => badgesOfAlex(p), (b) => b && !b.includes('Muted'));
  });

  await check('keyboard shortcuts: Alt+M mutes and unmutes, Alt+V turns the camera off and on (seen on the host\'s page, with initials while it is off)', async () => {
    const badgesOfAlex = () => hook(host.page, () => window.huddleTest.tileState()).then((t) => t.find((x) => x.name === 'Alex')?.badges ?? []);
    await alex.page.locator('#stage').focus();
    await alex.page.keyboard.press('Alt+KeyM');
    await until('the host to show Alex muted', badgesOfAlex, (b) => b.includes('Muted'));
    await alex.page.keyboard.press('Alt+KeyM');
    await until('the host to show Alex unmuted', badgesOfAlex, (b) => !b.includes('Muted'));
    await alex.page.keyboard.press('Alt+KeyV');
    await until('the host to show Alex\'s camera off', badgesOfAlex, (b) => b.includes('Camera off'));
    await until('Alex\'s tile to show initials instead of a blank video', () => host.page.evaluate(() => {
      const tile = [...document.querySelectorAll('#grid .tile')].find((t) => t.querySelector('.name')?.textContent === 'Alex');
      const initials = tile?.querySelector('.initials');
      return initials?.checkVisibility() ? initials.textContent : null;
    }), (t) => t === 'A');
    await alex.page.keyboard.press('Alt+KeyV');
    await until('the host to show Alex\'s camera on', badgesOfAlex, (b) => !b.includes('Camera off'));
  });

  await check('switching the camera (selectDevices) keeps video flowing to everyone', async () => {
    await openMore(host.page);
    await host.page.getByText('Camera and microphone', { exact: true }).click();
    const camera = host.page.locator('#devices').getByLabel('Camera', { exact: true });
    await until('the camera list to fill', () => camera.locator('option').count(), (n) => n > 0);
    await host.page.getByRole('button', { name: 'Use these' }).click();
    await until('the switch to be confirmed', () => host.page.locator('#connection-status').textContent(), (t) => t.includes('Devices switched'));
    for (const p of [alex, sam, jordan]) await expectVideoFrom(p, others(p));
    await host.page.getByText('Camera and microphone', { exact: true }).click();
    await host.page.locator('#more-toggle').click();
  });

  await check('mesh: the host shares their screen (a second video track to each peer, named in the signals): the phone and the laptops show it large and decode its frames; Stop sharing takes it away', async () => {
    const started = Date.now();
    await host.page.getByRole('button', { name: 'Share screen' }).click();
    const took = [];
    for (const p of [alex, sam, jordan]) {
      const n = await expectScreenFrom(p, 'Dr. Rivera');
      took.push(`${p.name} ${((Date.now() - started) / 1000).toFixed(1)} s (${n} frames)`);
    }
    log(`# mesh: the host's screen decoding on the others' pages (from the click): ${took.join(', ')}`);
    await screenshot(jordan.page, '03b-phone-screen-share.png');
    await host.page.getByRole('button', { name: 'Stop sharing' }).first().click();
    for (const p of everyone) await noScreens(p);
    for (const p of [alex, sam, jordan]) await expectVideoFrom(p, others(p));
  });

  await check('a scheduled end 2 minutes ahead (server API): every page, the phone too, shows "The session ends in 2 minutes (at …)"; the host\'s "Extend session +10 min" moves it, and the notice gives way to the new end; clearing the end hides the control', async () => {
    const sessionAlerts = (p) => hook(p.page, () => window.huddleTest.alertItems().filter((a) => a.kind === 'session').map((a) => a.text));
    const endsAt = Date.now() + 120_000;
    await putMeeting(base, apiToken, 'demo', { ends_at: new Date(endsAt).toISOString() });
    // Within the hub's warning window (5 minutes) already: the notice comes at once.
    const timeOf = (at) => host.page.evaluate((t) => new Date(t).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' }), at);
    const endText = await timeOf(endsAt);
    const ending = `The session ends in 2 minutes (at ${endText}).`;
    for (const p of everyone) await until(`${p.name} to show the session's end`, () => sessionAlerts(p), (a) => a.length === 1 && a[0] === ending);
    await expectInView(jordan.page, '#alerts .alert.session', 'the phone\'s notice of the end');
    await snap(jordan.page, 'phone-session-ending.png');
    await expectAccessible(jordan.page, 'the phone with the notice of the end');
    // Its words change about once a minute: polite, never an assertive region (nor role=alert).
    const live = await jordan.page.evaluate(() => {
      const el = document.querySelector('#alerts .alert.session');
      return { assertive: !!el?.closest('[aria-live="assertive"], [role="alert"]'), region: el?.closest('[aria-live]')?.getAttribute('aria-live') };
    });
    if (live.assertive || live.region !== 'polite') throw new Error(`the notice of the end is not in a polite live region: ${JSON.stringify(live)}`);
    // Participants have no such control; the host has it where host controls are.
    if (await alex.page.locator('#extend-session').isVisible()) throw new Error('a participant sees "Extend session"');
    await tab(host.page, 'Host');
    await until('the host\'s panel to say when the session ends', () => host.page.locator('#session-end-text').textContent(),
      (t) => t === `This session ends at ${endText}.`);
    await host.page.getByRole('button', { name: 'Extend session +10 min' }).click();
    const moved = `The session now ends at ${await timeOf(endsAt + 600_000)}.`;
    for (const p of everyone) await until(`${p.name}'s notice to give way to the new end`, () => sessionAlerts(p), (a) => a.length === 1 && a[0] === moved);
    await until('the host to be told', () => host.page.locator('#host-status').textContent(), (t) => t === 'Session extended by 10 minutes.');
    // The partner takes the end away: no end, no control (and nothing left to end the meeting later).
    await putMeeting(base, apiToken, 'demo', {});
    await until('the control to go', () => host.page.locator('#session-end').isVisible(), (v) => v === false);
    for (const p of everyone) {
      await until(`${p.name} to be told there is no set end`, () => sessionAlerts(p), (a) => a.join() === 'The session no longer has a set end time.');
      await p.page.getByRole('button', { name: 'Dismiss: The session no longer has a set end time.' }).click();
      await until(`${p.name}'s alerts to be clear`, () => hook(p.page, () => window.huddleTest.alertItems()), (a) => a.length === 0);
    }
    await tab(host.page, 'Chat');
  });

  const nonce = randomBytes(4).toString('hex');
  const chatOf = (p) => hook(p.page, () => window.huddleTest.chatLog());

  await check('group chat sent from the chat box arrives on every page', async () => {
    await alex.page.getByLabel('Message', { exact: true }).fill(`Hello everyone ${nonce}`);
    await alex.page.getByRole('button', { name: 'Send' }).click();
    for (const p of everyone) {
      await until(`${p.name} to get Alex's message`, () => chatOf(p),
        (log) => log.some((m) => m.text === `Hello everyone ${nonce}` && m.from === 'Alex' && !m.private), { show: (l) => `${l.length} messages` });
    }
    // The phone's chat is a closed sheet: the message counts as unread, on the button and in the title.
    await until('the phone to count it unread', () => hook(jordan.page, () => [window.huddleTest.title(), document.querySelector('#chat-toggle .count')?.textContent ?? '']),
      ([title, count]) => /^\(\d+\) /.test(title) && Number(count) >= 1);
    await jordan.page.getByRole('button', { name: /^Chat/ }).click();
    await until('reading it to clear the count', () => hook(jordan.page, () => window.huddleTest.title()), (t) => !t.startsWith('('));
    // The chat is a sheet above the control bar: Mute stays in reach while typing.
    await expectInView(jordan.page, '#chat-input', 'the phone\'s chat box');
    await expectInView(jordan.page, '#mic-toggle', 'the phone\'s mute button with the chat open');
    await snap(jordan.page, 'phone-chat-sheet.png');
    await jordan.page.getByRole('button', { name: /^Chat/ }).click();
  });

  await check('a private message reaches only its recipient and its sender', async () => {
    await sam.page.getByLabel('Send to').selectOption({ label: 'Jordan (private)' });
    await sam.page.getByLabel('Message', { exact: true }).fill(`Just for Jordan ${nonce}`);
    await sam.page.getByRole('button', { name: 'Send' }).click();
    // A group message sent after it is a barrier: the hub keeps each recipient's messages in
    // order, so once it has arrived, the private one would have too.
    await sam.page.getByLabel('Send to').selectOption({ label: 'Everyone in this room' });
    await sam.page.getByLabel('Message', { exact: true }).fill(`After the private one ${nonce}`);
    await sam.page.getByRole('button', { name: 'Send' }).click();
    for (const p of everyone) {
      const log = await until(`${p.name} to get Sam's group message`, () => chatOf(p),
        (l) => l.some((m) => m.text === `After the private one ${nonce}`), { show: (l) => `${l.length} messages` });
      const got = log.filter((m) => m.text === `Just for Jordan ${nonce}`);
      const shouldHave = p === sam || p === jordan;
      if (shouldHave && !(got.length === 1 && got[0].private && got[0].from === 'Sam' && got[0].to === 'Jordan')) {
        throw new Error(`${p.name} should have the private message once, marked private: ${JSON.stringify(got.map((m) => [m.from, m.to, m.private]))}`);
      }
      if (!shouldHave && got.length > 0) throw new Error(`${p.name} received a private message meant for Jordan`);
    }
    // Jordan's chat is out of sight (a phone): an alert above the stage, without the text.
    const alert = await until('Jordan to get a private-message alert', () => hook(jordan.page, () => window.huddleTest.alertItems()),
      (a) => a.some((x) => x.kind === 'private' && x.text === 'Private message from Sam'));
    if (JSON.stringify(alert).includes(nonce)) throw new Error('the private-message alert shows the message');
    await expectInView(jordan.page, '#alerts .alert.private', 'Jordan\'s private-message alert');
    await jordan.page.getByRole('button', { name: 'Read the private message from Sam' }).click();
    await until('the alert to go once read', () => hook(jordan.page, () => window.huddleTest.alertItems()), (a) => !a.some((x) => x.kind === 'private'));
    await jordan.page.getByRole('button', { name: 'Close panel' }).click();
  });

  await check('a reaction: Alex picks "Me too" from React; every page shows it on Alex\'s tile (Alex\'s own too), in words, not emoji, for a few seconds; "Allow reactions" off in the Host tab makes Alex\'s React unavailable with the reason', async () => {
    await alex.page.getByRole('button', { name: 'React', exact: true }).click();
    await alex.page.getByRole('button', { name: 'Me too', exact: true }).click();
    const sentAt = Date.now();
    for (const p of everyone) {
      await until(`${p.name} to show Alex's reaction on Alex's tile`, () => hook(p.page, () => window.huddleTest.reactions()),
        (r) => r.some((x) => x.reaction === 'me_too' && x.text === 'Me too' && (p === alex ? x.self : x.name === 'Alex')), { timeout: 5000, every: 100 });
    }
    // Never in an assertive live region, never an emoji.
    const emoji = await host.page.evaluate(() => /[\u{1F300}-\u{1FAFF}\u{2600}-\u{27BF}]/u.test(document.getElementById('grid').innerText)
      || document.querySelector('#grid [aria-live="assertive"], #grid [role="alert"]') != null);
    if (emoji) throw new Error('the reaction is an emoji or in an assertive live region');
    await until('the reaction to go after a few seconds', () => hook(host.page, () => window.huddleTest.reactions()), (r) => r.length === 0, { timeout: 6000, every: 200 });
    const shownFor = (Date.now() - sentAt) / 1000;
    if (shownFor < 2) throw new Error(`the reaction went after ${shownFor} s`);
    log(`# the reaction was shown for about ${shownFor.toFixed(1)} s`);
    await tab(host.page, 'Host');
    await host.page.getByLabel('Allow reactions').uncheck();
    await until('Alex\'s React to be unavailable, with the reason', () => hook(alex.page, () => window.huddleTest.reactButton()),
      (b) => !b.hidden && b.unavailable && /turned them off/.test(b.hint));
    await host.page.getByLabel('Allow reactions').check();
    await until('Alex\'s React to be available again', () => hook(alex.page, () => window.huddleTest.reactButton()), (b) => !b.hidden && !b.unavailable);
    await tab(host.page, 'Chat');
  });

  await check('the Staff tab: hosts and co-hosts only; Sam, made a co-host, gets the host\'s staff message (unread count) while no participant page has the tab or ever receives it; made a participant again, Sam\'s tab and its log go; axe finds nothing serious on the host\'s Staff tab', async () => {
    for (const p of [alex, sam, jordan]) {
      const st = await hook(p.page, () => window.huddleTest.staff());
      if (st.tab || st.count) throw new Error(`${p.name} (a participant) has a Staff tab: ${JSON.stringify(st)}`);
    }
    await tab(host.page, 'People');
    await host.page.locator('#roster summary[aria-label="Actions for Sam"]').click();
    await host.page.getByRole('button', { name: 'Make co-host — Sam' }).click();
    await until('Sam to get the Staff tab', () => hook(sam.page, () => window.huddleTest.staff()), (st) => st.tab);
    await tab(host.page, 'Staff');
    await expectAccessible(host.page, 'the host view (Staff)');
    await host.page.getByLabel('Message to hosts and co-hosts').fill(`Staff only ${nonce}`);
    await host.page.getByRole('button', { name: 'Send to staff' }).click();
    await until('the host\'s own staff message in the Staff tab', () => hook(host.page, () => window.huddleTest.staff()),
      (st) => st.log.some((x) => x.from === 'You' && x.text === `Staff only ${nonce}`));
    await until('Sam to get it, counted unread', () => hook(sam.page, () => window.huddleTest.staff()),
      (st) => st.count === 1 && st.log.some((x) => x.from === 'Dr. Rivera' && x.text === `Staff only ${nonce}`));
    // A group message after it is a barrier: once it arrived, the staff one would have too.
    await tab(host.page, 'Chat');
    await host.page.getByLabel('Message', { exact: true }).fill(`After staff ${nonce}`);
    await host.page.getByRole('button', { name: 'Send', exact: true }).click();
    for (const p of [alex, jordan]) {
      await until(`${p.name} to get the group message`, () => chatOf(p), (l) => l.some((m) => m.text === `After staff ${nonce}`), { show: (l) => `${l.length} messages` });
      const st = await hook(p.page, () => window.huddleTest.staff());
      const shown = await p.page.evaluate((t) => document.body.innerText.includes(t), `Staff only ${nonce}`);
      if (st.tab || st.received !== 0 || st.log.length > 0 || shown) throw new Error(`${p.name} got the staff channel: ${JSON.stringify({ ...st, log: st.log.length, shown })}`);
    }
    await tab(host.page, 'People');
    await host.page.locator('#roster summary[aria-label="Actions for Sam"]').click();
    await host.page.getByRole('button', { name: 'Make participant — Sam' }).click();
    await until('Sam\'s Staff tab, count and log to go', () => hook(sam.page, () => window.huddleTest.staff()), (st) => !st.tab && st.count === 0 && st.log.length === 0);
    await tab(host.page, 'Chat');
  });

  await check('chat that is not kept: the host turns off "Keep chat history for late joiners"; every page says "Messages in this meeting are not saved", a message sent then still arrives, and someone who joins after it gets no history; turned back on, the line goes; axe finds nothing serious on Alex\'s chat with the line', async () => {
    const NOT_KEPT = 'Messages in this meeting are not saved';
    await tab(host.page, 'Host');
    await host.page.getByLabel('Keep chat history for late joiners').uncheck();
    for (const p of everyone) await until(`${p.name} to say messages are not saved`, () => hook(p.page, () => window.huddleTest.chatNotKept()), (t) => t === NOT_KEPT);
    await alex.page.getByLabel('Message', { exact: true }).fill(`Not kept ${nonce}`);
    await alex.page.getByRole('button', { name: 'Send', exact: true }).click();
    for (const p of everyone) await until(`${p.name} to get the message sent while chat is not kept`, () => chatOf(p), (l) => l.some((m) => m.text === `Not kept ${nonce}`), { show: (l) => `${l.length} messages` });
    await expectAccessible(alex.page, 'a participant\'s chat that is not kept');
    // A late joiner (an observer, the SDK alone: quick, and it sends no media) gets no history at all.
    const token = await mintToken({ role: 'observer', sub: 'late2', name: 'Lou' });
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${base}/sdk/huddle.js`);
      const late = await page.evaluate(async (token) => {
        const { join } = await import('/sdk/huddle.js');
        const meeting = await join({ token, media: null });
        const seen = { history: meeting.chatHistory.length, kept: meeting.chatKept };
        meeting.leave();
        return seen;
      }, token);
      if (late.history !== 0 || late.kept !== false) throw new Error(`the late joiner got ${JSON.stringify(late)}`);
    } finally {
      await context.close();
    }
    await host.page.getByLabel('Keep chat history for late joiners').check();
    for (const p of everyone) await until(`${p.name}'s line to go once chat is kept again`, () => hook(p.page, () => window.huddleTest.chatNotKept()), (t) => t === '');
    await tab(host.page, 'Chat');
  });

  await check('the group\'s agreement: the host sets it in the Host tab; the seated participants are asked again in a dialog over the meeting and agree; a newcomer on a phone (390x844) gets the agreement screen instead of the meeting (focus on its heading, axe clean, large text that never scrolls sideways, "I agree" in view, no tiles, roster or chat), agrees and is in; the host sees who is reading, then who agreed; removed, nobody is asked', async () => {
    // Several paragraphs, long enough to scroll inside its box on a phone, and one long unbroken word.
    const AGREEMENT = [
      'What is said in the group stays in the group. Do not share anyone\'s story, name or picture outside it.',
      'Use first names only.\nNo recordings or screenshots, of anyone, ever.',
      'Listen without fixing. Speak from your own experience ("I", not "you").',
      'You may pass: nobody has to speak. Step out if you need to, and tell a host if you are not safe.',
      'Be on time and stay for the whole session when you can; let the group know if you will be away.',
      'Crisis line: https://clinic.example/support/crisis-line-and-after-hours-help-for-group-members',
    ].join('\n\n');
    await tab(host.page, 'Host');
    await host.page.getByLabel('New text', { exact: false }).fill(AGREEMENT);
    await host.page.getByRole('button', { name: 'Save agreement' }).click();
    await until('the host\'s Host tab to show the agreement in force', () => hook(host.page, () => window.huddleTest.agreementAdmin()),
      (a) => a.status.startsWith('Everyone but hosts') && a.pending.length === 3);
    // Seated, the others are asked again over the meeting (they stay); each agrees.
    for (const p of [alex, sam, jordan]) {
      await until(`${p.name} to be asked in a dialog over the meeting`, () => hook(p.page, () => window.huddleTest.agreement()), (a) => a.where === 'dialog' && a.paragraphs.length === 6);
      await p.page.locator('#agreement-dialog').getByRole('button', { name: 'I agree' }).click();
    }
    await until('the host to see the three agree', () => hook(host.page, () => window.huddleTest.agreementAdmin()),
      (a) => a.pending.length === 0 && ['Alex', 'Sam', 'Jordan'].every((n) => a.accepted.includes(n)));
    for (const p of [alex, sam, jordan]) await until(`${p.name}'s dialog to close`, () => hook(p.page, () => window.huddleTest.agreement()), (a) => a.where === '');

    const token = await mintToken({ role: 'participant', sub: 'agree1', name: 'Riley' });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(uiUrl(base, `#token=${token}`));
      await page.getByRole('button', { name: 'Join' }).click();
      await page.getByRole('heading', { name: 'Before you join: the group\'s agreement' }).waitFor();
      const shown = await hook(page, () => ({
        ...window.huddleTest.agreement(), focus: document.activeElement?.id ?? '', joined: window.huddleTest.joined(),
        peers: window.huddleTest.peers().length, tiles: window.huddleTest.tiles().length, chat: window.huddleTest.chatLog().length,
        meetingShown: !document.getElementById('meeting').hidden, roster: document.querySelectorAll('#roster li').length,
        sideways: document.scrollingElement.scrollWidth > innerWidth, textSideways: (() => { const t = document.getElementById('agreement-text'); return t.scrollWidth > t.clientWidth; })(),
        fontPx: parseFloat(getComputedStyle(document.querySelector('#agreement-text p')).fontSize),
      }));
      if (shown.where !== 'screen' || shown.paragraphs.length !== 6 || shown.paragraphs[1] !== 'Use first names only.\nNo recordings or screenshots, of anyone, ever.') throw new Error(`the agreement screen shows ${JSON.stringify({ where: shown.where, paragraphs: shown.paragraphs.length })}`);
      if (shown.focus !== 'agreement-heading') throw new Error(`focus is on #${shown.focus}, not the heading`);
      if (shown.joined || shown.peers || shown.tiles || shown.chat || shown.meetingShown || shown.roster) throw new Error(`before agreeing Riley's page has ${JSON.stringify(shown)}`);
      if (shown.sideways || shown.textSideways) throw new Error('the agreement scrolls sideways on a phone');
      if (shown.fontPx < 17) throw new Error(`the agreement's text is ${shown.fontPx} px: too small on a phone`);
      await expectInView(page, '#agreement-accept', '"I agree" on the phone', { minHeight: 44 });
      await expectInView(page, '#agreement-leave', '"Leave" on the phone', { minHeight: 44 });
      await until('the host to see someone reading the agreement', () => hook(host.page, () => window.huddleTest.agreementAdmin()), (a) => a.reading.length === 1);
      await expectAccessible(page, 'the agreement screen on a phone');
      await snap(page, 'agreement-phone.png');
      await page.getByRole('button', { name: 'I agree' }).click();
      await until('Riley to be in the meeting', () => hook(page, () => ({ joined: window.huddleTest.joined(), agreement: window.huddleTest.agreement().where, peers: window.huddleTest.peers().length })),
        (v) => v.joined && v.agreement === '' && v.peers === 4);
      await until('the host to see Riley agreed, nobody reading', () => hook(host.page, () => window.huddleTest.agreementAdmin()),
        (a) => a.accepted.includes('Riley') && a.reading.length === 0);
      await leaveVia(page, 'Leave');
      await until('Riley to have left', () => hook(page, () => window.huddleTest.ended()), (t) => t !== '');
      if (errors.length) throw new Error(`page errors on Riley's page: ${errors.join('; ')}`);
    } finally {
      await context.close();
    }
    await host.page.getByRole('button', { name: 'Remove agreement' }).click();
    await until('the host\'s Host tab to say there is no agreement', () => hook(host.page, () => window.huddleTest.agreementAdmin()), (a) => a.status.startsWith('No agreement'));
    for (const p of everyone) await until(`${p.name}'s room to be the four again`, () => hook(p.page, () => window.huddleTest.peers().length), (n) => n === 3);
    await tab(host.page, 'Chat');
  });

  await check('the breakout preview shows who goes where before Start, never proposes a room of one, and people move by drag and drop', async () => {
    const page = host.page;
    await tab(page, 'Host');
    await page.getByRole('button', { name: 'Split into breakout rooms…' }).click();
    const dialog = page.getByRole('dialog');
    const preview = () => page.evaluate(() => [...document.querySelectorAll('#split-preview .split-room')].map((r) => ({
      room: r.dataset.room, people: [...r.querySelectorAll('.person-chip')].map((c) => c.dataset.name), alone: !!r.querySelector('.alone'),
    })));
    // Three participants (the host stays in the main room): two rooms would leave one alone.
    for (const strategy of ['even', 'random', 'pairs']) {
      await dialog.getByLabel('How to assign people').selectOption(strategy);
      if (strategy !== 'pairs') await dialog.getByLabel('Number of rooms').fill('2');
      const rooms = await until(`the ${strategy} preview`, preview, (v) => v.length > 1);
      const breakouts = rooms.filter((x) => x.room !== 'main');
      if (breakouts.some((x) => x.people.length === 1) || breakouts.length !== 1 || breakouts[0].people.length !== 3) {
        throw new Error(`${strategy}: the preview proposes ${JSON.stringify(rooms)}`);
      }
      const stays = rooms.find((x) => x.room === 'main').people;
      if (stays.join() !== 'Dr. Rivera') throw new Error(`${strategy}: the main room keeps ${stays.join(', ')}`);
    }
    const note = await page.locator('#split-note').textContent();
    if (!/one of three/.test(note)) throw new Error(`the pairs preview does not say what happens to the odd one out: ${note}`);
    await dialog.getByLabel('How to assign people').selectOption('even');
    await dialog.getByLabel('Number of rooms').fill('2');
    await until('the note to say why one room', () => page.locator('#split-note').textContent(), (t) => /at most 1 room/.test(t));
    await dialog.getByLabel('Room 1 name').fill('Circle A');
    await dialog.getByLabel('Room 1 topic').fill('A small win this week');
    await snap(page, 'breakout-preview.png');
    // By hand, from the proposal: drag Sam into room 2 and Jordan back to the main room (a room of
    // one is pointed out).
    await dialog.getByLabel('How to assign people').selectOption('manual');
    // Picked up by the name (the room picker beside it is for the keyboard).
    const grab = { sourcePosition: { x: 6, y: 6 } };
    await dialog.locator('.person-chip[data-name="Sam"]').dragTo(dialog.locator('.split-room[data-room="1"] .members'), grab);
    await dialog.locator('.person-chip[data-name="Jordan"]').dragTo(dialog.locator('.split-room[data-room="main"] .members'), grab);
    const dragged = await until('the drops to move Sam and Jordan', preview,
      (v) => v.find((x) => x.room === '0')?.people.join() === 'Alex' && v.find((x) => x.room === '1')?.people.join() === 'Sam');
    if (!dragged.find((x) => x.room === '1').alone) throw new Error('a room of one is not pointed out');
    if ((await dialog.getByLabel('Alex', { exact: true }).inputValue()) !== '0') throw new Error('Alex\'s room picker does not follow the drop');
    await snap(page, 'breakout-preview-dragged.png');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  const topics = { a: `A small win this week ${nonce}`, b: `Something you look forward to ${nonce}` };
  await check('the host splits into two breakouts of two with the split dialog (host in one)', async () => {
    const page = host.page;
    await tab(page, 'Host');
    await page.getByRole('button', { name: 'Split into breakout rooms…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('How to assign people').selectOption('manual');
    await dialog.getByLabel('Number of rooms').fill('2');
    await dialog.getByLabel('Room 1 name').fill('Circle A');
    await dialog.getByLabel('Room 1 topic').fill(topics.a);
    await dialog.getByLabel('Room 2 name').fill('Circle B');
    await dialog.getByLabel('Room 2 topic').fill(topics.b);
    await dialog.getByLabel('Duration in minutes').fill('10');
    await dialog.getByLabel('Dr. Rivera (you)').selectOption({ label: 'Room 1' });
    await dialog.getByLabel('Alex', { exact: true }).selectOption({ label: 'Room 1' });
    await dialog.getByLabel('Sam', { exact: true }).selectOption({ label: 'Room 2' });
    await dialog.getByLabel('Jordan', { exact: true }).selectOption({ label: 'Room 2' });
    const missing = await page.evaluate(unlabelledControls);
    if (missing.length > 0) throw new Error(`controls without a label: ${missing.join(', ')}`);
    await dialog.getByRole('button', { name: 'Start breakouts' }).click();
    await until('the split dialog to close', () => dialog.isVisible(), (v) => v === false);
    const plan = [[host, 'Circle A', topics.a, alex], [alex, 'Circle A', topics.a, host],
      [sam, 'Circle B', topics.b, jordan], [jordan, 'Circle B', topics.b, sam]];
    for (const [p, room, topic] of plan) {
      await until(`${p.name} to be in ${room} with its topic shown`, () => hook(p.page, () => ({
        name: window.huddleTest.roomName(), topic: window.huddleTest.topic(),
      })), (v) => v.name === room && v.topic.includes(topic));
    }
    // The phone sees where it went without scrolling: the room's name and a toast.
    await expectInView(jordan.page, '#room-name', 'Jordan\'s room name');
    await until('Jordan\'s toast to say the room', () => jordan.page.evaluate(() => document.getElementById('connection-status').textContent), (t) => t.includes('You are now in Circle B'));
    await expectInView(jordan.page, '#connection-status', 'Jordan\'s room-change toast');
    await expectInView(host.page, '#stage', 'the host\'s stage after the split', { minHeight: 300 });
    for (const [p, , , partner] of plan) await expectVideoFrom(p, [partner.name]);
    await until('the countdown to show on a participant page', () => hook(sam.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes('Breakout rooms close in')));
    await expectInView(jordan.page, '#countdown', 'Jordan\'s countdown');
    await screenshot(host.page, '02-breakouts.png');
    await screenshot(jordan.page, '02-breakouts-phone.png');
  });

  await check('a host broadcast is shown prominently in every room (in view on the phone), and can be dismissed', async () => {
    await tab(host.page, 'Host');
    await host.page.getByLabel('Message to every room').fill(`Two minutes left ${nonce}`);
    await host.page.getByRole('button', { name: 'Broadcast' }).click();
    for (const p of everyone) {
      await until(`${p.name} to show the broadcast`, () => hook(p.page, () => window.huddleTest.banners()),
        (b) => b.some((t) => t.includes(`Two minutes left ${nonce}`) && t.includes('Dr. Rivera')));
    }
    await expectInView(jordan.page, '#banners .banner.broadcast', 'the broadcast on the phone');
    await screenshot(jordan.page, 'participant-phone.png');
    await sam.page.getByRole('button', { name: 'Dismiss announcement' }).click();
    await until('Sam\'s broadcast to go', () => hook(sam.page, () => window.huddleTest.banners()), (b) => !b.some((t) => t.includes(`Two minutes left ${nonce}`)));
  });

  await check('"Message this room" in the host\'s room overview reaches Circle B only, labelled for that room (Sam and Jordan; the host sees where it went; not Alex)', async () => {
    await tab(host.page, 'People');
    await host.page.getByRole('button', { name: 'Message Circle B' }).click();
    const dialog = host.page.locator('#room-message-dialog');
    await dialog.getByLabel('What to tell this room').fill(`Five minutes left in here ${nonce}`);
    await dialog.getByRole('button', { name: 'Send' }).click();
    for (const p of [sam, jordan]) {
      await until(`${p.name} to show the room's message`, () => hook(p.page, () => window.huddleTest.banners()),
        (b) => b.some((t) => t.includes(`Five minutes left in here ${nonce}`) && t.includes('Dr. Rivera, to this room')));
    }
    await until('the host to see where it went', () => hook(host.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes(`Five minutes left in here ${nonce}`) && t.includes('to Circle B')));
    await sleep(300);
    if ((await hook(alex.page, () => window.huddleTest.banners())).some((t) => t.includes('Five minutes left in here'))) throw new Error('Alex, in Circle A, got Circle B\'s message');
  });

  await check('"Ask for help" in a breakout raises an alert on the host\'s page', async () => {
    await sam.page.getByRole('button', { name: 'Ask for help' }).click();
    await until('the host to see the help request', () => hook(host.page, () => window.huddleTest.alerts()),
      (a) => a.some((t) => t === 'Sam asks for help in Circle B'));
    // Above the stage, in view, with the stage still in view below it.
    await expectInView(host.page, '#alerts .alert.help', 'the help request');
    await expectInView(host.page, '#stage', 'the host\'s stage under the alert', { minHeight: 300 });
    const [alertBox, stageBox] = await Promise.all(['#alerts .alert.help', '#stage'].map((s) => host.page.evaluate(whereIs, s)));
    if (!(alertBox.bottom <= stageBox.top)) throw new Error(`the help request is not above the stage: ${JSON.stringify([alertBox, stageBox])}`);
    const title = await hook(host.page, () => window.huddleTest.title());
    if (!/^\(\d+\) Circle A/.test(title)) throw new Error(`the host's page title does not count the alert: ${title}`);
    await screenshot(host.page, '03-help-request.png');
    await screenshot(host.page, 'host-laptop.png');
    await host.page.locator('#alerts').getByRole('button', { name: 'Go to Circle B' }).click();
    await until('the host to be in Circle B', () => hook(host.page, () => window.huddleTest.roomName()), (n) => n === 'Circle B');
    await expectInView(host.page, '#stage', 'the host\'s stage after "Go to"', { minHeight: 300 });
    await until('the help request to go once the host is there', () => hook(host.page, () => window.huddleTest.alerts()), (a) => a.length === 0);
    await expectVideoFrom(host, [sam.name, jordan.name]);
  });

  await check('the host merges with a 2 s countdown and everyone sees all three others again', async () => {
    const notices = () => Promise.all(everyone.map((p) => hook(p.page, () => window.huddleTest.closingNotices())));
    const before = await notices();
    await tab(host.page, 'Host');
    await host.page.getByLabel('Countdown (seconds)').fill('2');
    await host.page.getByRole('button', { name: 'Bring everyone back' }).click();
    for (const p of everyone) {
      await until(`${p.name} to be back in the main room`, () => hook(p.page, () => window.huddleTest.room()),
        (r) => r && r.id === 'main');
    }
    const after = await notices();
    everyone.forEach((p, i) => {
      if (!(after[i] > before[i])) throw new Error(`${p.name} got no breakout_closing countdown`);
    });
    for (const p of everyone) await expectVideoFrom(p, others(p));
    await screenshot(host.page, '04-merged.png');
  });

  await check('participants choose their room; the host extends the timer and brings everyone back', async () => {
    const page = host.page;
    await tab(page, 'Host');
    await page.getByRole('button', { name: 'Split into breakout rooms…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('How to assign people').selectOption('choose');
    await dialog.getByLabel('Number of rooms').fill('2');
    await dialog.getByLabel('Room 1 name').fill('Quiet corner');
    await dialog.getByLabel('Room 2 name').fill('Garden');
    await dialog.getByLabel('Duration in minutes').fill('5');
    await dialog.getByRole('button', { name: 'Start breakouts' }).click();
    await until('the split dialog to close', () => dialog.isVisible(), (v) => v === false);
    await expectInView(jordan.page, '#choose-panel', 'the choice of rooms on the phone');
    await alex.page.getByRole('button', { name: /^Garden/ }).click();
    await until('Alex to be in the Garden', () => hook(alex.page, () => window.huddleTest.roomName()), (n) => n === 'Garden');
    await expectVideoFrom(alex, []);
    // The host visits the Garden from the People tab: the stage, not the panel, is what they see.
    await tab(page, 'People');
    await page.getByLabel('Go to room').selectOption({ label: 'Garden' });
    await page.locator('#visit-form').getByRole('button', { name: 'Visit' }).click();
    await until('the host to be in the Garden', () => hook(page, () => window.huddleTest.roomName()), (n) => n === 'Garden');
    await expectInView(page, '#stage', 'the host\'s stage after "Visit"', { minHeight: 300 });
    await expectVideoFrom(alex, [host.name]);
    await tab(page, 'Host');
    const closesAt = () => hook(page, () => window.huddleTest.rooms().closesAt);
    const before = await until('the timer to run', closesAt, (t) => typeof t === 'number');
    await page.getByLabel('Add to timer (seconds)').fill('120');
    await page.getByRole('button', { name: 'Extend timer' }).click();
    await until('the timer to be 120 s later', closesAt, (t) => t === before + 120_000);
    // A help request stands until its room closes.
    await alex.page.getByRole('button', { name: 'Ask for help' }).click();
    await until('the host to see Alex\'s help request', () => hook(page, () => window.huddleTest.alerts()), (a) => a.includes('Alex asks for help in Garden'));
    await page.getByLabel('Countdown (seconds)').fill('0');
    await page.getByRole('button', { name: 'Bring everyone back' }).click();
    for (const p of everyone) {
      await until(`${p.name} to be back in the main room`, () => hook(p.page, () => window.huddleTest.room()), (r) => r && r.id === 'main');
    }
    await until('the help request of a closed room to go', () => hook(page, () => window.huddleTest.alerts()), (a) => !a.some((t) => t.includes('asks for help')));
    for (const p of everyone) await expectVideoFrom(p, others(p));
  });

  await check('rotating pairs: the host starts "Rotating pairs (icebreaker)" (no per-person preview; the dialog says who rests), sees "Round 1", brings everyone back, and "Next round" opens round 2 with the same topic and other pairs; one of the three participants rests in the main room each round', async () => {
    const page = host.page;
    const topic = `One thing you enjoy ${nonce}`;
    await tab(page, 'Host');
    await page.getByRole('button', { name: 'Split into breakout rooms…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('How to assign people').selectOption('rotate');
    await dialog.getByLabel('Duration in minutes').fill('');
    await dialog.getByLabel('Topic for every room').fill(topic);
    const note = await page.locator('#split-note').textContent();
    if (!/nobody twice until everyone has met/.test(note) || !/one person rests/.test(note)) throw new Error(`the rotate note: ${note}`);
    if (await page.locator('#split-preview').isVisible()) throw new Error('a per-person preview for pairs the hub chooses');
    await expectAccessible(page, 'the split dialog (rotating pairs)');
    await dialog.getByRole('button', { name: 'Start breakouts' }).click();
    await until('the split dialog to close', () => dialog.isVisible(), (v) => v === false);
    const nameOf = new Map(await Promise.all(everyone.map(async (p) => [await hook(p.page, () => window.huddleTest.me().id), p.name])));
    const round = async (n) => {
      await until(`the host to show "Round ${n}"`, () => hook(page, () => window.huddleTest.breakoutRound()), (t) => t === `Round ${n} of rotating pairs`);
      const rooms = await until(`round ${n}'s pair`, () => hook(page, () => window.huddleTest.rooms()), (r) => r.round === n && r.rooms.length === 2);
      const [main, pair] = rooms.rooms;
      const names = (ids) => ids.map((id) => nameOf.get(id) ?? String(id)).sort();
      if (pair.members.length !== 2 || main.members.length !== 2 || pair.topic !== topic) throw new Error(`round ${n}: ${JSON.stringify(rooms.rooms.map((r) => [r.name, r.topic === topic, names(r.members)]))}`);
      return names(pair.members).join(' and ');
    };
    const bringBack = async () => {
      await page.getByLabel('Countdown (seconds)').fill('0');
      await page.getByRole('button', { name: 'Bring everyone back' }).click();
      for (const p of everyone) await until(`${p.name} to be back in the main room`, () => hook(p.page, () => window.huddleTest.room()), (r) => r && r.id === 'main');
    };
    const first = await round(1);
    await bringBack();
    await until('"Next round" to be offered', () => page.getByRole('button', { name: 'Next round' }).isVisible(), Boolean);
    await page.getByRole('button', { name: 'Next round' }).click();
    const second = await round(2);
    if (first === second) throw new Error(`the same pair twice: ${first}`);
    log(`# round 1: ${first}; round 2: ${second}`);
    await bringBack();
    await until('the round line to go after the merge', () => hook(page, () => window.huddleTest.breakoutRound()), (t) => t === '');
  });

  await check('leaving asks first ("Stay" stays); confirmed, it closes the connections to the one who left, whose page forgets the token; the host sees "Jordan left" above the stage and in the activity feed', async () => {
    await leaveVia(jordan.page, 'Stay');
    await sleep(500);
    if (!(await hook(jordan.page, () => window.huddleTest.joined()))) throw new Error('"Stay" left the meeting');
    await leaveVia(jordan.page, 'Leave');
    for (const p of [host, alex, sam]) await expectVideoFrom(p, others(p).filter((n) => n !== 'Jordan'));
    await until('the host to be alerted', () => hook(host.page, () => window.huddleTest.alertItems()), (a) => a.some((x) => x.kind === 'left' && x.text === 'Jordan left.'));
    await until('Alex\'s chat to say so', () => alex.page.locator('#chat-log .notice').allTextContents(), (t) => t.includes('Jordan left.'));
    await until('the activity feed to say so', () => hook(host.page, () => window.huddleTest.activity()), (a) => a.some((t) => t.endsWith('Jordan left')));
    await expectTokenForgotten(jordan, 'leaving');
    await expectJoinAgainAsksForToken(jordan);
  });

  await check('the 12 s token\'s page is still in its meeting after 20 s: getToken was asked and the hub took the refresh', async () => {
    await sleep(Math.max(0, refresher.startedAt + 20_000 - Date.now()));
    const state = await refresher.page.evaluate(() => ({ ...window.refreshLog, joined: window.refreshMeeting?.joined === true }));
    if (state.closed != null || !state.joined || state.asked < 1 || state.failed.length > 0) {
      throw new Error(`after 20 s: ${JSON.stringify(state)}`);
    }
    await refresher.page.evaluate(() => window.refreshMeeting.leave());
    await refresher.page.context().close();
  });

  let embed = null;
  await check('the README\'s embedding example joins, shows everyone\'s video and chats', async () => {
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    embed = { name: 'Jordan (embed)', page, errors };
    await page.goto(`${base}/examples/embed.html${jordan.token}`);
    await until('the embed page to play video from the three others', () => page.evaluate(() =>
      [...document.querySelectorAll('video:not(#vme)')].filter((v) => v.videoWidth > 0 && !v.paused).length), (n) => n === 3);
    await until('the embed page\'s own camera to show', () => page.evaluate(() => document.getElementById('vme')?.videoWidth ?? 0), (w) => w > 0);
    for (const p of [host, alex, sam]) {
      await until(`${p.name} to get the embed page's hello`, () => chatOf(p),
        (l) => l.some((m) => m.text === 'Hello, everyone' && m.from === 'Jordan'), { show: (l) => `${l.length} messages` });
      await expectVideoFrom(p, others(p));
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  });

  await check('when the hub restarts, every page reconnects (the new hub refuses the resume: 4106, then a fresh hello) and the mesh comes back', async () => {
    const reconnecting = (p) => hook(p.page, () => window.huddleTest.banners().some((b) => b.includes('reconnecting')));
    hubDown = true;
    await hub.stop(); // going away: close 1001, reconnectable
    for (const p of [host, alex, sam]) await until(`${p.name} to say it is reconnecting`, () => reconnecting(p), Boolean);
    const port = new URL(base).port;
    await startHub(Number(port), 'hub-restarted.log', 'mesh');
    for (const p of [host, alex, sam]) {
      await until(`${p.name} to be welcomed again, as a new seat`, () => hook(p.page, () => [window.huddleTest.joined(), window.huddleTest.lastResumed()]),
        ([joined, resumed]) => joined && resumed === false);
    }
    hubDown = false; // everyone is back: a refused connection from here on is a defect
    for (const p of [host, alex, sam]) {
      // Participants back before the host waited for one (wait_for_host): let in, the page
      // shows the meeting again, not the waiting screen.
      await until(`${p.name} to show the meeting, not the waiting screen`, () => hook(p.page, () => window.huddleTest.waiting()), (w) => w === false);
      await expectVideoFrom(p, others(p));
    }
    await screenshot(host.page, '05-reconnected.png');
  });

  let observer = null;
  await check('an observer receives everyone\'s video and sends none (it never offers)', async () => {
    await embed?.page.context().close();
    const token = await mintToken({ role: 'observer', sub: 'obs1', name: 'Olive' });
    const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    observer = { name: 'Olive', page, errors };
    await page.goto(uiUrl(base, `#token=${token}`));
    await page.getByRole('button', { name: 'Join' }).click();
    await expectVideoFrom(observer, [host.name, alex.name, sam.name]);
    for (const p of [host, alex, sam]) {
      await until(`${p.name} to be connected to the observer, receiving no video from it`, () => stats(p.page),
        (s) => Object.values(s).some((v) => v.name === 'Olive' && v.connectionState === 'connected' && v.framesDecoded === 0));
    }
    const refused = await hook(page, () => window.huddleTest.signalRefusals());
    if (refused.forbidden) throw new Error(`the hub refused ${refused.forbidden} signals from the observer (offers?)`);
    const mic = await page.getByRole('button', { name: 'Mute microphone' }).isDisabled();
    if (!mic) throw new Error('the observer page offers a microphone button');
  });

  const openActions = async (name) => {
    await tab(host.page, 'People');
    await host.page.locator(`#roster summary[aria-label="Actions for ${name}"]`).click();
  };
  await check('made an observer, Alex\'s page stops sending (camera off, connections made anew without its tracks) and still receives; made a participant again, Alex is seen again', async () => {
    await observer?.page.context().close(); // fewer pages on a small machine
    const fromAlex = (p) => stats(p.page).then((s) => Object.values(s).find((v) => v.name === 'Alex') ?? null);
    await openActions('Alex');
    await host.page.getByRole('button', { name: 'Make observer (listen only) — Alex' }).click();
    await until('Alex\'s camera and microphone to be off', () => hook(alex.page, () => window.huddleTest.localTracks()), (k) => k.length === 0);
    for (const p of [host, sam]) {
      await until(`${p.name} to be connected to Alex again, receiving nothing from Alex`, () => fromAlex(p),
        (v) => v && v.connectionState === 'connected' && v.framesDecoded === 0 && v.bytesReceived === 0);
    }
    await expectVideoFrom(alex, [host.name, sam.name]);
    await sleep(2000);
    for (const p of [host, sam]) {
      const v = await fromAlex(p);
      if (!v || v.framesDecoded > 0) throw new Error(`${p.name} decodes video from Alex the observer: ${JSON.stringify(v)}`);
    }
    await openActions('Alex');
    await host.page.getByRole('button', { name: 'Make participant — Alex' }).click();
    await until('Alex\'s camera and microphone to be on again', () => hook(alex.page, () => window.huddleTest.localTracks()), (k) => k.join() === 'audio,video');
    for (const p of [host, sam, alex]) await expectVideoFrom(p, others(p).filter((n) => n !== 'Jordan'));
  });

  // ---- moderation: waiting room, hands, mute requests, pull aside, lock, remove, end ----
  const meetingPeople = [host, alex, sam];
  let casey = null;
  // Casey's page reaches the hub through a proxy whose network the resume check cuts.
  const proxy = await startProxy(Number(new URL(base).port));
  await check('the waiting room holds a newcomer on a waiting screen until the host admits them', async () => {
    await tab(host.page, 'People');
    const lobbyToggle = host.page.getByLabel('Hold new arrivals in the waiting room');
    await lobbyToggle.check();
    const token = await mintToken({ role: 'participant', sub: 'casey1', name: 'Casey' });
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    // A short heartbeat, so that the stalled-connection check is quick.
    casey = { name: 'Casey', page, errors, url: uiUrl(proxy.base, `#token=${token}`, '&heartbeat=1000,4000') };
    await page.goto(casey.url);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('heading', { name: 'Waiting for the host to let you in' }).waitFor();
    await until('the host to see Casey waiting', () => hook(host.page, () => window.huddleTest.lobby()), (l) => l.join() === 'Casey');
    await until('the host\'s page to say someone is waiting', () => hook(host.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes('Casey is waiting to join')));
    await snap(page, '06-waiting-room.png');
    await expectAccessible(page, 'the waiting screen');
    await screenshot(host.page, '07-lobby.png');
    // Muted before Casey arrives: Casey's page learns it from the roster (the SDK sends no app
    // data for it any more). Alex's page is back from being an observer: its controls must be
    // there before we use them (and if they never are, the failure says what they show).
    await until('Alex\'s page to show its meeting with the microphone on', () => alex.page.evaluate(() => {
      const mic = document.getElementById('mic-toggle');
      const screen = document.getElementById('meeting');
      return { label: mic?.getAttribute('aria-label') ?? null, disabled: mic?.disabled ?? null, meetingShown: screen ? !screen.hidden : null,
        waiting: !!window.huddleTest?.waiting() };
    }), (s) => /^(Un)?mute microphone$/i.test(s.label ?? '') && !s.disabled && s.meetingShown !== false && !s.waiting,
    { show: (s) => JSON.stringify(s) });
    const alreadyMuted = await alex.page.evaluate(() => document.getElementById('mic-toggle')?.getAttribute('aria-label') === 'Unmute microphone');
    if (alreadyMuted) console.log('# note: Alex\'s page came back from being an observer muted');
    // Twice in six runs, only under CI, Playwright could not find this button by role although the
    // page showed it with this label (above): say what the accessibility side sees, and press it
    // the way the page's own script would, since what this check is about is the roster.
    const micState = await alex.page.evaluate(() => {
      const mic = /** @type {HTMLButtonElement} */ (document.getElementById('mic-toggle'));
      return { visible: mic.checkVisibility(), inert: !!mic.closest('[inert]'),
        openDialogs: [...document.querySelectorAll('dialog[open]')].map((d) => d.id) };
    });
    if (!micState.visible || micState.inert || micState.openDialogs.length > 0) {
      console.log(`# note: Alex's microphone button: ${JSON.stringify(micState)}`);
    }
    if (!alreadyMuted) await alex.page.evaluate(() => document.getElementById('mic-toggle')?.click());
    await until('the host to show Alex muted', () => hook(host.page, () => window.huddleTest.tileState()),
      (t) => t.some((x) => x.name === 'Alex' && x.badges.includes('Muted')));
    await tab(host.page, 'People');
    await host.page.getByRole('button', { name: 'Admit — Casey' }).click();
    await until('Casey to be let in', () => hook(page, () => window.huddleTest.joined() && !window.huddleTest.waiting()), Boolean);
    await until('Casey to show Alex muted, from the roster', () => hook(page, () => window.huddleTest.tileState()),
      (t) => t.some((x) => x.name === 'Alex' && x.badges.includes('Muted')));
    await alex.page.getByRole('button', { name: 'Unmute microphone' }).click();
    await until('Casey to show Alex unmuted', () => hook(page, () => window.huddleTest.tileState()),
      (t) => t.some((x) => x.name === 'Alex' && !x.badges.includes('Muted')));
    await expectVideoFrom(casey, meetingPeople.map((p) => p.name));
    await tab(host.page, 'People');
    await lobbyToggle.uncheck();
    await until('the host\'s lobby list to be empty', () => hook(host.page, () => window.huddleTest.lobby()), (l) => l.length === 0);
  });
  meetingPeople.push(casey);
  const tileBadges = (p, name) => hook(p.page, () => window.huddleTest.tileState()).then((t) => t.find((x) => x.name === name)?.badges ?? []);
  const activity = () => hook(host.page, () => window.huddleTest.activity());

  await check('a raised hand shows in the host\'s queue and on everyone\'s tile; the host lowers it and Alex\'s button flips back', async () => {
    await alex.page.getByRole('button', { name: 'Raise hand' }).click();
    await until('the host to see Alex in the hand queue', () => hook(host.page, () => window.huddleTest.hands()), (q) => q.join() === 'Alex');
    await until('the host to be alerted above the stage', () => hook(host.page, () => window.huddleTest.alertItems()),
      (a) => a.some((x) => x.kind === 'hand' && x.text === 'Alex raised their hand'));
    await tab(host.page, 'People');
    for (const p of [host, sam]) await until(`Alex's tile on ${p.name}'s page to show the hand`, () => tileBadges(p, 'Alex'), (b) => b.includes('Hand raised'));
    await host.page.locator('#hand-queue').getByRole('button', { name: 'Lower hand — Alex' }).click();
    await until('the hand queue to be empty', () => hook(host.page, () => window.huddleTest.hands()), (q) => q.length === 0);
    await until('the hand alert to go with the hand', () => hook(host.page, () => window.huddleTest.alertItems()), (a) => !a.some((x) => x.kind === 'hand'));
    await until('Alex\'s button to flip back', () => hook(alex.page, () => window.huddleTest.handButton()),
      (b) => b.label === 'Raise hand' && !b.pressed);
    await until('Alex to be told', () => alex.page.locator('#connection-status').textContent(), (t) => t.includes('A host lowered your hand'));
    await until('Sam to show the hand gone', () => tileBadges(sam, 'Alex'), (b) => !b.includes('Hand raised'));
    await until('the activity feed to list it', activity, (a) => a.some((t) => t.includes('You lowered Alex\'s hand')));
  });

  await check('the host asks Alex to mute: Alex is told and muted, the host sees it, the activity feed says so', async () => {
    await openActions('Alex');
    await host.page.getByRole('button', { name: 'Ask to mute microphone — Alex' }).click();
    await until('Alex to be told', () => hook(alex.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes('Dr. Rivera asked you to turn off your microphone')));
    await alex.page.getByRole('button', { name: 'Unmute microphone' }).waitFor();
    for (const p of [host, sam, casey]) await until(`${p.name} to show Alex muted`, () => tileBadges(p, 'Alex'), (b) => b.includes('Muted'));
    await until('the host\'s roster to show Alex muted', () => hook(host.page, () => window.huddleTest.roster().main ?? []),
      (r) => r.some((e) => e.name === 'Alex' && e.badges.includes('Muted')));
    await until('the activity feed to list it', activity, (a) => a.some((t) => t.includes('You asked Alex to mute')));
    await alex.page.getByRole('button', { name: 'Unmute microphone' }).click();
    await until('the host to show Alex unmuted', () => tileBadges(host, 'Alex'), (b) => !b.includes('Muted'));
    await until('Alex\'s mute request notice to clear once unmuted', () => hook(alex.page, () => window.huddleTest.banners()),
      (b) => !b.some((t) => t.includes('asked you to turn off')));
  });

  await check('pulling Sam aside (the host is warned the group keeps no host): the others see one neutral line, not who went; the host\'s stage is in view; ending it brings them back', async () => {
    await openActions('Sam');
    await host.page.getByRole('button', { name: 'Talk privately (pull aside) — Sam' }).click();
    const warning = host.page.locator('#confirm-dialog');
    await warning.getByText('no host or co-host stays with the group').waitFor();
    await warning.getByRole('button', { name: 'Step out' }).click();
    for (const p of [alex, casey]) {
      await until(`${p.name} to show that the therapist stepped out, and nobody's name`, () => hook(p.page, () => ({
        line: window.huddleTest.awayLine(), tiles: window.huddleTest.tiles(),
        chat: [...document.querySelectorAll('#chat-log .notice')].map((n) => n.textContent).join(' | '),
        stage: document.getElementById('stage-column').innerText,
      })), (v) => v.line === 'The therapist stepped out for a moment.' && !v.tiles.includes('Sam') && !v.tiles.includes('Dr. Rivera') &&
        !/Sam/.test(v.chat) && !/\bSam\b/.test(v.stage.replace(/Casey|Alex/g, '')));
    }
    await until('the host to be in the private conversation', () => hook(host.page, () => window.huddleTest.roomName()), (n) => n === 'Private conversation');
    await expectInView(host.page, '#stage', 'the host\'s stage after "Pull aside"', { minHeight: 300 });
    await expectVideoFrom(host, [sam.name]);
    await screenshot(alex.page, '08-stepped-out.png');
    await screenshot(host.page, '09-private-conversation.png');
    await host.page.getByRole('button', { name: 'End private conversation' }).click();
    for (const p of [alex, casey]) {
      await until(`${p.name} to show no one stepped out`, () => hook(p.page, () => window.huddleTest.awayLine()), (s) => s === '');
    }
    await expectVideoFrom(alex, [host.name, sam.name, casey.name]);
    await until('the activity feed to list it', activity, (a) => a.some((t) => t.includes('You started a private conversation')));
  });

  await check('locking the meeting shows a notice to everyone; unlocking clears it', async () => {
    const locked = (p) => hook(p.page, () => window.huddleTest.banners().some((b) => b.includes('This meeting is locked')));
    await tab(host.page, 'Host');
    await host.page.getByRole('button', { name: 'Lock meeting' }).click();
    for (const p of meetingPeople) await until(`${p.name} to show the lock`, () => locked(p), Boolean);
    await host.page.getByRole('button', { name: 'Unlock meeting' }).click();
    for (const p of meetingPeople) await until(`${p.name} to show it unlocked`, () => locked(p), (v) => v === false);
    await until('the activity feed to say which way, each time', activity,
      (a) => a.some((t) => t.endsWith('You locked the meeting')) && a.some((t) => t.endsWith('You unlocked the meeting')));
  });

  const say = async (p, text) => {
    await p.page.getByLabel('Message', { exact: true }).fill(text);
    await p.page.getByRole('button', { name: 'Send' }).click();
  };
  await check('Casey\'s connection stalls without closing: the heartbeat gives up on it (4100) and the page resumes with the same peer id', async () => {
    const myId = () => hook(casey.page, () => window.huddleTest.me()?.id ?? null);
    const idBefore = await myId();
    proxy.stall();
    await until('Casey\'s page to give up on the silent socket and resume', () => hook(casey.page, () => [
      window.huddleTest.reconnectCodes(), window.huddleTest.joined(), window.huddleTest.lastResumed(),
    ]), ([codes, joined, resumed]) => codes.join() === '4100' && joined && resumed === true, { timeout: 20_000 });
    const idAfter = await myId();
    if (idAfter !== idBefore) throw new Error(`Casey came back as peer ${idAfter}, not ${idBefore}`);
    for (const p of [host, alex]) await until(`${p.name} to show Casey, not reconnecting`, () => tileBadges(p, 'Casey'), (b) => !b.includes('Reconnecting…'));
    await until('the host to connect to Casey again', () => stats(host.page),
      (s) => Object.values(s).some((v) => v.name === 'Casey' && v.connectionState === 'connected'));
  });

  await check('Casey\'s network drops: the page resumes with the same peer id, the others see "reconnecting…" then Casey back, chat sent meanwhile arrives once, and a broadcast sent meanwhile is shown after', async () => {
    const myId = () => hook(casey.page, () => window.huddleTest.me()?.id ?? null);
    const idBefore = await myId();
    await say(alex, `Before the drop ${nonce}`);
    await until('Casey to get the message before the drop', () => chatOf(casey),
      (l) => l.some((m) => m.text === `Before the drop ${nonce}`), { show: (l) => `${l.length} messages` });
    proxy.cut();
    await until('Casey\'s page to say the connection is lost', () => hook(casey.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes('Connection lost — reconnecting')));
    for (const p of [host, alex]) await until(`${p.name} to show Casey reconnecting`, () => tileBadges(p, 'Casey'), (b) => b.includes('Reconnecting…'));
    await until('the host\'s roster to show Casey reconnecting', () => hook(host.page, () => window.huddleTest.roster().main ?? []),
      (r) => r.some((e) => e.name === 'Casey' && e.badges.includes('Reconnecting…')));
    await say(alex, `During the drop ${nonce}`);
    await until('the host to get the message sent during the drop', () => chatOf(host),
      (l) => l.some((m) => m.text === `During the drop ${nonce}`), { show: (l) => `${l.length} messages` });
    await tab(host.page, 'Host');
    await host.page.getByLabel('Message to every room').fill(`Sent while Casey was away ${nonce}`);
    await host.page.getByRole('button', { name: 'Broadcast' }).click();
    await until('the host\'s broadcast to be sent', () => host.page.locator('#host-status').textContent(), (t) => t.includes('Sent to every room'));
    await screenshot(host.page, '10-peer-reconnecting.png');
    await snap(casey.page, '11-connection-lost.png');
    proxy.restore();
    await until('Casey to be back, resumed', () => hook(casey.page, () => [window.huddleTest.joined(), window.huddleTest.lastResumed()]),
      ([joined, resumed]) => joined && resumed === true);
    const idAfter = await myId();
    if (idAfter !== idBefore) throw new Error(`Casey came back as peer ${idAfter}, not ${idBefore}`);
    const log = await until('Casey to have the message sent during the drop', () => chatOf(casey),
      (l) => l.some((m) => m.text === `During the drop ${nonce}`), { show: (l) => `${l.length} messages` });
    for (const [when, text] of [['before', `Before the drop ${nonce}`], ['during', `During the drop ${nonce}`]]) {
      const n = log.filter((m) => m.text === text).length;
      if (n !== 1) throw new Error(`Casey has the message sent ${when} the drop ${n} times, not once`);
    }
    await until('Casey\'s banner to go', () => hook(casey.page, () => window.huddleTest.banners()), (b) => !b.some((t) => t.includes('Connection lost')));
    await until('Casey to be shown the broadcast sent meanwhile (the hub replays it after the resume)', () => hook(casey.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes(`Sent while Casey was away ${nonce}`) && t.includes('while you were reconnecting')));
    for (const p of [host, alex]) await until(`${p.name} to show Casey back`, () => tileBadges(p, 'Casey'), (b) => !b.includes('Reconnecting…'));
    await expectVideoFrom(casey, [host.name, alex.name, sam.name]);
    await expectVideoFrom(host, [alex.name, sam.name, casey.name]);
  });

  await check('the host removes Casey after confirming; a second try (from the link: the page forgot the token) waits and is turned away, each with a clear message', async () => {
    await openActions('Casey');
    await host.page.getByRole('button', { name: 'Remove — Casey' }).click();
    const confirm = host.page.getByRole('dialog');
    await confirm.getByText('Remove Casey from the meeting?').waitFor();
    await confirm.getByRole('button', { name: 'Remove' }).click();
    await until('Casey to be told', () => hook(casey.page, () => window.huddleTest.ended()), (t) => t.includes('A host removed you'));
    await until('the host\'s grid to drop Casey', () => hook(host.page, () => window.huddleTest.tiles()), (t) => !t.includes('Casey'));
    await tab(host.page, 'People');
    await host.page.getByLabel('Hold new arrivals in the waiting room').check();
    await expectTokenForgotten(casey, 'being removed (4008)');
    await joinAgainWithLink(casey, casey.url);
    await casey.page.getByRole('heading', { name: 'Waiting for the host to let you in' }).waitFor();
    await tab(host.page, 'People');
    await host.page.getByRole('button', { name: 'Deny — Casey' }).click();
    await until('Casey to be told', () => hook(casey.page, () => window.huddleTest.ended()), (t) => t.includes('did not let you in'));
    await expectTokenForgotten(casey, 'being denied (4011)');
    await host.page.getByLabel('Hold new arrivals in the waiting room').uncheck();
  });

  await check('Sam leaves during a private conversation: Alex\'s "stepped out" line goes, the host comes back', async () => {
    await openActions('Sam');
    await host.page.getByRole('button', { name: 'Talk privately (pull aside) — Sam' }).click();
    await host.page.locator('#confirm-dialog').getByRole('button', { name: 'Step out' }).click();
    await until('Alex to show that the therapist stepped out', () => hook(alex.page, () => window.huddleTest.awayLine()),
      (s) => s === 'The therapist stepped out for a moment.');
    await leaveVia(sam.page, 'Leave');
    await until('Alex to show no one stepped out', () => hook(alex.page, () => window.huddleTest.awayLine()), (s) => s === '');
    await until('the host to be back in the main room', () => hook(host.page, () => window.huddleTest.roomName()), (n) => n === 'Main room');
    await until('Alex to show only the host', () => hook(alex.page, () => window.huddleTest.tiles()), (t) => t.join() === 'Dr. Rivera');
  });

  await check('the host leaves and hands the host role to Alex first; the host\'s ended screen shows the partner\'s next steps, not "Join again"', async () => {
    if (!(await host.page.locator('#leave-button').isVisible())) await openMore(host.page);
    await host.page.getByRole('button', { name: 'Leave', exact: true }).click();
    const dialog = host.page.locator('#leave-dialog');
    await dialog.getByRole('button', { name: 'End for everyone' }).waitFor();
    const warned = await dialog.locator('#leave-warning').isVisible();
    if (!warned) throw new Error('the host is not warned that nobody would look after the group');
    await dialog.getByLabel('Before you go, hand the group to').selectOption({ label: 'Alex, as host' });
    await dialog.getByRole('button', { name: 'Leave', exact: true }).click();
    await until('the host\'s page to show the ended screen with next steps', () => host.page.evaluate(() => ({
      ended: window.huddleTest.ended(),
      link: document.getElementById('next-link').checkVisibility() ? [document.getElementById('next-link').textContent, document.getElementById('next-link').href] : null,
      support: document.getElementById('support-line').checkVisibility() ? document.getElementById('support-line').textContent : null,
    })), (v) => v.ended.includes('You left') && v.link && v.link[0] === 'Book your next session' && v.link[1] === 'https://clinic.example/after-your-session' &&
      v.support === 'Need to talk to someone now? Call 0800 123 456');
    await until('Alex to be the host', () => hook(alex.page, () => window.huddleTest.me()?.role), (r) => r === 'host');
    await until('Alex to get the host tabs', () => alex.page.getByRole('tab', { name: 'Host' }).isVisible(), Boolean);
    await snap(host.page, '12-ended-next-steps.png');
    await expectAccessible(host.page, 'the ended screen');
  });

  await check('"End meeting for all" (confirmed) ends it on every page, which forget the token; joining again says the session has ended', async () => {
    await tab(alex.page, 'Host');
    await alex.page.getByRole('button', { name: 'End meeting for all' }).click();
    await alex.page.getByRole('dialog').getByRole('button', { name: 'End meeting for all' }).click();
    for (const p of [alex]) {
      await until(`${p.name} to show the session ended`, () => hook(p.page, () => window.huddleTest.ended()), (t) => t.includes('This session has ended'));
    }
    for (const p of [host, alex]) await expectTokenForgotten(p, 'the end of the meeting (4009)');
    // Alex is the host now (the role holds for the meeting): a participant tries to come back.
    await jordan.page.goto('about:blank');
    await jordan.page.goto(uiUrl(base, jordan.token));
    await jordan.page.getByRole('button', { name: 'Join' }).click();
    await until('Jordan to be told the session has ended (meeting_ended, 4009)', () => hook(jordan.page, () => window.huddleTest.ended()),
      (t) => t.includes('This session has ended') && t.includes('once a host starts'));
  });

  const pageErrors = [...everyone, refresher, ...(observer ? [observer] : []), ...(embed ? [embed] : []), ...(casey ? [casey] : [])].flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
  await check('no page errors in any page', async () => {
    if (pageErrors.length > 0) throw new Error(pageErrors.slice(0, 10).join('\n'));
  });
}


// ---- the SFU scenario ----

/**
 * Runs in each page before its own scripts: counts the page's RTCPeerConnections (kept, for
 * getStats) and notes the ICE candidates of every remote description (address and port only).
 * Non-enumerable, so it is no test hook a page could be found to expose.
 */
function watchPeerConnections() {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  const candidates = new Set();
  class Watched extends Native {
    constructor(...args) {
      super(...args);
      pcs.push(this);
    }
    setRemoteDescription(description, ...rest) {
      for (const line of String(description?.sdp ?? '').split(/\r?\n/)) {
        const m = /^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ (\S+)/.exec(line);
        if (m) candidates.add(`${m[1].toLowerCase()} ${m[2]}:${m[3]} ${m[4]}`);
      }
      return super.setRemoteDescription(description, ...rest);
    }
  }
  window.RTCPeerConnection = Watched;
  Object.defineProperty(window, '__e2eRtc', { value: { pcs, candidates }, enumerable: false });
}

/**
 * Runs in a page before its own scripts: its microphone plays a steady tone instead of the fake
 * device's short beeps, so that the hub hears a speaker (its detector wants sound over several
 * intervals in a row).
 */
function loudMicrophone() {
  const devices = navigator.mediaDevices;
  const original = devices.getUserMedia.bind(devices);
  devices.getUserMedia = async (constraints) => {
    const stream = await original(constraints);
    if (!constraints?.audio) return stream;
    const ctx = new AudioContext();
    const tone = ctx.createOscillator();
    tone.frequency.value = 220;
    const gain = ctx.createGain();
    gain.gain.value = 0.6;
    const out = ctx.createMediaStreamDestination();
    tone.connect(gain).connect(out);
    tone.start();
    for (const t of stream.getAudioTracks()) {
      stream.removeTrack(t);
      t.stop();
    }
    stream.addTrack(out.stream.getAudioTracks()[0]);
    return stream;
  };
}

/** Runs in a page: its connections as getStats sees them (no SDP). */
async function pageRtc() {
  const { pcs, candidates } = window.__e2eRtc;
  const out = {
    pcs: pcs.length, states: pcs.map((pc) => pc.connectionState), rids: [], outboundVideo: [],
    remoteCandidates: [], sdpCandidates: [...candidates], inboundVideo: {}, inboundWidth: {}, inboundAudio: {}, sentFrames: 0,
  };
  for (const pc of pcs) {
    if (pc.connectionState === 'closed') continue;
    const sender = pc.getSenders().find((s) => s.track?.kind === 'video');
    if (sender) out.rids = sender.getParameters().encodings.map((e) => e.rid ?? '').sort();
    const report = await pc.getStats();
    report.forEach((s) => {
      // In SFU meetings the screen's section sends one layer, without a rid: not the camera.
      if (s.type === 'outbound-rtp' && s.kind === 'video' && out.rids.length > 1 && !s.rid) {
        out.screenBytesSent = (out.screenBytesSent ?? 0) + (s.bytesSent ?? 0);
      } else if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.outboundVideo.push({ rid: s.rid ?? '', bytesSent: s.bytesSent ?? 0, size: `${s.frameWidth ?? 0}x${s.frameHeight ?? 0}`, limit: s.qualityLimitationReason ?? '' });
        out.sentFrames += s.framesEncoded ?? 0;
      }
      if (s.type === 'remote-candidate') out.remoteCandidates.push(`${s.protocol} ${s.address ?? s.ip}:${s.port} ${s.candidateType}`);
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.inboundAudio[s.mid] = s.packetsReceived ?? 0;
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.inboundVideo[s.mid] = s.framesDecoded ?? 0;
        out.inboundWidth[s.mid] = s.frameWidth ?? 0;
      }
    });
  }
  return out;
}

async function sfuScenario() {
  const hub = await startHub(0, 'hub-sfu.log', 'sfu');
  const { base, links } = hub;
  log(`e2e: SFU scenario; hub at ${base}${hub.udp ? `, media on udp ${hub.udp} (its log)` : ''}`);
  const browser = await launchBrowser();
  const people = [];
  for (const link of links) {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
    await context.addInitScript(watchPeerConnections);
    if (link.name === 'Sam') await context.addInitScript(loudMicrophone);
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => { if (msg.type() === 'error') errors.push(msg.text()); });
    people.push({ ...link, page, errors, token: new URL(link.url).hash });
  }
  const [host, alex, sam, jordan] = people;
  const others = (p, group = people) => group.filter((q) => q !== p).map((q) => q.name);
  const rtc = (p) => p.page.evaluate(pageRtc);
  const showRtc = (r) => JSON.stringify({ pcs: r.pcs, states: r.states, rids: r.rids, outboundVideo: r.outboundVideo });

  /** Every page still has exactly the one RTCPeerConnection it made when it joined. */
  const expectOneConnectionEach = async (after) => {
    for (const p of people) {
      const r = await rtc(p);
      if (r.pcs !== 1) throw new Error(`${p.name} made ${r.pcs} RTCPeerConnections (${after}): ${showRtc(r)}`);
    }
  };

  /**
   * Waits until each page decodes exactly its roommates (SDK stats and tiles), and returns how long
   * each took from `since`, by page name.
   */
  const decodeRoommates = async (plan, since, what) => {
    const took = {};
    await Promise.all(plan.map(async ([p, mates]) => {
      const want = mates.map((q) => q.name).sort().join();
      await until(`${p.name} to decode ${want || 'nobody'} after ${what}`, () => stats(p.page), (s) => {
        const got = Object.values(s);
        return got.map((v) => v.name).sort().join() === want && got.every((v) => v.connectionState === 'connected' && v.framesDecoded > 0);
      }, { timeout: MOVE_DEADLINE_MS, every: 100, show: (s) => JSON.stringify(Object.values(s).map((v) => [v.name, v.connectionState, v.framesDecoded])) });
      took[p.name] = (Date.now() - since) / 1000;
    }));
    for (const [p, mates] of plan) await expectVideoFrom(p, mates.map((q) => q.name));
    return took;
  };

  /**
   * Nobody outside `p`'s room reaches it: the hub's slot table names only roommates, the SDK gave
   * `stream` events (since `streamsBefore` of them) only for roommates, and no video slot that
   * carries no roommate decodes a frame while the roommates' frames keep coming.
   */
  const expectOnlyRoommates = async (p, mates, streamsBefore) => {
    const names = mates.map((q) => q.name);
    const slots = await hook(p.page, () => window.huddleTest.sfuSlots());
    const strangers = slots.filter((s) => s.peer != null && !names.includes(s.name));
    if (strangers.length > 0) throw new Error(`${p.name}'s slot table names people outside the room: ${JSON.stringify(strangers)}`);
    const streams = (await hook(p.page, () => window.huddleTest.streamNames())).slice(streamsBefore);
    if (streams.some((n) => !names.includes(n))) throw new Error(`${p.name} got stream events for ${streams.join(', ')}; roommates: ${names.join(', ') || 'none'}`);
    const roommateMids = new Set(slots.filter((s) => s.kind === 'video' && names.includes(s.name)).map((s) => s.mid));
    // A clock made of frames: the roommates' arriving (alone: our own camera's, sent), so that
    // enough time passes to tell a silent slot from a live one.
    const mateFrames = (r) => [...roommateMids].reduce((n, mid) => n + (r.inboundVideo[mid] ?? 0), 0);
    const clock = (r) => (names.length > 0 ? mateFrames(r) : r.sentFrames);
    const first = await rtc(p);
    const second = await until(`${p.name}'s ${names.length > 0 ? 'roommates\' video to keep coming' : 'camera to keep sending'}`, () => rtc(p),
      (r) => clock(r) >= clock(first) + 15, { timeout: 20_000, show: (r) => JSON.stringify([r.inboundVideo, r.sentFrames]) });
    const leaked = Object.keys(second.inboundVideo).filter((mid) => !roommateMids.has(mid) && second.inboundVideo[mid] > (first.inboundVideo[mid] ?? 0));
    if (leaked.length > 0) {
      throw new Error(`${p.name} decodes video on slots that carry no roommate: ${JSON.stringify(leaked.map((mid) => [mid, first.inboundVideo[mid] ?? 0, second.inboundVideo[mid]]))}`);
    }
  };

  let joinedAt = 0;
  await check('SFU: four pages join a hub in SFU mode; each has one RTCPeerConnection and sends its camera as two simulcast layers (one outbound-rtp per rid)', async () => {
    for (const p of people) {
      await p.page.goto(uiUrl(base, p.token, '', '640x480'));
      await p.page.getByRole('button', { name: 'Join' }).click();
    }
    for (const p of people) {
      await until(`${p.name} to be welcomed`, () => hook(p.page, () => window.huddleTest.joined()), Boolean);
      await expectMediaMode(p, 'sfu');
    }
    joinedAt = Date.now();
    for (const p of people) {
      const r = await until(`${p.name} to send two simulcast layers on its one connection`, () => rtc(p),
        (v) => v.pcs === 1 && v.rids.join() === 'h,l' && v.outboundVideo.length === v.rids.length &&
          v.outboundVideo.map((o) => o.rid).sort().join() === 'h,l', { show: showRtc });
      const idle = r.outboundVideo.filter((o) => o.bytesSent === 0).map((o) => o.rid);
      log(`# SFU: ${p.name} sends ${r.outboundVideo.map((o) => `${o.rid} ${o.size} ${o.bytesSent} B${o.limit && o.limit !== 'none' ? ` (limited: ${o.limit})` : ''}`).join(', ')}${idle.length ? `; not (yet) sending: ${idle.join(', ')}` : ''}`);
    }
  });

  await check('SFU: every page decodes every other page\'s video, through the hub', async () => {
    for (const p of people) await expectVideoFrom(p, others(p));
    log(`# SFU: all four pages decode the three others ${((Date.now() - joinedAt) / 1000).toFixed(1)} s after the last welcome`);
    await screenshot(host.page, 'sfu-01-main-room.png');
    await expectOneConnectionEach('in the main room');
  });

  await check('SFU: every remote ICE candidate on every page is the hub\'s one UDP address on 127.0.0.1', async () => {
    const seen = new Set();
    for (const p of people) {
      const r = await until(`${p.name} to have a remote candidate`, () => rtc(p), (v) => v.remoteCandidates.length > 0);
      for (const c of [...r.remoteCandidates, ...r.sdpCandidates]) seen.add(c);
    }
    const all = [...seen];
    const addresses = new Set(all.map((c) => c.split(' ')[1]));
    if (addresses.size !== 1 || !/^127\.0\.0\.1:\d+$/.test([...addresses][0])) {
      throw new Error(`remote candidates are not one 127.0.0.1 address: ${all.join('; ')}`);
    }
    const [address] = addresses;
    if (hub.udp && hub.udp !== address) throw new Error(`the pages reach ${address}, the hub's log says it listens on ${hub.udp}`);
    log(`# SFU: every remote candidate: ${all.join('; ')}`);
  });

  /** The width of the video `p` receives from each roommate, by name (the layer the hub forwards). */
  const widths = async (p) => {
    const [r, slots] = await Promise.all([rtc(p), hook(p.page, () => window.huddleTest.sfuSlots())]);
    return Object.fromEntries(slots.filter((s) => s.kind === 'video' && s.name).map((s) => [s.name, r.inboundWidth[s.mid] ?? 0]));
  };
  // The layers of a 640x480 camera: h 640 wide, l 320 (Chrome may scale h down when starved).
  await check('SFU: pinning Alex on the host\'s page gets Alex\'s high layer (wider than 320), unpinning the low one (320)', async () => {
    const started = Date.now();
    await host.page.getByRole('button', { name: 'Pin — Alex' }).click();
    await until('Alex\'s tile to be pinned', () => hook(host.page, () => window.huddleTest.pinned()), (n) => n.join() === 'Alex');
    await until('the host to receive Alex\'s high layer', () => widths(host), (w) => w.Alex > 320, { timeout: DEADLINE_MS });
    log(`# SFU: Alex's high layer on the host's page ${((Date.now() - started) / 1000).toFixed(1)} s after pinning`);
    await expectVideoFrom(host, others(host));
    await host.page.getByRole('button', { name: 'Pin — Alex' }).click();
    await until('no tile to be pinned', () => hook(host.page, () => window.huddleTest.pinned()), (n) => n.length === 0);
    await until('the host to receive Alex\'s low layer again', () => widths(host), (w) => w.Alex > 0 && w.Alex <= 320, { timeout: MOVE_DEADLINE_MS });
  }, { soft: true });

  await check('SFU: Sam\'s page plays a steady tone: the hub names Sam the active speaker, the host\'s page highlights Sam\'s tile and receives Sam\'s high layer', async () => {
    const started = Date.now();
    await until('the host\'s page to highlight Sam as speaking', () => hook(host.page, () => window.huddleTest.speaking()), (n) => n.join() === 'Sam',
      { timeout: MOVE_DEADLINE_MS });
    log(`# SFU: Sam highlighted as the active speaker on the host's page within ${((Date.now() - started) / 1000).toFixed(1)} s of asking`);
    await until('the host to receive Sam\'s high layer', () => widths(host), (w) => w.Sam > 320, { timeout: DEADLINE_MS });
  }, { soft: true });

  await check('SFU: the host blocks Alex\'s microphone: Alex is told, everyone sees it, Sam gets no more of Alex\'s audio; allowed again, it flows', async () => {
    const openActions = async (name) => {
      await tab(host.page, 'People');
      await host.page.locator(`#roster summary[aria-label="Actions for ${name}"]`).click();
    };
    const alexAudio = async () => {
      const [r, slots] = await Promise.all([rtc(sam), hook(sam.page, () => window.huddleTest.sfuSlots())]);
      const mid = slots.find((x) => x.kind === 'audio' && x.name === 'Alex')?.mid;
      const video = slots.filter((x) => x.kind === 'video' && x.name && x.name !== 'Alex').reduce((n, x) => n + (r.inboundVideo[x.mid] ?? 0), 0);
      return { packets: mid == null ? null : r.inboundAudio[mid] ?? 0, video };
    };
    await openActions('Alex');
    await host.page.getByRole('button', { name: 'Block microphone — Alex' }).click();
    await until('Alex to be told', () => hook(alex.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes('A host turned off your microphone')));
    for (const p of [host, sam, jordan]) {
      await until(`${p.name} to show Alex's microphone blocked`, () => hook(p.page, () => window.huddleTest.tileState()),
        (t) => t.some((x) => x.name === 'Alex' && x.badges.includes('Microphone blocked')));
    }
    // Packets already on their way may still come: wait for the count to stand still while
    // other video keeps arriving (the clock), then for it to stay so.
    let before = await alexAudio();
    await until('Sam\'s audio from Alex to stop', async () => {
      const now = await alexAudio();
      const still = now.packets === before.packets && now.video >= before.video + 15;
      if (now.video >= before.video + 15) before = now;
      return still;
    }, Boolean, { timeout: MOVE_DEADLINE_MS });
    await openActions('Alex');
    await host.page.getByRole('button', { name: 'Allow microphone — Alex' }).click();
    await until('Alex\'s notice to go', () => hook(alex.page, () => window.huddleTest.banners()),
      (b) => !b.some((t) => t.includes('A host turned off your microphone')));
    const stopped = await alexAudio();
    await until('Sam\'s audio from Alex to flow again', alexAudio, (v) => v.packets > stopped.packets + 10, { timeout: MOVE_DEADLINE_MS });
    await until('the activity feed to say so', () => hook(host.page, () => window.huddleTest.activity()),
      (a) => a.some((t) => t.includes('You blocked Alex\'s microphone')) && a.some((t) => t.includes('You allowed Alex\'s microphone')));
  }, { soft: true });

  await check('SFU: the host shares their screen (the browser\'s real getDisplayMedia): every other page shows "Dr. Rivera is sharing their screen" large and decodes frames on the screen\'s own slot, cameras still coming; Stop sharing takes it away', async () => {
    const started = Date.now();
    await host.page.getByRole('button', { name: 'Share screen' }).click();
    await until('the host\'s page to show its own screen and "Stop sharing"', () => hook(host.page, () => window.huddleTest.screens()),
      (v) => v.length === 1 && v[0].label === 'You are sharing your screen');
    const took = [];
    for (const p of [alex, sam, jordan]) {
      const n = await expectScreenFrom(p, 'Dr. Rivera');
      took.push(`${p.name} ${((Date.now() - started) / 1000).toFixed(1)} s (${n} frames)`);
    }
    log(`# SFU: the host's screen decoding on the others' pages (from the click): ${took.join(', ')}`);
    await expectVideoFrom(alex, others(alex));
    await screenshot(alex.page, 'sfu-03-screen-share.png');
    await host.page.getByRole('button', { name: 'Stop sharing' }).first().click();
    for (const p of people) await noScreens(p);
  });

  await check('SFU: a participant\'s "Share screen" is unavailable (with the reason) until the host allows it; then Alex shares and the host sees it; forbidding it again stops Alex\'s sharing', async () => {
    const button = await hook(alex.page, () => window.huddleTest.screenButton());
    if (!button.unavailable || !button.hint.includes('a host can let participants share')) throw new Error(`Alex's Share screen: ${JSON.stringify(button)}`);
    // aria-disabled (still focusable, so people can learn why): Playwright will not click it unforced.
    await alex.page.getByRole('button', { name: 'Share screen' }).click({ force: true });
    await until('Alex to be told why', () => hook(alex.page, () => window.huddleTest.banners()),
      (b) => b.some((t) => t.includes('Screen sharing is off')));
    await tab(host.page, 'Host');
    await host.page.getByLabel('Let participants share their screen').check();
    await until('Alex\'s Share screen to become available', () => hook(alex.page, () => window.huddleTest.screenButton()), (b) => !b.unavailable);
    await alex.page.getByRole('button', { name: 'Share screen' }).click();
    await expectScreenFrom(host, 'Alex');
    await host.page.getByLabel('Let participants share their screen').uncheck();
    await until('Alex\'s sharing to stop', () => hook(alex.page, () => window.huddleTest.screenButton()),
      (b) => b.label === 'Share screen' && b.unavailable);
    for (const p of people) await noScreens(p);
  });

  let streamMarks = await Promise.all(people.map((p) => hook(p.page, () => window.huddleTest.streamNames().length)));
  await check('SFU: the host splits into two breakouts: each page decodes its one roommate, with no new RTCPeerConnection and nothing from the other room', async () => {
    const page = host.page;
    await tab(page, 'Host');
    await page.getByRole('button', { name: 'Split into breakout rooms…' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('How to assign people').selectOption('manual');
    await dialog.getByLabel('Number of rooms').fill('2');
    await dialog.getByLabel('Room 1 name').fill('Circle A');
    await dialog.getByLabel('Room 2 name').fill('Circle B');
    await dialog.getByLabel('Dr. Rivera (you)').selectOption({ label: 'Room 1' });
    await dialog.getByLabel('Alex', { exact: true }).selectOption({ label: 'Room 1' });
    await dialog.getByLabel('Sam', { exact: true }).selectOption({ label: 'Room 2' });
    await dialog.getByLabel('Jordan', { exact: true }).selectOption({ label: 'Room 2' });
    const started = Date.now();
    await dialog.getByRole('button', { name: 'Start breakouts' }).click();
    const plan = [[host, [alex]], [alex, [host]], [sam, [jordan]], [jordan, [sam]]];
    const took = await decodeRoommates(plan, started, 'the split');
    log(`# SFU: after the split, roommates' video decoding (from the click): ${Object.entries(took).map(([n, t]) => `${n} ${t.toFixed(1)} s`).join(', ')}`);
    await expectOneConnectionEach('after the split');
    for (const [i, [p, mates]] of plan.entries()) await expectOnlyRoommates(p, mates, streamMarks[i]);
  });

  streamMarks = await Promise.all(people.map((p) => hook(p.page, () => window.huddleTest.streamNames().length)));
  await check(`SFU: the host moves Jordan into Circle A: the new roommates decode each other within ${MOVE_DEADLINE_MS / 1000} s, with no new RTCPeerConnection; Sam, alone, gets nothing`, async () => {
    await tab(host.page, 'People');
    await host.page.locator('#move-person').selectOption({ label: 'Jordan — Circle B' });
    await host.page.locator('#move-room').selectOption({ label: 'Circle A' });
    const started = Date.now();
    await host.page.locator('#move-form').getByRole('button', { name: 'Move' }).click();
    const plan = [[host, [alex, jordan]], [alex, [host, jordan]], [jordan, [host, alex]], [sam, []]];
    const took = await decodeRoommates(plan, started, 'the move');
    log(`# SFU: time to first frames after the move (from the click, ±0.1 s): ${Object.entries(took).map(([n, t]) => `${n} ${t.toFixed(1)} s`).join(', ')}`);
    await expectOneConnectionEach('after the move');
    for (const [i, [p, mates]] of plan.entries()) await expectOnlyRoommates(p, mates, streamMarks[i]);
    await screenshot(host.page, 'sfu-02-after-move.png');
  });

  await check('SFU: no page errors, and no signal was sent', async () => {
    const errors = people.flatMap((p) => p.errors.map((e) => `${p.name}: ${e}`));
    if (errors.length > 0) throw new Error(errors.slice(0, 10).join('\n'));
    for (const p of people) {
      const refused = await hook(p.page, () => window.huddleTest.signalRefusals());
      if (Object.keys(refused).length > 0) throw new Error(`${p.name}: signals refused: ${JSON.stringify(refused)}`);
    }
  });
}

async function cleanup() {
  for (const fn of cleanups.splice(0)) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
}

const overall = setTimeout(async () => {
  log(`not ok - the whole run took longer than ${TOTAL_MS / 1000} s`);
  failed += 1;
  await cleanup();
  log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(1);
}, TOTAL_MS);

const only = process.env.E2E_ONLY;
for (const [name, scenario] of [['mesh', meshScenario], ['sfu', sfuScenario]]) {
  if (only && only !== name) continue;
  try {
    await scenario();
  } catch (err) {
    if (!(err instanceof Abort)) {
      failed += 1;
      log(`not ok - ${name} setup: ${String(err?.stack || err).split('\n').slice(0, 6).join('\n  ')}`);
    }
  } finally {
    // Its browser and hub go before the next scenario starts (two cores).
    await cleanup();
  }
}
clearTimeout(overall);
log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
