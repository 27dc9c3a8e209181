import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  announcedMechanisms,
  mechanismRefusal,
  type AuthConnState,
  type AuthPolicy,
  type MechanismRefusal,
} from './mechanisms.js';

const strict: AuthPolicy = { requireTLS: true, mechanisms: null };
const lax: AuthPolicy = { requireTLS: false, mechanisms: null };
const plain: AuthConnState = { tls: false, certificate: false };
const tls: AuthConnState = { tls: true, certificate: false };
const cert: AuthConnState = { tls: true, certificate: true };

test('mechanismRefusal: each mechanism in each state', () => {
  const cases: [
    string,
    'imap' | 'smtp',
    AuthPolicy,
    AuthConnState,
    string,
    MechanismRefusal | null,
  ][] = [
    // No mechanism at all before TLS on a listener that requires it: not even SCRAM.
    ['cleartext SCRAM', 'smtp', strict, plain, 'SCRAM-SHA-256', 'tls-required'],
    ['cleartext CRAM-MD5', 'imap', strict, plain, 'CRAM-MD5', 'tls-required'],
    ['cleartext PLAIN', 'smtp', strict, plain, 'plain', 'tls-required'],
    ['cleartext -PLUS', 'smtp', strict, plain, 'SCRAM-SHA-1-PLUS', 'tls-required'],
    ['TLS SCRAM', 'smtp', strict, tls, 'SCRAM-SHA-256', null],
    ['TLS -PLUS', 'imap', strict, tls, 'SCRAM-SHA-256-PLUS', null],
    ['TLS PLAIN lower case', 'imap', strict, tls, 'plain', null],
    // A listener that allows cleartext: still no channel binding without a channel.
    ['lax cleartext CRAM-MD5', 'smtp', lax, plain, 'CRAM-MD5', null],
    ['lax cleartext -PLUS', 'smtp', lax, plain, 'SCRAM-SHA-256-PLUS', 'needs-tls'],
    ['lax cleartext EXTERNAL', 'imap', lax, plain, 'EXTERNAL', 'needs-tls'],
    ['EXTERNAL without certificate', 'smtp', strict, tls, 'EXTERNAL', 'no-certificate'],
    ['EXTERNAL with certificate', 'smtp', strict, cert, 'EXTERNAL', null],
    // IMAP has its own LOGIN command.
    ['IMAP SASL LOGIN', 'imap', strict, tls, 'LOGIN', 'disabled'],
    ['SMTP SASL LOGIN', 'smtp', strict, tls, 'LOGIN', null],
    ['unknown', 'smtp', strict, tls, 'NTLM', 'unknown'],
    // Dotless i must not fold to PLAIN.
    ['dotless i', 'smtp', strict, tls, 'plaın', 'unknown'],
    [
      'not enabled',
      'smtp',
      { requireTLS: true, mechanisms: ['SCRAM-SHA-256'] },
      tls,
      'SCRAM-SHA-256-PLUS',
      'disabled',
    ],
  ];
  for (const [name, proto, policy, state, mech, want] of cases) {
    assert.equal(mechanismRefusal(proto, policy, state, mech), want, name);
  }
});

test('announcedMechanisms: nothing before TLS; -PLUS only with TLS; EXTERNAL first', () => {
  assert.deepEqual(announcedMechanisms('smtp', strict, plain), []);
  assert.deepEqual(announcedMechanisms('imap', strict, plain), []);
  assert.deepEqual(announcedMechanisms('smtp', lax, plain), [
    'SCRAM-SHA-256',
    'SCRAM-SHA-1',
    'CRAM-MD5',
    'PLAIN',
    'LOGIN',
  ]);
  assert.deepEqual(announcedMechanisms('imap', strict, tls), [
    'SCRAM-SHA-256-PLUS',
    'SCRAM-SHA-256',
    'SCRAM-SHA-1-PLUS',
    'SCRAM-SHA-1',
    'CRAM-MD5',
    'PLAIN',
  ]);
  assert.deepEqual(announcedMechanisms('smtp', strict, cert)[0], 'EXTERNAL');
  const chosen: AuthPolicy = { requireTLS: true, mechanisms: ['PLAIN', 'SCRAM-SHA-256'] };
  assert.deepEqual(announcedMechanisms('smtp', chosen, cert), ['SCRAM-SHA-256', 'PLAIN']);
});
