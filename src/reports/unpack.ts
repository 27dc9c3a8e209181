// Unpacking report files: gzip (RFC 1952) and zip archives holding one report, inflated
// as a stream that stops at a size cap, so a compressed bomb costs no more memory than
// the cap; a zip archive is read from its central directory, with a cap on its entries.
import { crc32, createGunzip, createInflateRaw, type Gunzip, type InflateRaw } from 'node:zlib';
import { ReportError } from './errors.js';

/** Largest report, decompressed, in bytes. */
export const MAX_REPORT_BYTES = 20 * 1024 * 1024;
/** A zip archive with more entries than this is refused unread. */
export const MAX_ZIP_ENTRIES = 16;

export type Packing = 'gzip' | 'zip' | 'plain';

/** What the first bytes say the data is. */
export function packing(data: Buffer): Packing {
  if (data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b) return 'gzip';
  // A local file header, or the end record of an empty archive.
  if (data.length >= 4 && data.readUInt32LE(0) === 0x04034b50) return 'zip';
  if (data.length >= 4 && data.readUInt32LE(0) === 0x06054b50) return 'zip';
  return 'plain';
}

function tooLarge(what: string, max: number): ReportError {
  return new ReportError(`${what} decompresses to more than ${max} bytes`);
}

/** Inflates `input` with `z`, failing as soon as the output passes `max` bytes. */
function inflateBounded(
  z: Gunzip | InflateRaw,
  input: Buffer,
  max: number,
  what: string,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (e: ReportError) => {
      if (settled) return;
      settled = true;
      z.destroy();
      reject(e);
    };
    z.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) fail(tooLarge(what, max));
      else chunks.push(c);
    });
    z.on('error', (e) =>
      fail(new ReportError(`${what} is not valid compressed data: ${e.message}`)),
    );
    z.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks, size));
    });
    z.end(input);
  });
}

const CHUNK = 64 * 1024;

export function gunzipBounded(data: Buffer, max = MAX_REPORT_BYTES): Promise<Buffer> {
  return inflateBounded(createGunzip({ chunkSize: CHUNK }), data, max, 'gzip data');
}

type ZipEntry = {
  name: string;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
};

const EOCD_SIG = 0x06054b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const EOCD_SIZE = 22;

function corrupt(what: string): ReportError {
  return new ReportError(`zip archive is corrupt: ${what}`);
}

/** The entries of the central directory, after checking they are few and in bounds. */
function zipEntries(zip: Buffer, maxEntries: number): { entries: ZipEntry[]; cdOffset: number } {
  // The end record is the last thing in the file, followed by a comment of at most 64 KiB.
  let eocd = -1;
  const lowest = Math.max(0, zip.length - EOCD_SIZE - 0xffff);
  for (let i = zip.length - EOCD_SIZE; i >= lowest; i--) {
    if (zip.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt('no end of central directory record');
  const disk = zip.readUInt16LE(eocd + 4);
  const cdDisk = zip.readUInt16LE(eocd + 6);
  const diskEntries = zip.readUInt16LE(eocd + 8);
  const total = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (total === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    throw new ReportError('zip64 archives are not supported');
  }
  if (disk !== 0 || cdDisk !== 0 || diskEntries !== total) {
    throw new ReportError('multi-part zip archives are not supported');
  }
  if (total > maxEntries) {
    throw new ReportError(`zip archive has ${total} entries, more than ${maxEntries}`);
  }
  if (cdOffset + cdSize > eocd) throw corrupt('central directory out of bounds');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let i = 0; i < total; i++) {
    if (p + 46 > cdOffset + cdSize || zip.readUInt32LE(p) !== CENTRAL_SIG) {
      throw corrupt(`central directory entry ${i + 1}`);
    }
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const next = p + 46 + nameLen + extraLen + commentLen;
    if (next > cdOffset + cdSize) throw corrupt(`central directory entry ${i + 1}`);
    const flags = zip.readUInt16LE(p + 8);
    entries.push({
      // Bit 11: UTF-8 names; others are CP437, close enough to latin1 for a suffix.
      name: zip.toString(flags & 0x800 ? 'utf8' : 'latin1', p + 46, p + 46 + nameLen),
      flags,
      method: zip.readUInt16LE(p + 10),
      crc: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      localOffset: zip.readUInt32LE(p + 42),
    });
    p = next;
  }
  return { entries, cdOffset };
}

/**
 * The one file of a zip archive whose name ends in `suffix` (directories and other
 * files are ignored; none or several is an error), decompressed within `max` bytes.
 */
export async function unzipOne(
  zip: Buffer,
  suffix: string,
  max = MAX_REPORT_BYTES,
  maxEntries = MAX_ZIP_ENTRIES,
): Promise<{ name: string; data: Buffer }> {
  const { entries, cdOffset } = zipEntries(zip, maxEntries);
  const files = entries.filter((e) => e.name.toLowerCase().endsWith(suffix));
  if (files.length !== 1) {
    throw new ReportError(
      `zip archive holds ${files.length === 0 ? 'no' : files.length} ${suffix} files; a report has one`,
    );
  }
  const e = files[0]!;
  const what = `zip entry ${JSON.stringify(e.name)}`;
  if (e.flags & 1) throw new ReportError(`${what} is encrypted`);
  if (e.size > max) throw tooLarge(what, max);
  const lh = e.localOffset;
  if (lh + 30 > cdOffset || zip.readUInt32LE(lh) !== LOCAL_SIG) {
    throw corrupt(`local header of ${what}`);
  }
  const start = lh + 30 + zip.readUInt16LE(lh + 26) + zip.readUInt16LE(lh + 28);
  const end = start + e.compressedSize;
  if (end > cdOffset) throw corrupt(`data of ${what} out of bounds`);
  const raw = zip.subarray(start, end);
  let data: Buffer;
  if (e.method === 0) {
    data = raw;
  } else if (e.method === 8) {
    data = await inflateBounded(createInflateRaw({ chunkSize: CHUNK }), raw, max, what);
  } else {
    throw new ReportError(`${what} uses compression method ${e.method}; only deflate is read`);
  }
  if (data.length !== e.size || crc32(data) !== e.crc) {
    throw corrupt(`${what} does not match its size and checksum`);
  }
  return { name: e.name, data };
}

/**
 * A report file as bytes: gunzipped, unzipped (the one file ending in `suffix`), or as
 * it is; at most `max` bytes in every case.
 */
export async function unpack(
  data: Buffer,
  suffix: string,
  max = MAX_REPORT_BYTES,
): Promise<Buffer> {
  switch (packing(data)) {
    case 'gzip':
      return gunzipBounded(data, max);
    case 'zip':
      return (await unzipOne(data, suffix, max)).data;
    case 'plain':
      if (data.length > max) throw new ReportError(`report is larger than ${max} bytes`);
      return data;
  }
}
