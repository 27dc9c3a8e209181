import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchRule, ruleName, withinDomain, type RuleInput } from './rules.js';
import { parseHeaderBlock } from '../message/index.js';
import type { DestinationRule } from '../config/index.js';

const input: RuleInput = {
  mailFrom: 'bounces+x@lists.example.org',
  msgFrom: 'alice@example.net',
  verifiedDomains: ['mail.lists.example.org', 'example.net'],
  fields: parseHeaderBlock(
    Buffer.from('List-Id: Tidings <tidings.lists.example.org>\r\nSubject: [tidings] Hello\r\n\r\n'),
  ),
};

const r = (x: Partial<DestinationRule>): DestinationRule => ({ is_forward: false, ...x });

test('a rule matches when every condition it has holds', () => {
  const cases: [string, Partial<DestinationRule>, boolean][] = [
    ['mail from', { smtp_mail_from: '@lists\\.example\\.org$' }, true],
    ['mail from, case-insensitive', { smtp_mail_from: '^BOUNCES' }, true],
    ['mail from mismatch', { smtp_mail_from: '@other\\.example$' }, false],
    ['msg from', { msg_from: '^alice@' }, true],
    ['verified domain, subdomain verified', { verified_domain: 'lists.example.org' }, true],
    ['verified domain exact', { verified_domain: 'example.net' }, true],
    ['verified domain: a parent is not enough', { verified_domain: 'x.example.net' }, false],
    ['verified domain: a suffix is not a subdomain', { verified_domain: 'ts.example.org' }, false],
    ['header', { headers: { 'list-id': '<tidings\\.lists' } }, true],
    ['header name case-insensitive', { headers: { 'LIST-ID': 'tidings' } }, true],
    ['header missing', { headers: { 'x-spam': '.' } }, false],
    ['all of several', { msg_from: 'alice', headers: { subject: '^\\[tidings\\]' } }, true],
    ['one of several fails', { msg_from: 'alice', headers: { subject: '^hello' } }, false],
  ];
  for (const [name, rule, want] of cases) {
    assert.equal(matchRule([r(rule)], input) !== null, want, name);
  }
});

test('the first matching rule applies, named by position and comment', () => {
  const rules = [
    r({ msg_from: 'bob' }),
    r({ msg_from: 'alice', comment: 'alice' }),
    r({ msg_from: '.' }),
  ];
  const m = matchRule(rules, input);
  assert.equal(m?.index, 1);
  assert.equal(ruleName(m!), 'rule 2 (alice)');
  assert.equal(ruleName({ index: 2, rule: rules[2]! }), 'rule 3');
  assert.equal(matchRule([], input), null);
});

test('withinDomain', () => {
  assert.equal(withinDomain('A.Example.org', 'example.org'), true);
  assert.equal(withinDomain('example.org', 'example.org'), true);
  assert.equal(withinDomain('badexample.org', 'example.org'), false);
});
