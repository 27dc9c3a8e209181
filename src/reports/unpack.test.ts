// Unpacking report files: gzip and zip within a size cap, and the archives refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { gunzipBounded, MAX_REPORT_BYTES, packing, unpack, unzipOne } from './unpack.js';
import { ReportError } from './errors.js';
import { zip } from './testutil.js';

const XML = '<feedback/>';

test('what the first bytes say', () => {
  const cases: [Buffer, string][] = [
    [gzipSync(XML), 'gzip'],
    [zip([{ name: 'a.xml', data: XML }]), 'zip'],
    [zip([]), 'zip'],
    [Buffer.from(XML), 'plain'],
    [Buffer.from('PK'), 'plain'],
    [Buffer.alloc(0), 'plain'],
  ];
  for (const [data, want] of cases) assert.equal(packing(data), want);
});

test('gzip, zip (stored or deflated, one .xml among other files) and plain files unpack', async () => {
  const cases: [string, Buffer][] = [
    ['gzip', gzipSync(XML)],
    ['gzip, two members', Buffer.concat([gzipSync('<feed'), gzipSync('back/>')])],
    ['zip', zip([{ name: 'report.xml', data: XML }])],
    ['zip stored', zip([{ name: 'Report.XML', data: XML, method: 0 }])],
    [
      'zip with a directory and a readme',
      zip([
        { name: 'dir/', data: '' },
        { name: 'README.txt', data: 'hi' },
        { name: 'dir/r.xml', data: XML },
      ]),
    ],
    ['plain', Buffer.from(XML)],
  ];
  for (const [what, data] of cases) {
    assert.equal((await unpack(data, '.xml')).toString(), XML, what);
  }
  assert.equal((await unzipOne(zip([{ name: 'x/r.xml', data: XML }]), '.xml')).name, 'x/r.xml');
});

test('bombs stop at the cap; broken and hostile archives are refused with a reason', async () => {
  // 25 MB of zeros packs into some 25 kB.
  const zeros = Buffer.alloc(MAX_REPORT_BYTES + 5 * 1024 * 1024);
  const gzBomb = gzipSync(zeros);
  assert.ok(gzBomb.length < 100 * 1024);
  const many = Array.from({ length: 17 }, (_, i) => ({ name: `r${i}.xml`, data: XML }));
  const good = zip([{ name: 'r.xml', data: XML }]);
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      'gzip bomb',
      () => unpack(gzBomb, '.xml'),
      /^gzip data decompresses to more than 20971520 bytes$/,
    ],
    [
      'gzip bomb, small cap',
      () => gunzipBounded(gzipSync('x'.repeat(101)), 100),
      /more than 100 bytes/,
    ],
    [
      'truncated gzip',
      () => unpack(gzipSync(XML).subarray(0, 15), '.xml'),
      /not valid compressed data/,
    ],
    [
      'gzip of garbage',
      () => unpack(Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), '.xml'),
      /not valid/,
    ],
    [
      'zip bomb declaring a small size',
      () => unpack(zip([{ name: 'r.xml', data: zeros, size: 1000 }]), '.xml'),
      /^zip entry "r.xml" decompresses to more than 20971520 bytes$/,
    ],
    [
      'zip declaring a large size',
      () => unpack(zip([{ name: 'r.xml', data: XML, size: MAX_REPORT_BYTES + 1 }]), '.xml'),
      /decompresses to more than/,
    ],
    [
      'zip with 17 entries',
      () => unpack(zip(many), '.xml'),
      /zip archive has 17 entries, more than 16/,
    ],
    [
      'zip claiming 65,000 entries',
      () => unpack(zip([{ name: 'r.xml', data: XML }], { totalEntries: 65000 }), '.xml'),
      /has 65000 entries/,
    ],
    [
      'zip without .xml',
      () => unpack(zip([{ name: 'r.txt', data: XML }]), '.xml'),
      /holds no .xml files/,
    ],
    ['empty zip', () => unpack(zip([]), '.xml'), /holds no .xml files/],
    [
      'zip with two .xml',
      () => unpack(zip(many.slice(0, 2)), '.xml'),
      /holds 2 .xml files; a report has one/,
    ],
    [
      'encrypted',
      () => unpack(zip([{ name: 'r.xml', data: XML, flags: 1 }]), '.xml'),
      /is encrypted/,
    ],
    [
      'bzip2 method',
      () => unpack(zip([{ name: 'r.xml', data: XML, method: 12 }]), '.xml'),
      /compression method 12; only deflate/,
    ],
    [
      'bad checksum',
      () => unpack(zip([{ name: 'r.xml', data: XML, crc: 1 }]), '.xml'),
      /does not match its size and checksum/,
    ],
    [
      'stored, wrong size',
      () => unpack(zip([{ name: 'r.xml', data: XML, method: 0, size: 3 }]), '.xml'),
      /does not match its size/,
    ],
    [
      'zip64',
      () => unpack(zip([{ name: 'r.xml', data: XML }], { totalEntries: 0xffff }), '.xml'),
      /zip64/,
    ],
    [
      'central directory out of bounds',
      () => unpack(zip([{ name: 'r.xml', data: XML }], { cdOffset: 5 }), '.xml'),
      /corrupt/,
    ],
    [
      'no end record',
      () => unpack(good.subarray(0, good.length - 22), '.xml'),
      /no end of central directory/,
    ],
    ['too large plain', () => unpack(Buffer.from(XML), '.xml', 5), /larger than 5 bytes/],
  ];
  for (const [what, p, want] of cases) {
    await assert.rejects(p, (e: unknown) => e instanceof ReportError && want.test(e.message), what);
  }
});
