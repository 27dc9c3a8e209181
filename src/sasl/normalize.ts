// String preparation for SASL names and passwords.
//
// Passwords get the mapping step of SASLprep (RFC 4013 §2.1) followed by Unicode NFC:
//   1. characters "commonly mapped to nothing" (RFC 3454 table B.1) are removed;
//   2. non-ASCII space characters (RFC 3454 table C.1.2) become U+0020 SPACE;
//   3. the result is normalised to NFC.
// Full SASLprep uses NFKC (RFC 4013 §2.2) and rejects prohibited and unassigned code
// points (§2.3–2.5). NFC is used instead so that compatibility characters stay distinct,
// as in the reference implementation, and nothing is rejected, so every password that can
// be set can also be used. Both forms give the same result for ASCII passwords.
//
// Names (authentication and authorization identities) are only NFC-normalised.

// RFC 3454 B.1: commonly mapped to nothing.
const MAPPED_TO_NOTHING =
  /\u00AD|\u034F|\u1806|\u180B|\u180C|\u180D|\u200B|\u200C|\u200D|\u2060|\uFEFF|[\uFE00-\uFE0F]/g;
// RFC 3454 C.1.2: non-ASCII space characters (U+200B is in B.1 above and removed there).
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200A\u202F\u205F\u3000]/g;
// Fast path: printable ASCII needs no preparation at all.
const PLAIN_ASCII = /^[\x20-\x7E]*$/;

/** Prepares a password before deriving or checking secrets (see the file comment). */
export function normalizePassword(password: string): string {
  if (PLAIN_ASCII.test(password)) return password;
  return password.replace(MAPPED_TO_NOTHING, '').replace(NON_ASCII_SPACE, ' ').normalize('NFC');
}

/** Prepares a user or authorization name: Unicode NFC. */
export function normalizeName(name: string): string {
  return PLAIN_ASCII.test(name) ? name : name.normalize('NFC');
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes strict UTF-8; null for malformed input. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return UTF8.decode(bytes);
  } catch {
    return null;
  }
}
