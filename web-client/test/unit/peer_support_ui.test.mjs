// The reference UI's pure parts of peer support (#15): reactions (app/reactions.js: the fixed set
// and its words, the React button's state by role and whether a host turned reactions off, and
// how long a reaction stays on a tile, nothing kept after) and the phone's Chat button carrying
// the staff back channel's count for hosts and cohosts (app/layout.js). Pure: no DOM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REACTIONS, REACTION_MS, REACTIONS_OFF, TileReactions, reactControl, reactionLabel } from '../../app/reactions.js';
import { chatToggleSummary, tabLabel } from '../../app/layout.js';

test('the five reactions of the protocol, each with words (no emoji) and an icon', () => {
  assert.deepEqual(REACTIONS.map((r) => r.name), ['heart', 'clap', 'thumbs_up', 'me_too', 'tissue']);
  for (const r of REACTIONS) {
    assert.match(r.label, /^[A-Za-z ]+$/, `${r.name}: plain words`);
    assert.match(r.icon, /^i-/);
  }
  assert.equal(reactionLabel('me_too'), 'Me too');
  assert.equal(reactionLabel('<img src=x>'), null, 'nothing outside the set reaches a tile');
});

test('the React button: hidden for observers and before joining; unavailable, with the reason, while reactions are off', () => {
  for (const role of ['host', 'cohost', 'mentor', 'participant']) {
    assert.deepEqual(reactControl(role, false), { hidden: false, unavailable: false, hint: '' }, role);
    assert.deepEqual(reactControl(role, true), { hidden: false, unavailable: true, hint: REACTIONS_OFF }, role);
  }
  assert.equal(reactControl('observer', false).hidden, true);
  assert.deepEqual(reactControl('observer', true), { hidden: true, unavailable: false, hint: '' });
  assert.equal(reactControl(undefined, false).hidden, true);
});

/** Fake timers: `run(ms)` moves the clock and fires what is due. */
function fakeTimers() {
  let now = 0;
  let next = 1;
  const timers = new Map();
  return {
    setTimer: (fn, ms) => { const id = next++; timers.set(id, { fn, at: now + ms }); return id; },
    clearTimer: (id) => { timers.delete(id); },
    run(ms) {
      now += ms;
      for (const [id, t] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (t.at <= now && timers.has(id)) { timers.delete(id); t.fn(); }
      }
    },
    get pending() { return timers.size; },
  };
}

test('a reaction stays on its tile for about 3 s, then nothing of it remains', () => {
  assert.ok(REACTION_MS >= 2000 && REACTION_MS <= 5000);
  const clock = fakeTimers();
  const seen = [];
  const tiles = new TileReactions((key, r) => seen.push([key, r]), { ms: REACTION_MS, ...clock });
  tiles.show(9, 'heart');
  tiles.show('self', 'clap');
  assert.deepEqual(tiles.current(), [{ key: 9, reaction: 'heart' }, { key: 'self', reaction: 'clap' }]);
  clock.run(REACTION_MS - 1);
  assert.equal(tiles.current().length, 2, 'still shown just before');
  clock.run(1);
  assert.deepEqual(tiles.current(), []);
  assert.deepEqual(seen, [[9, 'heart'], ['self', 'clap'], [9, null], ['self', null]]);
  assert.equal(clock.pending, 0, 'no timer left behind');
});

test('a newer reaction from the same person replaces theirs and starts its time again', () => {
  const clock = fakeTimers();
  const seen = [];
  const tiles = new TileReactions((key, r) => seen.push([key, r]), { ms: 3000, ...clock });
  tiles.show(9, 'heart');
  clock.run(2000);
  tiles.show(9, 'me_too');
  clock.run(2000);
  assert.deepEqual(tiles.current(), [{ key: 9, reaction: 'me_too' }], 'the first one\'s timer no longer ends the second');
  clock.run(1000);
  assert.deepEqual(tiles.current(), []);
  assert.deepEqual(seen, [[9, 'heart'], [9, 'me_too'], [9, null]]);
  tiles.show(10, 'tissue');
  tiles.clear();
  assert.deepEqual(tiles.current(), []);
  assert.equal(clock.pending, 0);
});

test('tab names carry their unread count', () => {
  assert.equal(tabLabel('staff', 0), 'Staff');
  assert.equal(tabLabel('staff', 2), 'Staff, 2 new');
  assert.equal(tabLabel('chat', 1), 'Chat, 1 new');
});

test('the phone\'s Chat button: one badge for chat and staff, a name that tells them apart, and it opens the staff tab only when only staff messages wait', () => {
  assert.deepEqual(chatToggleSummary({}), { count: 0, label: 'Chat', opens: 'chat' });
  assert.deepEqual(chatToggleSummary({ chat: 2 }), { count: 2, label: 'Chat, 2 new', opens: 'chat' });
  assert.deepEqual(chatToggleSummary({ chat: 0, staff: 3 }), { count: 3, label: 'Chat, 3 new for staff', opens: 'staff' });
  assert.deepEqual(chatToggleSummary({ chat: 1, staff: 1 }), { count: 2, label: 'Chat, 1 new, 1 new for staff', opens: 'chat' });
});
