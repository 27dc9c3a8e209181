import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  findHeader,
  findHeaders,
  headerValue,
  parseHeaderBlock,
  selectHeaderFields,
} from './header.js';
import { crlf } from './testutil.js';

const block = crlf(
  'Subject: a folded',
  '\tsubject line',
  'X-Spam:  yes ',
  'not a field',
  'To: a@example.org,',
  ' b@example.org',
  'Received: from one',
  'received: from two',
  'Empty:',
  'Spaced : value',
  '',
  'Body: not a header',
);

describe('parseHeaderBlock', () => {
  const fields = parseHeaderBlock(block);

  it('splits and unfolds fields (RFC 5322 §2.2.3), skipping non-fields', () => {
    assert.deepEqual(
      fields.map((f) => [f.name, f.value]),
      [
        ['Subject', 'a folded\tsubject line'],
        ['X-Spam', 'yes'],
        ['To', 'a@example.org, b@example.org'],
        ['Received', 'from one'],
        ['received', 'from two'],
        ['Empty', ''],
        ['Spaced', 'value'],
      ],
    );
  });

  it('keeps the exact bytes of each field', () => {
    assert.equal(fields[0]?.raw.toString(), 'Subject: a folded\r\n\tsubject line\r\n');
    assert.equal(fields[2]?.raw.toString(), 'To: a@example.org,\r\n b@example.org\r\n');
  });

  it('handles bare LF, a missing final line break and 8-bit values', () => {
    const f = parseHeaderBlock(Buffer.from('A: 1\nB: x\n y\nC: \xe9t\xe9', 'latin1'));
    assert.deepEqual(
      f.map((x) => [x.name, x.value, x.raw.toString('latin1')]),
      [
        ['A', '1', 'A: 1\n'],
        ['B', 'x y', 'B: x\n y\n'],
        ['C', 'été', 'C: \xe9t\xe9'],
      ],
    );
    assert.equal(parseHeaderBlock(Buffer.from('S: Grüße\r\n'))[0]?.value, 'Grüße');
  });

  it('ignores continuation lines without a field and names with spaces', () => {
    const f = parseHeaderBlock(crlf(' leading', 'Bad Name: x', ' cont', 'Good: y'));
    assert.deepEqual(
      f.map((x) => x.name),
      ['Good'],
    );
  });

  it('finds fields case-insensitively', () => {
    assert.equal(findHeader(fields, 'RECEIVED')?.value, 'from one');
    assert.deepEqual(
      findHeaders(fields, 'received').map((f) => f.value),
      ['from one', 'from two'],
    );
    assert.equal(headerValue(fields, 'x-spam'), 'yes');
    assert.equal(headerValue(fields, 'missing'), undefined);
  });
});

describe('selectHeaderFields', () => {
  it('returns the original bytes of the named fields and the empty line', () => {
    assert.equal(
      selectHeaderFields(block, ['received', 'TO', 'nothing'], false).toString(),
      'To: a@example.org,\r\n b@example.org\r\nReceived: from one\r\nreceived: from two\r\n\r\n',
    );
  });

  it('returns all other fields for HEADER.FIELDS.NOT', () => {
    assert.equal(
      selectHeaderFields(block, ['received', 'to', 'subject'], true).toString(),
      'X-Spam:  yes \r\nEmpty:\r\nSpaced : value\r\n\r\n',
    );
  });

  it('adds no empty line when the header has none', () => {
    const h = Buffer.from('A: 1\nB: 2');
    assert.equal(selectHeaderFields(h, ['b'], false).toString(), 'B: 2');
    assert.equal(selectHeaderFields(Buffer.from('A: 1\n\n'), ['a'], false).toString(), 'A: 1\n\n');
    assert.equal(selectHeaderFields(Buffer.from('A: 1\r\n\r\n'), ['x'], false).toString(), '\r\n');
  });
});
