import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reputationVerdict } from './reputation.js';
import type { Evidence, SenderEvidence } from '../store/index.js';

const none: SenderEvidence = {
  sentTo: false,
  from: null,
  dkim: null,
  mailFrom: null,
  orgDomain: null,
  ip: [null, null, null],
};
const ev = (ham: number, spam: number): Evidence => ({ ham, spam });

test('the most specific conclusive source decides', () => {
  const cases: [string, Partial<SenderEvidence>, string | null, boolean | null][] = [
    ['no evidence', {}, null, null],
    ['sent to wins over everything', { sentTo: true, from: ev(0, 5) }, 'reputation-sent-to', false],
    ['one wanted message from the address', { from: ev(1, 0) }, 'reputation-from', false],
    ['one junk message from the address', { from: ev(0, 1) }, 'reputation-from', true],
    ['a tie from the address is junk', { from: ev(1, 1) }, 'reputation-from', true],
    ['mostly wanted from the address', { from: ev(3, 1) }, 'reputation-from', false],
    [
      'the address decides before the network',
      { from: ev(1, 0), ip: [ev(0, 9), null, null] },
      'reputation-from',
      false,
    ],
    ['one dkim message is not enough', { dkim: ev(1, 0) }, null, null],
    ['dkim needs 80%', { dkim: ev(3, 1), mailFrom: ev(0, 2) }, 'reputation-mailfrom', true],
    ['dkim at 80%', { dkim: ev(4, 1) }, 'reputation-dkim', false],
    ['organisation needs three', { orgDomain: ev(0, 2) }, null, null],
    ['organisation with three', { orgDomain: ev(0, 3) }, 'reputation-orgdomain', true],
    ['one ip message is not enough', { ip: [ev(0, 1), null, null] }, null, null],
    ['ip /32 with two', { ip: [ev(0, 2), null, null] }, 'reputation-ip1', true],
    ['network needs 90%', { ip: [null, ev(1, 8), null] }, null, null],
    ['network at 90%', { ip: [null, ev(1, 9), null] }, 'reputation-ip2', true],
    ['wider network needs five', { ip: [null, null, ev(0, 4)] }, null, null],
    ['wider network with five', { ip: [null, null, ev(5, 0)] }, 'reputation-ip3', false],
    [
      'inconclusive sources fall through',
      { from: ev(0, 0), dkim: ev(1, 1), ip: [ev(2, 0), null, null] },
      'reputation-ip1',
      false,
    ],
  ];
  for (const [name, e, reason, junk] of cases) {
    const v = reputationVerdict({ ...none, ...e });
    assert.equal(v?.reason ?? null, reason, name);
    assert.equal(v?.junk ?? null, junk, name);
  }
});

test('the verdict text names the source and the counts', () => {
  assert.deepEqual(reputationVerdict({ ...none, dkim: ev(4, 1) }), {
    junk: false,
    reason: 'reputation-dkim',
    text: 'dkim domain: 4 wanted, 1 junk of recent messages',
  });
});
