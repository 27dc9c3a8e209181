// Test helpers for reports: zip archives built by hand (so tests can make broken and
// hostile ones), gzip, and messages carrying a report as an attachment.
import { readFileSync } from 'node:fs';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

export type ZipEntrySpec = {
  name: string;
  data: Buffer | string;
  /** 0 stored, 8 deflate (default). */
  method?: number;
  flags?: number;
  /** Declared sizes and checksum, when they should lie. */
  size?: number;
  crc?: number;
};

export function zip(
  entries: ZipEntrySpec[],
  o: { totalEntries?: number; cdOffset?: number } = {},
): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data);
    const method = e.method ?? 8;
    const packed = method === 8 ? deflateRawSync(data) : data;
    const name = Buffer.from(e.name);
    const crc = e.crc ?? crc32(data);
    const size = e.size ?? data.length;
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(e.flags ?? 0, 6);
    lh.writeUInt16LE(method, 8);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(packed.length, 18);
    lh.writeUInt32LE(size, 22);
    lh.writeUInt16LE(name.length, 26);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(e.flags ?? 0, 8);
    ch.writeUInt16LE(method, 10);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(packed.length, 20);
    ch.writeUInt32LE(size, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    locals.push(lh, name, packed);
    centrals.push(ch, name);
    offset += lh.length + name.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(o.totalEntries ?? entries.length, 8);
  end.writeUInt16LE(o.totalEntries ?? entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(o.cdOffset ?? offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

export function gzip(data: Buffer | string): Buffer {
  return gzipSync(Buffer.from(data));
}

export type AttachmentSpec = {
  contentType: string;
  fileName?: string;
  data: Buffer | string;
  /** base64 (default) or 7bit. */
  encoding?: 'base64' | '7bit';
};

/** A multipart/mixed message (or multipart/report with reportType) with a text part and the attachment. */
export function messageWith(a: AttachmentSpec, reportType?: string): Buffer {
  const data = Buffer.from(a.data);
  const body =
    (a.encoding ?? 'base64') === 'base64'
      ? (data.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n')
      : data.toString('utf8');
  const name = a.fileName ? `; name="${a.fileName}"` : '';
  const disp = a.fileName ? `Content-Disposition: attachment; filename="${a.fileName}"\r\n` : '';
  const type = reportType
    ? `multipart/report; report-type=${reportType}; boundary="b0"`
    : 'multipart/mixed; boundary="b0"';
  return Buffer.from(
    'From: noreply-dmarc-support@google.com\r\n' +
      'To: dmarc-reports@example.org\r\n' +
      'Subject: Report domain: example.org Submitter: google.com\r\n' +
      'Message-ID: <report-1@google.com>\r\n' +
      'MIME-Version: 1.0\r\n' +
      `Content-Type: ${type}\r\n` +
      '\r\n' +
      '--b0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      '\r\n' +
      'This is an aggregate report.\r\n' +
      '--b0\r\n' +
      `Content-Type: ${a.contentType}${name}\r\n` +
      disp +
      `Content-Transfer-Encoding: ${a.encoding ?? 'base64'}\r\n` +
      '\r\n' +
      `${body}\r\n` +
      '--b0--\r\n',
  );
}

/** A single-part message whose body is the report. */
export function messageOf(contentType: string, data: Buffer | string): Buffer {
  return Buffer.concat([
    Buffer.from(
      'From: dmarcreport@microsoft.com\r\nTo: dmarc-reports@example.org\r\n' +
        `Subject: Report\r\nMIME-Version: 1.0\r\nContent-Type: ${contentType}\r\n` +
        'Content-Transfer-Encoding: base64\r\n\r\n',
    ),
    Buffer.from(Buffer.from(data).toString('base64').replace(/.{76}/g, '$&\r\n')),
    Buffer.from('\r\n'),
  ]);
}

/** A sample report from testdata/, as text. */
export function sample(name: string): string {
  return readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
}
