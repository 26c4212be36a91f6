// The reference UI's pure parts of the group's agreement (app/agreement.js, #15): the text as
// paragraphs (blank lines apart, single line breaks kept inside, nothing interpreted), its size
// as the hub counts it (UTF-8 bytes), and what the Host tab lists (agreed, seated but not yet
// agreed, reading before joining; names when known, ids otherwise; hosts never listed).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_AGREEMENT_BYTES, agreementSummary, paragraphs, utf8Bytes } from '../../app/agreement.js';

test('paragraphs: blank lines separate them, single breaks stay, blank edges and CRLF go', () => {
  assert.deepEqual(paragraphs('\n\nWhat is said here stays here.\r\n\r\nFirst names only.\nNo recording.\n  \n\n<b>Step out</b> if you need to.  \n'),
    ['What is said here stays here.', 'First names only.\nNo recording.', '<b>Step out</b> if you need to.']);
  assert.deepEqual(paragraphs('One line'), ['One line']);
  assert.deepEqual(paragraphs('   \n \n'), []);
});

test('size as the hub counts it: bytes of UTF-8, at most 8 KiB', () => {
  assert.equal(MAX_AGREEMENT_BYTES, 8192);
  assert.equal(utf8Bytes('abc'), 3);
  assert.equal(utf8Bytes('café'), 5);
  assert.equal(utf8Bytes('é'.repeat(4096)), 8192);
});

test('host summary: none, then who agreed, who is still to (hosts never), who reads before joining', () => {
  const names = new Map([[8, 'Alex'], [9, 'Sam'], [10, 'Jordan'], [7, 'Dr. Rivera']]);
  const nameOf = (id) => names.get(id) ?? null;
  const members = [{ id: 7, role: 'cohost' }, { id: 8, role: 'participant' }, { id: 9, role: 'participant' }, { id: 10, role: 'observer' }];
  const none = agreementSummary(null, members, nameOf);
  assert.equal(none.active, false);
  assert.match(none.status, /No agreement/);
  assert.equal(agreementSummary({ version: null, accepted: [], reading: [] }, members, nameOf).active, false);
  const s = agreementSummary({ version: 'v1', accepted: [8], reading: [12] }, members, nameOf);
  assert.equal(s.active, true);
  assert.deepEqual(s.accepted, ['Alex']);
  assert.deepEqual(s.pending, ['Sam', 'Jordan'], 'the co-host is never asked');
  assert.deepEqual(s.reading, ['someone not yet in the meeting (no. 12)']);
});
