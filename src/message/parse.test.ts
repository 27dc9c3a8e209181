import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MimeParser, parseMessage, type ParseOptions } from './parse.js';
import { at, bodyOf, checkTree, crlf, headerOf, shape } from './testutil.js';
import type { Part } from './types.js';

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`./testdata/${name}`, import.meta.url));

function parseChunked(buf: Buffer, size: number, opts?: ParseOptions): Part {
  const p = new MimeParser(opts);
  for (let i = 0; i < buf.length; i += size) p.write(buf.subarray(i, i + size));
  return p.end();
}

describe('RFC 2049 appendix A', () => {
  const buf = fixture('rfc2049-appendix-a.eml');
  const root = parseMessage(buf);

  it('has the nested shape', () => {
    assert.equal(
      shape(root),
      'multipart/mixed[text/plain,text/plain,multipart/parallel[audio/basic,image/jpeg],' +
        'text/enriched,message/rfc822{text/plain}]',
    );
    checkTree(root, buf.length);
  });

  it('describes the top level', () => {
    assert.equal(root.headerStart, 0);
    assert.equal(root.bodyStart, 249);
    assert.equal(root.end, buf.length);
    assert.deepEqual(root.params, { boundary: 'unique-boundary-1' });
    assert.equal(root.encoding, '7bit');
    assert.equal(root.bodyLines, undefined);
    assert.ok(headerOf(buf, root).endsWith('boundary=unique-boundary-1\r\n\r\n'));
    assert.ok(bodyOf(buf, root).startsWith('This is the preamble area'));
    assert.ok(bodyOf(buf, root).endsWith('--unique-boundary-1--\r\n'));
    assert.deepEqual(root.envelope, {
      date: 'Fri, 07 Oct 1994 16:15:05 -0700 (PDT)',
      subject: 'A multipart example',
      from: [{ name: 'Nathaniel Borenstein', adl: null, mailbox: 'nsb', host: 'nsb.fv.com' }],
      to: [{ name: 'Ned Freed', adl: null, mailbox: 'ned', host: 'innosoft.com' }],
    });
  });

  it('gives the implicitly typed first part', () => {
    const p = at(root, 1);
    assert.deepEqual([p.type, p.subtype, p.params], ['text', 'plain', undefined]);
    assert.equal(headerOf(buf, p), '\r\n');
    assert.equal(
      bodyOf(buf, p),
      '  ... Some text appears here ...\r\n\r\n' +
        '[Note that the blank between the boundary and the start\r\n' +
        ' of the text in this part means no header fields were\r\n' +
        ' given and this is text in the US-ASCII character set.\r\n' +
        ' It could have been done with explicit typing as in the\r\n' +
        ' next part.]\r\n',
    );
    assert.equal(p.bodyLines, 7);
    assert.equal(p.bodySize, 275);
  });

  it('gives the explicitly typed second part', () => {
    const p = at(root, 2);
    assert.deepEqual(p.params, { charset: 'US-ASCII' });
    assert.equal(headerOf(buf, p), 'Content-type: text/plain; charset=US-ASCII\r\n\r\n');
    assert.equal(
      bodyOf(buf, p),
      'This could have been part of the previous part, but\r\n' +
        'illustrates explicit versus implicit typing of body\r\nparts.\r\n',
    );
    assert.equal(p.bodyLines, 3);
  });

  it('gives the nested multipart/parallel', () => {
    const p = at(root, 3);
    assert.deepEqual(p.params, { boundary: 'unique-boundary-2' });
    assert.ok(bodyOf(buf, p).startsWith('--unique-boundary-2\r\nContent-Type: audio/basic'));
    assert.ok(bodyOf(buf, p).endsWith('--unique-boundary-2--\r\n'));
    const audio = at(root, 3, 1);
    assert.deepEqual([audio.type, audio.subtype, audio.encoding], ['audio', 'basic', 'base64']);
    assert.equal(
      bodyOf(buf, audio),
      '  ... base64-encoded 8000 Hz single-channel\r\n' +
        '      mu-law-format audio data goes here ...\r\n',
    );
    assert.equal(audio.bodyLines, undefined);
    const image = at(root, 3, 2);
    assert.deepEqual([image.type, image.subtype, image.encoding], ['image', 'jpeg', 'base64']);
    assert.equal(bodyOf(buf, image), '  ... base64-encoded image data goes here ...\r\n');
    assert.equal(image.bodySize, 47);
  });

  it('gives the enriched text part', () => {
    const p = at(root, 4);
    assert.deepEqual([p.type, p.subtype], ['text', 'enriched']);
    assert.equal(
      bodyOf(buf, p),
      'This is <bold><italic>enriched.</italic></bold>\r\n' +
        '<smaller>as defined in RFC 1896</smaller>\r\n\r\n' +
        "Isn't it\r\n<bigger><bigger>cool?</bigger></bigger>\r\n",
    );
    assert.equal(p.bodyLines, 5);
  });

  it('gives the enclosed message', () => {
    const p = at(root, 5);
    assert.deepEqual([p.type, p.subtype], ['message', 'rfc822']);
    assert.ok(bodyOf(buf, p).startsWith('From: (mailbox in US-ASCII)\r\n'));
    assert.equal(p.bodyLines, 7);
    const m = at(root, 5, 'm');
    assert.equal(m.headerStart, p.bodyStart);
    assert.equal(m.end, p.end);
    assert.deepEqual([m.type, m.subtype, m.encoding], ['text', 'plain', 'quoted-printable']);
    assert.deepEqual(m.params, { charset: 'ISO-8859-1' });
    assert.equal(bodyOf(buf, m), '  ... Additional text in ISO-8859-1 goes here ...\r\n');
    assert.equal(m.bodyLines, 1);
    // From and To hold only comments: no addresses.
    assert.deepEqual(m.envelope, { subject: '(subject in US-ASCII)' });
  });

  it('gives the same tree for any chunking', () => {
    const expected = JSON.stringify(root);
    assert.equal(JSON.stringify(parseChunked(buf, 1)), expected);
    assert.equal(JSON.stringify(parseChunked(buf, 7)), expected);
    for (let cut = 0; cut <= buf.length; cut++) {
      const p = new MimeParser();
      p.write(buf.subarray(0, cut));
      p.write(buf.subarray(cut));
      assert.equal(JSON.stringify(p.end()), expected, `split at ${cut}`);
    }
  });

  it('is the same with bare LF line endings, at shifted offsets', () => {
    const lf = Buffer.from(buf.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const t = parseMessage(lf);
    assert.equal(shape(t), shape(root));
    checkTree(t, lf.length);
    assert.equal(bodyOf(lf, at(t, 3, 2)), '  ... base64-encoded image data goes here ...\n');
    assert.equal(at(t, 1).bodyLines, 7);
    assert.equal(at(t, 5, 'm').bodyLines, 1);
  });
});

describe('multipart/digest', () => {
  const buf = crlf(
    'Content-Type: multipart/digest; boundary="d"',
    '',
    '--d',
    '',
    'Subject: first',
    '',
    'one',
    '--d',
    'Content-Type: text/plain',
    '',
    'not a message',
    '--d',
    'Content-Type: multipart/mixed; boundary=x',
    '',
    '--x',
    '',
    'mixed child',
    '--x--',
    '--d--',
  );
  const root = parseMessage(buf);

  it('defaults children to message/rfc822 (RFC 2046 §5.1.5)', () => {
    assert.equal(
      shape(root),
      'multipart/digest[message/rfc822{text/plain},text/plain,multipart/mixed[text/plain]]',
    );
    checkTree(root, buf.length);
    const m = at(root, 1, 'm');
    assert.deepEqual(m.envelope, { subject: 'first' });
    assert.equal(bodyOf(buf, m), 'one');
    assert.equal(at(root, 1).bodyLines, 3);
    assert.equal(bodyOf(buf, at(root, 2)), 'not a message');
    // Children of a multipart inside a digest are text/plain again.
    assert.equal(bodyOf(buf, at(root, 3, 1)), 'mixed child');
  });
});

describe('message/rfc822 nesting', () => {
  const buf = crlf(
    'Subject: outer',
    'Content-Type: message/rfc822',
    '',
    'Subject: middle',
    'Content-Type: multipart/mixed; boundary=m',
    '',
    '--m',
    'Content-Type: message/global',
    '',
    'Subject: inner',
    'From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>',
    '',
    'innermost',
    'text',
    '--m',
    'Content-Type: message/rfc822',
    'Content-Transfer-Encoding: base64',
    '',
    'U3ViamVjdDogeA0KDQp5',
    '--m--',
  );
  const root = parseMessage(buf);

  it('parses enclosed messages in the outer coordinates', () => {
    assert.equal(
      shape(root),
      'message/rfc822{multipart/mixed[message/global{text/plain},message/rfc822]}',
    );
    checkTree(root, buf.length);
    assert.deepEqual(root.envelope, { subject: 'outer' });
    assert.deepEqual(at(root, 'm').envelope, { subject: 'middle' });
    const inner = at(root, 'm', 1, 'm');
    assert.deepEqual(inner.envelope, {
      subject: 'inner',
      from: [{ name: '=?utf-8?q?J=C3=B6rg?=', adl: null, mailbox: 'jorg', host: 'example.org' }],
    });
    assert.equal(bodyOf(buf, inner), 'innermost\r\ntext');
    assert.equal(inner.bodyLines, 2);
    assert.equal(at(root, 'm', 1).bodyLines, 5);
    assert.equal(root.bodyLines, 17);
  });

  it('builds no envelopes when told not to, with the same structure', () => {
    const bare = parseMessage(buf, { envelopes: false });
    assert.equal(shape(bare), shape(root));
    assert.equal(bare.envelope, undefined);
    assert.equal(at(bare, 'm').envelope, undefined);
    assert.equal(at(bare, 'm', 1, 'm').bodyStart, at(root, 'm', 1, 'm').bodyStart);
  });

  it('does not parse an encoded message/rfc822 body', () => {
    const p = at(root, 'm', 2);
    assert.equal(p.encoding, 'base64');
    assert.equal(p.message, undefined);
    assert.equal(bodyOf(buf, p), 'U3ViamVjdDogeA0KDQp5');
    assert.equal(p.bodyLines, 1);
  });
});

describe('content fields', () => {
  it('reads every Content-* field, first occurrence winning', () => {
    const buf = crlf(
      'Content-Type: Text/HTML; Charset="UTF-8"; format=flowed (comment)',
      'Content-Type: image/png',
      'Content-Transfer-Encoding: Quoted-Printable (why not)',
      'Content-ID: <part1@example.org>',
      'Content-Description: a =?iso-8859-1?q?caf=E9?=',
      'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
      "Content-Disposition: ATTACHMENT; filename*=utf-8''%E2%82%AC%20rates.html",
      'Content-Language: en, (a comment) de-CH',
      'Content-Location: https://example.org/a.html',
      '',
      'body',
    );
    const p = parseMessage(buf);
    assert.deepEqual(p, {
      headerStart: 0,
      bodyStart: buf.length - 6,
      end: buf.length,
      type: 'text',
      subtype: 'html',
      params: { charset: 'UTF-8', format: 'flowed' },
      encoding: 'quoted-printable',
      id: '<part1@example.org>',
      description: 'a =?iso-8859-1?q?caf=E9?=',
      md5: 'Q2hlY2sgSW50ZWdyaXR5IQ==',
      disposition: { type: 'attachment', params: { filename: '€ rates.html' } },
      language: ['en', 'de-CH'],
      location: 'https://example.org/a.html',
      bodySize: 6,
      bodyLines: 1,
      envelope: {},
    });
  });

  it('treats an unreadable Content-Type as text/plain (RFC 2045 §5.2)', () => {
    for (const ct of ['text', '/plain', 'text/', 'te xt/plain', 'a/b/c']) {
      const p = parseMessage(crlf(`Content-Type: ${ct}; charset=x`, '', 'b'));
      assert.deepEqual([p.type, p.subtype, p.params], ['text', 'plain', undefined], ct);
    }
  });

  it('keeps a multipart without boundary as a leaf', () => {
    const buf = crlf('Content-Type: multipart/mixed', '', '--x', '', 'b');
    const p = parseMessage(buf);
    assert.deepEqual([p.type, p.subtype, p.parts], ['multipart', 'mixed', undefined]);
    assert.equal(bodyOf(buf, p), '--x\r\n\r\nb\r\n');
  });

  it('hands each header block to onHeader', () => {
    const seen: string[] = [];
    parseMessage(
      crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', 'X: 1', '', 'a', '--b--'),
      {
        onHeader: (part, header, fields) =>
          seen.push(
            `${part.type}/${part.subtype} ${JSON.stringify(header.toString())} ${fields.length}`,
          ),
      },
    );
    assert.deepEqual(seen, [
      'multipart/mixed "Content-Type: multipart/mixed; boundary=b\\r\\n\\r\\n" 1',
      'text/plain "X: 1\\r\\n\\r\\n" 1',
    ]);
  });
});

describe('multipart tolerance', () => {
  it('runs the last part to the end when the close delimiter is missing', () => {
    const buf = crlf('Content-Type: multipart/mixed; boundary=b', '', '--b', '', 'one', 'two');
    const p = at(parseMessage(buf), 1);
    assert.equal(bodyOf(buf, p), 'one\r\ntwo\r\n');
    assert.equal(p.bodyLines, 2);
  });

  it('ignores preamble and epilogue, delimiters in the epilogue included', () => {
    const buf = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      'preamble',
      '--b',
      '',
      'one',
      '--b--',
      'epilogue',
      '--b',
      '',
      'late',
    );
    const root = parseMessage(buf);
    assert.equal(shape(root), 'multipart/mixed[text/plain]');
    assert.equal(bodyOf(buf, at(root, 1)), 'one');
  });

  it('accepts transport padding and text after the boundary (RFC 2046 §5.1.1)', () => {
    const buf = crlf(
      'Content-Type: multipart/mixed; boundary="b  "',
      '',
      '--b \t',
      '',
      'one',
      '--b junk',
      '',
      'two',
      '--b-- trailing',
      'epilogue',
    );
    const root = parseMessage(buf);
    assert.equal(shape(root), 'multipart/mixed[text/plain,text/plain]');
    assert.equal(bodyOf(buf, at(root, 1)), 'one');
    assert.equal(bodyOf(buf, at(root, 2)), 'two');
  });

  it('ends unclosed inner multiparts at an outer delimiter', () => {
    const buf = crlf(
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      '',
      'unclosed inner part',
      '--outer',
      '',
      'second',
      '--outer--',
    );
    const root = parseMessage(buf);
    assert.equal(shape(root), 'multipart/mixed[multipart/alternative[text/plain],text/plain]');
    assert.equal(bodyOf(buf, at(root, 1, 1)), 'unclosed inner part');
    assert.equal(at(root, 1).end, at(root, 1, 1).end);
    assert.equal(bodyOf(buf, at(root, 2)), 'second');
  });

  it('lets the innermost multipart own a boundary it shares with an outer one', () => {
    const buf = crlf(
      'Content-Type: multipart/mixed; boundary=same',
      '',
      '--same',
      'Content-Type: multipart/alternative; boundary=same',
      '',
      '--same',
      '',
      'a',
      '--same',
      '',
      'b',
      '--same--',
      '--same',
      '',
      'c',
      '--same--',
    );
    const root = parseMessage(buf);
    assert.equal(
      shape(root),
      'multipart/mixed[multipart/alternative[text/plain,text/plain],text/plain]',
    );
    assert.equal(bodyOf(buf, at(root, 1, 2)), 'b');
    assert.equal(bodyOf(buf, at(root, 2)), 'c');
  });

  it('matches the longest boundary when one is a prefix of another', () => {
    const buf = crlf(
      'Content-Type: multipart/mixed; boundary=b1',
      '',
      '--b1',
      'Content-Type: multipart/alternative; boundary=b',
      '',
      '--b',
      '',
      'inner one',
      '--b1',
      '',
      'outer two',
      '--b1--',
    );
    const root = parseMessage(buf);
    assert.equal(shape(root), 'multipart/mixed[multipart/alternative[text/plain],text/plain]');
    assert.equal(bodyOf(buf, at(root, 1, 1)), 'inner one');
    assert.equal(bodyOf(buf, at(root, 2)), 'outer two');
  });

  it('gives the line break before a delimiter to the delimiter, bare LF included', () => {
    const buf = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\n\n--b\r\n\r\none\n\n--b\n\ntwo\r\n--b--\n',
    );
    const root = parseMessage(buf);
    assert.equal(bodyOf(buf, at(root, 1)), 'one\n');
    assert.equal(at(root, 1).bodyLines, 1);
    assert.equal(bodyOf(buf, at(root, 2)), 'two');
  });

  it('handles empty parts and parts without a blank line', () => {
    const buf = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      '--b',
      'Content-Type: image/gif',
      '--b',
      'Content-Type: text/html',
      '',
      '--b--',
    );
    const root = parseMessage(buf);
    checkTree(root, buf.length);
    assert.equal(shape(root), 'multipart/mixed[text/plain,image/gif,text/html]');
    const [empty, noBlank, noBody] = [at(root, 1), at(root, 2), at(root, 3)];
    assert.equal(empty.headerStart, empty.end);
    assert.equal(empty.bodySize, 0);
    assert.equal(headerOf(buf, noBlank), 'Content-Type: image/gif');
    assert.equal(noBlank.bodySize, 0);
    assert.equal(headerOf(buf, noBody), 'Content-Type: text/html\r\n');
    assert.deepEqual([noBody.bodySize, noBody.bodyLines], [0, 0]);
  });

  it('recognises a close delimiter without a line break at the end', () => {
    const buf = Buffer.from(
      'Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--',
    );
    const root = parseMessage(buf);
    assert.equal(shape(root), 'multipart/mixed[text/plain]');
    assert.equal(bodyOf(buf, at(root, 1)), 'x');
  });
});

describe('header tolerance', () => {
  it('treats a message without an empty line as all header', () => {
    const buf = Buffer.from('Subject: only\r\nX-Other: header');
    const root = parseMessage(buf);
    assert.deepEqual(
      [root.bodyStart, root.end, root.bodySize, root.bodyLines],
      [buf.length, buf.length, 0, 0],
    );
    assert.deepEqual(root.envelope, { subject: 'only' });
  });

  it('parses the empty message', () => {
    assert.deepEqual(parseMessage(Buffer.alloc(0)), {
      headerStart: 0,
      bodyStart: 0,
      end: 0,
      type: 'text',
      subtype: 'plain',
      encoding: '7bit',
      bodySize: 0,
      bodyLines: 0,
      envelope: {},
    });
  });

  it('reads 8-bit headers as UTF-8, or latin1 when they are not UTF-8', () => {
    const utf8 = parseMessage(Buffer.from('Subject: Grüße\r\n\r\n', 'utf8'));
    assert.equal(utf8.envelope?.subject, 'Grüße');
    const latin1 = parseMessage(Buffer.from('Subject: Grüße\r\n\r\n', 'latin1'));
    assert.equal(latin1.envelope?.subject, 'Grüße');
  });

  it('ends a header block that is too long at the line crossing the limit', () => {
    const buf = crlf('Subject: s', 'X-A: aaaaaaaaaa', 'X-B: bbbbbbbbbb', '', 'body');
    const root = parseMessage(buf, { maxHeaderBytes: 20 });
    assert.equal(headerOf(buf, root), 'Subject: s\r\n');
    assert.equal(bodyOf(buf, root), 'X-A: aaaaaaaaaa\r\nX-B: bbbbbbbbbb\r\n\r\nbody\r\n');
    assert.deepEqual(root.envelope, { subject: 's' });
    // The same when the long header arrives in small chunks.
    assert.equal(
      JSON.stringify(parseChunked(buf, 3, { maxHeaderBytes: 20 })),
      JSON.stringify(root),
    );
  });

  it('keeps a bare CR as data, not as a line break', () => {
    const buf = Buffer.from('Subject: a\rb\r\n\r\nx\ry\r\n');
    const root = parseMessage(buf);
    assert.equal(root.envelope?.subject, 'a\rb');
    assert.equal(root.bodyLines, 1);
  });
});

describe('limits', () => {
  const nested = crlf(
    'Content-Type: multipart/mixed; boundary=a',
    '',
    '--a',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    '--b',
    'Content-Type: multipart/mixed; boundary=c',
    '',
    '--c',
    '',
    'deep',
    '--c--',
    '--b--',
    '--a',
    '',
    'second',
    '--a',
    '',
    'third',
    '--a--',
  );

  it('treats parts at the depth limit as leaves', () => {
    const root = parseMessage(nested, { maxDepth: 2 });
    assert.equal(
      shape(root),
      'multipart/mixed[multipart/mixed[multipart/mixed],text/plain,text/plain]',
    );
    const leaf = at(root, 1, 1);
    assert.equal(leaf.parts, undefined);
    assert.equal(bodyOf(nested, leaf), '--c\r\n\r\ndeep\r\n--c--');
    assert.equal(
      shape(parseMessage(nested)),
      'multipart/mixed[multipart/mixed[multipart/mixed[text/plain]],text/plain,text/plain]',
    );
  });

  it('stops creating parts at the part limit', () => {
    const root = parseMessage(nested, { maxParts: 3 });
    assert.equal(shape(root), 'multipart/mixed[multipart/mixed[multipart/mixed]]');
    checkTree(root, nested.length);
    // The rest of each multipart is skipped; open parts end at the next delimiter.
    assert.equal(bodyOf(nested, at(root, 1, 1)), '--c\r\n\r\ndeep\r\n--c--');
    assert.ok(bodyOf(nested, at(root, 1)).endsWith('--c--\r\n--b--'));
  });

  it('accepts Uint8Array input and ignores writes after end', () => {
    const p = new MimeParser();
    p.write(new Uint8Array(Buffer.from('Subject: u\r\n\r\nbody')));
    const root = p.end();
    p.write(Buffer.from('more'));
    assert.equal(p.end(), root);
    assert.deepEqual([root.end, root.bodySize, root.envelope?.subject], [18, 4, 'u']);
  });
});
