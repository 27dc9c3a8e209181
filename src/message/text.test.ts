import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMessage } from './parse.js';
import { headerText, messageText } from './text.js';
import { crlf } from './testutil.js';

const buf = crlf(
  'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=',
  'From: Ann <ann@example.org>',
  'Content-Type: multipart/mixed; boundary=b',
  '',
  'preamble is not searched',
  '--b',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=E9 au lait',
  '--b',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  'c2VjcmV0IGJpbmFyeQ==',
  '--b',
  'Content-Type: message/rfc822',
  '',
  'Subject: =?iso-8859-1?q?inner_caf=E9?=',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  'PHA+aMOpbGxvPC9wPg==',
  '--b--',
);

describe('messageText', () => {
  const root = parseMessage(buf);

  it('decodes the header and every text part, skipping other bodies', async () => {
    assert.deepEqual(await messageText(buf, root), {
      header:
        'Subject: Grüße\nFrom: Ann <ann@example.org>\nContent-Type: multipart/mixed; boundary=b',
      body:
        'café au lait\n' +
        'Subject: inner café\nContent-Type: text/html; charset=utf-8\n' +
        'Content-Transfer-Encoding: base64\n' +
        '<p>héllo</p>',
    });
  });

  it('reads only header blocks and text bodies through a reader', async () => {
    const reads: string[] = [];
    const text = await messageText(
      async (start, end) => {
        reads.push(`${start}-${end}`);
        return buf.subarray(start, end);
      },
      root,
      { maxPartBytes: 4 },
    );
    const binary = root.parts?.[1];
    assert.ok(binary);
    assert.ok(!reads.includes(`${binary.bodyStart}-${binary.end}`));
    assert.equal(reads.length, 4);
    // Four bytes of each text part: "caf=" decodes to "caf", "PHA+" to "<p>".
    assert.equal(
      text.body,
      'caf\nSubject: inner café\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n<p>',
    );
  });

  it('stops at the total budget', async () => {
    const text = await messageText(buf, root, { maxTotalBytes: 3 });
    assert.ok(text.body.startsWith('caf\n'));
    assert.ok(text.body.endsWith('base64'));
  });

  it('walks deep trees without recursion', async () => {
    const deep = Buffer.from(
      'Content-Type: message/rfc822\r\n\r\n'.repeat(5000) + 'Subject: x\r\n\r\nfound',
    );
    const tree = parseMessage(deep, { maxDepth: 10000 });
    const text = await messageText(deep, tree);
    assert.ok(text.body.endsWith('Subject: x\nfound'));
  });
});

describe('headerText', () => {
  it('gives decoded field lines', () => {
    assert.equal(
      headerText(crlf('A: =?utf-8?b?w6k=?=', ' folded', 'B: x', '', 'C: body')),
      'A: é folded\nB: x',
    );
  });
});
