// The reference UI's breakout preview (app/split.js, `proposeRooms`): what it proposes before
// Start for `even`, `random` and `pairs` — never a room of one, mentors spread first, the odd one
// out of pairs in a pair, and a sentence saying so; and for rotating pairs (`rotateNote`) what is
// said instead of a preview. Pure: no DOM.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proposeRooms, rotateNote } from '../../app/split.js';

const noMentors = () => false;
/** Room sizes of a plan, by room index. */
const sizes = (plan) => Array.from({ length: plan.rooms }, (_, i) => [...plan.assign.values()].filter((r) => r === i).length);

test('even and random never propose a room of one, for any number of people and rooms asked', () => {
  for (const strategy of ['even', 'random']) {
    for (let n = 2; n <= 13; n++) {
      for (let asked = 1; asked <= 8; asked++) {
        const people = Array.from({ length: n }, (_, i) => i + 1);
        const plan = proposeRooms(people, noMentors, strategy, asked);
        const s = sizes(plan);
        assert.ok(s.every((k) => k >= 2), `${strategy} ${n} people, ${asked} rooms asked: ${s}`);
        assert.equal(plan.assign.size, n, 'everyone is placed');
        assert.ok(Math.max(...s) - Math.min(...s) <= 1, `balanced: ${s}`);
        assert.equal(plan.rooms, Math.min(asked, Math.floor(n / 2)));
        if (plan.rooms < asked) assert.match(plan.note, /without leaving anyone alone/);
      }
    }
  }
});

test('three people into two rooms: one room of three, and the note says why', () => {
  const plan = proposeRooms([8, 9, 10], noMentors, 'even', 2);
  assert.deepEqual(sizes(plan), [3]);
  assert.match(plan.note, /at most 1 room/);
});

test('uneven counts: the note says which rooms get one more', () => {
  const plan = proposeRooms([1, 2, 3, 4, 5], noMentors, 'even', 2);
  assert.deepEqual(sizes(plan), [3, 2]);
  assert.match(plan.note, /5 people in 2 rooms: 1 room of 3, 1 of 2/);
  assert.equal(proposeRooms([1, 2, 3, 4], noMentors, 'even', 2).note, '', 'nothing to say when even');
  const seven = proposeRooms([1, 2, 3, 4, 5, 6, 7], noMentors, 'random', 3);
  assert.deepEqual(sizes(seven).sort(), [2, 2, 3]);
  assert.match(seven.note, /1 room of 3, 2 of 2/);
});

test('even deals in join order; random shuffles first', () => {
  const even = proposeRooms([1, 2, 3, 4], noMentors, 'even', 2);
  assert.deepEqual([...even.assign], [[1, 0], [2, 1], [3, 0], [4, 1]]);
  const random = proposeRooms([1, 2, 3, 4], noMentors, 'random', 2, (items) => [...items].reverse());
  assert.deepEqual([...random.assign], [[4, 0], [3, 1], [2, 0], [1, 1]]);
});

test('pairs: rooms of two; the odd one out joins the last pair, and the note says so', () => {
  const odd = proposeRooms([1, 2, 3, 4, 5], noMentors, 'pairs', 9);
  assert.equal(odd.rooms, 2);
  assert.deepEqual(sizes(odd), [2, 3]);
  assert.match(odd.note, /one of three/);
  const even = proposeRooms([1, 2, 3, 4], noMentors, 'pairs', 9);
  assert.deepEqual(sizes(even), [2, 2]);
  assert.deepEqual(sizes(proposeRooms([1, 2, 3], noMentors, 'pairs', 1)), [3]);
});

test('mentors are dealt first, one per room while there are enough rooms', () => {
  const mentors = new Set([5, 6]);
  const plan = proposeRooms([1, 2, 3, 4, 5, 6], (id) => mentors.has(id), 'even', 2);
  assert.notEqual(plan.assign.get(5), plan.assign.get(6));
});

test('with fewer than two people nobody is placed, and the note says why', () => {
  assert.equal(proposeRooms([1], noMentors, 'even', 2).assign.size, 0);
  assert.match(proposeRooms([1], noMentors, 'pairs', 2).note, /nobody to pair/);
  assert.match(proposeRooms([], noMentors, 'random', 2).note, /No participants/);
});

test('rotating pairs: the note says the idea, the pairs, who rests, and the rounds until everyone has met', () => {
  for (const n of [0, 1, 2, 3, 4, 7]) assert.match(rotateNote(n), /^A new partner each round; nobody twice until everyone has met\. The hub chooses the pairs/);
  assert.match(rotateNote(1), /nobody to pair/);
  assert.match(rotateNote(4), /4 people: 2 pairs\. Everyone has met everyone after 3 rounds\./);
  assert.doesNotMatch(rotateNote(4), /rests/);
  assert.match(rotateNote(3), /3 people: 1 pair, and one person rests in the main room each round .*after 3 rounds\./);
  assert.match(rotateNote(2), /1 pair\. Everyone has met everyone after 1 round\./);
});
