// Hosts in another room learn departures from the room lists (app/moderation.js, `departures`):
// an id gone from every room has left the meeting, unless it is us, our own room's `peer-left`
// already said so, or they are still with us. Pure: no DOM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { departures } from '../../app/moderation.js';

test('an id gone from every room is a departure; moves between rooms are not', () => {
  const before = new Set([7, 8, 9, 10]);
  const none = { me: 7, told: new Set(), here: new Set() };
  assert.deepEqual(departures(before, new Set([7, 8, 9]), none), [10]);
  assert.deepEqual(departures(before, new Set([7, 8, 9, 10, 11]), none), [], 'someone new, nobody gone');
  assert.deepEqual(departures(before, new Set([8, 9, 10]), none), [], 'not us (we went into a private conversation)');
  assert.deepEqual(departures(before, new Set([7, 8]), { ...none, told: new Set([9]) }), [10], 'our room\'s peer-left told of 9');
  assert.deepEqual(departures(before, new Set([7, 8]), { ...none, here: new Set([9]) }), [10], '9 is still with us');
});
